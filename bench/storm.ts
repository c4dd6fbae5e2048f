/**
 * The subscription storm: does a burst of subscriptions with large snapshots hold up HTTP
 * queries, and how much memory does it take? The peer is the same gateway, idle, in the same run.
 *
 *   node bench/storm.ts [--variants identical,distinct] [--sockets 10] [--subscriptions 100]
 *                       [--probes 200] [--after-ms 10000] [--churn 20] [--warmup-ms 3000]
 *
 * Per variant, in a fresh process (so that peak RSS belongs to that variant alone): the gateway
 * on the embedded demo cluster, started in-process as the tests start it (`startGateway`,
 * `--demo --port 0 --no-explorer --demo-churn-per-second 20`, so churn runs throughout, idle
 * included), then:
 *
 * 1. idle: after `--warmup-ms` of probing, `--probes` sequential `{ cluster { ready } }` POSTs
 *    over one keep-alive connection;
 * 2. storm: a child process (bench/storm-client.ts) opens `--sockets` raw graphql-transport-ws
 *    sockets and sends `--subscriptions` `endpointChanges` subscriptions on each, every one with
 *    a large selection (each endpoint with its pod's metadata and labels) and a SNAPSHOT per
 *    Service; the same sequential probes run until every snapshot has arrived ("during");
 * 3. after: the probes go on for `--after-ms` while churn streams CHANGE frames to every
 *    subscription.
 *
 * Variants: `identical` (every subscription the same operation: one topic), `distinct` (one alias
 * per subscription index, `s0: endpointChanges…` to `s99: …`: as many topics as subscriptions per
 * socket, each rendering its own snapshots).
 *
 * Reported: probe p50/p99/max per phase and the ratios p99 during / idle and p99 after / idle;
 * the event loop's longest delay per phase (`monitorEventLoopDelay`, 10 ms resolution: fewer
 * probes fit in a phase when the loop is blocked, so this says how long the longest block was);
 * and the gateway process's RSS growth: peak RSS while the storm runs minus RSS just before it
 * (sampled every 10 ms, and `maxRSS` when it rose), with the heap's and off-heap buffers' share
 * at their own peaks. The probe shares the gateway's event loop, which is what it measures: how
 * long an HTTP request waits behind subscription work.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startGateway } from '../src/app.ts';
import { parseConfig, type Config } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { childMessage, machineNote, percentile, ratio, table } from './util.ts';

const { values } = parseArgs({
  options: {
    variants: { type: 'string', default: 'identical,distinct' },
    sockets: { type: 'string', default: '10' },
    subscriptions: { type: 'string', default: '100' },
    probes: { type: 'string', default: '200' },
    'after-ms': { type: 'string', default: '10000' },
    churn: { type: 'string', default: '20' },
    'warmup-ms': { type: 'string', default: '3000' },
    variant: { type: 'string' },
  },
});

const Endpoints =
  'type name cursor at endpoints { address ready serving terminating nodeName zone hostname ports { name port protocol } targetRef { kind namespace name uid } pod { metadata { name namespace uid labels { key value } } } }';
type Variant = 'identical' | 'distinct';

interface PhaseStats {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}
interface VariantResult {
  readonly variant: Variant;
  readonly services: number;
  readonly subscriptions: number;
  readonly topics: number;
  readonly idle: PhaseStats;
  readonly during: PhaseStats;
  readonly after: PhaseStats;
  readonly loopMaxMs: { idle: number; during: number; after: number };
  readonly heapGrowthMiB: number;
  readonly externalGrowthMiB: number;
  readonly snapshotsMs: number;
  readonly snapshots: number;
  readonly changes: number;
  readonly clientErrors: number;
  readonly firstError: string | null;
  readonly mibReceived: number;
  readonly rssBeforeMiB: number;
  readonly rssPeakMiB: number;
  readonly load: string;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');

if (values.variant !== undefined) {
  const r = await runVariant(values.variant as Variant);
  process.send!({ type: 'result', result: r });
  process.exit(0);
}

// --- The orchestrator: one process per variant.

console.log(`storm: ${machineNote()}, load average ${load()}`);
const results: VariantResult[] = [];
for (const v of values.variants!.split(',') as Variant[]) {
  if (v !== 'identical' && v !== 'distinct') throw new Error(`--variants: expected identical and/or distinct, got ${JSON.stringify(v)}`);
  const child = fork(new URL(import.meta.url).pathname, [...process.argv.slice(2), '--variant', v], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const r = await new Promise<VariantResult>((resolve, reject) => {
    child.on('message', (m: { type: string; result: VariantResult }) => m.type === 'result' && resolve(m.result));
    child.once('exit', (code) => reject(new Error(`variant ${v} exited with ${code}`)));
  });
  results.push(r);
}

console.log(`\n${values.sockets} sockets × ${values.subscriptions} subscriptions, churn ${values.churn}/s throughout; probe = sequential POST { cluster { ready } }`);
console.log(
  table(
    ['variant', 'topics', 'phase', 'probes', 'p50 ms', 'p99 ms', 'max ms', 'p99 / idle p99', 'longest loop delay ms'],
    results.flatMap((r) =>
      (['idle', 'during', 'after'] as const).map((phase) => [
        r.variant,
        String(r.topics),
        phase,
        r[phase].n,
        r[phase].p50,
        r[phase].p99,
        r[phase].max,
        ratio(r[phase].p99, r.idle.p99),
        r.loopMaxMs[phase],
      ]),
    ),
  ),
);
console.log('');
console.log(
  table(
    ['variant', 'snapshots', 'in ms', 'changes after', 'MiB received', 'client errors', 'RSS before MiB', 'RSS growth MiB', 'heap growth MiB', 'external growth MiB', 'load average'],
    results.map((r) => [r.variant, r.snapshots, r.snapshotsMs, r.changes, r.mibReceived, String(r.clientErrors), r.rssBeforeMiB, r.rssPeakMiB - r.rssBeforeMiB, r.heapGrowthMiB, r.externalGrowthMiB, r.load]),
  ),
);
for (const r of results) if (r.firstError) console.log(`${r.variant}: first client error: ${r.firstError}`);
console.log(`load average at the end: ${load()}`);
process.exit(0);

// --- One variant, in its own process.

async function runVariant(variant: Variant): Promise<VariantResult> {
  const sockets = Number(values.sockets);
  const perSocket = Number(values.subscriptions);
  const cfg = parseConfig(['--demo', '--port', '0', '--no-explorer', '--demo-churn-per-second', String(values.churn)], {}) as Config;
  const gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }) });
  await gw.synced();
  const services = gw.cache.services.size;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(gw.url);
  const body = '{"query":"{ cluster { ready } }"}';
  const probe = () =>
    new Promise<number>((resolve, reject) => {
      const t = performance.now();
      const req = request({ host: hostname, port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t) : reject(new Error(`probe answered ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  // Warm the probe's path (connection, parse cache, JIT: a probe takes ~0.4 ms cold, ~0.06 ms
  // after some thousands), then let the heap settle a moment.
  for (const tw = performance.now(); performance.now() - tw < Number(values['warmup-ms']); ) await probe();
  await new Promise((r) => setTimeout(r, 500));

  const loop = monitorEventLoopDelay({ resolution: 10 });
  const loopMax = () => {
    const m = loop.max / 1e6;
    loop.reset();
    return m;
  };
  loop.enable();
  loop.reset();
  const idle: number[] = [];
  for (let i = 0; i < Number(values.probes); i++) idle.push(await probe());
  const loopIdle = loopMax();

  const operations = Array.from({ length: perSocket }, (_, i) =>
    variant === 'identical' ? `subscription { endpointChanges { ${Endpoints} } }` : `subscription { s${i}: endpointChanges { ${Endpoints} } }`,
  );
  const want = sockets * perSocket * services;
  const child: ChildProcess = fork(new URL('./storm-client.ts', import.meta.url).pathname, [gw.url.replace(/^http/, 'ws') + '/graphql', String(sockets), JSON.stringify(operations), String(want)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string) => childMessage<T>(child, type);
  await next('ready');

  const mem0 = process.memoryUsage();
  const rssBefore = mem0.rss;
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  let rssPeak = rssBefore;
  let heapPeak = mem0.heapUsed;
  let externalPeak = mem0.external;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > rssPeak) rssPeak = m.rss;
    if (m.heapUsed > heapPeak) heapPeak = m.heapUsed;
    if (m.external > externalPeak) externalPeak = m.external;
  }, 10);
  loopMax();

  let snapshotsIn = false;
  const snapshotsDone = next('snapshots').then(() => (snapshotsIn = true));
  const t0 = performance.now();
  child.send({ type: 'subscribe' });
  const during: number[] = [];
  const limitMs = 120_000;
  while (!snapshotsIn && performance.now() - t0 < limitMs) during.push(await probe());
  await Promise.race([snapshotsDone, new Promise((r) => setTimeout(r, 0))]);
  const snapshotsMs = performance.now() - t0;
  const topics = gw.fanout.topicCount;
  const loopDuring = loopMax();

  const after: number[] = [];
  const t1 = performance.now();
  while (performance.now() - t1 < Number(values['after-ms'])) after.push(await probe());

  const loopAfter = loopMax();
  loop.disable();
  clearInterval(sampler);
  const maxRssAfter = process.resourceUsage().maxRSS * 1024;
  const peak = Math.max(rssPeak, maxRssAfter > maxRssBefore ? maxRssAfter : 0);
  child.send({ type: 'report' });
  const report = await next<{ snapshots: number; changes: number; errors: number; firstError: string | null; bytes: number }>('report');
  child.send({ type: 'stop' });
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
  await gw.stop();

  const stats = (xs: number[]): PhaseStats => {
    const s = Float64Array.from(xs).sort();
    return { n: xs.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
  };
  const result: VariantResult = {
    variant,
    services,
    subscriptions: sockets * perSocket,
    topics,
    idle: stats(idle),
    during: stats(during),
    after: stats(after),
    loopMaxMs: { idle: loopIdle, during: loopDuring, after: loopAfter },
    heapGrowthMiB: (heapPeak - mem0.heapUsed) / 1_048_576,
    externalGrowthMiB: (externalPeak - mem0.external) / 1_048_576,
    snapshotsMs: snapshotsIn ? Math.round(snapshotsMs) : NaN,
    snapshots: report.snapshots,
    changes: report.changes,
    clientErrors: report.errors,
    firstError: report.firstError,
    mibReceived: report.bytes / 1_048_576,
    rssBeforeMiB: rssBefore / 1_048_576,
    rssPeakMiB: peak / 1_048_576,
    load: load(),
  };
  console.log(
    `  ${variant}: ${services} Services, ${topics} topics; idle p99 ${result.idle.p99.toFixed(2)} ms, during p99 ${result.during.p99.toFixed(2)} ms (${during.length} probes, snapshots in ${result.snapshotsMs} ms), after p99 ${result.after.p99.toFixed(2)} ms; RSS +${(result.rssPeakMiB - result.rssBeforeMiB).toFixed(1)} MiB; load ${result.load}`,
  );
  return result;
}
