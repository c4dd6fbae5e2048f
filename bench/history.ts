/**
 * The endpoint history: heap per retained change set, and what recording the history costs
 * under churn (slice events per second through store → feed with the history on and off,
 * alternating in the same run).
 *
 *   node --expose-gc bench/history.ts [--preset large] [--seed 1] [--events 20000] [--rounds 2]
 *
 * The shape's Services and EndpointSlices are loaded into a cache (pods are not needed); churn
 * is one endpoint's readiness flipped in a random slice per event (the slice re-ingested, as a
 * watch event delivers it), the same sequence for both sides. Heap per retained change set is
 * the heap after `events` changes with the history keeping all of them, minus the heap after
 * the same changes with no history, over the steps retained (each side's growth over the events,
 * after a full GC); the observed times the history keeps per endpoint are reported apart.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { ClusterCache } from '../src/kube/cache.ts';
import { ingest } from '../src/kube/ingest.ts';
import type { EndpointSliceRecord } from '../src/kube/records.ts';
import { EndpointFeed } from '../src/model/endpoint-feed.ts';
import { EndpointHistory } from '../src/model/history.ts';
import { generateCluster, Presets, type PresetName } from '../demo/src/index.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'large' },
    seed: { type: 'string', default: '1' },
    events: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '2' },
  },
});
const preset = values.preset as PresetName;
if (!(preset in Presets)) throw new Error(`--preset: expected one of ${Object.keys(Presets).join(', ')}, got ${JSON.stringify(values.preset)}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const events = Number(values.events);
const rounds = Number(values.rounds);
const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');

const generated = generateCluster(preset, { seed: Number(values.seed) });
const services = generated.services.map((s) => ingest('Service', s));
const sliceJson = generated.endpointSlices.filter((s: any) => (s.endpoints?.length ?? 0) > 0 && s.metadata.labels?.['kubernetes.io/service-name']) as any[];
const endpointsTotal = sliceJson.reduce((n, s) => n + s.endpoints.length, 0);
const serviceKeys = new Set(sliceJson.map((s) => `${s.metadata.namespace}/${s.metadata.labels['kubernetes.io/service-name']}`));
console.log(`preset ${preset}, seed ${values.seed}: ${services.length} services, ${sliceJson.length} non-empty slices, ${endpointsTotal} endpoints (${(endpointsTotal / serviceKeys.size).toFixed(1)} per Service with endpoints); load ${load()}`);

/** A seeded sequence of (slice, endpoint) flips, the same for every run. */
function flips(): [number, number][] {
  let a = Number(values.seed) >>> 0;
  const r = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: events }, () => {
    const s = Math.floor(r() * sliceJson.length);
    return [s, Math.floor(r() * sliceJson[s].endpoints.length)];
  });
}
const sequence = flips();

interface Run {
  eventsPerSecond: number;
  /** After loading (and, with the history, its observed times of every endpoint), before the events. */
  heapBefore: number;
  heapAfter: number;
  steps: number;
}

let alive: unknown = null;

function run(withHistory: boolean): Run {
  const cache = new ClusterCache({ client: null });
  cache.services.replace(services);
  cache.slices.replace(sliceJson.map((s) => ingest('EndpointSlice', s) as EndpointSliceRecord));
  const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
  feed.start();
  const history = withHistory ? new EndpointHistory(feed, cache.services, { maxSteps: events, windowMs: Number.POSITIVE_INFINITY }) : null;
  history?.start();
  // Each flip toggles the endpoint's ready condition of the slice as last written.
  const ready = sliceJson.map((s) => s.endpoints.map((e: any) => e.conditions?.ready !== false));
  alive = [cache, feed, history];
  gc!();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let rv = 1;
  for (const [s, e] of sequence) {
    ready[s][e] = !ready[s][e];
    const j = sliceJson[s];
    const next = { ...j, metadata: { ...j.metadata, resourceVersion: `h${rv++}` }, endpoints: j.endpoints.map((ep: any, i: number) => (i === e ? { ...ep, conditions: { ...ep.conditions, ready: ready[s][i], serving: ready[s][i] } } : ep)) };
    cache.slices.upsert(ingest('EndpointSlice', next) as EndpointSliceRecord);
  }
  const seconds = (performance.now() - t0) / 1000;
  // Alive through the measurement; the next run's assignment lets this one go.
  alive = [cache, feed, history];
  gc!();
  const heapAfter = process.memoryUsage().heapUsed;
  const steps = history?.retained().length ?? 0;
  return { eventsPerSecond: events / seconds, heapBefore, heapAfter, steps };
}

const off: Run[] = [];
const on: Run[] = [];
for (let i = 0; i < rounds; i++) {
  off.push(run(false));
  gc();
  on.push(run(true));
  gc();
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (let i = 0; i < rounds; i++) {
  console.log(`round ${i + 1}: history off ${Math.round(off[i]!.eventsPerSecond)} events/s, on ${Math.round(on[i]!.eventsPerSecond)} events/s (${on[i]!.steps} steps retained); heap after: off ${(off[i]!.heapAfter / 2 ** 20).toFixed(1)} MiB, on ${(on[i]!.heapAfter / 2 ** 20).toFixed(1)} MiB`);
}
const perStep = median(on.map((r, i) => (r.heapAfter - r.heapBefore - (off[i]!.heapAfter - off[i]!.heapBefore)) / r.steps));
const perEndpoint = median(on.map((r, i) => (r.heapBefore - off[i]!.heapBefore) / endpointsTotal));
console.log(`history on/off events per second: ${(median(on.map((r) => r.eventsPerSecond)) / median(off.map((r) => r.eventsPerSecond))).toFixed(2)}x`);
console.log(`heap per retained change set: ${Math.round(perStep)} B; observed times: ${Math.round(perEndpoint)} B per endpoint (medians of ${rounds}); load ${load()}`);
