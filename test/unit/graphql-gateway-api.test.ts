/**
 * Gateway API in the graph, over the small cluster of graphql-fixtures.ts plus a Gateway,
 * HTTPRoutes, a GRPCRoute and a ReferenceGrant: listeners → attached routes, route → Gateways
 * and weighted backends with their ReferenceGrant verdict, Service → routes, Pod → hostnames,
 * trace preferring an HTTPRoute and naming the Ingress in alsoMatched, and a GRPCRoute for gRPC
 * calls; batches per level and
 * per-caller filtering (routes need `list httproutes` in their namespace).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ingest } from '../../src/kube/ingest.ts';
import { smallCluster, TableAccess, type Permission } from './graphql-fixtures.ts';

const meta = (namespace: string | null, name: string, createdAt = '2025-03-01T10:00:00Z') => ({ ...(namespace ? { namespace } : {}), name, uid: `uid-${namespace}-${name}`, resourceVersion: '1', creationTimestamp: createdAt });

function gatewayCluster() {
  const world = smallCluster();
  world.cache.gatewayClasses.replace([ingest('GatewayClass', { metadata: meta(null, 'eg'), spec: { controllerName: 'example.com/eg' } })]);
  world.cache.gateways.replace([
    ingest('Gateway', {
      metadata: meta('infra', 'edge'),
      spec: { gatewayClassName: 'eg', listeners: [{ name: 'web', port: 80, protocol: 'HTTP', hostname: '*.example.com', allowedRoutes: { namespaces: { from: 'All' } } }, { name: 'infra-only', port: 8080, protocol: 'HTTP' }] },
    }),
  ]);
  world.cache.httpRoutes.replace([
    ingest('HTTPRoute', {
      metadata: meta('shop', 'store'),
      spec: {
        parentRefs: [{ name: 'edge', namespace: 'infra' }],
        hostnames: ['shop.example.com'],
        rules: [
          { backendRefs: [{ name: 'web', port: 80, weight: 9 }, { name: 'web-lb', port: 443, weight: 1 }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/dns' } }], backendRefs: [{ name: 'kube-dns', namespace: 'kube-system', port: 53 }] },
        ],
      },
      status: { parents: [{ parentRef: { name: 'edge', namespace: 'infra' }, controllerName: 'example.com/eg', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted' }] }] },
    }),
    ingest('HTTPRoute', { metadata: meta('kube-system', 'dns-ui'), spec: { parentRefs: [{ name: 'edge', namespace: 'infra' }], hostnames: ['dns.example.com'], rules: [{ backendRefs: [{ name: 'kube-dns', port: 53 }] }] } }),
  ]);
  world.cache.grpcRoutes.replace([ingest('GRPCRoute', { metadata: meta('shop', 'grpc'), spec: { parentRefs: [{ name: 'edge', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'web', port: 9090 }] }] } })]);
  world.cache.ingresses.replace([
    ingest('Ingress', { metadata: meta('shop', 'legacy'), spec: { rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }] } }] } }),
  ]);
  return world;
}

describe('GraphQL: Gateway API', () => {
  const world = gatewayCluster();

  it('Gateway → listeners → the routes attached to each (allowedRoutes Same keeps other namespaces out)', async () => {
    const d = await world.data(`{ gateways { metadata { namespace name } gatewayClassName listeners { name hostname allowedNamespaces httpRoutes { metadata { namespace name } } } } gatewayClasses { metadata { name } controllerName } }`);
    assert.deepEqual(d.gateways, [{
      metadata: { namespace: 'infra', name: 'edge' }, gatewayClassName: 'eg',
      listeners: [
        { name: 'web', hostname: '*.example.com', allowedNamespaces: 'All', httpRoutes: [{ metadata: { namespace: 'kube-system', name: 'dns-ui' } }, { metadata: { namespace: 'shop', name: 'store' } }] },
        { name: 'infra-only', hostname: null, allowedNamespaces: 'Same', httpRoutes: [] },
      ],
    }]);
    assert.deepEqual(d.gatewayClasses, [{ metadata: { name: 'eg' }, controllerName: 'example.com/eg' }]);
  });

  it('HTTPRoute → weighted backends, the cross-namespace one refused without a grant, then allowed with one; status parents', async () => {
    const q = `{ httpRoutes(namespace: "shop") { metadata { name } parents { accepted resolvedRefs } gateways { metadata { name } }
      rules { backendRefs { namespace name weight weightPercent permitted service { metadata { name } } endpointCounts { ready } } } } }`;
    const d = await world.data(q);
    const r = d.httpRoutes[0];
    assert.deepEqual([r.metadata.name, r.parents, r.gateways], ['store', [{ accepted: true, resolvedRefs: null }], [{ metadata: { name: 'edge' } }]]);
    assert.deepEqual(r.rules[0].backendRefs.map((b: any) => [b.name, b.weightPercent, b.permitted, b.service.metadata.name, b.endpointCounts.ready]), [['web', 90, true, 'web', 2], ['web-lb', 10, true, 'web-lb', 2]]);
    assert.deepEqual(r.rules[1].backendRefs.map((b: any) => [b.namespace, b.name, b.permitted]), [['kube-system', 'kube-dns', false]]);
    world.cache.referenceGrants.replace([
      ingest('ReferenceGrant', { metadata: meta('kube-system', 'from-shop'), spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'shop' }], to: [{ group: '', kind: 'Service' }] } }),
    ]);
    try {
      assert.equal((await world.data(q)).httpRoutes[0].rules[1].backendRefs[0].permitted, true);
      const t = await world.data(`{ trace(url: "http://shop.example.com/dns/x") { status match { kind backends { permitted } } } }`);
      assert.deepEqual(t.trace, { status: 'ROUTED', match: { kind: 'HTTPRoute', backends: [{ permitted: true }] } });
    } finally {
      world.cache.referenceGrants.replace([]);
    }
    const refused = await world.data(`{ trace(url: "http://shop.example.com/dns/x") { status message } }`);
    assert.equal(refused.trace.status, 'REF_NOT_PERMITTED');
    assert.equal(refused.trace.message, 'HTTPRoute shop/store (Gateway infra/edge listener web, rule 2, PathPrefix /dns) sends traffic to kube-system/kube-dns in another namespace, and no ReferenceGrant allows it');
  });

  it('trace prefers the HTTPRoute and names the Ingress that also matches', async () => {
    const d = await world.data(`{ trace(url: "http://shop.example.com/cart") { status message match { kind httpRoute { metadata { name } } listener hostMatch ruleHost backends { weightPercent } } alsoMatched { kind ingress { metadata { name } } } } }`);
    assert.deepEqual(d.trace.match, { kind: 'HTTPRoute', httpRoute: { metadata: { name: 'store' } }, listener: 'web', hostMatch: 'EXACT', ruleHost: 'shop.example.com', backends: [{ weightPercent: 90 }, { weightPercent: 10 }] });
    assert.deepEqual(d.trace.alsoMatched, { kind: 'Ingress', ingress: { metadata: { name: 'legacy' } } });
    assert.equal(d.trace.status, 'ROUTED');
    assert.equal(d.trace.message, 'HTTPRoute shop/store (Gateway infra/edge listener web, rule 1, PathPrefix /) sends traffic to shop/web 90% (2 ready), shop/web-lb 10% (2 ready)');
  });

  it('trace matches a gRPC call (POST /package.Service/Method, content-type application/grpc) against GRPCRoutes first, by their precedence; other requests skip them', async () => {
    const before = [...world.cache.grpcRoutes.list()];
    world.cache.grpcRoutes.upsert(
      ingest('GRPCRoute', {
        metadata: meta('shop', 'cart-grpc'),
        spec: { parentRefs: [{ name: 'edge', namespace: 'infra' }], hostnames: ['shop.example.com'], rules: [{ matches: [{ method: { service: 'shop.Cart' } }], backendRefs: [{ name: 'web', port: 80 }] }] },
      }),
    );
    try {
      const q = `query($u: String!, $m: String, $h: [HeaderInput!]) { trace(url: $u, method: $m, headers: $h) { status message match { kind grpcRoute { metadata { name } } grpcMatch { type service method } httpRoute { metadata { name } } listener hostMatch backends { backend { serviceName } } } alsoMatched { kind } } }`;
      const grpc = [{ name: 'Content-Type', value: 'application/grpc' }];
      const cart = (await world.data(q, { u: 'http://shop.example.com/shop.Cart/AddItem', m: 'POST', h: grpc })).trace;
      assert.deepEqual(cart.match, {
        kind: 'GRPCRoute', grpcRoute: { metadata: { name: 'cart-grpc' } }, grpcMatch: { type: 'Exact', service: 'shop.Cart', method: null }, httpRoute: null, listener: 'web', hostMatch: 'EXACT', backends: [{ backend: { serviceName: 'web' } }],
      });
      assert.deepEqual([cart.status, cart.alsoMatched], ['ROUTED', { kind: 'Ingress' }]);
      assert.equal(cart.message, 'GRPCRoute shop/cart-grpc (Gateway infra/edge listener web, rule 1, Exact shop.Cart/*) sends traffic to shop/web 100% (2 ready)');
      // Another service: only the route without hostnames and matches takes it.
      const other = (await world.data(q, { u: 'http://shop.example.com/shop.Orders/Get', m: 'POST', h: grpc })).trace;
      assert.deepEqual([other.match.kind, other.match.grpcRoute.metadata.name, other.match.grpcMatch, other.match.hostMatch, other.status], ['GRPCRoute', 'grpc', null, 'ANY', 'ROUTED']);
      assert.equal(other.message, 'GRPCRoute shop/grpc (Gateway infra/edge listener web, rule 1, any call) sends traffic to shop/web 100% (2 ready)');
      // The same path without the gRPC content-type, or with GET, is plain HTTP: the HTTPRoute serves it.
      for (const vars of [{ u: 'http://shop.example.com/shop.Cart/AddItem', m: 'POST' }, { u: 'http://shop.example.com/shop.Cart/AddItem', m: 'GET', h: grpc }]) {
        const plain = (await world.data(q, vars)).trace;
        assert.deepEqual([plain.match.kind, plain.match.httpRoute.metadata.name, plain.match.grpcRoute], ['HTTPRoute', 'store', null], JSON.stringify(vars));
      }
      // No GRPCRoute for the host (the listener takes *.example.com only): the HTTPRoutes and Ingresses are asked, and the message says so.
      const none = (await world.data(q, { u: 'http://grpc.other.org/shop.Cart/AddItem', m: 'POST', h: grpc })).trace;
      assert.deepEqual([none.status, none.match], ['NO_MATCH', null]);
      assert.equal(none.message, 'no GRPCRoute matches the gRPC call shop.Cart/AddItem, and no HTTPRoute, Ingress rule or default backend matches host grpc.other.org and path /shop.Cart/AddItem');
    } finally {
      world.cache.grpcRoutes.replace(before);
    }
  });

  it('Service → HTTPRoutes and GRPCRoutes, Pod → hostnames from Ingresses and routes, one batch per loader', async () => {
    const d = await world.data(`{ services { items { metadata { namespace name } httpRoutes { metadata { name } } grpcRoutes { metadata { name } } } }
      pods(namespace: "kube-system") { items { metadata { name } hostnames } } web1: pod(namespace: "shop", name: "web-1") { hostnames } }`);
    const by = Object.fromEntries(d.services.items.map((s: any) => [`${s.metadata.namespace}/${s.metadata.name}`, [s.httpRoutes.map((r: any) => r.metadata.name), s.grpcRoutes.map((r: any) => r.metadata.name)]]));
    assert.deepEqual(by['shop/web'], [['store'], ['grpc']]);
    assert.deepEqual(by['kube-system/kube-dns'], [['dns-ui', 'store'], []]);
    assert.deepEqual(by['shop/db'], [[], []]);
    assert.deepEqual(d.pods.items.find((p: any) => p.metadata.name === 'coredns-1').hostnames, ['dns.example.com', 'shop.example.com']);
    assert.deepEqual(d.web1.hostnames, ['shop.example.com']);
    assert.equal(world.batches.filter((b) => b.name === 'httpRoutesByService').length, 1);
    assert.equal(world.batches.filter((b) => b.name === 'grpcRoutesByService').length, 1);
  });

  it('per caller: routes in namespaces it may not list are hidden, from lists, relations and trace; GatewayClasses need cluster-wide list', async () => {
    const perms: Permission[] = [
      ...(['services', 'endpointslices', 'pods', 'httproutes', 'ingresses'] as const).map((r) => ['list', r, 'shop'] as const),
      ['list', 'gateways', ''],
    ];
    world.access = new TableAccess('shop-reader', perms);
    try {
      const r = await world.run(`{ httpRoutes { metadata { name } } gatewayClasses { metadata { name } } sys: httpRoutes(namespace: "kube-system") { metadata { name } }
        trace(url: "http://dns.example.com/") { status } gateways { listeners { httpRoutes { metadata { name } } } } }`);
      const d = JSON.parse(JSON.stringify(r.data));
      assert.deepEqual(d.httpRoutes, [{ metadata: { name: 'store' } }]);
      assert.equal(d.gatewayClasses, null);
      assert.equal(d.sys, null);
      assert.equal(d.trace.status, 'NO_MATCH', 'dns-ui is hidden');
      assert.deepEqual(d.gateways[0].listeners[0].httpRoutes, [{ metadata: { name: 'store' } }]);
      assert.deepEqual(r.errors?.map((e) => [e.path?.join('.'), e.extensions?.code]).sort(), [['gatewayClasses', 'FORBIDDEN'], ['sys', 'FORBIDDEN']]);
    } finally {
      world.access = smallCluster().access;
    }
  });
});
