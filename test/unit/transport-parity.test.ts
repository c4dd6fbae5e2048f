/**
 * One pipeline, two transports: every case of the bad-input table sent over HTTP (POST
 * /graphql) and over WebSocket (a graphql-transport-ws `subscribe`) to one real gateway server
 * on port 0 gets the same code and the same message on both; plus what only a subscription
 * can get wrong, and the operation types each transport serves.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { composeServing, type Serving } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { SubProtocol } from '../../src/server/ws-protocol.ts';
import { postGraphQL } from '../harness/graphql-http.ts';
import { badInputs } from './bad-inputs.ts';
import { smallCluster } from './graphql-fixtures.ts';

interface Outcome {
  readonly code: string | undefined;
  readonly message: string;
}

/** An acknowledged graphql-transport-ws socket that runs one operation at a time and collects its messages. */
class WsClient {
  private readonly ws: WebSocket;
  private readonly waiting = new Map<string, { messages: any[]; done: (m: any[]) => void }>();
  private ids = 0;
  readonly closed: Promise<number>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      const w = this.waiting.get(m.id);
      if (!w) return;
      w.messages.push(m);
      if (m.type === 'error' || m.type === 'complete' || (m.type === 'next' && w.messages.length >= 1 && this.firstOnly.has(m.id))) {
        this.waiting.delete(m.id);
        w.done(w.messages);
      }
    });
  }

  private readonly firstOnly = new Set<string>();

  static async open(url: string, init: Record<string, unknown> | null = null): Promise<WsClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/graphql', [SubProtocol]);
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify(init ? { type: 'connection_init', payload: init } : { type: 'connection_init' }));
    await new Promise((resolve) => ws.once('message', resolve));
    return new WsClient(ws);
  }

  /** Messages of one operation up to its `error` or `complete` (or its first `next`, with `firstOnly`). */
  run(payload: Record<string, unknown>, opts: { firstOnly?: boolean } = {}): Promise<any[]> {
    const id = String(++this.ids);
    if (opts.firstOnly) this.firstOnly.add(id);
    return new Promise((done) => {
      this.waiting.set(id, { messages: [], done });
      this.ws.send(JSON.stringify({ id, type: 'subscribe', payload }));
    });
  }

  send(data: string): void {
    this.ws.send(data);
  }

  close(): void {
    this.ws.close();
  }
}

function firstError(messages: any[]): Outcome {
  const last = messages.at(-1);
  const errors = last.type === 'error' ? last.payload : messages.find((m) => m.type === 'next')?.payload?.errors;
  assert.ok(errors?.length, `expected an error, got ${JSON.stringify(messages).slice(0, 300)}`);
  return { code: errors[0].extensions?.code, message: errors[0].message };
}

async function serve(args: string[]): Promise<{ url: string; serving: Serving; logs: string[] }> {
  const world = smallCluster();
  const logs: string[] = [];
  const cfg = parseConfig(['--port', '0', '--no-explorer', ...args]) as Config;
  const serving = composeServing(cfg, { cache: world.cache, feed: world.feed }, createLogger({ level: 'error', format: 'json', write: (l) => logs.push(l) }));
  const address = await serving.server.start();
  return { url: `http://127.0.0.1:${address.port}`, serving, logs };
}

describe('one pipeline for HTTP and WebSocket', () => {
  let url: string;
  let serving: Serving;
  let logs: string[];
  let ws: WsClient;

  before(async () => {
    ({ url, serving, logs } = await serve([]));
    ws = await WsClient.open(url);
  });
  after(async () => {
    ws?.close();
    await serving?.server.stop();
    serving?.fanout.stop();
  });

  for (const c of badInputs) {
    // A subscription is refused over HTTP only: over WebSocket it is served (below).
    if (c.code === 'OPERATION_NOT_SUPPORTED' && c.query.startsWith('subscription')) continue;
    // Callers with their own permissions: auth-gateway.test.ts sends those over both transports.
    if (c.access) continue;
    it(`${c.name} → ${c.code} on both transports, with the same message`, async () => {
      const http = await postGraphQL(url + '/graphql', c.query, c.variables, c.operationName);
      assert.ok(http.errors.length > 0, `HTTP: expected an error, got ${JSON.stringify(http.data)}`);
      const viaHttp: Outcome = { code: http.errors[0]!.extensions?.code, message: http.errors[0]!.message };
      const viaWs = firstError(await ws.run({ query: c.query, variables: c.variables ?? null, operationName: c.operationName ?? null }));
      assert.equal(viaHttp.code, c.code, viaHttp.message);
      assert.deepEqual(viaWs, viaHttp);
      assert.ok(viaHttp.message.includes(c.expected) && viaHttp.message.includes(c.got), viaHttp.message);
    });
  }

  it('a subscription over HTTP is OPERATION_NOT_SUPPORTED (400), naming WebSocket; served over WebSocket', async () => {
    for (const field of ['endpointChanges(namespace: "shop") { type }', 'podChanges { type }', 'nodeChanges { type }', 'serviceChanges { type }']) {
      const r = await postGraphQL(url + '/graphql', `subscription { ${field} }`);
      assert.equal(r.status, 400);
      assert.equal(r.errors[0]?.extensions?.code, 'OPERATION_NOT_SUPPORTED');
      assert.match(r.errors[0]!.message, /subscribe over WebSocket at \/graphql/);
    }
    const first = await ws.run({ query: 'subscription { endpointChanges(namespace: "shop", name: "web") { type name counts { total } } }' }, { firstOnly: true });
    assert.deepEqual(first[0].payload, { data: { endpointChanges: { type: 'SNAPSHOT', name: 'web', counts: { total: 3 } } } });
  });

  it('a mutation is OPERATION_NOT_SUPPORTED on both, never INTERNAL_SERVER_ERROR', async () => {
    const http = await postGraphQL(url + '/graphql', 'mutation { x }');
    assert.equal(http.status, 400);
    const viaWs = firstError(await ws.run({ query: 'mutation { x }' }));
    assert.deepEqual(viaWs, { code: 'OPERATION_NOT_SUPPORTED', message: http.errors[0]!.message });
  });

  it('subscription variables are coerced at subscribe: a number for a String is BAD_USER_INPUT, once, and nothing follows', async () => {
    const messages = await ws.run({ query: 'subscription($n: String) { endpointChanges(namespace: $n) { type } }', variables: { n: 5 } });
    assert.deepEqual(messages.map((m) => m.type), ['error']);
    assert.equal(messages[0].payload[0].extensions.code, 'BAD_USER_INPUT');
    assert.match(messages[0].payload[0].message, /String cannot represent a non string value: 5/);
  });

  it('subscription arguments get the same checks as query arguments, before anything is sent', async () => {
    const cases: [string, string, string][] = [
      ['endpointChanges(namespace: "NOPE!") { type }', 'INVALID_ARGUMENT', 'namespace: expected a DNS-1123 label'],
      ['endpointChanges(namespace: "shop", name: "Web_1") { type }', 'INVALID_ARGUMENT', 'name: expected an object name'],
      ['endpointChanges(name: "web") { type }', 'INVALID_ARGUMENT', 'namespace: expected a namespace with name "web", got none'],
      ['endpointChanges(labelSelector: "a in b") { type }', 'INVALID_SELECTOR', 'expected "(" after "in"'],
      ['endpointChanges(namespace: "shop", after: "garbage!") { type }', 'INVALID_CURSOR', 'after: expected an opaque cursor'],
      ['endpointChanges(node: "Node A") { type }', 'INVALID_ARGUMENT', 'node: expected an object name'],
      ['endpointChanges(zone: "zone a") { type }', 'INVALID_ARGUMENT', 'zone: expected a label value'],
      ['podChanges(namespace: "Shop") { type }', 'INVALID_ARGUMENT', 'namespace: expected a DNS-1123 label'],
      ['nodeChanges(labelSelector: "=x") { type }', 'INVALID_SELECTOR', 'expected "!" or a label key'],
      ['endpointChanges(namespace: "shop", coalesce: "2") { type }', 'INVALID_ARGUMENT', 'coalesce: expected a duration from 100ms to 1h'],
      ['serviceHealth(namespace: "shop", minReady: -1) { state }', 'INVALID_ARGUMENT', 'minReady: expected at least 0, got -1'],
      ['serviceHealth(namespace: "shop", minReadyFraction: 2) { state }', 'INVALID_ARGUMENT', 'minReadyFraction: expected a fraction from 0 to 1, got 2'],
      ['serviceHealth(name: "web") { state }', 'INVALID_ARGUMENT', 'namespace: expected a namespace with name "web", got none'],
      ['endpointChanges(host: "https://shop.example.com") { type }', 'INVALID_ARGUMENT', 'host: expected a DNS name such as "shop.example.com" (no scheme, port or path), got "https://shop.example.com"'],
      ['endpointChanges(host: "*.example.com") { type }', 'INVALID_ARGUMENT', 'host: expected a DNS name such as "shop.example.com" (no scheme, port or path), got "*.example.com"'],
      ['endpointChanges(path: "/cart") { type }', 'INVALID_ARGUMENT', 'host: expected a hostname with path "/cart", got none'],
      ['endpointChanges(host: "shop.example.com", path: "cart") { type }', 'INVALID_ARGUMENT', 'path: expected a URL path starting with "/" (no query, fragment or spaces, at most 2048 characters), got "cart"'],
      ['endpointChanges(host: "shop.example.com", path: "/cart?x=1") { type }', 'INVALID_ARGUMENT', 'path: expected a URL path starting with "/"'],
      ['endpointChanges(host: "shop.example.com", namespace: "shop", name: "web") { type }', 'INVALID_ARGUMENT', 'host: expected no name with a host (its routes choose the Services), got name "web"'],
      ['endpointChanges(host: "shop.example.com", labelSelector: "app=web") { type }', 'INVALID_ARGUMENT', 'host: expected no labelSelector with a host (its routes choose the Services), got labelSelector "app=web"'],
    ];
    for (const [field, code, message] of cases) {
      const messages = await ws.run({ query: `subscription { ${field} }` });
      assert.deepEqual(messages.map((m) => m.type), ['error'], field);
      assert.equal(messages[0].payload[0].extensions.code, code, field);
      assert.ok(messages[0].payload[0].message.includes(message), messages[0].payload[0].message);
    }
  });

  it('a subscription to a Service that does not exist gets a SNAPSHOT that says so (service null, no endpoints)', async () => {
    const first = await ws.run({ query: 'subscription { endpointChanges(namespace: "shop", name: "no-such") { type namespace name service { metadata { name } } endpoints { address } counts { total } } }' }, { firstOnly: true });
    assert.deepEqual(first[0].payload.data.endpointChanges, { type: 'SNAPSHOT', namespace: 'shop', name: 'no-such', service: null, endpoints: [], counts: { total: 0 } });
  });

  it('no caller mistake was logged as an internal error', () => {
    assert.deepEqual(logs.filter((l) => l.includes('operation failed')), []);
  });
});

describe('introspection turned off: one rule on the document, the same on both transports', () => {
  let url: string;
  let serving: Serving;
  let ws: WsClient;
  before(async () => {
    ({ url, serving } = await serve(['--no-introspection']));
    ws = await WsClient.open(url);
  });
  after(async () => {
    ws?.close();
    await serving?.server.stop();
    serving?.fanout.stop();
  });

  it('refuses __schema and __type with the same code and message', async () => {
    for (const q of ['{ __schema { types { name } } }', '{ __type(name: "Service") { name } }']) {
      const http = await postGraphQL(url + '/graphql', q);
      const viaWs = firstError(await ws.run({ query: q }));
      assert.equal(http.errors[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
      assert.match(http.errors[0]!.message, /this gateway runs with --no-introspection; start it without that flag/);
      assert.deepEqual(viaWs, { code: http.errors[0]!.extensions?.code, message: http.errors[0]!.message });
    }
  });

  it('does not refuse a string argument that mentions __schema, and keeps __typename', async () => {
    const q = '{ services(labelSelector: "x=is__schema") { totalCount } __typename }';
    const http = await postGraphQL(url + '/graphql', q);
    assert.deepEqual(http.errors, []);
    assert.deepEqual(http.data, { services: { totalCount: 0 }, __typename: 'Query' });
    const viaWs = await ws.run({ query: q });
    assert.deepEqual(viaWs[0].payload, { data: { services: { totalCount: 0 }, __typename: 'Query' } });
  });

  it('suggests no field names in validation errors', async () => {
    const http = await postGraphQL(url + '/graphql', '{ servces { totalCount } }');
    assert.doesNotMatch(http.errors[0]!.message, /Did you mean/);
  });
});
