/**
 * Per-caller identity on both transports, on the embedded demo cluster (which answers
 * TokenReview and SubjectAccessReview like the API server for its two tokens, so the same
 * authorization code runs as against a real cluster; test/integration/auth-gateway.test.ts runs
 * it against the real one): who gets in, what each caller sees, the same codes and messages
 * over HTTP and WebSocket, and no token in any log line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { DemoTokens } from '../../demo/src/index.ts';
import { SubProtocol } from '../../src/server/ws-protocol.ts';
import { waitFor } from '../harness/wait.ts';

const Secret = 'not-a-real-token-5f0e2c';

async function post(url: string, query: string, token?: string) {
  const res = await fetch(url + '/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate'), body: (await res.json()) as any };
}

/** A graphql-transport-ws socket; `init` is the connection_init payload, `header` an Authorization header on the upgrade. */
async function connect(url: string, opts: { init?: Record<string, unknown>; header?: string } = {}) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/graphql', [SubProtocol], opts.header ? { headers: { authorization: opts.header } } : {});
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify(opts.init ? { type: 'connection_init', payload: opts.init } : { type: 'connection_init' }));
  const acked = await Promise.race([
    new Promise<boolean>((r) => ws.once('message', () => r(true))),
    closed.then(() => false),
  ]);
  let ids = 0;
  return {
    ws,
    acked,
    closed,
    messages,
    /** Messages of one operation until its first `next`, `error` or `complete`. */
    async first(query: string): Promise<any> {
      const id = String(++ids);
      ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
      let found: any;
      await waitFor(`an answer to ${query}`, 10_000, () => (found = messages.find((m) => m.id === id)) !== undefined, 10);
      return found;
    },
  };
}

describe('per-caller identity on the demo cluster (--auth kubernetes)', () => {
  let gw: Gateway;
  const logs: string[] = [];
  before(async () => {
    const cfg = parseConfig(['--demo', '--port', '0', '--no-explorer', '--auth', 'kubernetes', '--demo-churn-per-second', '0']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'debug', format: 'json', write: (l) => logs.push(l) }) });
    await gw.synced();
  });
  after(async () => {
    await gw?.stop();
  });

  it('says at start which mode is on and names the demo tokens', () => {
    assert.ok(logs.some((l) => l.includes('authentication: kubernetes') && l.includes(DemoTokens.admin) && l.includes(DemoTokens.shop)));
  });

  it('HTTP without a token, or with one the API server rejects, is 401 UNAUTHENTICATED with WWW-Authenticate: Bearer', async () => {
    for (const token of [undefined, Secret]) {
      const r = await post(gw.url, '{ cluster { ready } }', token);
      assert.equal(r.status, 401);
      assert.match(r.wwwAuthenticate ?? '', /^Bearer /);
      assert.equal(r.body.errors[0].extensions.code, 'UNAUTHENTICATED');
      assert.ok(!JSON.stringify(r.body).includes(Secret));
    }
  });

  it('health, readiness and metrics need no token; /readyz says the mode', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(gw.url + path)).status, 200, path);
    assert.equal(((await (await fetch(gw.url + '/readyz')).json()) as any).auth, 'kubernetes');
  });

  it('each caller sees what it may list: demo-admin everything, demo-shop namespace shop and no Nodes', async () => {
    const q = '{ services { totalCount items { metadata { namespace } } } pods { totalCount } nodes { totalCount } }';
    const admin = await post(gw.url, q, DemoTokens.admin);
    assert.equal(admin.status, 200);
    assert.equal(admin.body.errors, undefined);
    assert.equal(admin.body.data.services.totalCount, gw.cache.services.size);
    assert.equal(admin.body.data.nodes.totalCount, gw.cache.nodes.size);
    const shop = await post(gw.url, q, DemoTokens.shop);
    const inShop = [...gw.cache.services.list()].filter((s) => s.meta.namespace === 'shop').length;
    assert.ok(inShop > 0 && inShop < gw.cache.services.size);
    assert.equal(shop.body.data.services.totalCount, inShop);
    assert.deepEqual([...new Set(shop.body.data.services.items.map((s: any) => s.metadata.namespace))], ['shop']);
    assert.equal(shop.body.data.pods.totalCount, [...gw.cache.pods.list()].filter((p) => p.meta.namespace === 'shop').length);
    assert.equal(shop.body.data.nodes, null);
    assert.deepEqual(shop.body.errors.map((e: any) => [e.extensions.code, e.path.join('.')]), [['FORBIDDEN', 'nodes']]);
    assert.match(shop.body.errors[0].message, /list nodes cluster-wide, got denied for user "demo-shop"/);
  });

  it('an IP held in a namespace the caller cannot read has no visible holder', async () => {
    const pod = [...gw.cache.pods.list()].find((p) => p.meta.namespace !== 'shop' && p.podIPs.length > 0)!;
    const q = `{ ip(address: "${pod.podIPs[0]}") { holders { __typename } } }`;
    assert.ok((await post(gw.url, q, DemoTokens.admin)).body.data.ip.holders.length > 0);
    assert.deepEqual((await post(gw.url, q, DemoTokens.shop)).body.data.ip.holders, []);
  });

  it('WebSocket: no token, or a bad one, is closed with 4403; a token in connection_init or in the upgrade header is accepted', async () => {
    for (const init of [undefined, { Authorization: `Bearer ${Secret}` }]) {
      const c = await connect(gw.url, { init });
      assert.equal(c.acked, false);
      assert.equal((await c.closed).code, 4403);
    }
    const viaInit = await connect(gw.url, { init: { Authorization: `Bearer ${DemoTokens.shop}` } });
    assert.equal(viaInit.acked, true);
    viaInit.ws.close();
    const viaHeader = await connect(gw.url, { header: `Bearer ${DemoTokens.shop}` });
    assert.equal(viaHeader.acked, true);
    viaHeader.ws.close();
  });

  it('WebSocket: the same answers and FORBIDDEN codes as HTTP for queries; subscriptions need watch where they look', async () => {
    const c = await connect(gw.url, { init: { Authorization: `Bearer ${DemoTokens.shop}` } });
    const q = '{ services(namespace: "payments") { totalCount } nodes { totalCount } }';
    const viaHttp = (await post(gw.url, q, DemoTokens.shop)).body;
    const viaWs = (await c.first(q)).payload;
    assert.deepEqual(viaWs, viaHttp);
    assert.deepEqual(viaHttp.errors.map((e: any) => e.extensions.code), ['FORBIDDEN', 'FORBIDDEN']);

    const ok = await c.first('subscription { endpointChanges(namespace: "shop") { type namespace } }');
    assert.equal(ok.type, 'next');
    assert.deepEqual(ok.payload.data.endpointChanges, { type: 'SNAPSHOT', namespace: 'shop' });
    const health = await c.first('subscription { serviceHealth(namespace: "shop", name: "catalog") { namespace name state } }');
    assert.equal(health.type, 'next');
    assert.equal(health.payload.data.serviceHealth.name, 'catalog');
    for (const [sub, what] of [
      ['endpointChanges(namespace: "payments") { type }', 'watch endpointslices.discovery.k8s.io in namespace payments'],
      ['endpointChanges { type }', 'watch endpointslices.discovery.k8s.io cluster-wide'],
      ['podChanges(namespace: "payments") { type }', 'watch pods in namespace payments'],
      ['nodeChanges { type }', 'watch nodes cluster-wide'],
      ['serviceHealth(namespace: "payments") { state }', 'watch endpointslices.discovery.k8s.io in namespace payments'],
      ['serviceHealth { state }', 'watch endpointslices.discovery.k8s.io cluster-wide'],
    ] as const) {
      const m = await c.first(`subscription { ${sub} }`);
      assert.equal(m.type, 'error', sub);
      assert.equal(m.payload[0].extensions.code, 'FORBIDDEN', sub);
      assert.ok(m.payload[0].message.includes(what), m.payload[0].message);
    }
    c.ws.close();
  });

  it('logs one line per denied request, with the user name', () => {
    const denied = logs.filter((l) => l.includes('request denied')).map((l) => JSON.parse(l));
    assert.ok(denied.length >= 2, `denied lines: ${denied.length}`);
    assert.ok(denied.every((d) => d.user === 'demo-shop'));
    assert.ok(denied.some((d) => /nodes cluster-wide/.test(d.denied)));
  });

  it('no log line carries a token', () => {
    assert.ok(logs.length > 0);
    assert.deepEqual(logs.filter((l) => l.includes(Secret)), []);
  });
});

describe('--auth none beyond loopback', () => {
  it('starts, warns at start and says so in /readyz', async () => {
    const logs: string[] = [];
    const cfg = parseConfig(['--demo', '--host', '0.0.0.0', '--port', '0', '--no-explorer', '--auth', 'none', '--demo-churn-per-second', '0']) as Config;
    const gw = await startGateway(cfg, { logger: createLogger({ level: 'info', format: 'json', write: (l) => logs.push(l) }) });
    try {
      assert.ok(logs.some((l) => l.includes('every caller sees everything')), logs.join('\n'));
      const ready = (await (await fetch(gw.url + '/readyz')).json()) as any;
      assert.equal(ready.auth, 'none');
      assert.match(ready.warning, /every caller sees everything/);
    } finally {
      await gw.stop();
    }
  });

  it('is the default on loopback, and kubernetes the default beyond it', () => {
    assert.equal((parseConfig(['--host', '127.0.0.1']) as Config).auth, 'none');
    assert.equal((parseConfig(['--host', '0.0.0.0']) as Config).auth, 'kubernetes');
    assert.throws(() => parseConfig(['--auth', 'basic']), /--auth: expected kubernetes or none, got "basic"/);
  });
});
