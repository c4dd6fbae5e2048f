/**
 * Benchmark: the gateway's resident memory (RSS) on a real 2,000-pod cluster, idle and after a
 * short query load, and where it goes, beside the closest peer: a bare
 * @kubernetes/client-node informer process caching the same four kinds (bench/rss-informer.ts).
 *
 *   node bench/rss.ts [--pods 2000] [--pods-per-service 10] [--nodes 20] [--namespaces 10]
 *                     [--idle-ms 20000] [--load-ms 5000] [--connections 4]
 *                     [--gateway-node-args "--max-semi-space-size=4"] [--no-peer] [--demo]
 *
 * Starts the real control plane (test/control-plane, as the integration tests do; priority and
 * fairness off so that setup is quick), creates Nodes, Services and Pods, and plays the kubelet
 * (pod status patched Running and Ready with an IP) so that kube-controller-manager's
 * EndpointSlice controller writes real slices; waits until the slices hold every pod. Then:
 * - the gateway as users start it (`npm start -- --kubeconfig K --port 0`, that is src/start.js
 *   with the type-stripped sources of src/precompile.ts, built first; explorer on),
 *   in a child process: sampled once synced and idle (`--idle-ms`, then until its RSS holds
 *   still for 15 s, at most 90 s more), right after `--load-ms` of closed-loop queries (70 %
 *   Service lookups with endpoints, 30 % namespace lists, through bench/load-client.ts), and
 *   once idle again;
 * - the peer: informers for Services, EndpointSlices, Pods and Nodes, sampled after
 *   `--idle-ms` idle (it serves no queries);
 * - with `--demo`: the same with `--demo --port 0`, sampled once idle.
 * Each sample reads /proc/PID/status and /proc/PID/smaps: RSS split into the mapped node binary,
 * other files (shared libraries), and anonymous memory; and the V8 heap spaces (committed and
 * used; the gateway's from its /metrics, the peer's over IPC) and external memory (Buffers and
 * ArrayBuffers outside the heap). "Rest" is anonymous memory that is neither V8's committed
 * heap nor external: malloc'd native memory, thread stacks, uncommitted-but-touched pages.
 * Committed is not resident, so the parts are estimates of where the RSS is, not an exact sum.
 * Never a timed test: nothing here asserts.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../test/harness/control-plane.ts';
import { KubeClient } from '../test/harness/kube-client.ts';
import { GatewayProcess, RepoRoot } from '../test/harness/gateway-process.ts';
import type { LoadJob, LoadResult } from './load-client.ts';
import { childMessage, machineNote, table } from './util.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '2000' },
    'pods-per-service': { type: 'string', default: '10' },
    nodes: { type: 'string', default: '20' },
    namespaces: { type: 'string', default: '10' },
    'idle-ms': { type: 'string', default: '20000' },
    'load-ms': { type: 'string', default: '5000' },
    connections: { type: 'string', default: '4' },
    'gateway-node-args': { type: 'string', default: '' },
    'no-peer': { type: 'boolean', default: false },
    demo: { type: 'boolean', default: false },
  },
});
const pods = positive('pods');
const perService = positive('pods-per-service');
const nodeCount = positive('nodes');
const namespaceCount = positive('namespaces');
const idleMs = positive('idle-ms');
const loadMs = positive('load-ms');
const connections = positive('connections');
const gatewayNodeArgs = values['gateway-node-args'].split(/\s+/).filter((a) => a !== '');

console.log(`rss: ${machineNote()}; load average ${loadavg()}`);
// As `npm start` runs it: src/start.js, with the type-stripped sources it prepares first.
spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(RepoRoot, 'src', 'precompile.ts')], { stdio: 'inherit' });
const entry = join(RepoRoot, 'src', 'start.js');
// As `npm start` and the image set it, unless the environment says otherwise (README, Decisions).
const arenas = process.env['MALLOC_ARENA_MAX'] ?? '2';
const rows: (string | number)[][] = [];
const dir = mkdtempSync(join(tmpdir(), 'rss-bench-'));
const cp = await ControlPlane.start({
  runDir: dir,
  apiServerExtraArgs: ['--enable-priority-and-fairness=false', '--max-requests-inflight=0', '--max-mutating-requests-inflight=0'],
});
try {
  const kube = KubeClient.admin(cp.state);
  const t0 = performance.now();
  const services = await makeCluster(kube);
  console.log(`cluster: ${pods} pods, ${services.length} Services, ${nodeCount} nodes, ${namespaceCount} namespaces; ready in ${Math.round((performance.now() - t0) / 1000)} s`);

  const gw = await GatewayProcess.start(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0'], { nodeArgs: gatewayNodeArgs, entry, startTimeoutMs: 120_000, env: { MALLOC_ARENA_MAX: arenas } });
  try {
    await waitReady(gw.url);
    rows.push([`gateway, idle (${Math.round((await settled(gw)) / 1000)} s)`, ...columns(await sampleGateway(gw))]);
    const load = await queryLoad(gw.url, services);
    rows.push([`gateway, after ${loadMs / 1000} s of queries (${Math.round(load.requests / (load.elapsedMs / 1000))} req/s, ${load.errors} errors)`, ...columns(await sampleGateway(gw))]);
    rows.push([`gateway, idle again (${Math.round((await settled(gw)) / 1000)} s after the load)`, ...columns(await sampleGateway(gw))]);
  } finally {
    await gw.kill();
  }

  if (!values['no-peer']) {
    const peer = fork(new URL('./rss-informer.ts', import.meta.url), [cp.state.kubeconfigPath], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    try {
      const synced = await childMessage<{ objects: number }>(peer, 'synced');
      await sleep(idleMs);
      const s = await childMessage<{ spaces: HeapSpace[]; usage: NodeJS.MemoryUsage }>(peer, 'sample', { type: 'sample' });
      rows.push([`client-node informers (${synced.objects} objects), idle`, ...columns(sample(peer.pid!, s.spaces, s.usage.external))]);
    } finally {
      peer.kill();
    }
  }
} finally {
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
}

if (values.demo) {
  const demo = await GatewayProcess.start(['--demo', '--port', '0'], { nodeArgs: gatewayNodeArgs, entry, startTimeoutMs: 120_000, env: { MALLOC_ARENA_MAX: arenas } });
  try {
    await waitReady(demo.url);
    rows.push([`demo (--demo), idle (${Math.round((await settled(demo)) / 1000)} s)`, ...columns(await sampleGateway(demo))]);
  } finally {
    await demo.kill();
  }
}

console.log(`\nResident memory, MiB (gateway node args: ${gatewayNodeArgs.join(' ') || 'none'}); load average at the end ${loadavg()}`);
console.log(
  table(
    ['process', 'RSS', 'node binary', 'other files', 'anonymous', 'V8 new (used)', 'V8 old (used)', 'V8 code+trusted', 'V8 large objects', 'external', 'rest'],
    rows,
  ),
);

// Private:

interface HeapSpace {
  readonly space_name: string;
  readonly space_size: number;
  readonly space_used_size: number;
}

interface Sample {
  readonly rss: number;
  readonly nodeBinary: number;
  readonly otherFiles: number;
  readonly anonymous: number;
  readonly spaces: readonly HeapSpace[];
  readonly external: number;
}

/** Nodes, then per namespace its Services, each with `perService` pods made ready; resolves when the slices hold every pod. */
async function makeCluster(kube: KubeClient): Promise<{ namespace: string; name: string }[]> {
  const nodes = Array.from({ length: nodeCount }, (_, i) => `rss-node-${i}`);
  await pool(nodes.map((n, i) => () => kube.createNode(n, `zone-${i % 3}`)));
  const services: { namespace: string; name: string }[] = [];
  for (let i = 0; i < Math.ceil(pods / perService); i++) services.push({ namespace: `rss-${i % namespaceCount}`, name: `svc-${i}` });
  for (let n = 0; n < namespaceCount; n++) await kube.ensureNamespace(`rss-${n}`);
  await pool(services.map((s) => () => kube.createService({ ...s, selector: { app: s.name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] })));
  const jobs: (() => Promise<unknown>)[] = [];
  for (let p = 0; p < pods; p++) {
    const s = services[Math.floor(p / perService)]!;
    const name = `${s.name}-${p % perService}`;
    const ip = `10.${64 + Math.floor(p / 62_500)}.${Math.floor(p / 250) % 250}.${(p % 250) + 1}`;
    jobs.push(async () => {
      await kube.createPod({ namespace: s.namespace, name, labels: { app: s.name }, nodeName: nodes[p % nodes.length]! });
      await kube.setPodReady(s.namespace, name, [ip], true);
    });
  }
  await pool(jobs);
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { items } = await kube.list('/apis/discovery.k8s.io/v1/endpointslices');
    const ready = items.filter((s: any) => s.metadata.namespace.startsWith('rss-')).reduce((n: number, s: any) => n + (s.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).length, 0);
    if (ready >= pods) return services;
    if (Date.now() > deadline) throw new Error(`rss: expected ${pods} ready endpoints in the slices, got ${ready} after 5 minutes`);
    await sleep(1000);
  }
}

/** Runs the jobs 16 at a time. */
async function pool(jobs: readonly (() => Promise<unknown>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

/**
 * Waits `--idle-ms`, then until RSS has moved by less than 1 MiB over 15 s (three readings 5 s
 * apart: the idle collector checks every 10 s, and V8's memory reducer works in steps seconds
 * apart after it), at most 90 s more; returns the time waited.
 */
async function settled(gw: GatewayProcess): Promise<number> {
  const t0 = Date.now();
  await sleep(idleMs);
  const readings = [sample(gw.child.pid!, [], 0).rss];
  while (Date.now() - t0 < idleMs + 90_000) {
    await sleep(5_000);
    readings.push(sample(gw.child.pid!, [], 0).rss);
    const last = readings.slice(-4);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) < 1_048_576) break;
  }
  return Date.now() - t0;
}

async function waitReady(url: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  while ((await fetch(`${url}/readyz`).catch(() => null))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`rss: ${url}/readyz did not answer 200 within 5 minutes`);
    await sleep(250);
  }
}

async function queryLoad(url: string, services: readonly { namespace: string; name: string }[]): Promise<LoadResult> {
  const lookup = `query ServiceLookup($namespace: String!, $name: String!) { service(namespace: $namespace, name: $name) { metadata { namespace name } type clusterIP ports { name port targetPort protocol } endpointCounts { total ready } endpoints(first: 100) { totalCount items { address ready serving terminating nodeName zone targetRef { kind name } pod { metadata { name } phase ready } } } } }`;
  const list = `query NamespaceServices($namespace: String!) { services(namespace: $namespace, first: 50) { totalCount items { metadata { name } type clusterIP endpointCounts { total ready serving terminating } } } }`;
  const { port } = new URL(url);
  const ops = [
    ...services.map((s) => ({ operationName: 'ServiceLookup', query: lookup, variables: s })),
    ...Array.from({ length: namespaceCount }, (_, n) => ({ operationName: 'NamespaceServices', query: list, variables: { namespace: `rss-${n}` } })),
  ];
  const requests = ops.map((op) => {
    const body = JSON.stringify(op);
    return `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  });
  // 70 % lookups, 30 % namespace lists.
  const sequence = Array.from({ length: 100 }, (_, i) => (i % 10 < 7 ? (i * 7) % services.length : services.length + (i % namespaceCount)));
  const client: ChildProcess = fork(new URL('./load-client.ts', import.meta.url), [], { execArgv: [], stdio: 'inherit' });
  try {
    await childMessage(client, 'ready');
    const job: LoadJob = { host: '127.0.0.1', port: Number(port), requests, sequence, connections, warmupMs: 500, durationMs: loadMs, maxRequests: Number.MAX_SAFE_INTEGER };
    return (await childMessage<{ result: LoadResult }>(client, 'result', { type: 'run', job })).result;
  } finally {
    client.send({ type: 'exit' });
  }
}

async function sampleGateway(gw: GatewayProcess): Promise<Sample> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const metric = (name: string, space?: string): number => {
    const re = new RegExp(`^netgraph_nodejs_${name}${space ? `\\{space="${space}"\\}` : ''} (\\S+)$`, 'm');
    return Number(re.exec(text)?.[1] ?? NaN);
  };
  const names = [...text.matchAll(/^netgraph_nodejs_heap_space_size_total_bytes\{space="([^"]+)"\}/gm)].map((m) => m[1]!);
  const spaces = names.map((n) => ({ space_name: n, space_size: metric('heap_space_size_total_bytes', n), space_used_size: metric('heap_space_size_used_bytes', n) }));
  return sample(gw.child.pid!, spaces, metric('external_memory_bytes'));
}

/** RSS of `pid` from /proc, split by mapping, with the V8 spaces and external memory the process reported. */
function sample(pid: number, spaces: readonly HeapSpace[], external: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const exe = readlinkSync(`/proc/${pid}/exe`);
  let nodeBinary = 0;
  let otherFiles = 0;
  let path = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) path = header[1]!;
    else if (line.startsWith('Rss:')) {
      const bytes = Number(/(\d+)/.exec(line)![1]) * 1024;
      if (path === exe) nodeBinary += bytes;
      else if (path.startsWith('/')) otherFiles += bytes;
    }
  }
  return { rss: kb('VmRSS'), nodeBinary, otherFiles, anonymous: kb('RssAnon'), spaces, external };
}

function columns(s: Sample): (string | number)[] {
  const space = (...names: string[]) => s.spaces.filter((x) => names.includes(x.space_name));
  const committed = (...names: string[]) => space(...names).reduce((n, x) => n + x.space_size, 0);
  const used = (...names: string[]) => space(...names).reduce((n, x) => n + x.space_used_size, 0);
  const heap = s.spaces.reduce((n, x) => n + x.space_size, 0);
  const m = (b: number) => (b / 1_048_576).toFixed(1);
  return [
    m(s.rss),
    m(s.nodeBinary),
    m(s.otherFiles),
    m(s.anonymous),
    `${m(committed('new_space', 'new'))} (${m(used('new_space', 'new'))})`,
    `${m(committed('old_space', 'old'))} (${m(used('old_space', 'old'))})`,
    m(committed('code_space', 'code', 'trusted_space', 'trusted', 'code_large_object_space', 'code_large_object')),
    m(committed('large_object_space', 'large_object', 'new_large_object_space', 'new_large_object')),
    m(s.external),
    m(s.anonymous - heap - s.external),
  ];
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function positive(name: string): number {
  const n = Number(values[name as keyof typeof values]);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name}: expected a positive integer, got ${JSON.stringify(values[name as keyof typeof values])}`);
    process.exit(2);
  }
  return n;
}
