/**
 * The demo cluster's routes (demo/src/routes.ts: Ingresses, a Gateway and HTTPRoutes) answer
 * what their comments promise, through the real schema over the generated cluster as the
 * reflectors would ingest it; and the explorer's route examples, with their own variables,
 * answer non-empty there.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateCluster } from '../../demo/src/generate.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { Kind } from '../../src/kube/records.ts';
import examples from '../../src/explorer/examples.json' with { type: 'json' };
import { World } from './graphql-fixtures.ts';

const generated = generateCluster('demo', { seed: 1 });
const records = <K extends Kind>(kind: K, objects: readonly object[]) => objects.map((o) => ingest(kind, JSON.parse(JSON.stringify(o))));
const world = new World({
  services: records('Service', generated.services),
  pods: records('Pod', generated.pods),
  nodes: records('Node', generated.nodes),
  slices: records('EndpointSlice', generated.endpointSlices),
  ingresses: records('Ingress', generated.ingresses),
  ingressClasses: records('IngressClass', generated.ingressClasses),
});
world.cache.gatewayClasses.replace(records('GatewayClass', generated.gatewayClasses));
world.cache.gateways.replace(records('Gateway', generated.gateways));
world.cache.httpRoutes.replace(records('HTTPRoute', generated.httpRoutes));
world.cache.referenceGrants.replace(records('ReferenceGrant', generated.referenceGrants));

describe('demo routes', () => {
  // [url, status, Service reached or null]
  const table: [string, string, string | null][] = [
    ['https://shop.example.com/', 'ROUTED', 'frontend'],
    ['https://shop.example.com/cart', 'ROUTED', 'cart'],
    ['https://shop.example.com/catalog/items/7', 'ROUTED', 'catalog'],
    ['https://shop.example.com/recommendations', 'NO_READY_ENDPOINTS', 'recommendations'],
    ['https://shop.example.com/recommendations/x', 'ROUTED', 'frontend'],
    ['https://preview.shop.example.com/', 'ROUTED', 'frontend-internal'],
    ['https://a.preview.shop.example.com/', 'NO_MATCH', null],
    ['https://pay.example.com/checkout', 'ROUTED', 'checkout'],
    ['https://pay.example.com/billing', 'ROUTED', 'legacy-billing'],
    ['https://pay.example.com/refunds', 'SERVICE_NOT_FOUND', 'refunds'],
    ['https://pay.example.com/fx', 'PORT_NOT_FOUND', 'fx-rates'],
    ['https://elsewhere.example.org/', 'NO_MATCH', null],
    // HTTPRoutes through Gateway default/public.
    ['http://api.example.com/items', 'ROUTED', 'catalog'],
    ['http://pay-api.example.com/pay', 'ROUTED', 'checkout'],
    ['http://ledger.example.com/', 'REF_NOT_PERMITTED', 'ledger-db'],
    ['http://api.example.com/legacy/x', 'ROUTED', null],
  ];
  for (const [url, status, service] of table) {
    it(`${url}: ${status}${service ? ` (${service})` : ''}`, async () => {
      const d = await world.data(`query($u: String!) { trace(url: $u) { status message match { backends { backend { serviceName endpointCounts { ready } } } } } }`, { u: url });
      assert.equal(d.trace.status, status, d.trace.message);
      assert.equal(d.trace.match?.backends[0]?.backend.serviceName ?? null, service);
      if (status === 'ROUTED' && service !== null) assert.ok(d.trace.match.backends[0].backend.endpointCounts.ready > 0);
    });
  }

  it('the weighted route: catalog 90%, cart 10%; the canary header picks cart only; the redirect says where', async () => {
    const q = `query($u: String!, $h: [HeaderInput!]) { trace(url: $u, headers: $h) { status message match { kind backends { weightPercent permitted backend { serviceName } } } } }`;
    const split = (await world.data(q, { u: 'http://api.example.com/v2/x', h: [] })).trace;
    assert.deepEqual(split.match.backends.map((b: any) => [b.backend.serviceName, b.weightPercent]), [['catalog', 90], ['cart', 10]]);
    const canary = (await world.data(q, { u: 'http://api.example.com/v2/x', h: [{ name: 'X-Canary', value: 'true' }] })).trace;
    assert.deepEqual(canary.match.backends.map((b: any) => [b.backend.serviceName, b.weightPercent]), [['cart', 100]]);
    const redirect = (await world.data(q, { u: 'http://api.example.com/legacy', h: [] })).trace;
    assert.match(redirect.message, /redirects \(hostname=shop\.example\.com, statusCode=301\)$/);
    const ledger = await world.data(`{ httpRoutes(namespace: "shop", hostname: "ledger.example.com") { parents { accepted resolvedRefs } } }`);
    assert.deepEqual(ledger.httpRoutes, [{ parents: [{ accepted: true, resolvedRefs: false }] }]);
  });

  for (const name of ['TraceURL', 'RoutesToService', 'GatewayRoutes']) {
    it(`the explorer example ${name} answers non-empty on the demo`, async () => {
      const example = examples.find((e) => e.name === name)!;
      const d = await world.data(example.query, example.variables as Record<string, unknown>);
      if (name === 'GatewayRoutes') {
        assert.deepEqual(d.gateways[0].listeners[0].httpRoutes.map((r: any) => r.metadata.name), ['api-split', 'ledger', 'pay-api']);
        assert.deepEqual([d.trace.status, d.trace.match.kind, d.trace.match.backends.map((b: any) => b.backend.serviceName)], ['ROUTED', 'HTTPRoute', ['cart']]);
        assert.ok(d.trace.match.backends[0].backend.endpointCounts.ready > 0);
      } else if (name === 'TraceURL') {
        assert.equal(d.trace.status, 'ROUTED');
        assert.ok(d.trace.match.backends[0].backend.service.endpoints.items.length > 0);
      } else {
        assert.deepEqual(d.service.ingresses.map((i: any) => i.metadata.name), ['storefront']);
        assert.ok(d.service.pods.items.length > 0 && d.service.pods.items.every((p: any) => p.hostnames.includes('shop.example.com')));
      }
    });
  }
});
