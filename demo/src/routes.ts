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
 */
import type { KubeObject } from './types.ts';

export interface RouteObjects {
  readonly ingressClasses: readonly KubeObject[];
  readonly ingresses: readonly KubeObject[];
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
  return {
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
