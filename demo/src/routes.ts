/**
 * The demo cluster's routes: one IngressClass (the default) and Ingresses over the fixed
 * Services of generate.ts, so that `trace` has every answer to give:
 *
 * - `shop/storefront`, host `shop.example.com`: `/` → frontend:http, `/cart` → cart:http,
 *   `/catalog` → catalog:http (several slices, hints), `/recommendations` (Exact) →
 *   recommendations, scaled to zero (NO_READY_ENDPOINTS); TLS; a status address.
 * - `shop/storefront-preview`, host `*.shop.example.com` (one label): `/` → frontend-internal:8080.
 * - `payments/pay`, host `pay.example.com`: `/` → checkout:http, `/billing` →
 *   legacy-billing:https (selectorless, mirrored endpoints), `/refunds` → refunds, a Service
 *   that does not exist (the broken one: SERVICE_NOT_FOUND), `/fx` → fx-rates:8443, a port the
 *   ExternalName Service does not have (PORT_NOT_FOUND).
 *
 * Any other host matches nothing (NO_MATCH): no Ingress has a default backend.
 *
 * Gateway API: GatewayClass `demo`, Gateway `default/public` (listener `http` for
 * `*.example.com`, routes from all namespaces), and HTTPRoutes with controller status:
 * - `shop/api-split`, `api.example.com`: `/` → catalog 90% and cart 10% (weighted); `/v2`
 *   with header `x-canary: true` → cart only; `/legacy` redirects to shop.example.com.
 * - `shop/pay-api`, `pay-api.example.com`: → `payments/checkout`, allowed by the
 *   ReferenceGrant `payments/from-shop` (which names checkout only).
 * - `shop/ledger`, `ledger.example.com`: → `payments/ledger-db`, which no grant allows: the
 *   route is Accepted but not ResolvedRefs (REF_NOT_PERMITTED).
 */
import type { KubeObject } from './types.ts';

export interface RouteObjects {
  readonly ingressClasses: readonly KubeObject[];
  readonly ingresses: readonly KubeObject[];
  readonly gatewayClasses: readonly KubeObject[];
  readonly gateways: readonly KubeObject[];
  readonly httpRoutes: readonly KubeObject[];
  readonly referenceGrants: readonly KubeObject[];
}

/** What a route generator needs from the cluster builder: resourceVersions, uids, times. */
export interface RouteContext {
  nextRV(): string;
  uid(): string;
  /** RFC 3339 time `ms` before the cluster's base time. */
  ago(ms: number): string;
}

export function generateRoutes(b: RouteContext): RouteObjects {
  const DayMs = 86_400_000;
  const meta = (name: string, namespace: string | null, ageDays: number, extra: object = {}) => ({
    name,
    ...(namespace === null ? {} : { namespace }),
    uid: b.uid(),
    resourceVersion: b.nextRV(),
    generation: 1,
    creationTimestamp: b.ago(ageDays * DayMs),
    ...extra,
  });
  const svc = (name: string, port: number | string) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
  const path = (p: string, pathType: string, name: string, port: number | string) => ({ path: p, pathType, backend: svc(name, port) });
  const ingress = (namespace: string, name: string, ageDays: number, spec: object, status: object = {}): KubeObject =>
    ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta(name, namespace, ageDays), spec, status: { loadBalancer: status } }) as KubeObject;
  const G = 'gateway.networking.k8s.io';
  const condition = (type: string, status: 'True' | 'False', reason: string, message = '') => ({ type, status, reason, message, lastTransitionTime: b.ago(DayMs), observedGeneration: 1 });
  const parent = { group: G, kind: 'Gateway', namespace: 'default', name: 'public' };
  const httpRoute = (name: string, ageDays: number, hostnames: string[], rules: object[], resolved: true | string): KubeObject =>
    ({
      apiVersion: `${G}/v1`,
      kind: 'HTTPRoute',
      metadata: meta(name, 'shop', ageDays),
      spec: { parentRefs: [{ name: 'public', namespace: 'default' }], hostnames, rules },
      status: {
        parents: [{
          parentRef: parent,
          controllerName: 'example.com/demo-gateway',
          conditions: [condition('Accepted', 'True', 'Accepted'), resolved === true ? condition('ResolvedRefs', 'True', 'ResolvedRefs') : condition('ResolvedRefs', 'False', 'RefNotPermitted', resolved)],
        }],
      },
    }) as KubeObject;
  const ref = (name: string, port: number, o: { namespace?: string; weight?: number } = {}) => ({ name, port, ...o });
  return {
    gatewayClasses: [
      { apiVersion: `${G}/v1`, kind: 'GatewayClass', metadata: meta('demo', null, 120), spec: { controllerName: 'example.com/demo-gateway' }, status: { conditions: [condition('Accepted', 'True', 'Accepted')] } } as KubeObject,
    ],
    gateways: [
      {
        apiVersion: `${G}/v1`,
        kind: 'Gateway',
        metadata: meta('public', 'default', 120),
        spec: { gatewayClassName: 'demo', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostname: '*.example.com', allowedRoutes: { namespaces: { from: 'All' } } }] },
        status: { addresses: [{ type: 'IPAddress', value: '203.0.113.80' }], conditions: [condition('Accepted', 'True', 'Accepted'), condition('Programmed', 'True', 'Programmed')] },
      } as KubeObject,
    ],
    httpRoutes: [
      httpRoute('api-split', 45, ['api.example.com'], [
        { backendRefs: [ref('catalog', 80, { weight: 90 }), ref('cart', 80, { weight: 10 })] },
        { matches: [{ path: { type: 'PathPrefix', value: '/v2' }, headers: [{ name: 'x-canary', value: 'true' }] }], backendRefs: [ref('cart', 80)] },
        { matches: [{ path: { type: 'PathPrefix', value: '/legacy' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'shop.example.com', statusCode: 301 } }] },
      ], true),
      httpRoute('pay-api', 20, ['pay-api.example.com'], [{ backendRefs: [ref('checkout', 80, { namespace: 'payments' })] }], true),
      httpRoute('ledger', 10, ['ledger.example.com'], [{ backendRefs: [ref('ledger-db', 5432, { namespace: 'payments' })] }], 'backendRef payments/ledger-db: no ReferenceGrant allows it'),
    ],
    referenceGrants: [
      {
        apiVersion: `${G}/v1beta1`,
        kind: 'ReferenceGrant',
        metadata: meta('from-shop', 'payments', 20),
        spec: { from: [{ group: G, kind: 'HTTPRoute', namespace: 'shop' }], to: [{ group: '', kind: 'Service', name: 'checkout' }] },
      } as KubeObject,
    ],
    ingressClasses: [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: meta('nginx', null, 180, { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }),
        spec: { controller: 'k8s.io/ingress-nginx' },
      } as KubeObject,
    ],
    ingresses: [
      ingress('shop', 'storefront', 90, {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['shop.example.com'], secretName: 'storefront-tls' }],
        rules: [{
          host: 'shop.example.com',
          http: { paths: [path('/', 'Prefix', 'frontend', 'http'), path('/cart', 'Prefix', 'cart', 'http'), path('/catalog', 'Prefix', 'catalog', 'http'), path('/recommendations', 'Exact', 'recommendations', 'http')] },
        }],
      }, { ingress: [{ hostname: 'ingress-gateway.default.example.com' }] }),
      ingress('shop', 'storefront-preview', 30, {
        ingressClassName: 'nginx',
        rules: [{ host: '*.shop.example.com', http: { paths: [path('/', 'Prefix', 'frontend-internal', 8080)] } }],
      }),
      ingress('payments', 'pay', 60, {
        rules: [{
          host: 'pay.example.com',
          http: { paths: [path('/', 'Prefix', 'checkout', 'http'), path('/billing', 'Prefix', 'legacy-billing', 'https'), path('/refunds', 'Prefix', 'refunds', 'http'), path('/fx', 'Prefix', 'fx-rates', 8443)] },
        }],
      }),
    ],
  };
}
