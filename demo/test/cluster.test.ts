import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ConflictError, ExpiredError, TooLargeError } from '../src/cluster.ts';
import type { KubeObject } from '../src/types.ts';

function aConfigObject(namespace: string | undefined, name: string, data = 'v1'): KubeObject & { data: string } {
  return {
    kind: 'Thing',
    apiVersion: 'v1',
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}), uid: `uid-${name}`, resourceVersion: '', creationTimestamp: '2025-01-01T00:00:00Z' },
    data,
  };
}

function names(objects: readonly KubeObject[]): string[] {
  return objects.map((o) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name));
}

describe('Cluster', () => {
  it('bumps one global revision per write and writes it to resourceVersion', () => {
    const cluster = new Cluster();
    const a = cluster.create(aConfigObject('ns', 'a'));
    const b = cluster.create({ ...aConfigObject(undefined, 'node-1'), kind: 'Node' });
    const a2 = cluster.update({ ...a, data: 'v2' });
    const gone = cluster.delete('Thing', 'ns', 'a');
    assert.deepEqual([a, b, a2, gone].map((o) => o?.metadata.resourceVersion), ['1', '2', '3', '4']);
    assert.equal(cluster.resourceVersion, '4');
    assert.deepEqual(cluster.eventsSince(0).map((e) => [e.type, e.kind, e.key, e.revision]), [
      ['ADDED', 'Thing', 'ns/a', 1],
      ['ADDED', 'Node', 'node-1', 2],
      ['MODIFIED', 'Thing', 'ns/a', 3],
      ['DELETED', 'Thing', 'ns/a', 4],
    ]);
  });

  it('refuses to create an existing key or update a missing one', () => {
    const cluster = new Cluster();
    cluster.create(aConfigObject('ns', 'a'));
    assert.throws(() => cluster.create(aConfigObject('ns', 'a')), (e: unknown) => e instanceof ConflictError && e.reason === 'AlreadyExists');
    assert.throws(() => cluster.update(aConfigObject('ns', 'b')), (e: unknown) => e instanceof ConflictError && e.reason === 'NotFound');
    assert.equal(cluster.delete('Thing', 'ns', 'b'), undefined);
  });

  it('fills name from generateName, uid and creationTimestamp when empty', () => {
    const cluster = new Cluster({ now: () => Date.UTC(2025, 5, 1) });
    const created = cluster.create({ ...aConfigObject('ns', ''), metadata: { name: '', generateName: 'web-', namespace: 'ns', uid: '', resourceVersion: '', creationTimestamp: '' } });
    assert.match(created.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(created.metadata.creationTimestamp, '2025-06-01T00:00:00Z');
  });

  it('lists in key order, where `ns/` sorts after `ns-x/` as etcd keys do', () => {
    const cluster = new Cluster();
    for (const [ns, name] of [['b', 'x'], ['a', 'z'], ['a-b', 'y'], ['a', 'c']] as const) cluster.create(aConfigObject(ns, name));
    assert.deepEqual(names(cluster.list('Thing')), ['a-b/y', 'a/c', 'a/z', 'b/x']);
    assert.deepEqual(names(cluster.list('Thing', 'a')), ['a/c', 'a/z']);
  });

  it('loads initial state without events and compacts everything before it', () => {
    const cluster = new Cluster();
    cluster.load([{ ...aConfigObject('ns', 'a'), metadata: { ...aConfigObject('ns', 'a').metadata, resourceVersion: '7' } }, aConfigObject('ns', 'b')]);
    assert.equal(cluster.revision, 8);
    assert.equal(cluster.oldestRevision, 8);
    assert.deepEqual(cluster.eventsSince(8), []);
    assert.throws(() => cluster.eventsSince(7), ExpiredError);
  });

  describe('listPage serves a consistent snapshot at an older revision', () => {
    const cluster = new Cluster();
    for (const name of ['a', 'b', 'c', 'd', 'e']) cluster.create(aConfigObject('ns', name));
    const snapshot = cluster.revision;
    cluster.delete('Thing', 'ns', 'b');
    cluster.update({ ...(cluster.get('Thing', 'ns', 'c') as KubeObject), data: 'v2' } as KubeObject);
    cluster.create(aConfigObject('ns', 'bb'));
    cluster.create(aConfigObject('ns', 'f'));

    it('pages of 2 return a, b | c, d | e with the old state of c', () => {
      const pages: string[][] = [];
      let after: string | undefined;
      const remaining: number[] = [];
      for (;;) {
        const page = cluster.listPage({ kind: 'Thing', revision: snapshot, limit: 2, ...(after !== undefined ? { after } : {}) });
        pages.push(names(page.items));
        remaining.push(page.remaining);
        assert.equal(page.revision, snapshot);
        if (!page.more) break;
        after = page.lastKey;
      }
      assert.deepEqual(pages, [['ns/a', 'ns/b'], ['ns/c', 'ns/d'], ['ns/e']]);
      assert.deepEqual(remaining, [3, 1, 0]);
      const c = cluster.listPage({ kind: 'Thing', revision: snapshot }).items.find((o) => o.metadata.name === 'c') as KubeObject & { data: string };
      assert.equal(c.data, 'v1');
    });

    it('the current revision sees the changes', () => {
      assert.deepEqual(names(cluster.listPage({ kind: 'Thing' }).items), ['ns/a', 'ns/bb', 'ns/c', 'ns/d', 'ns/e', 'ns/f']);
    });

    it('a future revision is too large', () => {
      assert.throws(() => cluster.listPage({ kind: 'Thing', revision: cluster.revision + 1 }), TooLargeError);
    });
  });

  it('trims the history by count: older revisions expire with the oldest servable one named', () => {
    const cluster = new Cluster({ historyLimit: 3 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) cluster.create(aConfigObject('ns', name));
    assert.equal(cluster.historySize, 3);
    assert.deepEqual(cluster.eventsSince(2).map((e) => e.revision), [3, 4, 5]);
    assert.throws(() => cluster.eventsSince(1), (e: unknown) => e instanceof ExpiredError && e.message === 'too old resource version: 1 (2)');
  });

  it('trims the history by age', () => {
    let now = 0;
    const cluster = new Cluster({ historyWindowMs: 1_000, now: () => now });
    cluster.create(aConfigObject('ns', 'a'));
    now = 500;
    cluster.create(aConfigObject('ns', 'b'));
    now = 1_200;
    assert.deepEqual(cluster.eventsSince(1).map((e) => e.key), ['ns/b']);
    assert.throws(() => cluster.eventsSince(0), ExpiredError);
  });

  it('compact() drops the history so older list snapshots and watches expire', () => {
    const cluster = new Cluster();
    cluster.create(aConfigObject('ns', 'a'));
    cluster.create(aConfigObject('ns', 'b'));
    cluster.compact();
    assert.equal(cluster.oldestRevision, 2);
    assert.throws(() => cluster.listPage({ kind: 'Thing', revision: 1 }), ExpiredError);
    assert.deepEqual(cluster.eventsSince(2), []);
  });

  it('calls listeners in revision order and survives one that throws', () => {
    const seen: number[] = [];
    const errors: unknown[] = [];
    const cluster = new Cluster({ onListenerError: (error) => errors.push(error) });
    cluster.subscribe(() => {
      throw new Error('boom');
    });
    const unsubscribe = cluster.subscribe((e) => seen.push(e.revision));
    cluster.create(aConfigObject('ns', 'a'));
    cluster.create(aConfigObject('ns', 'b'));
    unsubscribe();
    cluster.create(aConfigObject('ns', 'c'));
    assert.deepEqual(seen, [1, 2]);
    assert.equal(errors.length, 3);
  });
});
