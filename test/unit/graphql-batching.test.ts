import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { createContext } from '../../src/graphql/context.ts';
import { createLoaders, NamespaceAll, type CacheLoader, type LoaderName } from '../../src/graphql/loaders.ts';
import { Warnings } from '../../src/graphql/warnings.ts';
import { ClusterCache } from '../../src/kube/cache.ts';
import { EndpointFeed } from '../../src/model/endpoint-feed.ts';
import type { RouteLoaderName } from '../../src/graphql/route-loaders.ts';
import { OpenAccess } from '../../src/auth/access.ts';
import { endpoint, node, pod, service, slice, smallCluster, TableAccess, World, type Batch } from './graphql-fixtures.ts';

/** 100 Services in one namespace, 3 pods each (all endpoints), spread over 10 nodes in 3 zones. */
function hundredServices(): World {
  const nodes = Array.from({ length: 10 }, (_, i) => node(`node-${i}`, { zone: `zone-${i % 3}` }));
  const pods = [];
  const services = [];
  const slices = [];
  for (let s = 0; s < 100; s++) {
    const name = `svc-${String(s).padStart(3, '0')}`;
    services.push(service('shop', name, { selector: { app: name } }));
    const ps = Array.from({ length: 3 }, (_, i) => pod('shop', `${name}-${i}`, { labels: { app: name }, node: `node-${(s + i) % 10}`, ips: [`10.4.${s}.${i + 1}`] }));
    pods.push(...ps);
    slices.push(slice('shop', `${name}-abc`, name, ps.map((p) => endpoint(p.podIPs[0]!, { pod: p, zone: `zone-${s % 3}` }))));
  }
  return new World({ nodes, pods, services, slices });
}

/** Loader name and batch size, in batch order. */
function shape(batches: readonly Batch[]): [LoaderName, number][] {
  return batches.map((b) => [b.name, b.keys.length]);
}

describe('GraphQL batching', () => {
  const world = hundredServices();

  const everything = `{
      services(first: 100) { edges { node {
        metadata { name } endpointCounts { ready } hasReadyEndpoints
        slices { metadata { name } }
        endpoints(first: 10) { edges { cursor node {
          address
          pod { metadata { name } node { zone } services { metadata { name } } }
          node { metadata { name } }
          service { metadata { name } }
          slices { metadata { name } }
        } } }
        pods(first: 10) { items { metadata { name } zone endpoints { address } services { metadata { name } } } }
        nodes(first: 10) { items { metadata { name } pods(first: 5) { totalCount } } }
      } } }
    }`;
  const checkEverything = (result: Awaited<ReturnType<World['run']>>) => {
    assert.equal(result.errors, undefined);
    const data = result.data as any;
    assert.equal(data.services.edges.length, 100);
    assert.equal(data.services.edges[99].node.endpoints.edges[2].node.pod.services[0].metadata.name, 'svc-099');
    assert.equal(data.services.edges[99].node.endpoints.edges[2].node.pod.node.zone, 'zone-1'); // node-1
    assert.equal(data.services.edges[99].node.endpoints.edges[2].node.node.metadata.name, 'node-1');
    assert.equal(data.services.edges[99].node.endpoints.edges[2].node.service.metadata.name, 'svc-099');
  };

  it('under access reviews, resolves 100 Services with their endpoints, pods and nodes, both ways, in one batch per loader', async () => {
    // A caller whose permissions are reviewed (allowed cluster-wide): every join goes through
    // its DataLoader, so that the questions of a batch are asked together.
    world.access = new TableAccess('reviewed', [['list', 'services', ''], ['list', 'pods', ''], ['list', 'endpointslices', ''], ['list', 'nodes', '']]);
    try {
      checkEverything(await world.run(everything));
    } finally {
      world.access = OpenAccess;
    }
    // One batch per loader, each with every distinct key at once: a relation resolved per item
    // would show up as 100 (or 300) batches of one key.
    assert.deepEqual(shape(world.batches), [
      ['servicesByNamespace', 1],
      ['endpointsByService', 100],
      ['slicesByService', 100],
      ['podsByService', 100],
      ['nodeByName', 10],
      ['endpointsByPod', 300],
      ['servicesByPod', 300],
      ['podByKey', 300],
      ['serviceByKey', 100],
      ['sliceByKey', 100],
      ['podsByNode', 10],
    ]);
  });

  it('with access open, reads single objects (an endpoint\'s pod, node and Service, a pod\'s node) synchronously, the same answer without their batches', async () => {
    const result = await world.run(everything);
    checkEverything(result);
    // podByKey and serviceByKey are read only through the synchronous path here; nodeByName
    // still batches once for Service.nodes (a list of names, through loadMany), and
    // endpointsByService once for hasReadyEndpoints and Service.nodes.
    assert.deepEqual(shape(world.batches), [
      ['servicesByNamespace', 1],
      ['endpointsByService', 100],
      ['slicesByService', 100],
      ['servicesByPod', 300],
      ['sliceByKey', 100],
      ['podsByService', 100],
      ['endpointsByPod', 300],
      ['nodeByName', 10],
      ['podsByNode', 10],
    ]);
    world.access = new TableAccess('reviewed', [['list', 'services', ''], ['list', 'pods', ''], ['list', 'endpointslices', ''], ['list', 'nodes', '']]);
    try {
      assert.deepEqual(await world.run(everything), result, 'the batched path answers the same');
    } finally {
      world.access = OpenAccess;
    }
  });

  it('keeps the number of batches constant as the number of Services grows', async () => {
    const query = (n: number) => `{ services(first: ${n}) { edges { node { endpoints(first: 10) { items { pod { node { metadata { name } } } } } pods(first: 10) { items { services { metadata { name } } } } } } } }`;
    await world.run(query(10));
    const few = shape(world.batches).map(([name]) => name);
    await world.run(query(100));
    const many = shape(world.batches).map(([name]) => name);
    assert.deepEqual(many, few);
    assert.ok(many.length <= 6, `expected at most 6 batches, got ${many.length}: ${many.join(', ')}`);
  });

  it('reads the cache for a list through one loader call, whatever the filters', async () => {
    await world.run(`{ a: pods(zone: "zone-1", ready: true, first: 1000) { totalCount } }`);
    assert.deepEqual(shape(world.batches), [['podsByNamespace', 1], ['nodeByName', 10]]);
    await world.run(`{ services(hasReadyEndpoints: true, first: 1000) { totalCount } }`);
    assert.deepEqual(shape(world.batches), [['servicesByNamespace', 1], ['endpointsByService', 100]]);
  });

  it('with access open, answers a lookup by key with its endpoints and counts without a batch, as under access reviews', async () => {
    const q = `{ service(namespace: "shop", name: "svc-002") { metadata { name } endpointCounts { total ready } endpoints(first: 10) { totalCount items { address pod { metadata { name } } } } } }`;
    const open = await world.run(q);
    assert.deepEqual(shape(world.batches), []);
    assert.equal((open.data as any).service.endpoints.totalCount, 3);
    world.access = new TableAccess('reviewed', [['list', 'services', ''], ['list', 'pods', ''], ['list', 'endpointslices', '']]);
    try {
      assert.deepEqual(await world.run(q), open, 'the batched path answers the same');
      assert.deepEqual(shape(world.batches), [['serviceByKey', 1], ['endpointsByService', 1], ['podByKey', 3]]);
    } finally {
      world.access = OpenAccess;
    }
  });

  it('creates fresh loaders per operation: nothing is cached across operations', async () => {
    // Under access reviews, where a lookup goes through its DataLoader (and its cache).
    world.access = new TableAccess('reviewed', [['list', 'services', '']]);
    try {
      const q = `{ service(namespace: "shop", name: "svc-001") { metadata { name } } }`;
      await world.run(q);
      assert.deepEqual(shape(world.batches), [['serviceByKey', 1]]);
      await world.run(q);
      assert.deepEqual(shape(world.batches), [['serviceByKey', 1]], 'the second operation loads again');
      world.cache.services.delete('shop/svc-001');
      const gone = await world.data(q);
      assert.equal(gone.service, null, 'and sees the cache as it is now');
    } finally {
      world.access = OpenAccess;
    }
  });
});

describe('GraphQL loaders keep DataLoader\'s contract', () => {
  const world = smallCluster();
  const loadersWithLog = () => {
    const calls: [LoaderName, unknown[]][] = [];
    const loaders = createLoaders({ cache: world.cache, feed: world.feed }, { onBatch: (name, keys) => calls.push([name, [...keys]]) });
    return { loaders, calls };
  };

  it('answers in key order, one per key, null for absence, in one batch', async () => {
    const { loaders, calls } = loadersWithLog();
    const got = await Promise.all([loaders.serviceByKey.load('shop/web'), loaders.serviceByKey.load('shop/nope'), loaders.serviceByKey.load('kube-system/kube-dns')]);
    assert.deepEqual(got.map((s) => s?.meta.name ?? null), ['web', null, 'kube-dns']);
    assert.deepEqual(calls, [['serviceByKey', ['shop/web', 'shop/nope', 'kube-system/kube-dns']]]);
  });

  const listCases: [Exclude<LoaderName, RouteLoaderName>, string[], string[][]][] = [
    ['slicesByService', ['shop/web', 'shop/none'], [['web-abc'], []]],
    ['podsByService', ['shop/web', 'shop/manual', 'shop/none'], [['web-1', 'web-2', 'web-3', 'web-4'], [], []]],
    ['servicesByPod', ['shop/web-1', 'shop/db-0', 'shop/none'], [['web', 'web-lb'], ['db'], []]],
    ['podsByNode', ['node-b', 'node-z'], [['coredns-1', 'web-2'], []]],
    ['podsByIP', ['10.4.2.17', '10.0.0.1', '10.9.9.9'], [['web-2'], ['node-exporter-a'], []]],
    ['servicesByClusterIP', ['10.96.0.53', 'fd00::30', '10.9.9.9'], [['kube-dns'], ['web-lb'], []]],
    ['nodesByAddress', ['10.0.0.2', 'node-c', '10.9.9.9'], [['node-b'], ['node-c'], []]],
    ['servicesByNamespace', ['kube-system', NamespaceAll], [['kube-dns'], ['kube-dns', 'db', 'empty', 'ext', 'manual', 'web', 'web-lb']]],
    ['nodesByZone', ['zone-a', 'zone-q'], [['node-a', 'node-c'], []]],
  ];
  for (const [name, keys, want] of listCases) {
    it(`${name}: one sorted list per key, empty when nothing matches`, async () => {
      const { loaders, calls } = loadersWithLog();
      const loader = loaders[name] as unknown as { loadMany(keys: string[]): Promise<({ meta: { name: string } }[] | Error)[]> };
      const got = await loader.loadMany(keys);
      assert.deepEqual(got.map((list) => (list instanceof Error ? list : list.map((r) => r.meta.name))), want);
      assert.deepEqual(calls, [[name, keys]]);
    });
  }

  it('now: with access open, the same records as load, synchronously and with no batch; reviewed, a promise from a batch', async () => {
    const { loaders, calls } = loadersWithLog();
    const cases = [
      [loaders.serviceByKey, 'shop', 'web'],
      [loaders.serviceByKey, 'shop', 'nope'],
      [loaders.podByKey, 'shop', 'web-2'],
      [loaders.podByKey, 'kube-system', 'web-2'],
    ] as const;
    for (const [loader, namespace, name] of cases) {
      const now = (loader as CacheLoader<string, unknown>).now(`${namespace}/${name}`);
      assert.ok(!(now instanceof Promise), `${namespace}/${name} is answered now`);
      assert.equal(now, world.cache.storeOf(loader === loaders.podByKey ? 'Pod' : 'Service').get(`${namespace}/${name}`) ?? null);
    }
    assert.equal(loaders.nodeByName.now('node-b'), world.cache.nodes.get('node-b'));
    assert.equal(loaders.nodeByName.now('node-z'), null);
    assert.equal(calls.length, 0, 'no batch');

    const batches: [LoaderName, unknown[]][] = [];
    const reviewed = createLoaders(
      { cache: world.cache, feed: world.feed },
      { access: new TableAccess('reviewed', [['list', 'pods', 'shop'], ['list', 'nodes', '']]), onBatch: (name, keys) => batches.push([name, [...keys]]) },
    );
    const [pod, hidden, node] = [reviewed.podByKey.now('shop/web-2'), reviewed.podByKey.now('kube-system/coredns-1'), reviewed.nodeByName.now('node-b')];
    assert.ok(pod instanceof Promise && hidden instanceof Promise && node instanceof Promise);
    assert.equal((await pod)?.meta.name, 'web-2');
    assert.equal(await hidden, null, 'filtered by the review as load() is');
    assert.equal(await node, world.cache.nodes.get('node-b'));
    assert.deepEqual(batches, [['podByKey', ['shop/web-2', 'kube-system/coredns-1']], ['nodeByName', ['node-b']]]);
  });

  it('now notes what it reads as a batch would: a namespace outside the watched ones', async () => {
    const narrow = new ClusterCache({ client: null, namespaces: ['shop'] });
    const feed = new EndpointFeed(narrow.slices, (k) => narrow.slicesByService(k), () => 0);
    const viaNow = new Warnings();
    createLoaders({ cache: narrow, feed }, { warnings: viaNow }).podByKey.now('kube-system/coredns-1');
    const viaLoad = new Warnings();
    await createLoaders({ cache: narrow, feed }, { warnings: viaLoad }).podByKey.load('kube-system/coredns-1');
    assert.equal(viaNow.size, 1);
    assert.deepEqual(viaNow.list(), viaLoad.list());
  });

  it('endpoint loaders pair each merged endpoint with its Service, sorted by Service then address', async () => {
    const { loaders, calls } = loadersWithLog();
    const [byNode, byPod, byAddress] = await Promise.all([
      loaders.endpointsByNode.load('node-b'),
      loaders.endpointsByPod.load('shop/web-2'),
      loaders.endpointsByAddress.load('10.4.1.1'),
    ]);
    const line = (e: { namespace: string; serviceName: string; endpoint: { address: string } }) => `${e.namespace}/${e.serviceName} ${e.endpoint.address}`;
    assert.deepEqual(byNode.map(line), ['kube-system/kube-dns 10.4.2.2', 'shop/web 10.4.2.17', 'shop/web-lb 10.4.2.17']);
    assert.deepEqual(byPod.map(line), ['shop/web 10.4.2.17', 'shop/web-lb 10.4.2.17']);
    assert.deepEqual(byAddress.map(line), ['shop/web 10.4.1.1', 'shop/web-lb 10.4.1.1']);
    assert.deepEqual(calls.map(([n]) => n), ['endpointsByNode', 'endpointsByPod', 'endpointsByAddress']);
  });

  it('kindHealthByKind reads the cache health once per batch', async () => {
    const { loaders, calls } = loadersWithLog();
    const got = await loaders.kindHealthByKind.loadMany(['Pod', 'Node']);
    assert.deepEqual(got.map((h) => (h instanceof Error || h === null ? h : h.kind)), ['Pod', 'Node']);
    assert.equal(calls.length, 1);
  });

  it('createContext builds new loaders every time: what one context cached, another does not see', async () => {
    const a = createContext({ cache: world.cache, feed: world.feed });
    const b = createContext({ cache: world.cache, feed: world.feed });
    a.loaders.serviceByKey.prime('shop/web', null);
    assert.equal(await a.loaders.serviceByKey.load('shop/web'), null, 'a answers from its own cache');
    assert.equal((await b.loaders.serviceByKey.load('shop/web'))?.meta.name, 'web', 'b reads the store');
  });
});
