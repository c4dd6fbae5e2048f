/**
 * The indexed store: indexes follow adds, updates and deletes (one key per value, several, back
 * to one), unknown index names are refused, interned values are shared between records, and a
 * relist replaces the whole store, or one namespace of it, in one batch.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../src/kube/store.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { PodRecord } from '../../src/kube/records.ts';

const pod = (name: string, ip: string, rv = '1', labels: Record<string, string> = { app: 'web', 'pod-template-hash': 'abc' }, namespace = 'd', uid = `u-${name}`) =>
  ingest('Pod', { metadata: { namespace, name, uid, resourceVersion: rv, labels }, spec: { nodeName: 'n1', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] }, status: { podIPs: [{ ip }] } });

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
    assert.deepEqual(pod('c', '10.0.0.3', '1', { app: 'other' }).meta.labels, { app: 'other' }, 'other labels are not handed a shared copy of the first');
  });
});

describe('replace (a relist)', () => {
  /** Each event as "TYPE key oldUid→newUid". */
  const described = (events: readonly { type: string; key: string; old?: PodRecord | null; new?: PodRecord | null }[]) =>
    events.map((e) => `${e.type} ${e.key} ${e.old?.meta.uid ?? '-'}→${e.new?.meta.uid ?? '-'}`);

  it('one batch: vanished objects are deleted, a changed UID is a delete plus an add, an unchanged resourceVersion is no event', () => {
    const s = new Store<PodRecord>();
    s.replace([pod('a', '10.0.0.1', '1', undefined, 'd', '1'), pod('b', '10.0.0.2', '1', undefined, 'd', '2'), pod('c', '10.0.0.3', '1', undefined, 'd', '3')]);
    const batches: number[] = [];
    s.subscribe((b) => batches.push(b.events.length));
    const batch = s.replace([pod('a', '10.0.0.1', '1', undefined, 'd', '1'), pod('b', '10.0.0.2', '2', undefined, 'd', '9')]);
    assert.deepEqual(described(batch.events), ['DELETED d/b 2→-', 'ADDED d/b -→9', 'DELETED d/c 3→-']);
    assert.equal(batch.relist, true);
    assert.deepEqual(batches, [3], 'published once');
    assert.deepEqual([...s.keys()].sort(), ['d/a', 'd/b']);
  });

  it('with a namespace, replaces that namespace only: objects of other namespaces stay, with no event', () => {
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs });
    s.replace([pod('a', '10.0.0.1', '1', undefined, 'shop'), pod('b', '10.0.0.2', '1', undefined, 'shop'), pod('a', '10.0.1.1', '1', undefined, 'pay'), pod('z', '10.0.1.2', '1', undefined, 'pay')]);
    const batch = s.replace([pod('a', '10.0.0.1', '2', undefined, 'shop')], 'shop');
    assert.deepEqual(described(batch.events), ['MODIFIED shop/a u-a→u-a', 'DELETED shop/b u-b→-']);
    assert.deepEqual([...s.keys()].sort(), ['pay/a', 'pay/z', 'shop/a']);
    assert.deepEqual(s.byIndex('ip', '10.0.1.2').map((p) => `${p.meta.namespace}/${p.meta.name}`), ['pay/z'], 'indexes of the other namespace are kept');
    assert.deepEqual(s.byIndex('ip', '10.0.0.2'), []);
  });

  it('without a namespace, an empty relist empties the whole store', () => {
    const s = new Store<PodRecord>();
    s.replace([pod('a', '10.0.0.1', '1', undefined, 'shop'), pod('a', '10.0.1.1', '1', undefined, 'pay')]);
    assert.deepEqual(described(s.replace([]).events), ['DELETED shop/a u-a→-', 'DELETED pay/a u-a→-']);
    assert.equal(s.size, 0);
  });
});
