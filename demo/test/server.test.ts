import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateCluster, loadCluster } from '../src/generate.ts';
import { startSimServer } from '../src/server.ts';
import type { SimServer, SimServerOptions } from '../src/server.ts';
import type { Cluster } from '../src/cluster.ts';
import type { KubeObject, PodJson, StatusJson } from '../src/types.ts';
import { openWatch } from './testing.ts';
import { waitFor } from '../../test/harness/wait.ts';
import type { WatchEventJson } from './testing.ts';

const generated = generateCluster('demo', { seed: 9 });

interface ListJson {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: (KubeObject & Record<string, unknown>)[];
}

async function getJson<T>(url: string): Promise<{ status: number; body: T; contentType: string | null }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T, contentType: response.headers.get('content-type') };
}

/** Touches a pod (an annotation), producing one MODIFIED event. */
function touch(cluster: Cluster, pod: PodJson, value: string): PodJson {
  return cluster.update({ ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata.annotations, touched: value } } });
}

function firstPod(cluster: Cluster, namespace = 'shop'): PodJson {
  const pod = cluster.list<PodJson>('Pod', namespace)[0];
  assert.ok(pod);
  return pod;
}

/** A fresh cluster and server per test that needs its own; stopped in `after`. */
function withServer(options: Partial<SimServerOptions> & { historyLimit?: number } = {}): { cluster: () => Cluster; server: () => SimServer } {
  let cluster: Cluster | undefined;
  let server: SimServer | undefined;
  before(async () => {
    cluster = loadCluster(generated, { historyLimit: options.historyLimit ?? 10_000 });
    server = await startSimServer({ cluster, ...options });
  });
  after(async () => {
    await server?.stop();
  });
  return { cluster: () => cluster as Cluster, server: () => server as SimServer };
}

describe('sim server: LIST', () => {
  const ctx = withServer();

  it('returns a PodList with the current resourceVersion, items in namespace/name order, without kind', async () => {
    const { status, body, contentType } = await getJson<ListJson>(`${ctx.server().url}/api/v1/pods`);
    assert.equal(status, 200);
    assert.equal(contentType, 'application/json');
    assert.equal(body.kind, 'PodList');
    assert.equal(body.apiVersion, 'v1');
    assert.equal(body.metadata.resourceVersion, ctx.cluster().resourceVersion);
    assert.equal(body.metadata.continue, undefined);
    assert.equal(body.items.length, generated.pods.length);
    const keys = body.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(body.items[0]?.['kind'], undefined);
  });

  it('pages with limit and continue: every object exactly once, all pages at the first page’s snapshot', async () => {
    const cluster = ctx.cluster();
    const expected = cluster.list('Pod').map((p) => `${p.metadata.namespace}/${p.metadata.name}@${p.metadata.resourceVersion}`);
    const seen: string[] = [];
    const versions = new Set<string>();
    const remaining: number[] = [];
    let token: string | undefined;
    let page = 0;
    do {
      const url = `${ctx.server().url}/api/v1/pods?limit=7${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
      const { status, body } = await getJson<ListJson>(url);
      assert.equal(status, 200);
      versions.add(body.metadata.resourceVersion);
      seen.push(...body.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}@${p.metadata.resourceVersion}`));
      if (body.metadata.remainingItemCount !== undefined) remaining.push(body.metadata.remainingItemCount);
      token = body.metadata.continue;
      // The cluster moves on between pages: none of it may show up.
      const pod = cluster.nth<PodJson>('Pod', page * 5);
      if (pod) touch(cluster, pod, `page-${page}`);
      if (page === 3) {
        const [namespace, rest] = (expected[100] ?? '').split('/');
        assert.ok(cluster.delete('Pod', namespace, rest?.split('@')[0] ?? ''), 'a pod of a later page is deleted');
      }
      page++;
    } while (token !== undefined);
    assert.equal(versions.size, 1);
    assert.deepEqual(seen, expected);
    assert.deepEqual(remaining, remaining.map((_, i) => expected.length - 7 * (i + 1)));
  });

  it('lists one namespace, and filters by label and field selectors', async () => {
    const ns = await getJson<ListJson>(`${ctx.server().url}/api/v1/namespaces/kube-system/pods`);
    assert.ok(ns.body.items.length > 0 && ns.body.items.every((p) => p.metadata.namespace === 'kube-system'));
    const slices = await getJson<ListJson>(`${ctx.server().url}/apis/discovery.k8s.io/v1/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=catalog')}`);
    assert.equal(slices.body.kind, 'EndpointSliceList');
    assert.equal(slices.body.apiVersion, 'discovery.k8s.io/v1');
    assert.equal(slices.body.items.length, 2);
    const pod = firstPod(ctx.cluster());
    const byNode = await getJson<ListJson>(`${ctx.server().url}/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${pod.spec.nodeName}`)}`);
    assert.ok(byNode.body.items.length > 0 && byNode.body.items.every((p) => (p['spec'] as { nodeName: string }).nodeName === pod.spec.nodeName));
    const bad = await getJson<StatusJson>(`${ctx.server().url}/api/v1/pods?fieldSelector=spec.containers=x`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.message, 'field label not supported: spec.containers');
  });

  it('serves nodes, namespaces, services and single objects', async () => {
    for (const [path, kind, count] of [['/api/v1/nodes', 'NodeList', generated.nodes.length], ['/api/v1/namespaces', 'NamespaceList', 4], ['/api/v1/services', 'ServiceList', 20]] as const) {
      const { body } = await getJson<ListJson>(`${ctx.server().url}${path}`);
      assert.equal(body.kind, kind);
      assert.equal(body.items.length, count);
    }
    const one = await getJson<KubeObject>(`${ctx.server().url}/api/v1/namespaces/shop/services/catalog`);
    assert.equal(one.body.kind, 'Service');
    assert.equal(one.body.metadata.name, 'catalog');
    const missing = await getJson<StatusJson>(`${ctx.server().url}/api/v1/namespaces/shop/services/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'services "nope" not found', reason: 'NotFound', details: { name: 'nope', kind: 'services' }, code: 404,
    });
  });

  it('answers an unknown path with a 404 Status and a POST with 405', async () => {
    const unknown = await getJson<StatusJson>(`${ctx.server().url}/api/v1/widgets`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.kind, 'Status');
    assert.equal(unknown.body.reason, 'NotFound');
    const post = await fetch(`${ctx.server().url}/api/v1/pods`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(((await post.json()) as StatusJson).reason, 'MethodNotAllowed');
  });

  it('serves /version, health endpoints and discovery', async () => {
    const version = await getJson<{ major: string; minor: string; gitVersion: string }>(`${ctx.server().url}/version`);
    assert.equal(version.body.gitVersion, 'v1.36.0');
    for (const path of ['/healthz', '/readyz', '/livez']) {
      const response = await fetch(`${ctx.server().url}${path}`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'ok');
    }
    const core = await getJson<{ resources: { name: string }[] }>(`${ctx.server().url}/api/v1`);
    assert.deepEqual(core.body.resources.map((r) => r.name), ['pods', 'services', 'nodes', 'namespaces']);
  });

  it('rejects a malformed continue token and a too-large resourceVersion', async () => {
    const bad = await getJson<StatusJson>(`${ctx.server().url}/api/v1/pods?limit=5&continue=bm9wZQ`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^continue key is not valid/);
    const future = await getJson<StatusJson>(`${ctx.server().url}/api/v1/pods?resourceVersion=${ctx.cluster().revision + 100}`);
    assert.equal(future.status, 504);
    assert.equal(future.body.details?.causes?.[0]?.reason, 'ResourceVersionTooLarge');
  });
});

describe('sim server: LIST continuation past compaction', () => {
  const ctx = withServer();

  it('answers 410 Expired with a Status when the continue token’s snapshot is compacted', async () => {
    const first = await getJson<ListJson>(`${ctx.server().url}/api/v1/pods?limit=10`);
    touch(ctx.cluster(), firstPod(ctx.cluster()), 'x');
    ctx.cluster().compact();
    const next = await getJson<StatusJson>(`${ctx.server().url}/api/v1/pods?limit=10&continue=${first.body.metadata.continue}`);
    assert.equal(next.status, 410);
    assert.equal(next.body.kind, 'Status');
    assert.equal(next.body.status, 'Failure');
    assert.equal(next.body.reason, 'Expired');
    assert.equal(next.body.code, 410);
    assert.match(next.body.message, /continue parameter is too old/);
    assert.equal(typeof next.body.metadata.continue, 'string');
  });
});

describe('sim server: WATCH', () => {
  const ctx = withServer({ bookmarkIntervalMs: 50, historyLimit: 50 });

  it('delivers the events after the given resourceVersion, in order, then live ones', async () => {
    const cluster = ctx.cluster();
    const from = cluster.revision;
    const pod = firstPod(cluster);
    const a = touch(cluster, pod, 'one');
    cluster.create({ ...pod, metadata: { ...pod.metadata, name: `${pod.metadata.name}-copy`, uid: 'copy-uid' } });
    cluster.delete('Pod', pod.metadata.namespace, `${pod.metadata.name}-copy`);
    // A Service event is not a Pod event: it must not show up.
    const svc = cluster.list('Service')[0] as KubeObject;
    cluster.update(svc);
    const watch = await openWatch(`${ctx.server().url}/api/v1/pods?watch=1&resourceVersion=${from}`);
    try {
      assert.equal(watch.status, 200);
      assert.equal(watch.contentType, 'application/json');
      const backlog = [await watch.next(), await watch.next(), await watch.next()] as WatchEventJson[];
      assert.deepEqual(backlog.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]), [
        ['MODIFIED', pod.metadata.name, a.metadata.resourceVersion],
        ['ADDED', `${pod.metadata.name}-copy`, String(from + 2)],
        ['DELETED', `${pod.metadata.name}-copy`, String(from + 3)],
      ]);
      assert.equal(backlog[0]?.object.kind, 'Pod');
      const live = touch(cluster, a, 'two');
      const next = (await watch.next()) as WatchEventJson;
      assert.deepEqual([next.type, next.object.metadata.resourceVersion], ['MODIFIED', live.metadata.resourceVersion]);
    } finally {
      watch.close();
    }
  });

  it('answers a too-old resourceVersion with an in-stream ERROR 410 on HTTP 200, then ends', async () => {
    const cluster = ctx.cluster();
    const pod = firstPod(cluster);
    for (let i = 0; i < 60; i++) touch(cluster, cluster.get<PodJson>('Pod', pod.metadata.namespace, pod.metadata.name) as PodJson, `n${i}`);
    const watch = await openWatch(`${ctx.server().url}/api/v1/pods?watch=true&resourceVersion=1`);
    try {
      assert.equal(watch.status, 200);
      const event = (await watch.next()) as WatchEventJson;
      assert.equal(event.type, 'ERROR');
      const status = event.object as unknown as StatusJson;
      assert.equal(status.kind, 'Status');
      assert.equal(status.code, 410);
      assert.equal(status.reason, 'Expired');
      assert.match(status.message, /^too old resource version: 1 \(\d+\)$/);
      assert.equal(await watch.next(), 'end');
    } finally {
      watch.close();
    }
  });

  it('sends bookmarks with the current resourceVersion when asked', async () => {
    const watch = await openWatch(`${ctx.server().url}/apis/discovery.k8s.io/v1/endpointslices?watch=1&resourceVersion=${ctx.cluster().revision}&allowWatchBookmarks=true`);
    try {
      const events = await watch.until((e) => e.type === 'BOOKMARK');
      const bookmark = events.at(-1);
      assert.deepEqual(bookmark, {
        type: 'BOOKMARK',
        object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: ctx.cluster().resourceVersion } },
      });
    } finally {
      watch.close();
    }
  });

  it('ends the stream cleanly at timeoutSeconds, with a last bookmark before it and none without asking', async () => {
    const started = Date.now();
    const withBookmarks = await openWatch(`${ctx.server().url}/api/v1/nodes?watch=1&resourceVersion=${ctx.cluster().revision}&timeoutSeconds=1&allowWatchBookmarks=true`);
    const without = await openWatch(`${ctx.server().url}/api/v1/nodes?watch=1&resourceVersion=${ctx.cluster().revision}&timeoutSeconds=1`);
    try {
      const a = await withBookmarks.until(() => false, 5_000);
      const b = await without.until(() => false, 5_000);
      assert.ok(a.length > 0 && a.every((e) => e.type === 'BOOKMARK'));
      assert.deepEqual(b, []);
      assert.ok(Date.now() - started >= 900, 'not before the deadline');
    } finally {
      withBookmarks.close();
      without.close();
    }
  });

  it('without a resourceVersion, starts with the current state as ADDED events', async () => {
    const watch = await openWatch(`${ctx.server().url}/api/v1/namespaces/kube-system/pods?watch=1`);
    try {
      const expected = ctx.cluster().list('Pod', 'kube-system').map((p) => p.metadata.name);
      const events: WatchEventJson[] = [];
      for (let i = 0; i < expected.length; i++) events.push((await watch.next()) as WatchEventJson);
      assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), expected.map((n) => ['ADDED', n]));
    } finally {
      watch.close();
    }
  });

  it('with sendInitialEvents, ends the initial state with an initial-events-end bookmark', async () => {
    const watch = await openWatch(`${ctx.server().url}/api/v1/namespaces/kube-system/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=`);
    try {
      const events = await watch.until((e) => e.type === 'BOOKMARK');
      const bookmark = events.at(-1) as WatchEventJson;
      assert.ok(events.slice(0, -1).every((e) => e.type === 'ADDED'));
      assert.deepEqual(bookmark.object.metadata, { resourceVersion: ctx.cluster().resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } });
    } finally {
      watch.close();
    }
  });

  it('with a label selector, an object that stops matching arrives as DELETED and one that starts as ADDED', async () => {
    const cluster = ctx.cluster();
    const pod = cluster.list<PodJson>('Pod', 'shop').find((p) => p.metadata.labels?.['app'] === 'cart') as PodJson;
    const watch = await openWatch(`${ctx.server().url}/api/v1/pods?watch=1&resourceVersion=${cluster.revision}&labelSelector=app%3Dcart`);
    try {
      const relabelled = cluster.update({ ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, app: 'quarantine' } } });
      cluster.update({ ...relabelled, metadata: { ...relabelled.metadata, labels: pod.metadata.labels } });
      const events = [await watch.next(), await watch.next()] as WatchEventJson[];
      assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.labels?.['app']]), [
        ['DELETED', pod.metadata.name, 'cart'],
        ['ADDED', pod.metadata.name, 'cart'],
      ]);
      assert.equal(events[0]?.object.metadata.resourceVersion, relabelled.metadata.resourceVersion);
    } finally {
      watch.close();
    }
  });

  it('closes each watch it stops tracking', async () => {
    await waitFor('every watch closed', 5_000, () => ctx.server().openWatches === 0);
  });
});

describe('sim server: fault hooks', () => {
  const ctx = withServer();

  it('dropWatches() resets open watch connections', async () => {
    const watch = await openWatch(`${ctx.server().url}/api/v1/pods?watch=1&resourceVersion=${ctx.cluster().revision}`);
    await waitFor('the watch registered', 5_000, () => ctx.server().openWatches === 1);
    assert.equal(ctx.server().dropWatches(), 1);
    await assert.rejects(watch.next(2_000));
    assert.equal(ctx.server().openWatches, 0);
  });

  it('injectWatchError() sends the Status as an ERROR event, then ends the stream', async () => {
    const watch = await openWatch(`${ctx.server().url}/api/v1/services?watch=1&resourceVersion=${ctx.cluster().revision}`);
    try {
      await waitFor('the watch registered', 5_000, () => ctx.server().openWatches === 1);
      assert.equal(ctx.server().injectWatchError({ code: 500, reason: 'InternalError', message: 'etcd went away' }), 1);
      const event = (await watch.next()) as WatchEventJson;
      assert.equal(event.type, 'ERROR');
      assert.deepEqual([event.object['code'], event.object['reason'], event.object['message']], [500, 'InternalError', 'etcd went away']);
      assert.equal(await watch.next(), 'end');
    } finally {
      watch.close();
    }
  });

  it('setUnavailable(true) answers 503 Status until turned off', async () => {
    await ctx.server().setUnavailable(true);
    const down = await getJson<StatusJson>(`${ctx.server().url}/api/v1/pods`);
    assert.equal(down.status, 503);
    assert.equal(down.body.reason, 'ServiceUnavailable');
    await ctx.server().setUnavailable(false);
    assert.equal((await fetch(`${ctx.server().url}/readyz`)).status, 200);
  });

  it('setUnavailable(true, "refuse") refuses connections, then listens on the same port again', async () => {
    const port = ctx.server().port;
    await ctx.server().setUnavailable(true, 'refuse');
    await assert.rejects(fetch(`${ctx.server().url}/readyz`));
    await ctx.server().setUnavailable(false);
    assert.equal(ctx.server().port, port);
    assert.equal((await fetch(`${ctx.server().url}/readyz`)).status, 200);
  });
});
