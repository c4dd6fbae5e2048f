/**
 * The endpoint change feed over a hand-fed slice store: per-Service merged views, published
 * only when the union changes, one change per affected Service for a relist, and unchanged
 * endpoints shared between consecutive views.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterCache } from '../../src/kube/cache.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { EndpointSliceRecord } from '../../src/kube/records.ts';
import { EndpointFeed, type FeedBatch } from '../../src/model/endpoint-feed.ts';

let rv = 0;
function slice(svc: string | null, name: string, ips: [string, boolean][]): EndpointSliceRecord {
  return ingest('EndpointSlice', {
    metadata: { namespace: 'ns', name, uid: `u-${name}`, resourceVersion: String(++rv), labels: svc ? { 'kubernetes.io/service-name': svc } : {} },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: ips.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
  });
}

function setup() {
  const cache = new ClusterCache({ client: null });
  const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
  const batches: FeedBatch[] = [];
  feed.start();
  feed.subscribe((b) => batches.push(b));
  return { cache, feed, batches };
}

describe('endpoint feed', () => {
  it('publishes a change when the union changes, and nothing when a slice changes without changing it', () => {
    const { cache, batches } = setup();
    cache.slices.upsert(slice('web', 'web-a', [['10.0.0.1', true]]));
    cache.slices.upsert(slice('web', 'web-b', [['10.0.0.1', true]])); // the same endpoint in a second slice
    assert.deepEqual(batches.map((b) => b.changes.map((c) => [c.serviceKey, c.diff.added.length, c.seq])), [[['ns/web', 1, 1]]]);
  });

  it('a slice relabelled to another Service moves its endpoints: one change for each Service', () => {
    const { cache, batches } = setup();
    cache.slices.upsert(slice('web', 'x', [['10.0.0.1', true]]));
    cache.slices.upsert(slice('api', 'x', [['10.0.0.1', true]]));
    assert.deepEqual(batches[1]!.changes.map((c) => [c.serviceKey, c.diff.added.length, c.diff.removed.length, c.after === null]), [
      ['ns/api', 1, 0, false],
      ['ns/web', 0, 1, true],
    ]);
  });

  it('a slice without the service-name label feeds no Service', () => {
    const { cache, feed, batches } = setup();
    cache.slices.upsert(slice(null, 'orphan', [['10.0.0.9', true]]));
    assert.deepEqual(batches, []);
    assert.deepEqual([...feed.serviceKeys()], []);
  });

  it('a relist publishes one resync change per affected Service, in one batch', () => {
    const { cache, batches } = setup();
    cache.slices.replace([slice('web', 'w1', [['10.0.0.1', true]]), slice('api', 'a1', [['10.0.1.1', true]])]);
    batches.length = 0;
    cache.slices.replace([slice('web', 'w1', [['10.0.0.2', true]]), slice('web', 'w2', [['10.0.0.3', true]]), slice('api', 'a1', [['10.0.1.1', true]])]);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.relist, true);
    assert.deepEqual(batches[0]!.changes.map((c) => [c.serviceKey, c.resync, c.diff.added.length, c.diff.removed.length]), [['ns/web', true, 2, 1]]);
  });

  it('unchanged endpoints are the same objects in consecutive views', () => {
    const { cache, feed } = setup();
    cache.slices.upsert(slice('web', 'w1', [['10.0.0.1', true], ['10.0.0.2', true]]));
    const before = feed.get('ns/web')!;
    cache.slices.upsert(slice('web', 'w1', [['10.0.0.1', true], ['10.0.0.2', false]]));
    const after = feed.get('ns/web')!;
    assert.equal(after.endpoints[0], before.endpoints[0]);
    assert.notEqual(after.endpoints[1], before.endpoints[1]);
    assert.equal(after.counts.ready, 1);
    assert.ok(Object.isFrozen(after) && Object.isFrozen(after.endpoints));
  });
});
