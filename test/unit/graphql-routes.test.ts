/**
 * Routes in the graph, over the small cluster of graphql-fixtures.ts plus Ingresses: Ingress →
 * rules → backends → Services and their endpoints; Service → Ingresses; Pod → hostnames;
 * `trace` with every status; batching (one batch per loader per level) and per-caller
 * filtering (Ingresses need `list ingresses` in their namespace, IngressClasses cluster-wide).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ingest } from '../../src/kube/ingest.ts';
import type { IngressRecord } from '../../src/kube/routes.ts';
import { smallCluster, TableAccess, type Permission } from './graphql-fixtures.ts';

let rv = 0;
function ingress(namespace: string, name: string, spec: object, createdAt = '2025-03-01T10:00:00Z'): IngressRecord {
  return ingest('Ingress', { metadata: { namespace, name, uid: `uid-ing-${name}`, resourceVersion: String(++rv), creationTimestamp: createdAt }, spec });
}
const svc = (name: string, port: number | string) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });

/**
 * shop/storefront: shop.example.com "/" (Prefix) → web:http; "/cart" (Exact) → web:80;
 * "/admin" (Prefix) → empty:80 (no endpoints); "/gone" → missing:80; "/bad-port" → web:81;
 * "/static" → a bucket resource. shop/wild: *.example.com "/" → web-lb:443. shop/catch-all:
 * default backend web:80. kube-system/dns-ui: dns.example.com → kube-dns:53.
 */
function routedCluster() {
  const world = smallCluster();
  world.cache.ingresses.replace([
    ingress('shop', 'storefront', {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: svc('web', 'http') },
              { path: '/cart', pathType: 'Exact', backend: svc('web', 80) },
              { path: '/admin', pathType: 'Prefix', backend: svc('empty', 80) },
              { path: '/gone', pathType: 'Prefix', backend: svc('missing', 80) },
              { path: '/bad-port', pathType: 'Prefix', backend: svc('web', 81) },
              { path: '/static', pathType: 'ImplementationSpecific', backend: { resource: { apiGroup: 'storage.example.com', kind: 'Bucket', name: 'assets' } } },
            ],
          },
        },
      ],
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
    }),
    ingress('shop', 'wild', { rules: [{ host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('web-lb', 443) }] } }] }),
    ingress('shop', 'catch-all', { defaultBackend: svc('web', 80) }, '2025-03-01T11:00:00Z'),
    ingress('kube-system', 'dns-ui', { rules: [{ host: 'dns.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('kube-dns', 'dns') }] } }] }),
  ]);
  world.cache.ingressClasses.replace([
    ingest('IngressClass', { metadata: { name: 'nginx', uid: 'uid-nginx', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'k8s.io/ingress-nginx' } }),
    ingest('IngressClass', { metadata: { name: 'other', uid: 'uid-other', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { controller: 'example.com/other' } }),
  ]);
  return world;
}

const TraceFields = `host path method status message match { hostMatch ruleHost ingress { metadata { namespace name } } path { path pathType }
  backends { namespace weightPercent backend { serviceName servicePort service { metadata { name } } endpointCounts { total ready } endpointsByZone { zone ready } } } }`;

describe('GraphQL: an Ingress and its backends', () => {
  const world = routedCluster();

  it('serves its rules as written, its class, TLS, hosts, and each backend resolved to its Service, port and endpoints', async () => {
    const d = await world.data(`{ ingress(namespace: "shop", name: "storefront") {
      ingressClassName ingressClass { metadata { name } controller isDefault } hosts tls { hosts secretName }
      services { metadata { name } }
      rules { host paths { path pathType backend { serviceName servicePort service { metadata { name } } resolvedPort { name port }
        resource { apiGroup kind name } endpointCounts { total ready } endpointsByZone { zone total ready } } } }
    } }`);
    const ing = d.ingress;
    assert.deepEqual(ing.ingressClass, { metadata: { name: 'nginx' }, controller: 'k8s.io/ingress-nginx', isDefault: true });
    assert.deepEqual(ing.hosts, ['shop.example.com']);
    assert.deepEqual(ing.tls, [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }]);
    assert.deepEqual(ing.services.map((s: any) => s.metadata.name), ['empty', 'web'], 'existing Services only, sorted');
    const paths = ing.rules[0].paths;
    assert.equal(ing.rules[0].host, 'shop.example.com');
    assert.deepEqual(paths.map((p: any) => [p.path, p.pathType, p.backend.serviceName, p.backend.servicePort]), [
      ['/', 'Prefix', 'web', 'http'],
      ['/cart', 'Exact', 'web', '80'],
      ['/admin', 'Prefix', 'empty', '80'],
      ['/gone', 'Prefix', 'missing', '80'],
      ['/bad-port', 'Prefix', 'web', '81'],
      ['/static', 'ImplementationSpecific', null, null],
    ]);
    // web: web-1 and web-2 ready, web-3 terminating (zone-a).
    assert.deepEqual(paths[0].backend.resolvedPort, { name: 'http', port: 80 });
    assert.deepEqual(paths[0].backend.endpointCounts, { total: 3, ready: 2 });
    assert.deepEqual(paths[0].backend.endpointsByZone, [{ zone: 'zone-a', total: 2, ready: 1 }, { zone: 'zone-b', total: 1, ready: 1 }]);
    assert.deepEqual(paths[1].backend.resolvedPort, { name: 'http', port: 80 });
    assert.deepEqual(paths[2].backend.endpointCounts, { total: 0, ready: 0 });
    assert.equal(paths[3].backend.service, null);
    assert.equal(paths[4].backend.resolvedPort, null);
    assert.deepEqual(paths[5].backend.resource, { apiGroup: 'storage.example.com', kind: 'Bucket', name: 'assets' });
    assert.deepEqual(paths[5].backend.endpointCounts, { total: 0, ready: 0 });
  });

  it('an Ingress naming no class gets the default class; a default backend is served with host "*"', async () => {
    const d = await world.data(`{ ingress(namespace: "shop", name: "catch-all") { ingressClassName ingressClass { metadata { name } } hosts defaultBackend { serviceName } } }`);
    assert.deepEqual(d.ingress, { ingressClassName: null, ingressClass: { metadata: { name: 'nginx' } }, hosts: ['*'], defaultBackend: { serviceName: 'web' } });
  });

  it('lists Ingresses by namespace and by rule host (wildcards as written), paged', async () => {
    const d = await world.data(`{
      all: ingresses { totalCount items { metadata { namespace name } } }
      shop: ingresses(namespace: "shop", first: 2) { totalCount items { metadata { name } } pageInfo { hasNextPage } }
      wild: ingresses(host: "*.example.com") { items { metadata { name } } }
      exact: ingresses(host: "SHOP.example.com") { items { metadata { name } } }
      classes: ingressClasses { metadata { name } }
    }`);
    assert.deepEqual(d.all.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`), ['kube-system/dns-ui', 'shop/catch-all', 'shop/storefront', 'shop/wild']);
    assert.deepEqual([d.shop.totalCount, d.shop.items.map((i: any) => i.metadata.name), d.shop.pageInfo.hasNextPage], [3, ['catch-all', 'storefront'], true]);
    assert.deepEqual(d.wild.items.map((i: any) => i.metadata.name), ['wild']);
    assert.deepEqual(d.exact.items.map((i: any) => i.metadata.name), ['storefront']);
    assert.deepEqual(d.classes.map((c: any) => c.metadata.name), ['nginx', 'other']);
  });

  it('Service → the Ingresses sending it traffic, and Pod → the hostnames reaching it, in one batch per level', async () => {
    const d = await world.data(`{
      services(namespace: "shop") { items { metadata { name } ingresses { metadata { name } } } }
      pods(namespace: "shop") { items { metadata { name } hostnames } }
    }`);
    const byService = Object.fromEntries(d.services.items.map((s: any) => [s.metadata.name, s.ingresses.map((i: any) => i.metadata.name)]));
    assert.deepEqual(byService, { db: [], empty: ['storefront'], ext: [], manual: [], web: ['catch-all', 'storefront'], 'web-lb': ['wild'] });
    const byPod = Object.fromEntries(d.pods.items.map((p: any) => [p.metadata.name, p.hostnames]));
    // web-1 and web-2 are endpoints of web (storefront's host, catch-all's default backend) and web-lb (the wildcard).
    assert.deepEqual(byPod['web-1'], ['*', '*.example.com', 'shop.example.com']);
    assert.deepEqual(byPod['web-3'], ['*', 'shop.example.com'], 'web-3 is an endpoint of web only');
    assert.deepEqual(byPod['web-4'], [], 'not an endpoint of anything');
    assert.deepEqual(byPod['db-0'], []);
    // The pods' Services (web, web-lb) were loaded for the Services already: one batch in all.
    assert.deepEqual(world.batches.filter((b) => b.name === 'ingressesByService'), [
      { name: 'ingressesByService', keys: ['shop/db', 'shop/empty', 'shop/ext', 'shop/manual', 'shop/web', 'shop/web-lb'] },
    ]);
    assert.equal(world.batches.filter((b) => b.name === 'endpointsByPod').length, 1);
  });
});

describe('GraphQL: trace', () => {
  const world = routedCluster();
  const trace = async (url: string, method?: string) => (await world.data(`query($u: String!, $m: String) { trace(url: $u, method: $m) { ${TraceFields} } }`, { u: url, m: method ?? null })).trace;

  it('ROUTED: the exact host, the longest path; backends with ready endpoints per zone', async () => {
    const t = await trace('https://shop.example.com/cart/items?x=1', 'post');
    assert.equal(t.status, 'ROUTED');
    assert.deepEqual([t.host, t.path, t.method], ['shop.example.com', '/cart/items', 'POST']);
    // "/cart" is Exact, so "/cart/items" falls to "/" (Prefix).
    assert.deepEqual(t.match.path, { path: '/', pathType: 'Prefix' });
    assert.deepEqual([t.match.hostMatch, t.match.ruleHost, t.match.ingress.metadata.name], ['EXACT', 'shop.example.com', 'storefront']);
    assert.deepEqual(t.match.backends, [{
      namespace: 'shop', weightPercent: 100,
      backend: { serviceName: 'web', servicePort: 'http', service: { metadata: { name: 'web' } }, endpointCounts: { total: 3, ready: 2 }, endpointsByZone: [{ zone: 'zone-a', ready: 1 }, { zone: 'zone-b', ready: 1 }] },
    }]);
    assert.equal(t.message, 'Ingress shop/storefront (host shop.example.com, Prefix /) sends traffic to Service shop/web port http: 2 ready endpoints');
    const exact = await trace('shop.example.com/cart');
    assert.deepEqual([exact.status, exact.match.path, exact.method], ['ROUTED', { path: '/cart', pathType: 'Exact' }, 'GET']);
  });

  it('a wildcard host matches one label only; other hosts fall to the default backend', async () => {
    const wild = await trace('http://api.example.com/');
    assert.deepEqual([wild.status, wild.match.hostMatch, wild.match.ingress.metadata.name, wild.match.backends[0].backend.serviceName], ['ROUTED', 'WILDCARD', 'wild', 'web-lb']);
    const deep = await trace('http://a.b.example.com/');
    assert.deepEqual([deep.match.hostMatch, deep.match.ingress.metadata.name, deep.match.path], ['DEFAULT_BACKEND', 'catch-all', null]);
  });

  it('says exactly what is wrong: no ready endpoints, no such Service, no such port, a resource backend', async () => {
    const cases: [string, string, string][] = [
      ['http://shop.example.com/admin/x', 'NO_READY_ENDPOINTS', 'Ingress shop/storefront (host shop.example.com, Prefix /admin) sends traffic to Service shop/empty port 80, which has no ready endpoint (0 endpoints)'],
      ['http://shop.example.com/gone', 'SERVICE_NOT_FOUND', 'Ingress shop/storefront (host shop.example.com, Prefix /gone) sends traffic to Service shop/missing, which does not exist'],
      ['http://shop.example.com/bad-port', 'PORT_NOT_FOUND', 'Ingress shop/storefront (host shop.example.com, Prefix /bad-port) sends traffic to port 81 of Service shop/web, which has no such port'],
      ['http://shop.example.com/static/a.css', 'RESOURCE_BACKEND', 'Ingress shop/storefront (host shop.example.com, ImplementationSpecific /static) sends traffic to Bucket assets, not a Service'],
    ];
    for (const [url, status, message] of cases) {
      const t = await trace(url);
      assert.deepEqual([t.status, t.message], [status, message], url);
    }
  });

  it('NO_MATCH when no rule and no default backend matches', async () => {
    world.cache.ingresses.delete('shop/catch-all');
    try {
      const t = await trace('http://nowhere.test/');
      assert.deepEqual([t.status, t.match, t.message], ['NO_MATCH', null, 'no HTTPRoute, Ingress rule or default backend matches host nowhere.test and path /']);
    } finally {
      world.cache.ingresses.upsert(ingress('shop', 'catch-all', { defaultBackend: svc('web', 80) }, '2025-03-01T11:00:00Z'));
    }
  });

  it('bad input is INVALID_ARGUMENT naming the argument', async () => {
    for (const [args, message] of [
      ['url: "ftp://x/"', 'url: expected the scheme http or https, got "ftp"'],
      ['url: "http://x/", method: "G E T"', 'method: expected an HTTP method such as "GET", got "G E T"'],
    ]) {
      const r = await world.run(`{ trace(${args}) { status } }`);
      assert.deepEqual(r.errors?.map((e) => [e.extensions?.code, e.message]), [['INVALID_ARGUMENT', message]]);
    }
    const r = await world.run(`{ ingresses(host: "not a host") { totalCount } }`);
    assert.equal(r.errors?.[0]?.extensions?.code, 'INVALID_ARGUMENT');
  });
});

describe('GraphQL: routes per caller', () => {
  const world = routedCluster();
  const shopAll: Permission[] = (['services', 'endpointslices', 'pods', 'ingresses'] as const).map((r) => ['list', r, 'shop'] as const);

  it('a caller who may list Ingresses in shop only: sees those, traces through those, FORBIDDEN elsewhere and for IngressClasses', async () => {
    world.access = new TableAccess('shop-reader', shopAll);
    try {
      const r = await world.run(`{
        ingresses { items { metadata { namespace name } } }
        dns: ingress(namespace: "kube-system", name: "dns-ui") { metadata { name } }
        classes: ingressClasses { metadata { name } }
        store: ingress(namespace: "shop", name: "storefront") { ingressClass { metadata { name } } }
        trace(url: "http://dns.example.com/") { status match { ingress { metadata { name } } } }
      }`);
      const d = JSON.parse(JSON.stringify(r.data));
      assert.deepEqual(d.ingresses.items.map((i: any) => i.metadata.name), ['catch-all', 'storefront', 'wild']);
      assert.equal(d.dns, null);
      assert.equal(d.classes, null);
      assert.deepEqual(d.store, { ingressClass: null });
      // kube-system/dns-ui (the exact host) is hidden: the trace falls to the visible wildcard rule.
      assert.deepEqual(d.trace, { status: 'ROUTED', match: { ingress: { metadata: { name: 'wild' } } } });
      assert.deepEqual(r.errors?.map((e) => [e.path?.join('.'), e.extensions?.code]).sort(), [['classes', 'FORBIDDEN'], ['dns', 'FORBIDDEN'], ['store.ingressClass', 'FORBIDDEN']]);
    } finally {
      world.access = smallCluster().access;
    }
  });

  it('a caller without `list ingresses` sees no Ingress: empty relations, NO_MATCH', async () => {
    world.access = new TableAccess('no-ingress', shopAll.filter(([, r]) => r !== 'ingresses'));
    try {
      const d = await world.data(`{ service(namespace: "shop", name: "web") { ingresses { metadata { name } } } pod(namespace: "shop", name: "web-1") { hostnames } trace(url: "http://shop.example.com/") { status } }`);
      assert.deepEqual(d, { service: { ingresses: [] }, pod: { hostnames: [] }, trace: { status: 'NO_MATCH' } });
    } finally {
      world.access = smallCluster().access;
    }
  });
});
