/**
 * Subscription fan-out: deliveries per CPU-second of the server process, and p50/p99 delay
 * from a change to its frame arriving, at 1,000 and 10,000 subscribers of one endpoint topic.
 *
 *   node bench/fanout.ts [--subscribers 1000,10000] [--changes 20] [--interval-ms 50]
 *
 * Peer, measured in the same run over the same feed and schema: graphql-ws's own server
 * (`useServer` from graphql-ws/use/ws) with default settings, where every subscriber has its
 * own async iterator and every event is executed and serialized per subscriber. Ours executes
 * and serializes a topic's change once and sends the same bytes to every subscriber.
 * Subscribers live in a child process (bench/fanout-client.ts) so the server's CPU is alone.
 */
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { ClusterCache } from '../src/kube/cache.ts';
import { ingest } from '../src/kube/ingest.ts';
import { EndpointFeed, type EndpointsChange } from '../src/model/endpoint-feed.ts';
import { buildGatewaySchema } from '../src/graphql/schema.ts';
import { createContext } from '../src/graphql/context.ts';
import { OperationPipeline } from '../src/graphql/pipeline.ts';
import { Fanout } from '../src/subscriptions/fanout.ts';
import { subscriptionResolvers } from '../src/subscriptions/resolvers.ts';
import { changeSetOf, type EndpointFilter } from '../src/subscriptions/changesets.ts';
import { WsGateway } from '../src/server/ws.ts';
import { createLogger } from '../src/log.ts';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000,10000' },
    changes: { type: 'string', default: '20' },
    'interval-ms': { type: 'string', default: '50' },
  },
});
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
  const url = await listen(http);
  return {
    url,
    subscribers: () => active,
    stop: async () => {
      await disposable.dispose();
      await new Promise((r) => http.close(r));
    },
  };
}

async function run(kind: 'ours' | 'graphql-ws', n: number) {
  const w = world();
  const server = kind === 'ours' ? await ours(w) : await peer(w);
  const child = fork(new URL('./fanout-client.ts', import.meta.url).pathname, [server.url, String(n), Query], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(type: string, msg?: object) =>
    new Promise<T>((resolve) => {
      const on = (m: any) => {
        if (m?.type === type) {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      if (msg) child.send(msg);
    });
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
  return { kind, n, delivered: report.frames, expected: want, cpuSeconds, perCpuSecond: report.frames / cpuSeconds, p50: report.p50, p99: report.p99 };
}

const rows = [];
for (const n of counts) {
  for (const kind of ['ours', 'graphql-ws'] as const) {
    const r = await run(kind, n);
    rows.push(r);
    console.error(`${kind} n=${n}: ${r.delivered}/${r.expected} frames, ${r.cpuSeconds.toFixed(2)} CPU-s, ${Math.round(r.perCpuSecond)}/CPU-s, p50 ${r.p50} ms, p99 ${r.p99} ms`);
  }
}
console.log('\n| subscribers | server | deliveries | CPU-s | deliveries per CPU-s | p50 ms | p99 ms |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.n} | ${r.kind} | ${r.delivered}/${r.expected} | ${r.cpuSeconds.toFixed(2)} | ${Math.round(r.perCpuSecond)} | ${r.p50} | ${r.p99} |`);
for (const n of counts) {
  const a = rows.find((r) => r.n === n && r.kind === 'ours')!;
  const b = rows.find((r) => r.n === n && r.kind === 'graphql-ws')!;
  console.log(`\n${n} subscribers: ours/graphql-ws deliveries per CPU-second = ${(a.perCpuSecond / b.perCpuSecond).toFixed(1)}x; p99 delay ${a.p99} ms vs ${b.p99} ms`);
}
process.exit(0);
