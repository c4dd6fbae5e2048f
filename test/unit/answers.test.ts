/**
 * Answers that fit the question, on a real gateway server on port 0 over a hand-filled cache,
 * over HTTP and WebSocket: IP addresses in any spelling (IPv4-mapped IPv6, expanded IPv6) find
 * what their canonical form finds; endpoints are listed in numeric address order (IPv4, then
 * IPv6) wherever they are listed, and pages follow that order; `namespaces` lists what the
 * cache knows; GET without a query, other methods and OPTIONS get answers of their own instead
 * of the CSRF refusal; a WebSocket client offering another subprotocol completes the handshake
 * and sees a 4406 close whose reason names graphql-transport-ws.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { composeServing, type Serving } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { CloseCode } from '../../src/server/ws-protocol.ts';
import { OpenAccess } from '../../src/auth/access.ts';
import { postGraphQL } from '../harness/graphql-http.ts';
import { firstMessage } from '../harness/subscriber.ts';
import { endpoint, node, pod, service, slice, TableAccess, World } from './graphql-fixtures.ts';

/** Addresses of the Service `many`, in the order they must be listed. */
const Ordered = ['9.0.0.1', ...Array.from({ length: 12 }, (_, i) => `10.5.0.${i + 1}`), '10.5.1.0', 'fd00::2', 'fd00::10', 'fd00::1:0'];

function world(): World {
  const shuffled = [...Ordered].sort(); // code-unit order: 10.5.0.1, 10.5.0.10, 10.5.0.11, 10.5.0.12, 10.5.0.2, ...
  const v4 = shuffled.filter((a) => !a.includes(':'));
  const v6 = shuffled.filter((a) => a.includes(':'));
  return new World({
    nodes: [node('node-a', { zone: 'zone-a', ip: '10.0.0.1' })],
    services: [service('shop', 'many', { selector: { app: 'many' } }), service('ops', 'tools', { selector: { app: 'tools' } })],
    pods: [pod('shop', 'web-2', { labels: { app: 'many' }, node: 'node-a', ips: ['10.64.3.2'] }), pod('ops', 'tool-1', { labels: { app: 'tools' }, node: 'node-a', ips: ['10.64.3.9'] })],
    slices: [
      slice('shop', 'many-v4', 'many', v4.map((a) => endpoint(a, { node: 'node-a' }))),
      slice('shop', 'many-v6', 'many', v6.map((a) => endpoint(a, { node: 'node-a' })), { addressType: 'IPv6' }),
    ],
  });
}

async function serve(w: World, args: string[] = []): Promise<{ url: string; serving: Serving }> {
  const cfg = parseConfig(['--port', '0', ...args]) as Config;
  const serving = composeServing(cfg, { cache: w.cache, feed: w.feed }, createLogger({ level: 'error', format: 'json', write: () => {} }));
  const address = await serving.server.start();
  return { url: `http://127.0.0.1:${address.port}`, serving };
}

describe('answers that fit the question', () => {
  let url: string;
  let serving: Serving;
  const w = world();
  const both = async (query: string, variables?: Record<string, unknown>) => {
    const http = await postGraphQL(url + '/graphql', query, variables);
    assert.deepEqual(http.errors, []);
    const ws = await firstMessage(url, { query, variables: variables ?? null });
    assert.equal(ws.type, 'next');
    assert.deepEqual(ws.payload.data, http.data);
    return http.data as any;
  };

  before(async () => {
    ({ url, serving } = await serve(w, ['--no-explorer']));
  });
  after(async () => {
    await serving?.server.stop();
    serving?.fanout.stop();
  });

  describe('ip(address:) in any spelling', () => {
    const query = 'query ($a: String!) { ip(address: $a) { address family holders { __typename ... on Pod { metadata { name } } } } }';
    for (const spelling of ['::ffff:10.64.3.2', '::FFFF:10.64.3.2', '0:0:0:0:0:ffff:a40:302', '0000:0000:0000:0000:0000:ffff:0a40:0302']) {
      it(`${spelling} is the IPv4 address 10.64.3.2 and finds its pod, over HTTP and WebSocket`, async () => {
        const d = await both(query, { a: spelling });
        assert.deepEqual(d.ip, { address: '10.64.3.2', family: 'IPv4', holders: [{ __typename: 'Pod', metadata: { name: 'web-2' } }] });
      });
    }
    it('an expanded IPv6 address is found in its compressed form', async () => {
      const d = await both(query, { a: 'FD00:0000:0000:0000:0000:0000:0000:0010' });
      assert.equal(d.ip.address, 'fd00::10');
      assert.deepEqual(d.ip.holders.map((h: any) => h.__typename), ['Endpoint']);
    });
    it('a mapped address that is not valid stays INVALID_ARGUMENT', async () => {
      const http = await postGraphQL(url + '/graphql', '{ ip(address: "::ffff:10.64.3.256") { address } }');
      assert.equal(http.errors[0]?.extensions?.code, 'INVALID_ARGUMENT');
    });
  });

  describe('endpoints in numeric address order', () => {
    it('Service.endpoints: IPv4 by value (10.5.0.2 before 10.5.0.10), then IPv6 by value', async () => {
      const d = await both('{ service(namespace: "shop", name: "many") { endpoints(first: 100) { items { address } } } }');
      assert.deepEqual(d.service.endpoints.items.map((e: any) => e.address), Ordered);
    });

    it('pages of 4 follow the same order, with no gap and no repeat', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 10; i++) {
        const d = await both('query ($after: String) { service(namespace: "shop", name: "many") { endpoints(first: 4, after: $after) { items { address } pageInfo { hasNextPage endCursor } } } }', { after });
        const page = d.service.endpoints;
        seen.push(...page.items.map((e: any) => e.address));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      assert.deepEqual(seen, Ordered);
    });

    it('Node.endpoints and Pod.endpoints in the same order, and pages of Node.endpoints too', async () => {
      const d = await both('{ node(name: "node-a") { endpoints(first: 100) { items { address } } } }');
      assert.deepEqual(d.node.endpoints.items.map((e: any) => e.address), Ordered);
      const first = await both('{ node(name: "node-a") { endpoints(first: 3) { items { address } pageInfo { endCursor } } } }');
      const next = await both('query ($a: String) { node(name: "node-a") { endpoints(first: 3, after: $a) { items { address } } } }', { a: first.node.endpoints.pageInfo.endCursor });
      assert.deepEqual([...first.node.endpoints.items, ...next.node.endpoints.items].map((e: any) => e.address), Ordered.slice(0, 6));
    });

    it('a subscription SNAPSHOT lists them in the same order', async () => {
      const m = await firstMessage(url, { query: 'subscription { endpointChanges(namespace: "shop", name: "many") { type endpoints { address } added { address } } }' });
      assert.deepEqual(m.payload.data.endpointChanges.endpoints.map((e: any) => e.address), Ordered);
      assert.deepEqual(m.payload.data.endpointChanges.added.map((e: any) => e.address), Ordered);
    });
  });

  describe('namespaces', () => {
    it('lists every namespace the cache knows, sorted, with counts per kind, over HTTP and WebSocket', async () => {
      const d = await both('{ namespaces { name services pods endpointSlices } cluster { watchedNamespaces watchesNodes } }');
      assert.deepEqual(d.namespaces, [
        { name: 'ops', services: 1, pods: 1, endpointSlices: 0 },
        { name: 'shop', services: 1, pods: 1, endpointSlices: 2 },
      ]);
      assert.deepEqual(d.cluster, { watchedNamespaces: null, watchesNodes: true });
    });

    it('a caller sees only the namespaces and kinds it may list, with NAMESPACES_HIDDEN', async () => {
      w.access = new TableAccess('alice', [['list', 'services', 'shop'], ['list', 'pods', 'shop']]);
      try {
        const r = await w.run('{ namespaces { name services pods endpointSlices } }');
        assert.deepEqual(JSON.parse(JSON.stringify(r.data)), { namespaces: [{ name: 'shop', services: 1, pods: 1, endpointSlices: null }] });
        assert.deepEqual((r.extensions?.['warnings'] as any[]).map((x) => `${x.code} ${x.resource}`), ['NAMESPACES_HIDDEN services', 'NAMESPACES_HIDDEN pods', 'NAMESPACES_HIDDEN endpointslices']);
      } finally {
        w.access = OpenAccess;
      }
    });
  });

  describe('HTTP methods on /graphql', () => {
    it('GET without a query: 400 BAD_REQUEST saying how to ask (no explorer to point to here)', async () => {
      const res = await fetch(url + '/graphql');
      assert.equal(res.status, 400);
      const body = (await res.json()) as any;
      assert.equal(body.errors[0].extensions.code, 'BAD_REQUEST');
      assert.match(body.errors[0].message, /^request: expected a GraphQL operation, got a GET without \?query= \(POST \{"query": "\{ cluster \{ ready \} \}"\} as application\/json to \/graphql, subscribe over WebSocket at \/graphql with graphql-transport-ws\)$/);
      assert.doesNotMatch(body.errors[0].message, /CSRF|preflight/i);
    });

    it('DELETE: 405 METHOD_NOT_ALLOWED with Allow', async () => {
      const res = await fetch(url + '/graphql', { method: 'DELETE' });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'GET, POST, OPTIONS');
      const body = (await res.json()) as any;
      assert.deepEqual(body.errors[0], { message: 'method: expected GET or POST, got "DELETE"', extensions: { code: 'METHOD_NOT_ALLOWED' } });
    });

    it('OPTIONS from an Origin not allowed (or none): 204 with Allow and no CORS grant', async () => {
      for (const headers of [{}, { origin: 'http://evil.example', 'access-control-request-method': 'POST' }]) {
        const res = await fetch(url + '/graphql', { method: 'OPTIONS', headers });
        assert.equal(res.status, 204);
        assert.equal(res.headers.get('allow'), 'GET, POST, OPTIONS');
        assert.equal(res.headers.get('access-control-allow-origin'), null);
      }
    });

    it('a GET with a query still runs (with the CSRF header), and POST as before', async () => {
      const res = await fetch(url + '/graphql?query=' + encodeURIComponent('{ namespaces { name } }'), { headers: { 'apollo-require-preflight': 'true' } });
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as any).data.namespaces.map((n: any) => n.name), ['ops', 'shop']);
    });
  });

  describe('WebSocket subprotocols', () => {
    const offer = (protocols: string[]) =>
      new Promise<{ protocol: string; code: number; reason: string }>((resolve, reject) => {
        const ws = new WebSocket(url.replace(/^http/, 'ws') + '/graphql', protocols);
        let protocol = '';
        ws.on('open', () => (protocol = ws.protocol));
        ws.on('error', reject);
        ws.on('close', (code, reason) => resolve({ protocol, code, reason: reason.toString() }));
      });

    it('the legacy graphql-ws (subscriptions-transport-ws) handshake completes, then a 4406 close names graphql-transport-ws', async () => {
      assert.deepEqual(await offer(['graphql-ws']), {
        protocol: 'graphql-ws',
        code: CloseCode.SubprotocolNotAcceptable,
        reason: 'Subprotocol not acceptable: expected graphql-transport-ws, got graphql-ws (subscriptions-transport-ws, not supported)',
      });
    });

    it('any other protocol, or none, gets the same close with what was offered', async () => {
      assert.deepEqual(await offer(['mqtt', 'graphql-ws']), { protocol: 'mqtt', code: 4406, reason: 'Subprotocol not acceptable: expected graphql-transport-ws, got "mqtt"' });
      assert.deepEqual(await offer([]), { protocol: '', code: 4406, reason: 'Subprotocol not acceptable: expected graphql-transport-ws, got none' });
    });
  });
});

describe('GET /graphql without a query, with the explorer on', () => {
  let url: string;
  let serving: Serving;
  before(async () => {
    ({ url, serving } = await serve(world()));
  });
  after(async () => {
    await serving?.server.stop();
    serving?.fanout.stop();
  });

  it('points a client to the explorer; a browser asking for HTML gets the explorer page', async () => {
    const res = await fetch(url + '/graphql', { headers: { accept: 'application/json' } });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as any).errors[0].message, /; or open the explorer at \/\)$/);
    const page = await fetch(url + '/graphql', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /kube-netgraph explorer/);
  });
});
