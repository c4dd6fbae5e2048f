/**
 * Which Services a request to a hostname and path is routed to, by the matching `trace` uses
 * (HTTPRoutes first, then Ingresses; ReferenceGrants honoured): the scope of a host-scoped
 * `endpointChanges` subscription. Pure and synchronous, over an immutable snapshot of the
 * routing objects, so that every step of the endpoint history can say which Services were in
 * scope when it happened.
 *
 * The request is `GET http://HOST/PATH` without headers or query parameters. Of the matched
 * HTTPRoute rule, every Service backendRef with a weight above 0 that is permitted (same
 * namespace, or a ReferenceGrant allows it) is in scope; a rule that redirects sends no traffic
 * to backends and has none. Of the matched Ingress rule (or default backend), its Service.
 * Whether the Service exists or has the port does not matter: its endpoints are what it has.
 */
import type { GatewayRecord, HTTPRouteRecord, ReferenceGrantRecord } from '../kube/gateway-api.ts';
import { isServiceRef, routeServiceKeys } from '../kube/gateway-api.ts';
import { objectKey } from '../kube/records.ts';
import type { IngressRecord } from '../kube/routes.ts';
import { ingressServiceKeys } from '../kube/routes.ts';
import type { Store } from '../kube/store.ts';
import { matchHTTPRoute, referencePermitted } from './httproute-match.ts';
import { matchIngress } from './ingress-match.ts';

/** The routing objects at one moment. Shared and immutable: derive a new one on change. */
export interface RouteState {
  readonly ingresses: readonly IngressRecord[];
  readonly httpRoutes: readonly HTTPRouteRecord[];
  readonly gateways: readonly GatewayRecord[];
  readonly referenceGrants: readonly ReferenceGrantRecord[];
  /** Every Service any of these routes names: the only Services a change of routes can move in or out of a scope. */
  readonly backends: ReadonlySet<string>;
}

/** The stores a RouteState is read from (the cluster cache has them). */
export interface RouteStores {
  readonly ingresses: Store<IngressRecord>;
  readonly httpRoutes: Store<HTTPRouteRecord>;
  readonly gateways: Store<GatewayRecord>;
  readonly referenceGrants: Store<ReferenceGrantRecord>;
}

/** What a host-scoped subscription follows. */
export interface RouteTarget {
  /** Lower-case, without port. */
  readonly host: string;
  readonly path: string;
  /** Only the routing objects of this namespace take part (the caller may not list them cluster-wide); null: every namespace. */
  readonly routeNamespace: string | null;
}

export const NoRoutes: RouteState = Object.freeze({ ingresses: [], httpRoutes: [], gateways: [], referenceGrants: [], backends: new Set<string>() });

/** The routing objects the stores hold now. */
export function routeStateOf(stores: RouteStores): RouteState {
  const ingresses = [...stores.ingresses.list()];
  const httpRoutes = [...stores.httpRoutes.list()];
  const backends = new Set<string>();
  for (const i of ingresses) for (const k of ingressServiceKeys(i)) backends.add(k);
  for (const r of httpRoutes) for (const k of routeServiceKeys(r)) backends.add(k);
  return Object.freeze({ ingresses, httpRoutes, gateways: [...stores.gateways.list()], referenceGrants: [...stores.referenceGrants.list()], backends });
}

type RoutingRecord = IngressRecord | HTTPRouteRecord | GatewayRecord | ReferenceGrantRecord;

/**
 * Whether a store event changes what routing reads (not only status: controllers write route
 * and Gateway status often, and those writes move no Service in or out of any scope).
 */
export function routingChanged(old: RoutingRecord | null, now: RoutingRecord | null): boolean {
  if (old === null || now === null) return old !== now;
  return JSON.stringify(routingFields(old)) !== JSON.stringify(routingFields(now));
}

/** The Service keys a request to `target` is routed to in `state` (see the module comment). Memoized per state and target. */
export function routedServices(state: RouteState, target: RouteTarget): ReadonlySet<string> {
  let byTarget = memo.get(state);
  if (!byTarget) memo.set(state, (byTarget = new Map()));
  const key = `${target.routeNamespace ?? ''}\0${target.host}\0${target.path}`;
  let out = byTarget.get(key);
  if (!out) byTarget.set(key, (out = compute(state, target)));
  return out;
}

// Private:

const memo = new WeakMap<RouteState, Map<string, ReadonlySet<string>>>();

/** What matching reads of a routing object (its creation time decides ties). */
function routingFields(r: RoutingRecord): unknown {
  const created = r.meta.creationTimestamp;
  switch (r.kind) {
    case 'Ingress':
      return [created, r.rules, r.defaultBackend];
    case 'HTTPRoute':
      return [created, r.parentRefs, r.hostnames, r.rules];
    case 'Gateway':
      return [created, r.listeners];
    case 'ReferenceGrant':
      return [created, r.from, r.to];
    default:
      return r satisfies never;
  }
}

function compute(state: RouteState, target: RouteTarget): ReadonlySet<string> {
  const ns = target.routeNamespace;
  const visible = <T extends { readonly meta: { readonly namespace: string } }>(items: readonly T[]) => (ns === null ? items : items.filter((i) => i.meta.namespace === ns));
  const out = new Set<string>();
  const request = { host: target.host, path: target.path, method: 'GET', headers: new Map<string, string>(), query: new URLSearchParams() };
  const gateways = new Map(visible(state.gateways).map((g) => [objectKey(g.meta), g]));
  const route = gateways.size === 0 ? null : matchHTTPRoute(visible(state.httpRoutes), gateways, request);
  if (route !== null) {
    if (route.rule.filters.some((f) => f.type === 'RequestRedirect')) return out;
    const from = route.route.meta.namespace;
    for (const r of route.rule.backendRefs) {
      if (r.weight > 0 && isServiceRef(r) && referencePermitted(state.referenceGrants, 'HTTPRoute', from, r.namespace, r.name)) out.add(`${r.namespace}/${r.name}`);
    }
    return out;
  }
  const ing = matchIngress(visible(state.ingresses), request);
  if (ing !== null && ing.backend.service !== null) out.add(`${ing.ingress.meta.namespace}/${ing.backend.service.name}`);
  return out;
}
