/**
 * The watch cache against the real control plane: after every kind of change, and after every
 * fault (API server killed and restarted, 410 forced by compacting etcd while disconnected,
 * connections reset, stalled and slowed through a fault proxy), the cache equals fresh list
 * calls and every Service's merged endpoints equal the merge of its real slices.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from '../../src/kube/client.ts';
import { ClusterCache } from '../../src/kube/cache.ts';
import { EndpointFeed, type FeedBatch } from '../../src/model/endpoint-feed.ts';
import { createLogger, setLogger } from '../../src/log.ts';
import { ControlPlane, kubeconfigYaml } from '../harness/control-plane.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { Workloads } from '../harness/workload.ts';
import { cacheDifferences, waitForCacheToMatch } from '../harness/cluster-check.ts';
import { waitFor } from '../harness/wait.ts';

setLogger(createLogger({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'warn', format: 'text' }));

const nsA = 'wc-a';
const nsB = 'wc-b';
const nodes = ['wc-node-a', 'wc-node-b', 'wc-node-c'];

describe('watch cache on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.30');
  let proxy: FaultProxy;
  let client: ApiClient;
  let cache: ClusterCache;
  let feed: EndpointFeed;
  const batches: FeedBatch[] = [];

  const cacheThrough = (url: string, reflector: ConstructorParameters<typeof ClusterCache>[0]['reflector'] = {}) => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml(url, cp.state.caPem, cp.state.adminToken));
    const c = new ApiClient(kc);
    // The four core kinds only: the routing kinds have their own specs (routes.test.ts, gateway-api.test.ts).
    return { client: c, cache: new ClusterCache({ client: c, routeKinds: [], gatewayApi: false, reflector: { backoffMaxMs: 2_000, ...reflector } }) };
  };

  before(async () => {
    for (const ns of [nsA, nsB]) await kube.ensureNamespace(ns);
    for (const [i, n] of nodes.entries()) await kube.createNode(n, `zone-${'abc'[i]}`);
    await kube.createService({ namespace: nsA, name: 'web', selector: { app: 'web' } });
    await kube.createService({ namespace: nsA, name: 'api', selector: { app: 'api' }, ports: [{ name: 'grpc', port: 9090, targetPort: 8080 }] });
    await kube.createService({ namespace: nsB, name: 'db', selector: { app: 'db' }, clusterIP: 'None' });
    await work.scale(nsA, 'web', 3, nodes);
    await work.scale(nsA, 'api', 2, nodes);
    await work.scale(nsB, 'db', 2, nodes);

    const apiPort = Number(new URL(cp.state.apiServerUrl).port);
    proxy = await FaultProxy.start({ host: '127.0.0.1', port: apiPort });
    ({ client, cache } = cacheThrough(proxy.url));
    cache.start();
    await cache.synced();
    feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
    feed.start();
    feed.subscribe((b) => batches.push(b));
  });

  after(async () => {
    feed?.stop();
    await cache?.stop();
    client?.close();
    await proxy?.stop();
  });

  /**
   * Wait until the real controller's slices hold `total` endpoints (`ready` of them ready), then
   * until the gateway's merged view shows the same. The controller can take long after an API
   * server restart (client-go backoff), so it gets its own, longer deadline.
   */
  const waitForEndpoints = async (serviceKey: string, total: number, ready = total) => {
    const [ns, name] = serviceKey.split('/') as [string, string];
    await waitFor(`the real EndpointSlice controller to write ${total} endpoints (${ready} ready) for ${serviceKey}`, 180_000, async () => {
      const eps = (await kube.slicesOf(ns, name)).flatMap((s: any) => s.endpoints ?? []);
      return eps.length === total && eps.filter((e: any) => e.conditions?.ready !== false).length === ready;
    }, 250);
    await waitFor(`the gateway to show ${total} endpoints, ${ready} ready, for ${serviceKey}`, 60_000, () => {
      const c = feed.get(serviceKey)?.counts;
      return c?.total === total && c.ready === ready;
    });
  };

  it('lists every kind and matches the API server once synced', async () => {
    assert.equal(cache.isReady(), true);
    for (const h of cache.health().filter((k) => k.watched)) {
      assert.equal(h.synced, true, `${h.kind} synced`);
      assert.ok(h.objects > 0, `${h.kind} has objects`);
    }
    await waitForEndpoints(`${nsA}/web`, 3);
    await waitForCacheToMatch(cache, kube, feed);
    assert.equal(feed.get(`${nsA}/web`)?.counts.ready, 3);
  });

  it('follows creates, updates, deletes, scale-ups and scale-downs', async () => {
    await work.scale(nsA, 'web', 8, nodes);
    await work.scale(nsA, 'api', 0, nodes);
    await work.setReady(nsA, 'web', 'web-1', false);
    await kube.createService({ namespace: nsB, name: 'cache', selector: { app: 'cache' } });
    await work.scale(nsB, 'cache', 4, nodes, false);
    await kube.deleteService(nsB, 'db');
    await kube.req('PATCH', `/api/v1/nodes/${nodes[2]}`, { metadata: { labels: { role: 'edge' } } }, 'application/merge-patch+json');
    // The real EndpointSlice controller catches up first; then the cache must equal the API.
    await waitForEndpoints(`${nsA}/web`, 8, 7);
    await waitForCacheToMatch(cache, kube, feed);
    const web = feed.get(`${nsA}/web`)!;
    assert.deepEqual(web.counts, { total: 8, ready: 7, serving: 7, terminating: 0 });
    assert.equal(feed.get(`${nsB}/cache`)?.counts.ready, 0);
    assert.equal(cache.nodes.get(nodes[2]!)?.meta.labels.role, 'edge');
    // Changes were published per Service as the union changed, none of them as a resync.
    assert.ok(batches.some((b) => b.changes.some((c) => c.serviceKey === `${nsA}/web` && c.diff.added.length > 0)));
    assert.ok(batches.every((b) => !b.relist));
    await work.setReady(nsA, 'web', 'web-1', true);
    await waitForEndpoints(`${nsA}/web`, 8, 8);
  });

  it('kube-apiserver killed and restarted mid-watch: converges with no stale object', async () => {
    await cp.stopApiServer();
    await waitFor('a reflector to notice the API server is gone', 30_000, () => cache.health().some((h) => h.consecutiveFailures > 0));
    await cp.startApiServer();
    await work.scale(nsA, 'web', 6, nodes);
    await waitForEndpoints(`${nsA}/web`, 6);
    await waitForCacheToMatch(cache, kube, feed, 60_000);
  });

  it('410 forced by compacting etcd while disconnected: relists, deletes what vanished, publishes one resync change per Service', async () => {
    const listsBefore = cache.health().map((h) => h.lists);
    proxy.set({ mode: 'refuse' });
    proxy.resetAll();
    await waitFor('every kind to notice the disconnect', 30_000, () => cache.health().every((h) => !h.watched || h.consecutiveFailures > 0));
    // Deleted while disconnected: the cache must drop them after reconnect.
    await work.scale(nsA, 'web', 2, nodes);
    await kube.deleteService(nsB, 'cache');
    await work.scale(nsB, 'cache', 0, nodes);
    await kube.createService({ namespace: nsB, name: 'queue', selector: { app: 'queue' } });
    await work.scale(nsB, 'queue', 3, nodes);
    // Let the real controller write every change while we are cut off, so the relist sees all of them.
    const apiReady = async (ns: string, svc: string) =>
      (await kube.slicesOf(ns, svc)).flatMap((sl: any) => sl.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).length;
    await waitFor('the controller to write queue and web while disconnected', 30_000, async () => (await apiReady(nsB, 'queue')) === 3 && (await apiReady(nsA, 'web')) === 2);
    await cp.stopApiServer();
    await cp.compactEtcd();
    await cp.startApiServer();
    batches.length = 0;
    proxy.set({ mode: 'pass' });
    await waitForEndpoints(`${nsB}/queue`, 3);
    await waitForEndpoints(`${nsA}/web`, 2);
    await waitForCacheToMatch(cache, kube, feed, 60_000);
    const listsAfter = cache.health().map((h) => h.lists);
    // Kinds with objects deleted while disconnected must have relisted (their versions were
    // compacted away). A kind with no change since its last event may resume its watch.
    for (const [i, h] of cache.health().entries()) {
      if (h.kind === 'Node' || !h.watched) continue;
      assert.ok(listsAfter[i]! > listsBefore[i]!, `${h.kind} relisted (${listsBefore[i]} → ${listsAfter[i]})`);
    }
    assert.equal(cache.pods.get(`${nsA}/web-5`), undefined);
    assert.equal(cache.services.get(`${nsB}/cache`), undefined);
    const relists = batches.filter((b) => b.relist);
    assert.ok(relists.length >= 1, 'a relist batch was published');
    const changed = relists.flatMap((b) => b.changes.map((c) => c.serviceKey));
    assert.equal(new Set(changed).size, changed.length, `one change per Service per relist, got ${changed}`);
    assert.ok(changed.includes(`${nsA}/web`) && changed.includes(`${nsB}/queue`), `changed services ${changed}`);
    assert.ok(relists.flatMap((b) => b.changes).every((c) => c.resync));
  });

  it('connections reset mid-watch: re-watches and converges', async () => {
    const watchesBefore = cache.health().reduce((a, h) => a + h.watches, 0);
    proxy.resetAll();
    await work.scale(nsA, 'web', 5, nodes);
    await waitForEndpoints(`${nsA}/web`, 5);
    await waitForCacheToMatch(cache, kube, feed);
    assert.ok(cache.health().reduce((a, h) => a + h.watches, 0) > watchesBefore);
  });

  it('slow connection (every chunk delayed): still converges', async () => {
    proxy.set({ mode: 'slow', delayMs: 150 });
    try {
      await work.scale(nsA, 'web', 7, nodes);
      await work.setReady(nsA, 'web', 'web-0', false);
      await waitForEndpoints(`${nsA}/web`, 7, 6);
      await waitForCacheToMatch(cache, kube, feed, 60_000);
    } finally {
      proxy.set({ mode: 'pass' });
    }
  });

  it('stalled connection: the stall timer drops it, and the cache catches up', async () => {
    const stallProxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(cp.state.apiServerUrl).port) });
    const own = cacheThrough(stallProxy.url, { stallTimeoutMs: 3_000 });
    try {
      own.cache.start();
      await own.cache.synced();
      stallProxy.set({ mode: 'stall' });
      await work.scale(nsA, 'web', 4, nodes);
      await waitFor('a stall to be detected', 20_000, () => own.cache.health().some((h) => (h.lastError ?? '').includes('no data for')));
      assert.ok((await cacheDifferences(own.cache, kube)).length > 0, 'stalled cache is behind while stalled');
      stallProxy.set({ mode: 'pass' });
      await waitForCacheToMatch(own.cache, kube, undefined, 30_000);
    } finally {
      await own.cache.stop();
      own.client.close();
      await stallProxy.stop();
    }
  });
});
