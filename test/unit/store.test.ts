/**
 * The indexed store: indexes follow adds, updates and deletes (one key per value, several, back
 * to one), unknown index names are refused, and interned values are shared between records.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/kube/store.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { PodRecord } from '../../src/kube/records.ts';

const pod = (name: string, ip: string, rv = '1', labels: Record<string, string> = { app: 'web', 'pod-template-hash': 'abc' }) =>
  ingest('Pod', { metadata: { namespace: 'd', name, uid: `u-${name}`, resourceVersion: rv, labels }, spec: { nodeName: 'n1', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] }, status: { podIPs: [{ ip }] } });

describe('indexed store', () => {
  it('an indexed value held by one key, then two, then one again', () => {
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs });
    s.upsert(pod('a', '10.0.0.1'));
    assert.deepEqual(s.byIndex('ip', '10.0.0.1').map((p) => p.meta.name), ['a']);
    s.upsert(pod('b', '10.0.0.1'));
    assert.deepEqual(s.byIndex('ip', '10.0.0.1').map((p) => p.meta.name).sort(), ['a', 'b']);
    assert.equal(s.countByIndex('ip', '10.0.0.1'), 2);
    s.delete('d/a');
    assert.deepEqual(s.byIndex('ip', '10.0.0.1').map((p) => p.meta.name), ['b']);
    s.upsert(pod('b', '10.0.0.2', '2'));
    assert.deepEqual(s.byIndex('ip', '10.0.0.1'), []);
    assert.equal(s.countByIndex('ip', '10.0.0.1'), 0);
    assert.deepEqual([...s.indexValues('ip')], ['10.0.0.2']);
  });

  it('refuses an unknown index name with the names it has', () => {
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs });
    assert.throws(() => s.byIndex('node', 'x'), /expected one of the index names \["ip"\], got "node"/);
  });

  it('an update with the same resourceVersion publishes nothing', () => {
    const s = new Store<PodRecord>();
    const seen: string[] = [];
    s.subscribe((b) => seen.push(...b.events.map((e) => e.type)));
    s.upsert(pod('a', '10.0.0.1'));
    s.upsert(pod('a', '10.0.0.1'));
    s.upsert(pod('a', '10.0.0.1', '2'));
    assert.deepEqual(seen, ['ADDED', 'MODIFIED']);
  });

  it('records are frozen, and what pods of one template repeat is shared between them', () => {
    const a = pod('a', '10.0.0.1');
    const b = pod('b', '10.0.0.2');
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.meta.labels) && Object.isFrozen(a.containers[0]!.ports));
    assert.equal(a.meta.labels, b.meta.labels);
    assert.equal(a.containers, b.containers);
    assert.equal(a.nodeName, b.nodeName);
    assert.notEqual(pod('c', '10.0.0.3', '1', { app: 'other' }).meta.labels, a.meta.labels);
  });
});
