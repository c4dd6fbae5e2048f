/**
 * Subscription fan-out: deliveries per CPU-second of the server process, and p50/p99 delay
 * from a change to its frame arriving, at 1,000 and 10,000 subscribers of one endpoint topic.
 *
 *   node bench/fanout.ts [--subscribers 1000,10000] [--changes 20] [--interval-ms 50]
 *                        [--servers ours,graphql-ws-shared,ws-floor,graphql-ws]
 *
 * Servers, measured in the same run over the same feed, schema and operation:
 * - ours: the Fanout behind WsGateway: a topic's change is executed and serialized once, and the
 *   same payload bytes go to every subscriber (each frame is its id prefix + the shared payload);
 * - graphql-ws-shared: graphql-ws's own server (`useServer` from graphql-ws/use/ws), with its
 *   `subscribe` hook returning, per subscriber, an async iterator over a per-topic queue: the
 *   topic executes each change once and every subscriber's iterator yields that same
 *   ExecutionResult. graphql-ws still builds and stringifies a `next` message per subscriber and
 *   sends it. Against ours, this isolates what our protocol layer gains, execution being shared
 *   on both sides;
 * - ws-floor: a plain `ws` server speaking just enough of graphql-transport-ws (ack, subscribe)
 *   that executes each change once, serializes one `next` frame once (one id for everyone) and
 *   sends that same Buffer to every socket: the floor for any WebSocket fan-out in Node;
 * - graphql-ws: graphql-ws's own server with default settings, where every subscriber has its
 *   own async iterator over the feed and every event is executed and serialized per subscriber.
 * Subscribers live in a child process (bench/fanout-client.ts) so the server's CPU is alone.
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { execute, parse, print, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { ClusterCache } from '../src/kube/cache.ts';
import { ingest } from '../src/kube/ingest.ts';
import { EndpointFeed, type EndpointsChange } from '../src/model/endpoint-feed.ts';
import { buildGatewaySchema } from '../src/graphql/schema.ts';
import { createContext } from '../src/graphql/context.ts';
import { OperationPipeline } from '../src/graphql/pipeline.ts';
import { Fanout } from '../src/subscriptions/fanout.ts';
import { subscriptionResolvers } from '../src/subscriptions/resolvers.ts';
import { changeSetOf, type EndpointFilter } from '../src/model/changesets.ts';
import { WsGateway } from '../src/server/ws.ts';
import { createLogger } from '../src/log.ts';
import { childMessage } from './util.ts';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000,10000' },
    changes: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '50' },
    servers: { type: 'string', default: 'ours,graphql-ws-shared,ws-floor,graphql-ws' },
  },
});
const ServerKinds = ['ours', 'graphql-ws-shared', 'ws-floor', 'graphql-ws'] as const;
type Kind = (typeof ServerKinds)[number];
const kinds = values.servers!.split(',') as Kind[];
for (const k of kinds) if (!ServerKinds.includes(k)) throw new Error(`--servers: expected a subset of ${ServerKinds.join(',')}, got ${JSON.stringify(k)}`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
const counts = values.subscribers!.split(',').map(Number);
const changes = Number(values.changes);
const intervalMs = Number(values['interval-ms']);
const logger = createLogger({ level: 'error', format: 'text' });
const Query = `subscription { endpointChanges(namespace: "bench", snapshot: false) { type name at cursor counts { total ready } changed { before { address ready } after { address ready nodeName } } added { address } removed { address } } }`;

function sliceObj(i: number, flip: number) {
  return {
    metadata: { namespace: 'bench', name: `svc${i}-1`, uid: `u${i}`, resourceVersion: `${flip}-${i}`, labels: { 'kubernetes.io/service-name': `svc${i}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: 20 }, (_, j) => ({ addresses: [`10.${i}.0.${j + 1}`], conditions: { ready: !(j === 0 && flip % 2 === 1) }, nodeName: `node-${j % 5}` })),
  };
}

function world() {
  const cache = new ClusterCache({ client: null });
  cache.services.replace(Array.from({ length: 10 }, (_, i) => ingest('Service', { metadata: { namespace: 'bench', name: `svc${i}`, uid: `s${i}`, resourceVersion: '1' }, spec: { selector: { app: `svc${i}` } } })));
  cache.slices.replace(Array.from({ length: 10 }, (_, i) => ingest('EndpointSlice', sliceObj(i, 0))));
  const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
  feed.start();
  return { cache, feed };
}

interface Server_ {
  url: string;
  subscribers: () => number;
  stop: () => Promise<void>;
}

/** A graphql-ws `useServer` peer listening on `http`, with its subscriber count. */
async function served(http: Server, disposable: { dispose: () => unknown }, subscribers: () => number): Promise<Server_> {
  const url = await listen(http);
  return {
    url,
    subscribers,
    stop: async () => {
      await disposable.dispose();
      await new Promise((r) => http.close(r));
    },
  };
}

async function listen(http: Server): Promise<string> {
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
}

async function ours(w: ReturnType<typeof world>): Promise<Server_> {
  const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
  const fanout = new Fanout({ pipeline: new OperationPipeline({ schema, logger }), cache: w.cache, feed: w.feed, createContext: () => createContext(w), logger, maxQueue: 100_000 });
  fanout.start();
  const http = createServer();
  const gw = new WsGateway({ server: http, path: '/graphql', originAllowed: () => true, logger, maxOperations: 10, hooks: () => ({ onSubscribe: (sink, p) => fanout.subscribe(sink, p) }) });
  const url = await listen(http);
  return {
    url,
    subscribers: () => fanout.subscriberCount,
    stop: async () => {
      await gw.closeAll();
      fanout.stop();
      await new Promise((r) => http.close(r));
    },
  };
}

async function peer(w: ReturnType<typeof world>): Promise<Server_> {
  let active = 0;
  const filter: EndpointFilter = { namespace: 'bench', name: null, selector: null, node: null, zone: null };
  const { Subscription: _ours, ...types } = subscriptionResolvers as Record<string, unknown>;
  const schema = buildGatewaySchema({
    resolvers: [
      types as never,
      {
        Subscription: {
          endpointChanges: {
            // graphql-ws's usual shape: an async iterator per subscriber, fed by a pubsub.
            subscribe: () => {
              active++;
              const queue: EndpointsChange[] = [];
              let wake: (() => void) | null = null;
              const off = w.feed.subscribe((b) => {
                queue.push(...b.changes);
                wake?.();
              });
              return {
                [Symbol.asyncIterator]() {
                  return this;
                },
                async next() {
                  while (queue.length === 0) await new Promise<void>((r) => (wake = r));
                  const c = queue.shift()!;
                  return { value: { endpointChanges: changeSetOf(filter, c) }, done: false };
                },
                async return() {
                  off();
                  active--;
                  return { value: undefined, done: true };
                },
              };
            },
          },
        },
      } as never,
    ],
  });
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/graphql' });
  const disposable = useServer({ schema, context: () => createContext(w) }, wss);
  return served(http, disposable, () => active);
}


/** Change sets of the bench topic, in feed order (the feed only carries namespace bench). */
const BenchFilter: EndpointFilter = { namespace: 'bench', name: null, selector: null, node: null, zone: null };

/** Every change of the feed executed once through `args` (in order), handed to `emit`. */
function executedOnce(w: ReturnType<typeof world>, args: ExecutionArgs, emit: (result: ExecutionResult) => void): () => void {
  let chain: Promise<void> = Promise.resolve();
  return w.feed.subscribe((b) => {
    for (const c of b.changes) {
      const set = changeSetOf(BenchFilter, c);
      chain = chain.then(async () => emit(await execute({ ...args, rootValue: { endpointChanges: set } })));
    }
  });
}

/** graphql-ws's server, executing once per topic: each subscriber's iterator yields the topic's shared result. */
async function peerShared(w: ReturnType<typeof world>): Promise<Server_> {
  let active = 0;
  const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
  interface Topic {
    readonly queues: Set<{ items: ExecutionResult[]; wake: (() => void) | null }>;
    off: () => void;
  }
  const topics = new Map<string, Topic>();
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/graphql' });
  const disposable = useServer(
    {
      schema,
      context: () => createContext(w),
      subscribe: (args) => {
        const key = JSON.stringify([print(args.document), args.operationName ?? null, args.variableValues ?? null]);
        let topic = topics.get(key);
        if (!topic) {
          const t: Topic = { queues: new Set(), off: () => {} };
          t.off = executedOnce(w, args, (result) => {
            for (const q of t.queues) {
              q.items.push(result);
              q.wake?.();
            }
          });
          topics.set(key, t);
          topic = t;
        }
        const t = topic;
        const q = { items: [] as ExecutionResult[], wake: null as (() => void) | null };
        t.queues.add(q);
        active++;
        const iterator: AsyncIterableIterator<ExecutionResult> = {
          [Symbol.asyncIterator]() {
            return this;
          },
          async next() {
            while (q.items.length === 0) await new Promise<void>((r) => (q.wake = r));
            q.wake = null;
            return { value: q.items.shift()!, done: false };
          },
          async return() {
            if (t.queues.delete(q)) active--;
            if (t.queues.size === 0) {
              t.off();
              topics.delete(key);
            }
            return { value: undefined, done: true };
          },
        };
        return iterator;
      },
    },
    wss,
  );
  return served(http, disposable, () => active);
}

/** The floor: plain ws, each change executed once, one frame serialized once, the same Buffer sent to every socket. */
async function floor(w: ReturnType<typeof world>): Promise<Server_> {
  const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
  const subscribed = new Set<WebSocket>();
  const http = createServer();
  const wss = new WebSocketServer({ server: http, path: '/graphql', perMessageDeflate: false, handleProtocols: (p) => (p.has('graphql-transport-ws') ? 'graphql-transport-ws' : false) });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'connection_init') ws.send('{"type":"connection_ack"}');
      else if (m.type === 'subscribe') subscribed.add(ws);
    });
    ws.on('close', () => subscribed.delete(ws));
  });
  const off = executedOnce(w, { schema, document: parse(Query), contextValue: createContext(w) }, (result) => {
    const frame = Buffer.from(`{"id":"1","type":"next","payload":${JSON.stringify(result)}}`);
    for (const ws of subscribed) ws.send(frame);
  });
  const url = await listen(http);
  return {
    url,
    subscribers: () => subscribed.size,
    stop: async () => {
      off();
      for (const ws of wss.clients) ws.terminate();
      await new Promise((r) => wss.close(r));
      await new Promise((r) => http.close(r));
    },
  };
}

async function run(kind: Kind, n: number) {
  const w = world();
  const server = kind === 'ours' ? await ours(w) : kind === 'graphql-ws-shared' ? await peerShared(w) : kind === 'ws-floor' ? await floor(w) : await peer(w);
  const child = fork(new URL('./fanout-client.ts', import.meta.url).pathname, [server.url, String(n), Query], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(type: string, msg?: object) => childMessage<T>(child, type, msg);
  await ask('ready');
  while (server.subscribers() < n) await new Promise((r) => setTimeout(r, 20));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const flips = new Array(10).fill(0);
  for (let k = 1; k <= changes; k++) {
    // Each change flips one endpoint of one Service, so every change changes the union.
    w.cache.slices.upsert(ingest('EndpointSlice', sliceObj(k % 10, ++flips[k % 10])));
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const want = n * changes;
  let report: any;
  for (;;) {
    report = await ask('report', { type: 'report' });
    if (report.frames >= want || performance.now() - t0 > 120_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  child.send({ type: 'stop' });
  await new Promise((r) => child.once('exit', r));
  await server.stop();
  w.feed.stop();
  return { kind, n, delivered: report.frames, expected: want, cpuSeconds, perCpuSecond: report.frames / cpuSeconds, p50: report.p50, p99: report.p99, load: load() };
}

console.error(`fanout: node ${process.version}, load average ${load()}`);
const rows = [];
for (const n of counts) {
  for (const kind of kinds) {
    const r = await run(kind, n);
    rows.push(r);
    console.error(`${kind} n=${n}: ${r.delivered}/${r.expected} frames, ${r.cpuSeconds.toFixed(2)} CPU-s, ${Math.round(r.perCpuSecond)}/CPU-s, p50 ${r.p50} ms, p99 ${r.p99} ms; load ${r.load}`);
  }
}
console.log('\n| subscribers | server | deliveries | CPU-s | deliveries per CPU-s | p50 ms | p99 ms | load average |');
console.log('|---|---|---|---:|---:|---:|---:|---|');
for (const r of rows) console.log(`| ${r.n} | ${r.kind} | ${r.delivered}/${r.expected} | ${r.cpuSeconds.toFixed(2)} | ${Math.round(r.perCpuSecond)} | ${r.p50} | ${r.p99} | ${r.load} |`);
if (kinds.includes('ours')) {
  for (const n of counts) {
    const a = rows.find((r) => r.n === n && r.kind === 'ours')!;
    const parts = rows.filter((r) => r.n === n && r.kind !== 'ours').map((b) => `${b.kind} ${(a.perCpuSecond / b.perCpuSecond).toFixed(2)}x (p99 ${b.p99} ms)`);
    console.log(`\n${n} subscribers: ours (p99 ${a.p99} ms) deliveries per CPU-second over ${parts.join(', ')}`);
  }
}
process.exit(0);
