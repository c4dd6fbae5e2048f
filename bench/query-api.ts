/**
 * Benchmark: requests per second and latency of the query API on the large generated cluster,
 * served three ways in the same run over loopback, against the same ClusterCache:
 *
 * - ours: the gateway's own HTTP stack, GatewayServer (src/server/server.ts), composed as
 *   startGateway composes it (limits, coded errors, metrics route and per-request metrics), minus
 *   the reflectors: the cache is filled by hand;
 * - apollo-default: Apollo Server 5 with default settings, `new ApolloServer({ schema })` and its
 *   startStandaloneServer, over the same schema, resolvers and loaders;
 * - floor: plain node:http + JSON.stringify answering the same three requests by hand from the
 *   cache and the endpoint feed (no GraphQL), with the same JSON as the others (checked);
 * - ours-graphql-js (optional, `--servers ...,ours-graphql-js`): ours with compiled execution off
 *   (graphql-js's `execute` for every operation), to show what compiling queries gains;
 * - ours-auth (optional, or `--auth`): ours with `--auth kubernetes`, reviewing tokens and access
 *   through a demo cluster's API (demo/, its TokenReview and SubjectAccessReview answers) over
 *   loopback HTTP; every request carries `Authorization: Bearer demo-admin` (allowed everything,
 *   so the answers are the same as the others'). Decision caches are warm before the measured
 *   window (the answer check and the warm-up ask every question once); the reviews the gateway
 *   sent during each window are read from the demo API server's counters.
 *
 *   node bench/query-api.ts [--preset large] [--seed 1] [--rounds 2] [--duration-ms 2500]
 *                           [--warmup-ms 500] [--connections 8] [--max-requests 200000]
 *                           [--scenarios lookup,namespace,summary,big,mix] [--servers ours,apollo-default,floor]
 *                           [--cpu-profile DIR] [--auth]
 *
 * `--connections` takes a comma-separated list (e.g. 2,16): every (scenario, server) runs at each
 * level. `--auth` is short for `--servers ours,ours-auth --scenarios mix --connections 2,16`
 * (explicit flags win): what per-caller authorization costs on the read mix, and whether the
 * reviews it sends grow with the request rate (they should not: they are per user and question,
 * cached).
 *
 * Requests (POST /graphql, JSON):
 * - lookup: one Service by namespace/name with ports, endpoint counts and its first 100
 *   merged endpoints (200 different Services, `shop/catalog` with 1,000 endpoints among them);
 * - namespace: the first 50 Services of a namespace with endpoint counts (all namespaces in turn);
 * - summary: cluster sync state, the first 20 Services without ready endpoints (a scan of all
 *   10,000) and the Node count per zone;
 * - big: one Service with 1,000 endpoints (`shop/catalog`), every endpoint with its pod, node and
 *   zone (the shape users ask for most);
 * - mix: 70 % lookup, 25 % namespace, 5 % summary.
 *
 * Besides req/s and latency, each table gives the server's CPU per answer (µs): the CPU time of
 * this process (where every server runs; the load generator is another process) over the whole
 * job, divided by every answer it sent, warm-up included.
 *
 * The load generator (bench/load-client.ts) is a separate process with N keep-alive connections
 * in a closed loop. Each (round, scenario) runs every server in turn, the order rotating per
 * round; figures are the median requests/s over rounds and percentiles over all measured
 * requests. Absolute numbers depend on the machine and its neighbours; the ratios are the result.
 *
 * --cpu-profile DIR writes one V8 CPU profile of the server process per (scenario, server) of the
 * first round, covering only the load (open them in Chrome DevTools or speedscope).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deepStrictEqual } from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { KubeConfig } from '@kubernetes/client-node';
import { composeServing, limitsOf } from '../src/app.ts';
import { ApiClient } from '../src/kube/client.ts';
import { DemoTokens, startSimCluster } from '../demo/src/index.ts';
import { parseConfig, type Config } from '../src/config.ts';
import { ClusterCache } from '../src/kube/cache.ts';
import { ingest } from '../src/kube/ingest.ts';
import { objectKey, type CoreKind as Kind, type ServiceRecord } from '../src/kube/records.ts';
import { createLogger } from '../src/log.ts';
import { EndpointFeed } from '../src/model/endpoint-feed.ts';
import type { ServiceEndpoints } from '../src/model/endpoints.ts';
import { createContext, type GatewayContext } from '../src/graphql/context.ts';
import type { Execution } from '../src/graphql/pipeline.ts';
import { byObjectKey } from '../src/graphql/pagination.ts';
import { buildGatewaySchema } from '../src/graphql/schema.ts';
import { generateCluster, Presets, type PresetName } from '../demo/src/generate.ts';
import { subscriptionResolvers } from '../src/subscriptions/resolvers.ts';
import type { LoadJob, LoadResult } from './load-client.ts';
import { machineNote, median, percentile, ratio, table } from './util.ts';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'large' },
    seed: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    'duration-ms': { type: 'string', default: '2500' },
    'warmup-ms': { type: 'string', default: '500' },
    connections: { type: 'string', default: '8' },
    'max-requests': { type: 'string', default: '200000' },
    scenarios: { type: 'string', default: 'lookup,namespace,summary,big,mix' },
    servers: { type: 'string', default: 'ours,apollo-default,floor' },
    'cpu-profile': { type: 'string' },
    auth: { type: 'boolean', default: false },
  },
});
if (values.auth) {
  const given = new Set(process.argv.slice(2).map((a) => a.replace(/^--([^=]+).*$/, '$1')));
  if (!given.has('servers')) values.servers = 'ours,ours-auth';
  if (!given.has('scenarios')) values.scenarios = 'mix';
  if (!given.has('connections')) values.connections = '2,16';
}
const preset = values.preset as PresetName;
if (!(preset in Presets)) fatal(`--preset: expected one of ${Object.keys(Presets).join(', ')}, got ${JSON.stringify(values.preset)}`);
const rounds = positive('rounds');
const durationMs = positive('duration-ms');
const warmupMs = Number(values['warmup-ms']);
const connectionLevels = String(values.connections)
  .split(',')
  .map((x) => Number(x.trim()));
if (connectionLevels.some((c) => !Number.isSafeInteger(c) || c < 1)) fatal(`--connections: expected positive integers, comma-separated, got ${JSON.stringify(values.connections)}`);
const maxRequests = positive('max-requests');
const ScenarioNames = ['lookup', 'namespace', 'summary', 'big', 'mix'] as const;
type ScenarioName = (typeof ScenarioNames)[number];
const scenarios = listArg('scenarios', ScenarioNames);
const ServerNames = ['ours', 'apollo-default', 'floor', 'ours-graphql-js', 'ours-auth'] as const;
type ServerName = (typeof ServerNames)[number];
const serverNames = listArg('servers', ServerNames);

const log = createLogger({ level: 'warn' });

// --- The cache, filled by hand from the generated cluster (as JSON, as a reflector receives it).

console.log(`query-api: ${machineNote()}, NODE_ENV=${process.env.NODE_ENV ?? '(unset)'}`);
const t0 = performance.now();
const { cache, feed, shape } = fill();
console.log(`preset ${preset} (${shape}), seed ${values.seed}; cache filled in ${Math.round(performance.now() - t0)} ms`);

// --- The requests.

const LookupQuery = `query ServiceLookup($namespace: String!, $name: String!) {
  service(namespace: $namespace, name: $name) {
    metadata { namespace name }
    type
    clusterIP
    ports { name port targetPort protocol }
    endpointCounts { total ready }
    endpoints(first: 100) { totalCount items { address ready serving terminating nodeName zone targetRef { kind name } } }
  }
}`;
const NamespaceQuery = `query NamespaceServices($namespace: String!) {
  services(namespace: $namespace, first: 50) {
    totalCount
    pageInfo { hasNextPage }
    items { metadata { name } type clusterIP endpointCounts { total ready serving terminating } }
  }
}`;
const zones = [...cache.nodes.indexValues('zone')].sort();
const SummaryQuery = `query ClusterSummary {
  cluster { ready kinds { kind synced objects } }
  servicesWithoutReadyEndpoints(first: 20) { totalCount items { metadata { namespace name } type } }
${zones.map((z, i) => `  zone${i}: nodes(zone: ${JSON.stringify(z)}, first: 1) { totalCount }`).join('\n')}
}`;
const BigQuery = `query BigService($namespace: String!, $name: String!) {
  service(namespace: $namespace, name: $name) {
    endpoints(first: 1000) {
      totalCount
      items { address ready zone pod { metadata { namespace name } phase ready } node { metadata { name } zone } }
    }
  }
}`;

interface Operation {
  readonly operationName: string;
  readonly query: string;
  readonly variables: Record<string, string>;
}
const rng = mulberry32(Number(values.seed));
const services = [...cache.services.list()].filter((s) => s.type !== 'ExternalName');
const lookups: Operation[] = [cache.services.get('shop/catalog')!, ...Array.from({ length: 199 }, () => services[Math.floor(rng() * services.length)]!)].map((s) => ({
  operationName: 'ServiceLookup',
  query: LookupQuery,
  variables: { namespace: s.meta.namespace, name: s.meta.name },
}));
const namespaces = [...cache.services.indexValues('namespace')].sort();
const nsLists: Operation[] = namespaces.map((ns) => ({ operationName: 'NamespaceServices', query: NamespaceQuery, variables: { namespace: ns } }));
const summaries: Operation[] = [{ operationName: 'ClusterSummary', query: SummaryQuery, variables: {} }];
const bigService = [...cache.services.list()].reduce((a, b) => ((feed.get(objectKey(b.meta))?.endpoints.length ?? 0) > (feed.get(objectKey(a.meta))?.endpoints.length ?? 0) ? b : a));
const bigs: Operation[] = [{ operationName: 'BigService', query: BigQuery, variables: { namespace: bigService.meta.namespace, name: bigService.meta.name } }];
const operations = [...lookups, ...nsLists, ...summaries, ...bigs];
const indexOf = new Map(operations.map((o, i) => [o, i]));
const sequences: Record<ScenarioName, number[]> = {
  lookup: lookups.map((o) => indexOf.get(o)!),
  namespace: nsLists.map((o) => indexOf.get(o)!),
  summary: [indexOf.get(summaries[0]!)!],
  big: [indexOf.get(bigs[0]!)!],
  // 70 % lookups, 25 % namespace lists, 5 % summaries, shuffled once (seeded).
  mix: shuffle(
    Array.from({ length: 400 }, (_, i) => (i < 280 ? indexOf.get(lookups[i % lookups.length]!)! : i < 380 ? indexOf.get(nsLists[i % nsLists.length]!)! : indexOf.get(summaries[0]!)!)),
  ),
};

// --- The servers.

const cfg = defaultConfig();
const limits = limitsOf(cfg);
const sources = { cache, feed };
// One schema per server: Apollo's default cache-control plugin wraps every field resolver of
// the schema it serves, in place, which would tax the other servers too.
const newSchema = () => buildGatewaySchema({ resolvers: subscriptionResolvers });
const context = (): GatewayContext => createContext(sources, { limits });
// The API server that reviews ours-auth's callers: a demo cluster (its objects are not used).
const reviewer = serverNames.includes('ours-auth') ? await startSimCluster({ preset: 'demo', churn: false }) : null;
const reviewStats = () => reviewer?.server.stats() ?? { tokenReviews: 0, subjectAccessReviews: 0 };
const servers: Partial<Record<ServerName, RunningServer>> = {};
for (const name of serverNames) servers[name] = await start(name);
for (const name of serverNames) console.log(`  ${name.padEnd(15)} ${servers[name]!.url}`);

// Same answers from every server before measuring anything.
await checkSameAnswers([lookups[0]!, lookups[1]!, lookups[2]!, nsLists[0]!, nsLists[Math.floor(nsLists.length / 2)]!, summaries[0]!, bigs[0]!]);

// --- The load.

const client = await startLoadClient();
const results = new Map<
  string,
  { rps: number[]; latenciesUs: number[]; errors: number; firstError: string | null; seconds: number; tokenReviews: number; accessReviews: number; cpuUs: number; answers: number }
>();
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  for (const scenario of scenarios) {
    for (const connections of connectionLevels) {
      const order = rotate(serverNames, round);
      for (const name of order) {
        const s = servers[name]!;
        const job: LoadJob = {
          host: '127.0.0.1',
          port: s.port,
          requests: operations.map((o) => httpRequest(s.port, s.path, o, s.token)),
          sequence: sequences[scenario],
          connections,
          warmupMs,
          durationMs,
          maxRequests,
        };
        const profiling = values['cpu-profile'] !== undefined && round === 0 ? await startProfile() : null;
        // Reviews sent over the whole job (warm-up included: an upper bound for the window).
        const before = reviewStats();
        const cpuBefore = process.cpuUsage();
        const r = await client.run(job);
        const cpu = process.cpuUsage(cpuBefore);
        const after = reviewStats();
        if (profiling) await profiling.stop(`${values['cpu-profile']}/${scenario}-${name}-c${connections}.cpuprofile`);
        const key = `${scenario}/${name}/${connections}`;
        const acc = results.get(key) ?? { rps: [], latenciesUs: [], errors: 0, firstError: null, seconds: 0, tokenReviews: 0, accessReviews: 0, cpuUs: 0, answers: 0 };
        acc.cpuUs += cpu.user + cpu.system;
        acc.answers += r.completed;
        acc.rps.push(r.requests / (r.elapsedMs / 1000));
        for (const l of r.latenciesUs) acc.latenciesUs.push(l);
        acc.errors += r.errors;
        acc.firstError ??= r.firstError;
        if (s.token !== null) {
          acc.seconds += (warmupMs + r.elapsedMs) / 1000;
          acc.tokenReviews += after.tokenReviews - before.tokenReviews;
          acc.accessReviews += after.subjectAccessReviews - before.subjectAccessReviews;
        }
        results.set(key, acc);
      }
    }
  }
  console.log(`  round ${round + 1}/${rounds} done (${Math.round((performance.now() - started) / 1000)} s)`);
}
client.stop();
for (const name of serverNames) await servers[name]!.stop();
await reviewer?.stop();
feed.stop();

// --- The report.

console.log(`\n${connectionLevels.join(' and ')} connections, ${rounds} round(s) × ${durationMs} ms per (scenario, connections, server) after ${warmupMs} ms warm-up; rps = median over rounds`);
for (const [scenario, connections] of scenarios.flatMap((sc) => connectionLevels.map((c) => [sc, c] as const))) {
  const rows: (string | number)[][] = [];
  const rpsOf = (name: ServerName) => median(results.get(`${scenario}/${name}/${connections}`)?.rps ?? []);
  const withAuth = serverNames.includes('ours-auth');
  for (const name of serverNames) {
    const r = results.get(`${scenario}/${name}/${connections}`)!;
    const sorted = Float64Array.from(r.latenciesUs).sort();
    rows.push([
      name,
      rpsOf(name),
      percentile(sorted, 50) / 1000,
      percentile(sorted, 99) / 1000,
      r.latenciesUs.length,
      r.answers > 0 ? Math.round(r.cpuUs / r.answers) : '–',
      r.errors === 0 ? '0' : `${r.errors} (${r.firstError})`,
      ...(withAuth ? (name === 'ours-auth' ? [`${r.tokenReviews} / ${r.accessReviews}`, r.accessReviews / r.seconds] : ['–', '–']) : []),
    ]);
  }
  console.log(`\n${scenario}, ${connections} connections`);
  console.log(table(['server', 'req/s', 'p50 ms', 'p99 ms', 'measured', 'CPU µs/answer', 'errors', ...(withAuth ? ['TokenReviews / SARs sent', 'SARs per s'] : [])], rows));
  const ours = serverNames.includes('ours') ? rpsOf('ours') : NaN;
  const parts = [];
  if (serverNames.includes('apollo-default') && serverNames.includes('ours')) parts.push(`ours/apollo-default ${ratio(ours, rpsOf('apollo-default'))}`);
  if (serverNames.includes('floor') && serverNames.includes('ours')) parts.push(`ours/floor ${ratio(ours, rpsOf('floor'))}`);
  if (serverNames.includes('ours-graphql-js') && serverNames.includes('ours')) parts.push(`ours/ours-graphql-js ${ratio(ours, rpsOf('ours-graphql-js'))}`);
  if (serverNames.includes('ours-auth') && serverNames.includes('ours')) parts.push(`ours-auth/ours ${ratio(rpsOf('ours-auth'), ours)}`);
  if (parts.length > 0) console.log(`req/s ratios: ${parts.join(', ')}`);
}

// Private:

interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly path: string;
  /** The bearer token its callers send, if any. */
  readonly token: string | null;
  stop(): Promise<void>;
}

function fill(): { cache: ClusterCache; feed: EndpointFeed; shape: string } {
  const generated = generateCluster(preset, { seed: Number(values.seed) });
  const cache = new ClusterCache({ client: null });
  const objects: Record<Kind, readonly object[]> = {
    Service: generated.services,
    EndpointSlice: generated.endpointSlices,
    Pod: generated.pods,
    Node: generated.nodes,
  };
  for (const kind of ['Service', 'EndpointSlice', 'Pod', 'Node'] as const) {
    // As a reflector would receive them: JSON text, parsed, then ingested; one relist per kind.
    const records = objects[kind].map((o) => ingest(kind, JSON.parse(JSON.stringify(o))));
    cache.storeOf(kind).replace(records as never[]);
  }
  const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
  feed.start();
  const shape = `${generated.nodes.length} nodes, ${generated.pods.length} pods, ${generated.services.length} services, ${generated.endpointSlices.length} slices`;
  return { cache, feed, shape };
}

/** The gateway's defaults, as `npm start` would run with no options (and an ephemeral port). */
function defaultConfig(): Config {
  const c = parseConfig(['--host', '127.0.0.1', '--port', '0'], {});
  if (c === 'help') throw new Error('unreachable: no --help given');
  return c;
}


async function start(name: ServerName): Promise<RunningServer> {
  switch (name) {
    case 'ours':
      return startOurs();
    case 'apollo-default':
      return startApolloDefault();
    case 'floor':
      return startFloor();
    case 'ours-graphql-js':
      return startOurs('graphql-js');
    case 'ours-auth':
      return startOursAuth();
    default:
      return name satisfies never;
  }
}

/** GatewayServer composed as src/app.ts composes it (composeServing), without reflectors. */
async function startOurs(execution: Execution = 'compiled'): Promise<RunningServer> {
  const { server, fanout } = composeServing({ ...cfg, explorer: false }, { cache, feed }, log, { execution });
  const address = await server.start();
  const s = server;
  return {
    url: `http://127.0.0.1:${address.port}/graphql`,
    port: address.port,
    path: '/graphql',
    token: null,
    async stop() {
      await s.stop();
      fanout.stop();
    },
  };
}

/** Ours with `--auth kubernetes`, reviewing through the demo cluster's API; callers send demo-admin's token. */
async function startOursAuth(): Promise<RunningServer> {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'reviewer', server: reviewer!.url, skipTLSVerify: true }],
    users: [{ name: 'gateway' }],
    contexts: [{ name: 'reviewer', cluster: 'reviewer', user: 'gateway' }],
    currentContext: 'reviewer',
  });
  const apiClient = new ApiClient(kc);
  const { server, fanout } = composeServing({ ...cfg, auth: 'kubernetes', explorer: false }, { cache, feed }, log, { client: apiClient });
  const address = await server.start();
  return {
    url: `http://127.0.0.1:${address.port}/graphql`,
    port: address.port,
    path: '/graphql',
    token: DemoTokens.admin,
    async stop() {
      await server.stop();
      fanout.stop();
      apiClient.close();
    },
  };
}

/** Apollo Server 5 as its getting-started page shows it: default settings, standalone server. */
async function startApolloDefault(): Promise<RunningServer> {
  const apollo = new ApolloServer<GatewayContext>({ schema: newSchema() });
  const { url } = await startStandaloneServer(apollo, { listen: { host: '127.0.0.1', port: 0 }, context: async () => context() });
  const port = Number(new URL(url).port);
  return { url, port, path: '/', token: null, stop: () => apollo.stop() };
}

/** The floor: the same answers by hand, straight from the cache and the feed. */
async function startFloor(): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    void floorHandle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    path: '/graphql',
    token: null,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function floorHandle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let body: { operationName?: string; variables?: Record<string, string> };
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return send(res, 400, { errors: [{ message: 'expected JSON' }] });
  }
  const v = body.variables ?? {};
  switch (body.operationName) {
    case 'ServiceLookup':
      return send(res, 200, { data: { service: floorLookup(v.namespace ?? '', v.name ?? '') } });
    case 'NamespaceServices':
      return send(res, 200, { data: { services: floorNamespace(v.namespace ?? '') } });
    case 'ClusterSummary':
      return send(res, 200, { data: floorSummary() });
    case 'BigService':
      return send(res, 200, { data: { service: floorBig(v.namespace ?? '', v.name ?? '') } });
    default:
      return send(res, 400, { errors: [{ message: `unknown operation ${JSON.stringify(body.operationName)}` }] });
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function countsOf(view: ServiceEndpoints | null) {
  const c = view?.counts ?? { total: 0, ready: 0, serving: 0, terminating: 0 };
  return { total: c.total, ready: c.ready, serving: c.serving, terminating: c.terminating };
}

function floorLookup(namespace: string, name: string) {
  const s = cache.services.get(`${namespace}/${name}`);
  if (!s) return null;
  const view = feed.get(objectKey(s.meta));
  const endpoints = view?.endpoints ?? [];
  const counts = countsOf(view);
  return {
    metadata: { namespace: s.meta.namespace, name: s.meta.name },
    type: s.type,
    clusterIP: s.clusterIP,
    ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: String(p.targetPort), protocol: p.protocol })),
    endpointCounts: { total: counts.total, ready: counts.ready },
    endpoints: {
      totalCount: endpoints.length,
      items: endpoints.slice(0, 100).map((e) => ({
        address: e.address,
        ready: e.ready,
        serving: e.serving,
        terminating: e.terminating,
        nodeName: e.nodeName,
        zone: e.zone,
        targetRef: e.targetRef === null ? null : { kind: e.targetRef.kind, name: e.targetRef.name },
      })),
    },
  };
}

function floorBig(namespace: string, name: string) {
  const s = cache.services.get(`${namespace}/${name}`);
  if (!s) return null;
  const endpoints = feed.get(objectKey(s.meta))?.endpoints ?? [];
  return {
    endpoints: {
      totalCount: endpoints.length,
      items: endpoints.slice(0, 1000).map((e) => {
        const ref = e.targetRef;
        const pod = ref?.kind === 'Pod' ? (cache.pods.get(`${ref.namespace || namespace}/${ref.name}`) ?? null) : null;
        const node = e.nodeName ? (cache.nodes.get(e.nodeName) ?? null) : null;
        return {
          address: e.address,
          ready: e.ready,
          zone: e.zone,
          pod: pod === null ? null : { metadata: { namespace: pod.meta.namespace, name: pod.meta.name }, phase: pod.phase, ready: pod.ready === true },
          node: node === null ? null : { metadata: { name: node.meta.name }, zone: node.zone },
        };
      }),
    },
  };
}

function floorNamespace(namespace: string) {
  const list = cache.services.byIndex('namespace', namespace).sort(byObjectKey);
  return {
    totalCount: list.length,
    pageInfo: { hasNextPage: list.length > 50 },
    items: list.slice(0, 50).map((s) => ({
      metadata: { name: s.meta.name },
      type: s.type,
      clusterIP: s.clusterIP,
      endpointCounts: countsOf(feed.get(objectKey(s.meta))),
    })),
  };
}

function floorSummary() {
  const health = cache.health();
  const without: ServiceRecord[] = [];
  for (const s of cache.services.list()) {
    if (s.type !== 'ExternalName' && !((feed.get(objectKey(s.meta))?.counts.ready ?? 0) > 0)) without.push(s);
  }
  without.sort(byObjectKey);
  const out: Record<string, unknown> = {
    cluster: { ready: health.every((h) => h.synced), kinds: health.map((h) => ({ kind: h.kind, synced: h.synced, objects: h.objects })) },
    servicesWithoutReadyEndpoints: {
      totalCount: without.length,
      items: without.slice(0, 20).map((s) => ({ metadata: { namespace: s.meta.namespace, name: s.meta.name }, type: s.type })),
    },
  };
  zones.forEach((z, i) => (out[`zone${i}`] = { totalCount: cache.nodes.countByIndex('zone', z) }));
  return out;
}

async function checkSameAnswers(ops: readonly Operation[]): Promise<void> {
  for (const op of ops) {
    const answers = new Map<ServerName, unknown>();
    for (const name of serverNames) {
      const s = servers[name]!;
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(s.token !== null ? { authorization: `Bearer ${s.token}` } : {}) };
      const res = await fetch(s.url, { method: 'POST', headers, body: JSON.stringify(op) });
      const json = (await res.json()) as { data?: unknown; errors?: unknown };
      if (res.status !== 200 || json.errors) throw new Error(`${name}: ${op.operationName} answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
      // With the cache filled by hand there are no reflectors, so ClusterCache.health() counts 0
      // objects per kind, which open callers are answered with; a caller with per-caller access
      // is answered with the objects it may see, counted in the stores. Not compared.
      if (serverNames.includes('ours-auth')) for (const k of (json.data as any)?.cluster?.kinds ?? []) delete k.objects;
      answers.set(name, json);
    }
    const [first, ...rest] = [...answers];
    for (const [name, answer] of rest) {
      try {
        deepStrictEqual(answer, first![1]);
      } catch {
        throw new Error(`${name} and ${first![0]} answer ${op.operationName} ${JSON.stringify(op.variables)} differently: ${JSON.stringify(answer).slice(0, 400)} vs ${JSON.stringify(first![1]).slice(0, 400)}`);
      }
    }
  }
  console.log(`  answers checked: ${ops.length} operations, identical JSON from ${serverNames.join(', ')}`);
}

function httpRequest(port: number, path: string, op: Operation, token: string | null): string {
  const body = JSON.stringify(op);
  const auth = token !== null ? `Authorization: Bearer ${token}\r\n` : '';
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json\r\n${auth}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

async function startLoadClient(): Promise<{ run(job: LoadJob): Promise<LoadResult>; stop(): void }> {
  const child: ChildProcess = fork(new URL('./load-client.ts', import.meta.url), [], { execArgv: [], stdio: 'inherit' });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`load client exited with ${code}`)));
  });
  return {
    run(job) {
      return new Promise<LoadResult>((resolve) => {
        child.once('message', (m: { type: 'result'; result: LoadResult }) => resolve(m.result));
        child.send({ type: 'run', job });
      });
    },
    stop() {
      child.send({ type: 'exit' });
    },
  };
}

/** A CPU profile of this process through the inspector protocol, from now until `stop`. */
async function startProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await post<{ profile: object }>('Profiler.stop');
      session.disconnect();
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(profile));
    },
  };
}

function rotate<T>(xs: readonly T[], n: number): T[] {
  const k = n % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function listArg<T extends string>(name: string, allowed: readonly T[]): T[] {
  const xs = String((values as Record<string, unknown>)[name]).split(',').map((x) => x.trim()).filter((x) => x !== '');
  for (const x of xs) if (!allowed.includes(x as T)) fatal(`--${name}: expected a comma-separated subset of ${allowed.join(',')}, got ${JSON.stringify(x)}`);
  if (xs.length === 0) fatal(`--${name}: expected at least one of ${allowed.join(',')}, got none`);
  return xs as T[];
}

function positive(name: string): number {
  const v = Number((values as Record<string, unknown>)[name]);
  if (!Number.isSafeInteger(v) || v < 1) fatal(`--${name}: expected a positive integer, got ${JSON.stringify((values as Record<string, unknown>)[name])}`);
  return v;
}

function fatal(message: string): never {
  console.error(message);
  process.exit(2);
}

