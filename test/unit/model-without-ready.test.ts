import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ClusterCache } from '../../src/kube/cache.ts';
import { objectKey, type ServiceRecord } from '../../src/kube/records.ts';
import { EndpointFeed } from '../../src/model/endpoint-feed.ts';
import { compareStrings } from '../../src/model/text.ts';
import { ServicesWithoutReadyEndpoints } from '../../src/model/without-ready.ts';
import { endpoint, service, slice } from './graphql-fixtures.ts';
import { Rng } from '../../demo/src/random.ts';

const Namespaces = ['alpha', 'beta', 'gamma'];
const Names = Array.from({ length: 8 }, (_, i) => `svc-${i}`);
const Types = ['ClusterIP', 'ClusterIP', 'NodePort', 'ExternalName'] as const;

/** What the kept answer must equal: every Service checked from scratch. */
function recomputed(cache: ClusterCache, feed: EndpointFeed, namespace: string): string[] {
  return [...cache.services.list()]
    .filter((s) => (namespace === '' || s.meta.namespace === namespace) && s.type !== 'ExternalName' && !((feed.get(objectKey(s.meta))?.counts.ready ?? 0) > 0))
    .sort((a, b) => compareStrings(a.meta.namespace, b.meta.namespace) || compareStrings(a.meta.name, b.meta.name))
    .map((s) => objectKey(s.meta));
}

const keys = (xs: readonly ServiceRecord[]) => xs.map((s) => objectKey(s.meta));

describe('Services without ready endpoints, kept current', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`equals a full recomputation after every one of 600 random store events (seed ${seed})`, () => {
      const seeded = new Rng(seed);
      const rng = () => seeded.next(); // replayable: the seed is in the test's name
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
      const cache = new ClusterCache({ client: null });
      const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
      // Some state before start, so that start() has something to check.
      cache.services.upsert(service('alpha', 'svc-0'));
      cache.slices.upsert(slice('alpha', 'svc-0-a', 'svc-0', [endpoint('10.1.0.1')]));
      feed.start();
      const kept = new ServicesWithoutReadyEndpoints(cache.services, feed);
      kept.start();
      let flips = 0;
      let previous = keys(kept.list(''));
      const steps: string[] = [];
      for (let step = 0; step < 600; step++) {
        const ns = pick(Namespaces);
        const name = pick(Names);
        const r = rng();
        if (r < 0.25) {
          cache.services.upsert(service(ns, name, { type: pick(Types), externalName: 'example.com' }));
          steps.push(`upsert Service ${ns}/${name}`);
        } else if (r < 0.35) {
          cache.services.delete(`${ns}/${name}`);
          steps.push(`delete Service ${ns}/${name}`);
        } else if (r < 0.7) {
          // One of two slices of the Service, 0 to 3 endpoints, each ready or not; sometimes unlabelled.
          const endpoints = Array.from({ length: Math.floor(rng() * 4) }, (_, i) => endpoint(`10.${Namespaces.indexOf(ns)}.${Names.indexOf(name)}.${i + 1}`, { ready: rng() < 0.5 }));
          const sliceName = `${name}-${pick(['a', 'b'])}`;
          cache.slices.upsert(slice(ns, sliceName, rng() < 0.9 ? name : null, endpoints));
          steps.push(`upsert EndpointSlice ${ns}/${sliceName} (${endpoints.length} endpoints)`);
        } else if (r < 0.85) {
          const sliceName = `${name}-${pick(['a', 'b'])}`;
          cache.slices.delete(`${ns}/${sliceName}`);
          steps.push(`delete EndpointSlice ${ns}/${sliceName}`);
        } else if (r < 0.93) {
          cache.services.replace([...cache.services.list()].filter(() => rng() < 0.8));
          steps.push('relist Services, dropping some');
        } else {
          cache.slices.replace([...cache.slices.list()].filter(() => rng() < 0.8));
          steps.push('relist EndpointSlices, dropping some');
        }
        for (const namespace of ['', ...Namespaces]) {
          assert.deepEqual(keys(kept.list(namespace)), recomputed(cache, feed, namespace), `namespace "${namespace}" after step ${step}: ${steps.slice(-3).join('; ')}`);
        }
        assert.deepEqual(kept.namespaces(), Namespaces.filter((n) => recomputed(cache, feed, n).length > 0));
        const now = keys(kept.list(''));
        if (now.join() !== previous.join()) flips++;
        previous = now;
      }
      // The churn really moved Services in and out, not just left the answer as it was.
      assert.ok(flips >= 100, `expected at least 100 steps that changed the answer, got ${flips}`);
      kept.stop();
      feed.stop();
    });
  }

  it('stops following the cache after stop()', () => {
    const cache = new ClusterCache({ client: null });
    const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
    feed.start();
    const kept = new ServicesWithoutReadyEndpoints(cache.services, feed);
    kept.start();
    cache.services.upsert(service('alpha', 'web'));
    assert.deepEqual(keys(kept.list('alpha')), ['alpha/web']);
    kept.stop();
    cache.slices.upsert(slice('alpha', 'web-a', 'web', [endpoint('10.0.0.1')]));
    assert.deepEqual(keys(kept.list('alpha')), ['alpha/web']);
    feed.stop();
  });
});

