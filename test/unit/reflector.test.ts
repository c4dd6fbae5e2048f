/**
 * The reflector against the demo cluster's wire-compatible server (pagination, in-stream ERROR
 * events, dropped watches, an unavailable server) and against a scripted transport for what no
 * server does on demand (429 with Retry-After, a stream that stalls after its headers, a watch
 * that closes at once). Every spec starts its own reflector (and demo cluster), so none depends
 * on another having run. The real-server faults are in test/integration/watch-cache.test.ts.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from '../../src/kube/client.ts';
import { Reflector } from '../../src/kube/reflector.ts';
import { Store } from '../../src/kube/store.ts';
import type { PodRecord } from '../../src/kube/records.ts';
import { createLogger } from '../../src/log.ts';
import { Churn, startSimCluster, type SimCluster } from '../../demo/src/index.ts';
import { waitFor } from '../harness/wait.ts';

const logger = createLogger({ level: 'error', format: 'text' });

function clientFor(url: string): ApiClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
  return new ApiClient(kc);
}

function podsIn(sim: SimCluster): Map<string, string> {
  return new Map(sim.cluster.list('Pod').map((p: any) => [`${p.metadata.namespace}/${p.metadata.name}`, p.metadata.resourceVersion]));
}

function sameAs(store: Store<PodRecord>, want: Map<string, string>): boolean {
  if (store.size !== want.size) return false;
  for (const [k, rv] of want) if (store.get(k)?.meta.resourceVersion !== rv) return false;
  return true;
}

/** Whatever a test starts is stopped after it, even when an assertion fails. */
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('reflector on the demo cluster server', () => {
  /** A still demo cluster and a Pod reflector of its own (paging by 20), synced and watching, for one test. */
  const synced = async () => {
    const sim = await startSimCluster({ churn: false, server: { bookmarkIntervalMs: 200 } });
    cleanup.push(() => sim.stop());
    const client = clientFor(sim.url);
    cleanup.push(() => client.close());
    const store = new Store<PodRecord>();
    /** Every phase the reflector reported, in order. */
    const phases: string[] = [];
    const r = new Reflector({ kind: 'Pod', store, client, pageSize: 20, backoffInitialMs: 20, backoffMaxMs: 200, logger, onStatus: (status) => phases.push(status.phase) });
    cleanup.push(() => r.stop());
    r.start();
    await r.synced();
    await waitFor('its watch to be open', 10_000, () => sim.server.stats().openWatches === 1 && r.status().phase === 'watching');
    return { sim, store, r, phases };
  };

  it('lists in pages of 20 and holds every pod at its resourceVersion', async () => {
    const { sim, store } = await synced();
    assert.ok(store.size > 100, `pods: ${store.size}`);
    assert.equal(sameAs(store, podsIn(sim)), true);
    assert.ok(sim.server.stats().lists >= Math.ceil(store.size / 20), `one list request per page of 20: ${sim.server.stats().lists} requests for ${store.size} pods`);
  });

  it('follows pod changes', async () => {
    const { sim, store } = await synced();
    const before = podsIn(sim);
    new Churn({ cluster: sim.cluster, seed: 7 }).steps(40);
    assert.notDeepEqual(podsIn(sim), before, 'the churn changed pods');
    await waitFor('the store to follow the churn', 10_000, () => sameAs(store, podsIn(sim)));
  });

  it('a bookmark moves its resourceVersion past changes to other kinds', async () => {
    const { sim, r } = await synced();
    const node = sim.cluster.list('Node')[0]!;
    sim.cluster.update({ ...node, metadata: { ...node.metadata, labels: { ...node.metadata.labels, touched: 'yes' } } });
    const want = sim.cluster.resourceVersion;
    assert.notEqual(r.status().resourceVersion, want, 'a Node change is not a Pod event');
    await waitFor(`a bookmark to bring the resourceVersion to ${want}`, 10_000, () => r.status().resourceVersion === want);
  });

  it('an in-stream ERROR 410 relists, and the relist is one replace', async () => {
    const { sim, store, r } = await synced();
    const lists = r.status().lists;
    const relists: number[] = [];
    cleanup.push(store.subscribe((b) => b.relist && relists.push(b.events.length)));
    assert.equal(sim.server.injectWatchError(), 1);
    await waitFor('a relist', 10_000, () => r.status().lists === lists + 1 && r.status().phase === 'watching');
    assert.equal(relists.length, 1, `relist batches: ${relists.length}`);
    assert.equal(sameAs(store, podsIn(sim)), true);
  });

  it('an in-stream ERROR 500 relists too', async () => {
    const { sim, r } = await synced();
    const lists = r.status().lists;
    sim.server.injectWatchError({ code: 500, reason: 'InternalError', message: 'boom' });
    await waitFor('a relist', 10_000, () => r.status().lists === lists + 1);
  });

  it('a dropped watch is re-watched from the last version, without a relist, and misses nothing', async () => {
    const { sim, store, r } = await synced();
    const lists = r.status().lists;
    const watches = r.status().watches;
    sim.server.dropWatches();
    new Churn({ cluster: sim.cluster, seed: 9 }).steps(20);
    await waitFor('the store to catch up', 10_000, () => sameAs(store, podsIn(sim)) && r.status().watches > watches);
    assert.equal(r.status().lists, lists);
  });

  it('a server answering 503 is retried with backoff, the store keeps serving, and it recovers', async () => {
    const { sim, store, r, phases } = await synced();
    const before = store.size;
    const from = phases.length;
    await sim.server.setUnavailable(true, 'status');
    sim.server.dropWatches();
    await waitFor('failures to be counted', 10_000, () => r.status().consecutiveFailures >= 2);
    assert.equal(store.size, before, 'the last known state is kept');
    assert.notEqual(r.status().phase, 'watching', 'not watching while every request answers 503');
    assert.ok(phases.slice(from).includes('backing-off'), `backed off between attempts: ${phases.slice(from).join(' ')}`);
    await sim.server.setUnavailable(false);
    await waitFor('recovery', 10_000, () => r.status().consecutiveFailures === 0 && r.status().phase === 'watching');
    assert.equal(sameAs(store, podsIn(sim)), true);
  });
});

/** A scripted API server: answers each request with the next scripted handler. */
class Scripted {
  server!: Server;
  url = '';
  requests: string[] = [];
  script: ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void)[] = [];
  fallback: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void = (_q, s) => s.writeHead(500).end();
  async start() {
    this.server = createServer((req, res) => {
      this.requests.push(`${performance.now().toFixed(0)} ${req.url}`);
      (this.script.shift() ?? this.fallback)(req, res);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const podList = (rv: string, names: string[]) =>
  JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: rv }, items: names.map((n) => ({ metadata: { namespace: 'd', name: n, uid: n, resourceVersion: rv } })) });

describe('reflector on a scripted transport', () => {
  const scripted = async (): Promise<Scripted> => {
    const s = new Scripted();
    await s.start();
    cleanup.push(() => s.stop());
    return s;
  };
  const reflector = (opts: ConstructorParameters<typeof Reflector<'Pod'>>[0]) => {
    const r = new Reflector<'Pod'>(opts);
    cleanup.push(() => r.stop());
    return r;
  };

  it('asks for the next list page before ingesting the current one (a fake client records the order)', async () => {
    // A fake: no real server shows when the reflector ingests; items log when ingest reads them.
    const log: string[] = [];
    const item = (name: string) => ({
      get metadata() {
        log.push(`ingest ${name}`);
        return { namespace: 'd', name, uid: name, resourceVersion: '1' };
      },
    });
    const pages: Record<string, unknown> = {
      '': { metadata: { resourceVersion: '5', continue: 'p2' }, items: [item('a')] },
      p2: { metadata: { resourceVersion: '5' }, items: [item('b')] },
    };
    const fakeClient = {
      getList: async (path: string) => {
        const cont = new URL(path, 'http://fake').searchParams.get('continue') ?? '';
        log.push(`get ${cont || 'first'}`);
        return pages[cont];
      },
      // The watch after the list stays open until the reflector stops.
      watch: (_path: string, opts: { signal: AbortSignal }) => new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(new Error('aborted')))),
    } as unknown as ApiClient;
    const store = new Store<PodRecord>();
    const r = reflector({ kind: 'Pod', store, client: fakeClient, logger });
    r.start();
    await r.synced();
    assert.deepEqual([...new Set(log)], ['get first', 'get p2', 'ingest a', 'ingest b']);
    assert.deepEqual([...store.keys()], ['d/a', 'd/b']);
  });

  it('429 with Retry-After waits at least that long, then lists', async () => {
    const s = await scripted();
    s.script.push((_q, res) => res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"kind":"Status","code":429,"message":"slow down"}'));
    s.script.push((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(podList('5', ['a', 'b'])));
    s.fallback = (_q, res) => res.writeHead(200, { 'content-type': 'application/json' }); // a watch that stays open and quiet
    const store = new Store<PodRecord>();
    const r = reflector({ kind: 'Pod', store, client: clientFor(s.url), backoffInitialMs: 10, logger });
    const t0 = performance.now();
    r.start();
    await r.synced();
    assert.ok(performance.now() - t0 >= 1000, 'waited for Retry-After');
    assert.equal(store.size, 2);
    assert.match(s.requests[0]!, /limit=500/);
  });

  it('a watch stream that stalls after its headers is dropped after the stall timeout and re-watched from the same version', async () => {
    const s = await scripted();
    s.script.push((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(podList('7', ['a'])));
    s.fallback = (_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    const r = reflector({ kind: 'Pod', store: new Store<PodRecord>(), client: clientFor(s.url), stallTimeoutMs: 300, backoffInitialMs: 10, logger });
    r.start();
    await r.synced();
    await waitFor('two watches', 5_000, () => s.requests.filter((q) => q.includes('watch=1')).length >= 2);
    const watches = s.requests.filter((q) => q.includes('watch=1'));
    assert.ok(watches.every((q) => q.includes('resourceVersion=7') && q.includes('allowWatchBookmarks=true')));
    assert.match(r.status().lastError ?? '', /no data for 300 ms/);
    assert.equal(r.status().lists, 1, 'a stall re-watches, it does not relist');
  });

  it('a watch that closes at once with nothing is treated as a failure (backoff), not a clean close', async () => {
    const s = await scripted();
    s.script.push((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(podList('3', ['a'])));
    s.fallback = (_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end();
    const r = reflector({ kind: 'Pod', store: new Store<PodRecord>(), client: clientFor(s.url), backoffInitialMs: 50, backoffMaxMs: 100, logger });
    r.start();
    await r.synced();
    await waitFor('failures', 5_000, () => r.status().consecutiveFailures >= 3);
    assert.match(r.status().lastError ?? '', /closed after \d+ ms with no events/);
  });

  it('a bad object in the stream is skipped and the watch goes on', async () => {
    const s = await scripted();
    s.script.push((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(podList('3', ['a'])));
    s.script.push((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{}}}\nnot json\n');
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { namespace: 'd', name: 'b', uid: 'b', resourceVersion: '4' } } }) + '\n');
    });
    s.fallback = (_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders();
    const store = new Store<PodRecord>();
    const r = reflector({ kind: 'Pod', store, client: clientFor(s.url), logger });
    r.start();
    await waitFor('the good object', 5_000, () => store.get('d/b') !== undefined);
    assert.equal(store.size, 2);
    assert.equal(r.status().consecutiveFailures, 0);
  });
});
