/**
 * The GRPCRoute matcher against the Gateway API specification's rules (GRPCRouteSpec.hostnames,
 * GRPCRouteMatch and GRPCMethodMatch, and the precedence documented on GRPCRouteRule.matches),
 * and what makes an HTTP request a gRPC call. Objects are built as API objects and ingested.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ingestGateway, ingestGRPCRoute, type GatewayRecord, type GRPCRouteRecord } from '../../src/kube/gateway-api.ts';
import { grpcCallOf, matchGRPCRoute, type GRPCRequest } from '../../src/model/grpcroute-match.ts';

const gw = (listeners: object[]): GatewayRecord =>
  ingestGateway({ metadata: { namespace: 'infra', name: 'gw', uid: 'uid-gw', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { gatewayClassName: 'c', listeners } });
const listener = (o: object = {}) => ({ name: 'grpc', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } }, ...o });
let n = 0;
const route = (name: string, spec: { hostnames?: string[]; rules: object[] }, o: { namespace?: string; createdAt?: string } = {}): GRPCRouteRecord =>
  ingestGRPCRoute({
    metadata: { namespace: o.namespace ?? 'app', name, uid: `uid-${name}-${++n}`, resourceVersion: '1', creationTimestamp: o.createdAt ?? '2025-01-01T00:00:00Z' },
    spec: { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: spec.hostnames, rules: spec.rules },
  });
/** A rule sending to `backend` with GRPCRouteMatches given as [service, method, headers?, type?]. */
const rule = (backend: string, ...matches: [string | null, string | null, Record<string, string>?, string?][]) => ({
  matches: matches.map(([service, method, headers, type]) => ({
    method: { ...(type ? { type } : {}), ...(service !== null ? { service } : {}), ...(method !== null ? { method } : {}) },
    headers: Object.entries(headers ?? {}).map(([name, value]) => ({ name, value })),
  })),
  backendRefs: [{ name: backend, port: 50051 }],
});
const call = (host: string, service: string, method: string, headers: Record<string, string> = {}): GRPCRequest => ({ host, service, method, headers: new Map(Object.entries(headers)) });
const served = (routes: GRPCRouteRecord[], r: GRPCRequest, gateway = gw([listener()])) => matchGRPCRoute(routes, new Map([['infra/gw', gateway]]), r)?.rule.backendRefs[0]?.name ?? null;

describe('what makes an HTTP request a gRPC call', () => {
  const table: [string, string, string, Record<string, string>, { service: string; method: string } | null][] = [
    ['POST /package.Service/Method with content-type application/grpc', 'POST', '/shop.Cart/AddItem', { 'content-type': 'application/grpc' }, { service: 'shop.Cart', method: 'AddItem' }],
    ['a content-type with a codec suffix (application/grpc+proto)', 'POST', '/shop.Cart/AddItem', { 'content-type': 'application/grpc+proto' }, { service: 'shop.Cart', method: 'AddItem' }],
    ['GET is not a gRPC call', 'GET', '/shop.Cart/AddItem', { 'content-type': 'application/grpc' }, null],
    ['without content-type application/grpc it is plain HTTP', 'POST', '/shop.Cart/AddItem', { 'content-type': 'application/json' }, null],
    ['a path that is not /service/method is not a gRPC call', 'POST', '/shop.Cart/AddItem/x', { 'content-type': 'application/grpc' }, null],
  ];
  for (const [title, method, path, headers, want] of table) it(title, () => assert.deepEqual(grpcCallOf(method, path, new Map(Object.entries(headers))), want));
});

describe('GRPCRoute matches (GRPCMethodMatch, GRPCHeaderMatch)', () => {
  const routes = [
    route('svc', {
      rules: [
        rule('exact-both', ['shop.Cart', 'AddItem']),
        rule('service-only', ['shop.Cart', null]),
        rule('method-only', [null, 'Check']),
        rule('regex', ['shop\\.v[0-9]+\\.Orders', 'Get.*', undefined, 'RegularExpression']),
        rule('with-header', ['shop.Pay', null, { 'x-tier': 'gold' }]),
      ],
    }),
  ];
  const table: [string, GRPCRequest, string | null][] = [
    ['Exact service and method: both must be equal', call('a.example.com', 'shop.Cart', 'AddItem'), 'exact-both'],
    ['Exact is case-sensitive', call('a.example.com', 'shop.cart', 'AddItem'), null],
    ['a service-only match matches every method of the service', call('a.example.com', 'shop.Cart', 'Empty'), 'service-only'],
    ['a method-only match matches that method of any service', call('a.example.com', 'grpc.health.v1.Health', 'Check'), 'method-only'],
    ['RegularExpression matches service and method in full', call('a.example.com', 'shop.v2.Orders', 'GetOrder'), 'regex'],
    ['RegularExpression does not match a part of the name', call('a.example.com', 'xshop.v2.Orders', 'GetOrder'), null],
    ['header matches are ANDed with the method match', call('a.example.com', 'shop.Pay', 'Charge', { 'x-tier': 'gold' }), 'with-header'],
    ['a missing header fails the match', call('a.example.com', 'shop.Pay', 'Charge'), null],
  ];
  for (const [title, r, want] of table) it(title, () => assert.equal(served(routes, r), want));

  it('a rule without matches matches every gRPC call', () => {
    assert.equal(served([route('any', { rules: [{ backendRefs: [{ name: 'catch-all', port: 50051 }] }] })], call('a.example.com', 'x.Y', 'Z')), 'catch-all');
  });
});

describe('GRPCRoute precedence (GRPCRouteRule.matches: continuing on ties)', () => {
  const table: [string, GRPCRouteRecord[], GRPCRequest, string][] = [
    [
      'the most characters in a matching non-wildcard hostname win over a wildcard',
      [route('wild', { hostnames: ['*.example.com'], rules: [rule('wild', ['shop.Cart', 'AddItem'])] }), route('exact', { hostnames: ['grpc.example.com'], rules: [rule('exact', [null, null, { a: '1' }])] })],
      call('grpc.example.com', 'shop.Cart', 'AddItem', { a: '1' }),
      'exact',
    ],
    [
      'then the most characters in a matching hostname (longer wildcard first)',
      [route('short', { hostnames: ['*.example.com'], rules: [rule('short', ['shop.Cart', 'AddItem'])] }), route('long', { hostnames: ['*.grpc.example.com'], rules: [rule('long')] })],
      call('a.grpc.example.com', 'shop.Cart', 'AddItem'),
      'long',
    ],
    [
      'then the most characters in the matching service: exact service+method over the same service only',
      [route('r', { rules: [rule('service-only', ['shop.Cart', null]), rule('both', ['shop.Cart', 'AddItem'])] })],
      call('a.example.com', 'shop.Cart', 'AddItem'),
      'both',
    ],
    [
      'a service match over a method-only match',
      [route('r', { rules: [rule('method-only', [null, 'AddItem']), rule('service-only', ['shop.Cart', null])] })],
      call('a.example.com', 'shop.Cart', 'AddItem'),
      'service-only',
    ],
    [
      'service characters count before method characters: a longer matching service wins over a shorter one with a method (RegularExpression, counted as written)',
      [route('r', { rules: [rule('short-with-method', ['a\\..*', 'AddItem', undefined, 'RegularExpression']), rule('long', ['a.BBBBBBBB', null])] })],
      call('a.example.com', 'a.BBBBBBBB', 'AddItem'),
      'long',
    ],
    [
      'then the most header matches',
      [route('r', { rules: [rule('no-header', ['shop.Cart', 'AddItem']), rule('header', ['shop.Cart', 'AddItem', { 'x-canary': 'true' }])] })],
      call('a.example.com', 'shop.Cart', 'AddItem', { 'x-canary': 'true' }),
      'header',
    ],
    [
      'across routes, then the oldest route',
      [route('newer', { rules: [rule('newer', ['shop.Cart', null])] }, { createdAt: '2025-02-01T00:00:00Z' }), route('older', { rules: [rule('older', ['shop.Cart', null])] }, { createdAt: '2025-01-15T00:00:00Z' })],
      call('a.example.com', 'shop.Cart', 'AddItem'),
      'older',
    ],
    [
      'then namespace/name alphabetically',
      [route('b', { rules: [rule('b', ['shop.Cart', null])] }), route('a', { rules: [rule('a', ['shop.Cart', null])] })],
      call('a.example.com', 'shop.Cart', 'AddItem'),
      'a',
    ],
    [
      'within the route, the first matching rule',
      [route('r', { rules: [rule('first', ['shop.Cart', null]), rule('second', ['shop.Cart', null])] })],
      call('a.example.com', 'shop.Cart', 'AddItem'),
      'first',
    ],
  ];
  for (const [title, routes, r, want] of table) it(title, () => assert.equal(served(routes, r), want));
});

describe('GRPCRoute attachment', () => {
  it('a listener whose allowedRoutes kinds name only HTTPRoute does not take GRPCRoutes; one naming GRPCRoute does', () => {
    const routes = [route('r', { rules: [rule('svc')] })];
    assert.equal(served(routes, call('a.example.com', 'x.Y', 'Z'), gw([listener({ allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'HTTPRoute' }] } })])), null);
    assert.equal(served(routes, call('a.example.com', 'x.Y', 'Z'), gw([listener({ allowedRoutes: { namespaces: { from: 'All' }, kinds: [{ kind: 'GRPCRoute' }] } })])), 'svc');
  });

  it('the listener hostname must match the request host', () => {
    const routes = [route('r', { rules: [rule('svc')] })];
    assert.equal(served(routes, call('a.other.com', 'x.Y', 'Z'), gw([listener({ hostname: '*.example.com' })])), null);
    assert.equal(served(routes, call('a.example.com', 'x.Y', 'Z'), gw([listener({ hostname: '*.example.com' })])), 'svc');
  });
});
