/**
 * Benchmark: what the watch cache costs in heap and how fast it fills, against
 * @kubernetes/client-node's own informer cache measured in the same run.
 *
 *   node --expose-gc bench/watch-cache.ts [--preset large] [--seed 1] [--rounds 1]
 *                                        [--sample 10000] [--transform-rounds 5]
 *                                        [--breakdown] [--e2e] [--skip-in-process]
 *
 * (Without --expose-gc, or with a heap limit under 12 GiB, it re-runs itself with
 * `--expose-gc --max-old-space-size=16384`.)
 *
 * In-process mode (default): the generated cluster (demo/src generateCluster) is serialized into
 * list pages of 500 items exactly as the sim server writes them (items without kind and
 * apiVersion), as response bytes, then the generator's objects are dropped. Each side then lists
 * every page from memory, parsing each page as it would arrive:
 * - ours: the real Reflector (list with limit/continue, each page parsed as ApiClient.getList
 *   parses it: the fields ingest reads, items as ingested; ingest, one atomic Store.replace) into
 *   the ClusterCache's stores with their indexes, then the EndpointFeed's merged views;
 * - client-node: its real ListWatch (the informer's cache) with a listFn that deserializes each
 *   page with ObjectSerializer.deserialize(page, 'V1PodList') — what the typed list call
 *   CoreV1Api.listPodForAllNamespaces does — so the cache holds typed V1Pod objects (Dates
 *   included);
 * - wire JSON (reference): the parsed list items kept as they are, in the same Map shape.
 * Heap is heapUsed after full GCs, before and after filling one kind; sides alternate order per
 * round. Ingest rate is objects per second for the whole list → cache path, and separately for
 * the transform alone on pre-parsed pods (ingest() vs ObjectSerializer.deserialize), interleaved.
 *
 * --breakdown: where a cached pod's bytes go (records alone, the store, each index), and what
 * two candidate changes would save, prototyped here on the same records without touching
 * src/: exact-size arrays at ingest, shared frozen substructures;
 * then where a cached EndpointSlice's bytes go (records with their own strings and sharing the
 * cached Pods', the store, each index).
 *
 * What "ours B/obj" counts: heapUsed after full GCs, after minus before listing one kind into
 * the ClusterCache through its own ingest (ClusterCache.ingestOf): the records, the store's map
 * and keys, every index of that kind, and what the interning pools grew by. Kinds are listed
 * one after another, Pods first, so strings a slice shares with the Pod records (pod name, uid,
 * IP) count for the Pods. The feed's merged views are reported apart.
 *
 * --e2e: additionally runs `node demo/src/serve.ts --preset <preset> --no-churn` in a child
 * process and lists it over loopback HTTP: our Reflector for Pods through ApiClient (pages of
 * 500); client-node's informer for Pods (makeInformer) with a listFn that pages by 500, and with
 * the documented unpaged CoreV1Api.listPodForAllNamespaces(); then our whole ClusterCache (four
 * kinds in parallel, and the EndpointFeed). Reports time to sync and heap after sync, and for the
 * whole cache where the time goes (see `syncBreakdown`): the sim server's CPU (from /proc), ours,
 * and per kind the time waiting for response headers, reading bodies, parse, ingest, store
 * and indexes, and the feed. --e2e-cache-only: only the whole-cache side. --page-size N (500): the
 * whole cache's list page size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, ListWatch, makeInformer, type KubernetesObject, type V1Pod, type Watch } from '@kubernetes/client-node';
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { ApiClient, ApiError, parseListBody, readBodyBytes } from '../src/kube/client.ts';
import { ClusterCache } from '../src/kube/cache.ts';
import { ingest } from '../src/kube/ingest.ts';
import type { Kept } from '../src/kube/kept-json.ts';
import { type CoreKind as Kind, type EndpointSliceRecord, type PodRecord } from '../src/kube/records.ts';
import { Store, type IndexFunc } from '../src/kube/store.ts';
import { Reflector } from '../src/kube/reflector.ts';
import { createLogger } from '../src/log.ts';
import { EndpointFeed } from '../src/model/endpoint-feed.ts';
import { generateCluster, Presets, type PresetName } from '../demo/src/generate.ts';
import { ensureFlags, hasGcAndHeap, machineNote, median, mib, processCpuMs, ratio, settledHeap, table } from './util.ts';

const MinHeapMiB = 12 * 1024;
ensureFlags(import.meta.filename, ['--expose-gc', '--max-old-space-size=16384'], () => hasGcAndHeap(MinHeapMiB));

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'large' },
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    sample: { type: 'string', default: '10000' },
    breakdown: { type: 'boolean', default: false },
    'transform-rounds': { type: 'string', default: '5' },
    e2e: { type: 'boolean', default: false },
    'skip-in-process': { type: 'boolean', default: false },
    'e2e-cache-only': { type: 'boolean', default: false },
    'page-size': { type: 'string', default: '500' },
  },
});
const preset = values.preset as PresetName;
if (!(preset in Presets)) {
  console.error(`--preset: expected one of ${Object.keys(Presets).join(', ')}, got ${JSON.stringify(values.preset)}`);
  process.exit(2);
}
const rounds = positive('rounds');
const sampleSize = positive('sample');
const transformRounds = positive('transform-rounds');
const e2ePageSize = positive('page-size');

/** Items per list page: the Reflector's default. */
const PageSize = 500;
const KindsInOrder: readonly Kind[] = ['Pod', 'Service', 'EndpointSlice', 'Node'];
/** client-node's list model and path per kind. */
const Typed: Record<Kind, { list: string; path: string }> = {
  Pod: { list: 'V1PodList', path: '/api/v1/pods' },
  Service: { list: 'V1ServiceList', path: '/api/v1/services' },
  EndpointSlice: { list: 'V1EndpointSliceList', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  Node: { list: 'V1NodeList', path: '/api/v1/nodes' },
};
const quiet = createLogger({ level: 'warn' });

console.log(`watch-cache: ${machineNote()}`);
if (!values['skip-in-process']) await inProcess();
if (values.e2e) await endToEnd();

// Private:

interface Pages {
  readonly kind: Kind;
  /** JSON list pages as response bytes, each `{kind, apiVersion, metadata: {resourceVersion, continue?}, items}`. */
  readonly pages: readonly Buffer[];
  readonly count: number;
  readonly wireBytes: number;
}

interface SideResult {
  readonly heapBytes: number;
  readonly ms: number;
}

async function inProcess(): Promise<void> {
  const t0 = performance.now();
  const { pages, sample, shape } = prepare();
  console.log(`preset ${preset} (${shape}), seed ${values.seed}; generated and serialized in ${Math.round(performance.now() - t0)} ms; ${rounds} round(s)\n`);

  const ours: Record<Kind, SideResult[]> = { Pod: [], Service: [], EndpointSlice: [], Node: [] };
  const peer: Record<Kind, SideResult[]> = { Pod: [], Service: [], EndpointSlice: [], Node: [] };
  const feedHeap: number[] = [];
  const wire: Record<Kind, number> = { Pod: 0, Service: 0, EndpointSlice: 0, Node: 0 };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['ours', 'peer'] as const) : (['peer', 'ours'] as const);
    for (const side of order) {
      if (side === 'ours') {
        const r = await fillOurs(pages);
        for (const k of KindsInOrder) ours[k].push(r.kinds[k]);
        feedHeap.push(r.feedHeapBytes);
      } else {
        const r = await fillPeer(pages);
        for (const k of KindsInOrder) peer[k].push(r[k]);
      }
    }
    process.stdout.write(`  round ${round + 1}/${rounds} done\n`);
  }
  for (const k of KindsInOrder) wire[k] = await fillWire(pages[k]);

  const perObj = (xs: SideResult[], k: Kind) => median(xs.map((x) => x.heapBytes)) / pages[k].count;
  const rate = (xs: SideResult[], k: Kind) => pages[k].count / (median(xs.map((x) => x.ms)) / 1000);
  console.log('\nRetained heap per cached object (heapUsed delta after full GC / objects; median of rounds)');
  console.log(
    table(
      ['kind', 'objects', 'wire JSON B/obj', 'ours B/obj', 'client-node B/obj', 'parsed JSON B/obj', 'client-node / ours'],
      KindsInOrder.map((k) => [
        k,
        pages[k].count.toLocaleString('en-US'),
        pages[k].wireBytes / pages[k].count,
        perObj(ours[k], k),
        perObj(peer[k], k),
        wire[k] / pages[k].count,
        ratio(perObj(peer[k], k), perObj(ours[k], k)),
      ]),
    ),
  );
  const oursTotal = KindsInOrder.reduce((a, k) => a + median(ours[k].map((x) => x.heapBytes)), 0) + median(feedHeap);
  const peerTotal = KindsInOrder.reduce((a, k) => a + median(peer[k].map((x) => x.heapBytes)), 0);
  console.log(
    `whole cache: ours ${mib(oursTotal)} (stores + indexes ${mib(oursTotal - median(feedHeap))}, endpoint feed's merged views ${mib(median(feedHeap))}); ` +
      `client-node ${mib(peerTotal)} (${ratio(peerTotal, oursTotal)} ours)`,
  );

  console.log('\nList → cache rate, objects/s (each 500-item page parsed as each side\'s client parses it + transform + store; median of rounds)');
  console.log(
    table(
      ['kind', 'ours obj/s', 'client-node obj/s', 'ours / client-node', 'ours ms', 'client-node ms'],
      KindsInOrder.map((k) => [
        k,
        rate(ours[k], k),
        rate(peer[k], k),
        ratio(rate(ours[k], k), rate(peer[k], k)),
        median(ours[k].map((x) => x.ms)),
        median(peer[k].map((x) => x.ms)),
      ]),
    ),
  );

  const tr = transformRates(sample);
  console.log(`\nTransform only, pre-parsed pods (${sample.length} pods, ${transformRounds} interleaved rounds, median)`);
  console.log(
    table(
      ['transform', 'pods/s', 'µs/pod', 'vs ingest()'],
      [
        ['ingest(\'Pod\', obj) (ours)', tr.ingest, 1e6 / tr.ingest, '1.00x'],
        ['ObjectSerializer.deserialize(obj, \'V1Pod\')', tr.deserialize, 1e6 / tr.deserialize, ratio(tr.deserialize, tr.ingest)],
        ['JSON.parse of the same pods (shared by both)', tr.parse, 1e6 / tr.parse, ratio(tr.parse, tr.ingest)],
      ],
    ),
  );
  const podBytes = perObj(ours.Pod, 'Pod');
  console.log(`\nTarget ≤ 1024 B heap per cached pod: ${podBytes <= 1024 ? 'MET' : 'MISSED'} (${Math.round(podBytes)} B per pod, store + indexes)`);
  const sliceBytes = perObj(ours.EndpointSlice, 'EndpointSlice');
  console.log(
    `Target ≤ 3072 B heap per cached EndpointSlice: ${sliceBytes <= 3072 ? 'MET' : 'MISSED'} (${Math.round(sliceBytes)} B per slice: its records, the store's ` +
      `map and keys, its five indexes (namespace, service, address, node, pod) and what the interning pools grew by; listed after the Pods, so the ` +
      `pod name, uid and IP strings its endpoints share with the Pod records count for the Pods; the feed's merged views are not included)`,
  );
  if (values.breakdown) {
    await breakdown(pages.Pod);
    await sliceBreakdown(pages);
  }
}

/**
 * Where a pod's bytes go, and what-ifs prototyped on the records (nothing in src/ changes):
 * - exact arrays: `filter` and spread leave ~120 B of spare capacity per array (podIPs, containers);
 * - shared substructures: pods of one ReplicaSet carry equal labels, annotations, owner references
 *   and containers; frozen records may share one copy (here: an unbounded pool keyed by JSON,
 *   counted in the figure; a real one must release entries with the last record using them).
 */
async function breakdown(p: Pages): Promise<void> {
  const parse = (fn: (o: unknown) => PodRecord): PodRecord[] => p.pages.flatMap((page) => (JSON.parse(page.toString()).items as unknown[]).map(fn));
  const perPod = (bytes: number) => Math.round(bytes / p.count);
  const rows: (string | number)[][] = [];
  const indexers = (new ClusterCache({ client: null }).pods as unknown as { indexers: Record<string, IndexFunc<PodRecord>> }).indexers;

  let before = await settledHeap();
  let records: PodRecord[] | null = parse((o) => ingest('Pod', o));
  const recordBytes = (await settledHeap()) - before;
  rows.push(['records as ingested (no store)', perPod(recordBytes), '']);
  const storeBytes = async (idx: Record<string, IndexFunc<PodRecord>>): Promise<number> => {
    const b = await settledHeap();
    const store = new Store<PodRecord>(idx);
    store.replace(records!);
    const bytes = (await settledHeap()) - b;
    if (store.size !== p.count) throw new Error('breakdown: store size');
    return bytes;
  };
  const bare = await storeBytes({});
  rows.push(['+ Store items map and keys', perPod(bare), '']);
  for (const [name, fn] of Object.entries(indexers)) rows.push([`+ index ${name}`, perPod((await storeBytes({ [name]: fn })) - bare), '']);
  const full = await storeBytes(indexers);
  rows.push(['= records + store + indexes (as the cache holds them)', perPod(recordBytes + full), '']);
  records = null;

  const exact = <T>(a: readonly T[]): readonly T[] => (a.length === 0 ? a : Object.freeze(a.slice()));
  before = await settledHeap();
  let exactRecords: PodRecord[] | null = parse((o) => {
    const r = ingest('Pod', o);
    return Object.freeze({ ...r, podIPs: exact(r.podIPs), containers: exact(r.containers) });
  });
  const exactBytes = (await settledHeap()) - before;
  rows.push(['what-if: exact-size arrays at ingest', perPod(exactBytes), `${perPod(exactBytes - recordBytes)} B/pod`]);
  if (exactRecords.length !== p.count) throw new Error('breakdown: exact');
  exactRecords = null;

  const pool = new Map<string, unknown>();
  const share = <T>(v: T): T => {
    const k = typeof v === 'string' ? `s:${v}` : JSON.stringify(v);
    const hit = pool.get(k);
    if (hit !== undefined) return hit as T;
    pool.set(k, v);
    return v;
  };
  before = await settledHeap();
  let sharedRecords: PodRecord[] | null = parse((o) => {
    const r = ingest('Pod', o);
    const m = r.meta;
    return Object.freeze({
      ...r,
      meta: Object.freeze({
        ...m,
        namespace: share(m.namespace),
        creationTimestamp: share(m.creationTimestamp),
        labels: share(m.labels),
        annotations: share(m.annotations),
        ownerReferences: share(m.ownerReferences),
      }),
      podIPs: exact(r.podIPs),
      hostIP: r.hostIP === null ? null : share(r.hostIP),
      nodeName: r.nodeName === null ? null : share(r.nodeName),
      containers: share(exact(r.containers)),
    });
  });
  const sharedBytes = (await settledHeap()) - before;
  rows.push([`what-if: exact arrays + shared substructures (pool of ${pool.size} included)`, perPod(sharedBytes), `${perPod(sharedBytes - recordBytes)} B/pod`]);
  if (sharedRecords.length !== p.count) throw new Error('breakdown: shared');
  sharedRecords = null;
  pool.clear();
  rows.push(['what-if: both, with the store and indexes', perPod(sharedBytes + full), '']);

  console.log(`\nBreakdown of a cached pod (${p.count} pods)`);
  console.log(table(['part', 'B/pod', 'saves'], rows));
}

/**
 * Where a cached EndpointSlice's bytes go: its records ingested alone (own strings, as when the
 * slices are listed before the Pods) and through the cache with the Pods already in it (sharing
 * their strings, as the in-process fill measures), then the store and each index on the shared
 * records. The Pods stay in the cache throughout and are not counted.
 */
async function sliceBreakdown(pages: Record<Kind, Pages>): Promise<void> {
  const p = pages.EndpointSlice;
  const parse = <R>(fn: (o: unknown) => R): R[] => p.pages.flatMap((page) => (JSON.parse(page.toString()).items as unknown[]).map(fn));
  const perSlice = (bytes: number) => Math.round(bytes / p.count);
  const cache = new ClusterCache({ client: null });
  cache.pods.replace(pages.Pod.pages.flatMap((page) => (JSON.parse(page.toString()).items as unknown[]).map(cache.ingestOf('Pod'))));
  const rows: (string | number)[][] = [];
  let before = await settledHeap();
  let own: EndpointSliceRecord[] | null = parse((o) => ingest('EndpointSlice', o));
  rows.push(['records, own strings (no Pod cached)', perSlice((await settledHeap()) - before)]);
  if (own.length !== p.count) throw new Error('breakdown: slices');
  own = null;
  before = await settledHeap();
  const records: EndpointSliceRecord[] = parse(cache.ingestOf('EndpointSlice'));
  const recordBytes = (await settledHeap()) - before;
  rows.push(['records, sharing the cached Pods\' strings', perSlice(recordBytes)]);
  const indexers = (cache.slices as unknown as { indexers: Record<string, IndexFunc<EndpointSliceRecord>> }).indexers;
  const storeBytes = async (idx: Record<string, IndexFunc<EndpointSliceRecord>>): Promise<number> => {
    const b = await settledHeap();
    const store = new Store<EndpointSliceRecord>(idx);
    store.replace(records);
    const bytes = (await settledHeap()) - b;
    if (store.size !== p.count) throw new Error('breakdown: slice store size');
    return bytes;
  };
  const bare = await storeBytes({});
  rows.push(['+ Store items map and keys', perSlice(bare)]);
  for (const [name, fn] of Object.entries(indexers)) rows.push([`+ index ${name}`, perSlice((await storeBytes({ [name]: fn })) - bare)]);
  rows.push(['= records + store + indexes (as the cache holds them)', perSlice(recordBytes + (await storeBytes(indexers)))]);
  const endpoints = records.reduce((n, r) => n + r.endpoints.length, 0);
  console.log(`\nBreakdown of a cached EndpointSlice (${p.count} slices, ${(endpoints / p.count).toFixed(1)} endpoints per slice; the ${cache.pods.size} Pods stay cached and are not counted)`);
  console.log(table(['part', 'B/slice'], rows));
}

/** Generates the cluster and keeps only its list pages (and a parsed sample of pods): the generator's objects are garbage on return. */
function prepare(): { pages: Record<Kind, Pages>; sample: readonly object[]; shape: string } {
  const generated = generateCluster(preset, { seed: Number(values.seed) });
  const shape = `${generated.nodes.length} nodes, ${generated.pods.length} pods, ${generated.services.length} services, ${generated.endpointSlices.length} slices`;
  const objects: Record<Kind, readonly object[]> = {
    Pod: generated.pods,
    Service: generated.services,
    EndpointSlice: generated.endpointSlices,
    Node: generated.nodes,
  };
  const pages = Object.fromEntries(KindsInOrder.map((k) => [k, toPages(k, objects[k], generated.revision)])) as Record<Kind, Pages>;
  // A parsed sample of pods for the transform-only rates, as JSON.parse gives them.
  const sample: object[] = [];
  for (const page of pages.Pod.pages) {
    if (sample.length >= sampleSize) break;
    sample.push(...(JSON.parse(page.toString()).items as object[]).slice(0, sampleSize - sample.length));
  }
  return { pages, sample, shape };
}

/** Serializes `objects` into list pages of PageSize items, items without kind/apiVersion (as list items arrive). */
function toPages(kind: Kind, objects: readonly object[], revision: number): Pages {
  const listKind = `${kind}List`;
  const apiVersion = kind === 'EndpointSlice' ? 'discovery.k8s.io/v1' : 'v1';
  const pages: Buffer[] = [];
  let wireBytes = 0;
  for (let i = 0; i < objects.length; i += PageSize) {
    const items = objects.slice(i, i + PageSize).map((o) => {
      const { kind: _k, apiVersion: _a, ...rest } = o as Record<string, unknown>;
      const text = JSON.stringify(rest);
      wireBytes += text.length;
      return text;
    });
    const more = i + PageSize < objects.length;
    const metadata = { resourceVersion: String(revision), ...(more ? { continue: String(pages.length + 1) } : {}) };
    pages.push(Buffer.from(`{"kind":"${listKind}","apiVersion":"${apiVersion}","metadata":${JSON.stringify(metadata)},"items":[${items.join(',')}]}`));
  }
  return { kind, pages, count: objects.length, wireBytes };
}

/**
 * An ApiClient serving `pages` from memory: list pages by their continue token (the page index);
 * a watch hangs until aborted, so that the Reflector syncs and then idles.
 */
function memoryClient(p: Pages): ApiClient {
  const client = {
    server: 'memory:',
    async getList(path: string, opts: { itemFields?: Kept }) {
      const cont = new URL(path, 'http://memory').searchParams.get('continue');
      const page = p.pages[cont ? Number(cont) : 0];
      if (page === undefined) throw new ApiError('server', `memory client: no page for ${path}`);
      return parseListBody(path, page, opts.itemFields ?? true);
    },
    get(_path: string, opts: { signal?: AbortSignal }) {
      // Like http.request with a signal: an already aborted signal fails the request at once.
      return new Promise((_, reject) => {
        const abort = () => reject(new ApiError('aborted', 'aborted'));
        if (opts.signal?.aborted) abort();
        else opts.signal?.addEventListener('abort', abort, { once: true });
      });
    },
    close() {},
  };
  return client as unknown as ApiClient;
}

async function fillOurs(pages: Record<Kind, Pages>): Promise<{ kinds: Record<Kind, SideResult>; feedHeapBytes: number }> {
  let cache: ClusterCache | null = new ClusterCache({ client: null });
  const kinds = {} as Record<Kind, SideResult>;
  for (const kind of KindsInOrder) {
    const before = await settledHeap();
    // The cache's own ingest: Pods and EndpointSlices share the pod strings it already holds.
    const reflector = new Reflector<Kind>({ kind, store: cache.storeOf(kind) as never, client: memoryClient(pages[kind]), logger: quiet, ingest: cache.ingestOf(kind) as never });
    const t0 = performance.now();
    reflector.start();
    await reflector.synced();
    const ms = performance.now() - t0;
    await reflector.stop();
    kinds[kind] = { ms, heapBytes: (await settledHeap()) - before };
    if (cache.storeOf(kind).size !== pages[kind].count) throw new Error(`ours: expected ${pages[kind].count} ${kind}s in the store, got ${cache.storeOf(kind).size}`);
  }
  const before = await settledHeap();
  const c = cache;
  let feed: EndpointFeed | null = new EndpointFeed(c.slices, (k) => c.slicesByService(k));
  feed.start();
  const feedHeapBytes = (await settledHeap()) - before;
  feed.stop();
  feed = null;
  cache = null;
  return { kinds, feedHeapBytes };
}

async function fillPeer(pages: Record<Kind, Pages>): Promise<Record<Kind, SideResult>> {
  const informers: ListWatch<KubernetesObject>[] = [];
  const out = {} as Record<Kind, SideResult>;
  for (const kind of KindsInOrder) {
    const before = await settledHeap();
    const p = pages[kind];
    // What CoreV1Api.list*ForAllNamespaces returns: ObjectSerializer.deserialize(JSON.parse(body), 'V1PodList').
    const listFn = async () => {
      const items: KubernetesObject[] = [];
      let resourceVersion = '';
      for (const page of p.pages) {
        const list = ObjectSerializer.deserialize(JSON.parse(page.toString()), Typed[kind].list, '');
        resourceVersion = list.metadata.resourceVersion;
        for (const item of list.items) items.push(item);
      }
      return { metadata: { resourceVersion }, items };
    };
    const watch = { watch: async () => new AbortController() } as unknown as Watch;
    const lw = new ListWatch<KubernetesObject>(Typed[kind].path, watch, listFn, false);
    const t0 = performance.now();
    await lw.start();
    const ms = performance.now() - t0;
    await lw.stop();
    informers.push(lw);
    out[kind] = { ms, heapBytes: (await settledHeap()) - before };
    if (lw.list().length !== p.count) throw new Error(`client-node: expected ${p.count} ${kind}s in the cache, got ${lw.list().length}`);
  }
  informers.length = 0;
  return out;
}

/** Heap of the parsed list items kept as they are, in client-node's Map shape (reference row). */
async function fillWire(p: Pages): Promise<number> {
  const before = await settledHeap();
  let byNamespace: Map<string, Map<string, any>> | null = new Map();
  for (const page of p.pages) {
    for (const item of JSON.parse(page.toString()).items) {
      const ns = item.metadata.namespace ?? '';
      let m = byNamespace.get(ns);
      if (!m) byNamespace.set(ns, (m = new Map()));
      m.set(item.metadata.name, item);
    }
  }
  const bytes = (await settledHeap()) - before;
  // Use the map after measuring: an optimized frame does not keep a dead variable's value alive.
  let n = 0;
  for (const m of byNamespace.values()) n += m.size;
  if (n !== p.count) throw new Error(`wire JSON: expected ${p.count} ${p.kind}s, got ${n}`);
  byNamespace = null;
  return bytes;
}

function transformRates(sample: readonly object[]): { ingest: number; deserialize: number; parse: number } {
  const texts = sample.map((o) => JSON.stringify(o));
  const keep: unknown[] = new Array(sample.length);
  const time = (fn: (i: number) => unknown) => {
    const t0 = performance.now();
    for (let i = 0; i < sample.length; i++) keep[i] = fn(i);
    return sample.length / ((performance.now() - t0) / 1000);
  };
  const r = { ingest: [] as number[], deserialize: [] as number[], parse: [] as number[] };
  // Warm both paths up once, then alternate which goes first.
  time((i) => ingest('Pod', sample[i]));
  time((i) => ObjectSerializer.deserialize(sample[i], 'V1Pod', ''));
  for (let round = 0; round < transformRounds; round++) {
    const steps: (() => void)[] = [
      () => r.ingest.push(time((i) => ingest('Pod', sample[i]))),
      () => r.deserialize.push(time((i) => ObjectSerializer.deserialize(sample[i], 'V1Pod', ''))),
      () => r.parse.push(time((i) => JSON.parse(texts[i]!))),
    ];
    if (round % 2 === 1) steps.reverse();
    for (const s of steps) s();
  }
  keep.length = 0;
  return { ingest: median(r.ingest), deserialize: median(r.deserialize), parse: median(r.parse) };
}

async function endToEnd(): Promise<void> {
  const port = await freePort();
  console.log(`\nEnd to end: sim server (preset ${preset}, no churn) in a child process on 127.0.0.1:${port}`);
  const child = spawn(process.execPath, ['--max-old-space-size=8192', 'demo/src/serve.ts', '--preset', preset, '--seed', String(values.seed), '--port', String(port), '--no-churn'], {
    cwd: new URL('..', import.meta.url),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await serving(child);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'sim', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'sim' }],
      contexts: [{ name: 'sim', cluster: 'sim', user: 'sim' }],
      currentContext: 'sim',
    });

    const rows: (string | number)[][] = [];
    const row = (side: string, outcome: string, ms: number, heap: number, pods: number, objects: string) =>
      rows.push([side, outcome, ms, mib(heap), pods > 0 ? Math.round(heap / pods) : '-', objects]);
    if (!values['e2e-cache-only']) {
      const before = await settledHeap();
      const client = new ApiClient(kc);
      const cache = new ClusterCache({ client: null });
      const reflector = new Reflector({ kind: 'Pod', store: cache.pods, client, logger: quiet });
      const t0 = performance.now();
      reflector.start();
      await reflector.synced();
      const ms = performance.now() - t0;
      const heap = (await settledHeap()) - before;
      row('ours: Reflector, Pods (pages of 500)', 'synced', ms, heap, cache.pods.size, `Pod=${cache.pods.size}`);
      await reflector.stop();
      client.close();
    }
    const api = kc.makeApiClient(CoreV1Api);
    // client-node's informer lists once without a limit; a caller can page in its own listFn.
    const paged = async () => {
      const items: V1Pod[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const page = await api.listPodForAllNamespaces({ limit: PageSize, ...(cont ? { _continue: cont } : {}) });
        resourceVersion ||= page.metadata?.resourceVersion ?? '';
        items.push(...page.items);
        cont = page.metadata?._continue;
      } while (cont);
      return { metadata: { resourceVersion }, items };
    };
    for (const [side, listFn] of values['e2e-cache-only'] ? [] : ([
      ['client-node: makeInformer, Pods, own listFn paging by 500', paged],
      ['client-node: makeInformer, Pods, listPodForAllNamespaces() unpaged', () => api.listPodForAllNamespaces()],
    ] as const)) {
      const before = await settledHeap();
      const informer = makeInformer<V1Pod>(kc, '/api/v1/pods', listFn);
      const t0 = performance.now();
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('no sync within 180 s'), 180_000);
        informer.on('error', (err: unknown) => {
          clearTimeout(timer);
          resolve(`failed: ${String((err as Error)?.message ?? err).slice(0, 80)}`);
        });
        // start() resolves once the list is in the cache and the watch is open (or after an error).
        void informer.start().then(() => {
          clearTimeout(timer);
          resolve('synced');
        });
      });
      const ms = performance.now() - t0;
      const n = informer.list().length;
      const heap = (await settledHeap()) - before;
      row(side, outcome, ms, heap, n, `Pod=${n}`);
      await informer.stop();
    }
    {
      const before = await settledHeap();
      const client = new ApiClient(kc);
      const cache = new ClusterCache({ client, logger: quiet, reflector: { pageSize: e2ePageSize } });
      const timing = syncBreakdown(client, cache);
      const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
      feed.start();
      timing.afterFeed();
      const childCpu0 = processCpuMs(child.pid!);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      cache.start();
      await cache.synced();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const childCpu = processCpuMs(child.pid!) - childCpu0;
      const heap = (await settledHeap()) - before;
      const counts = cache.health().map((h) => `${h.kind}=${h.objects}`).join(' ');
      row('ours: ClusterCache, 4 kinds in parallel + EndpointFeed', 'synced', ms, heap, cache.pods.size, counts);
      console.log(`\nWhole cache, cold sync ${Math.round(ms)} ms wall on ${machineNote()}`);
      console.log(`CPU during the sync: sim server (child process) ${Math.round(childCpu)} ms, ours ${Math.round((cpu.user + cpu.system) / 1000)} ms (user ${Math.round(cpu.user / 1000)}, system ${Math.round(cpu.system / 1000)})`);
      console.log('Where our time goes, per kind (ms, summed over its pages; kinds overlap in time; "headers" = request sent → response headers: the server preparing the page, and queueing)');
      console.log(table(['kind', 'pages', 'headers', 'body read', 'parse', 'ingest', 'store + indexes', 'feed', 'list done at', 'synced at'], timing.rows(t0)));
      feed.stop();
      await cache.stop();
      client.close();
    }
    console.log(table(['side', 'outcome', 'time to sync ms', 'heap after sync', 'heap / pods, B', 'objects'], rows));
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * Timing hooks for the whole-cache cold sync, set on this run's own instances only: the
 * client's `getList` replaced by the same steps timed one by one (headers, body, parse, the
 * parse of each item as the reflector iterates them);
 * each reflector's per-object ingest timed; each store's `replace` timed, and the
 * feed's share of the slices' replace taken between a listener added before the feed and one
 * after it. Call `afterFeed` once the feed has subscribed.
 */
function syncBreakdown(client: ApiClient, cache: ClusterCache) {
  interface T { pages: number; headers: number; body: number; parse: number; ingest: number; replace: number; feed: number; listDone: number; synced: number }
  const per = new Map<string, T>();
  const of = (kind: string): T => {
    let t = per.get(kind);
    if (!t) per.set(kind, (t = { pages: 0, headers: 0, body: 0, parse: 0, ingest: 0, replace: 0, feed: 0, listDone: 0, synced: 0 }));
    return t;
  };
  const kindOfPath = (path: string) => (path.includes('/endpointslices') ? 'EndpointSlice' : path.includes('/pods') ? 'Pod' : path.includes('/services') ? 'Service' : path.includes('/nodes') ? 'Node' : 'other');
  client.getList = async (path, opts) => {
    const t = of(kindOfPath(path));
    const a = performance.now();
    const res = await client.get(path, opts);
    const b = performance.now();
    const body = await readBodyBytes(res, opts.maxBytes ?? Infinity, opts.into);
    const c = performance.now();
    const page = parseListBody(path, body, opts.itemFields ?? true);
    const d = performance.now();
    t.pages++;
    t.headers += b - a;
    t.body += c - b;
    t.parse += d - c;
    // Items are parsed as the reflector iterates them: time each step of the iteration.
    const items = page.items;
    return {
      metadata: page.metadata,
      items: items && (function* () {
        const it = items[Symbol.iterator]();
        for (;;) {
          const e = performance.now();
          const next = it.next();
          t.parse += performance.now() - e;
          if (next.done) return;
          yield next.value;
        }
      })(),
    };
  };
  for (const r of cache.reflectors) {
    const reflector = r as unknown as { kind: string; ingestOrSkip: (obj: unknown) => unknown };
    const ingestOrSkip = reflector.ingestOrSkip.bind(reflector);
    const t = of(reflector.kind);
    reflector.ingestOrSkip = (obj) => {
      const a = performance.now();
      const out = ingestOrSkip(obj);
      t.ingest += performance.now() - a;
      return out;
    };
  }
  const stores = { Service: cache.services, EndpointSlice: cache.slices, Pod: cache.pods, Node: cache.nodes } as const;
  for (const [kind, store] of Object.entries(stores)) {
    const replace = store.replace.bind(store) as (records: Iterable<never>, ns: string | null) => unknown;
    (store as { replace: unknown }).replace = (records: Iterable<never>, ns: string | null = null) => {
      const t = of(kind);
      const a = performance.now();
      t.listDone = a;
      const out = replace(records, ns);
      t.synced = performance.now();
      t.replace += t.synced - a;
      return out;
    };
  }
  let feedStart = 0;
  cache.slices.subscribe(() => void (feedStart = performance.now()));
  return {
    afterFeed: () => cache.slices.subscribe(() => void (of('EndpointSlice').feed += performance.now() - feedStart)),
    rows: (t0: number) =>
      [...per].filter(([k]) => k !== 'other').map(([kind, t]) => [
        kind, t.pages, Math.round(t.headers), Math.round(t.body), Math.round(t.parse), Math.round(t.ingest),
        Math.round(t.replace - t.feed), Math.round(t.feed), Math.round(t.listDone - t0), Math.round(t.synced - t0),
      ]),
  };
}

function serving(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('sim server: not serving within 180 s')), 180_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      process.stdout.write(chunk.replace(/^(?=.)/gm, '  | '));
      if (out.includes('sim: serving')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sim server exited with ${code} before serving`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function positive(name: string): number {
  const v = Number((values as Record<string, unknown>)[name]);
  if (!Number.isSafeInteger(v) || v < 1) {
    console.error(`--${name}: expected a positive integer, got ${JSON.stringify((values as Record<string, unknown>)[name])}`);
    process.exit(2);
  }
  return v;
}

