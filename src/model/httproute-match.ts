/**
 * Which HTTPRoute rule serves a request, by the Gateway API's matching rules
 * (gateway.networking.k8s.io/v1 HTTPRoute: HTTPRouteSpec.hostnames, HTTPRouteRule.matches and
 * their documented precedence), pure and synchronous.
 *
 * - Attachment: a route takes part through each parentRef naming a Gateway and (optionally) a
 *   listener by sectionName or port, when the listener's allowedRoutes admit it (namespaces
 *   Same: the Gateway's namespace; All; Selector is not evaluated, since Namespaces are not
 *   cached, and admits; kinds: empty or HTTPRoute).
 * - Hostnames: the request host must match the listener's hostname (when set) and one of the
 *   route's hostnames (when it has any). `*.example.com` matches any host ending in
 *   `.example.com` (one label or more), never `example.com`.
 * - Precedence: the route whose matching hostname has the most characters as a non-wildcard
 *   hostname, then the most characters; then per match: an Exact path, then the longest
 *   PathPrefix, then a method match, then the most header matches, then the most query
 *   parameter matches; then the oldest route, then namespace/name alphabetically, then the
 *   first rule and match in list order. RegularExpression paths rank after PathPrefix (their
 *   precedence is implementation-specific).
 * - Paths: Exact is string equality; PathPrefix is element-wise on `/`, trailing slash ignored
 *   (as Ingress Prefix); a rule without matches has PathPrefix `/`.
 * - Headers: names case-insensitive, Exact values or RegularExpression (JavaScript syntax, run
 *   in linear time by ./regex.ts; an invalid one, or one that cannot run in linear time,
 *   matches nothing). Query parameters: exact names, Exact or RegularExpression.
 */
import type { GatewayRecord, GRPCRouteRecord, HeaderMatch, HTTPRouteMatch, HTTPRouteRecord, HTTPRouteRule, Listener, ParentRef, ReferenceGrantRecord } from '../kube/gateway-api.ts';
import { GatewayGroup, isGatewayRef } from '../kube/gateway-api.ts';
import { matchPath } from './ingress-match.ts';
import { compareRanks } from './text.ts';
import { regexFull } from './regex.ts';

export interface HTTPRequest {
  /** Lower-case, without port. */
  readonly host: string;
  readonly path: string;
  /** Upper-case. */
  readonly method: string;
  /** Names lower-case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly query: URLSearchParams;
}

export type HTTPRouteMatchResult = RouteMatch<HTTPRouteRecord, HTTPRouteMatch>;

/** Every listener of `gateways` a route's parentRef attaches it to. */
export function attachedListeners(route: HTTPRouteRecord | GRPCRouteRecord, ref: ParentRef, gateway: GatewayRecord): Listener[] {
  if (!isGatewayRef(ref) || ref.namespace !== gateway.meta.namespace || ref.name !== gateway.meta.name) return [];
  return gateway.listeners.filter(
    (l) =>
      (ref.sectionName === null || ref.sectionName === l.name) &&
      (ref.port === null || ref.port === l.port) &&
      (l.allowedNamespaces !== 'Same' || route.meta.namespace === gateway.meta.namespace) &&
      (l.allowedKinds.length === 0 || l.allowedKinds.includes(route.kind)) &&
      (l.hostname === null || route.hostnames.length === 0 || route.hostnames.some((h) => hostnamesIntersect(h, l.hostname!))),
  );
}

/** The rule that serves `request` among `routes` attached to `gateways`, or null. */
export function matchHTTPRoute(routes: readonly HTTPRouteRecord[], gateways: ReadonlyMap<string, GatewayRecord>, request: HTTPRequest): HTTPRouteMatchResult | null {
  return bestRouteMatch(
    routes,
    gateways,
    request.host,
    (rule) => rule.matches,
    (match) => matches(match, request),
    (match) => [
      match.pathType === 'Exact' ? 0 : match.pathType === 'PathPrefix' ? 1 : 2,
      -(match.pathType === 'PathPrefix' ? match.pathValue.split('/').filter((e) => e !== '').join('/').length : 0),
      match.method !== null ? 0 : 1,
      -match.headers.length,
      -match.queryParams.length,
    ],
  );
}

/** A route's rule and match that serve a request, and where the route attaches. */
export interface RouteMatch<R extends HTTPRouteRecord | GRPCRouteRecord, M> {
  readonly route: R;
  readonly gateway: GatewayRecord;
  readonly listener: Listener;
  /** The route hostname that matched; null when the route has none. */
  readonly hostname: string | null;
  readonly ruleIndex: number;
  readonly rule: R['rules'][number];
  readonly match: M;
}

/**
 * The walk HTTPRoute and GRPCRoute matching share: every listener each route attaches to whose
 * hostname admits the request host, the route hostname that matches it, then every candidate
 * match of every rule that `accepts` the request; the best by the Gateway API precedence:
 * hostname (hostnameRank), then the kind's own `specificity` (lower first), then the oldest
 * route, namespace/name, rule index and match index.
 */
export function bestRouteMatch<R extends HTTPRouteRecord | GRPCRouteRecord, M>(
  routes: readonly R[],
  gateways: ReadonlyMap<string, GatewayRecord>,
  host: string,
  candidates: (rule: R['rules'][number]) => readonly M[],
  accepts: (match: M) => boolean,
  specificity: (match: M) => readonly (number | string)[],
): RouteMatch<R, M> | null {
  let best: { result: RouteMatch<R, M>; rank: (number | string)[] } | null = null;
  for (const route of routes) {
    for (const ref of route.parentRefs) {
      const gateway = gateways.get(`${ref.namespace}/${ref.name}`);
      if (!gateway || ref.group !== GatewayGroup) continue;
      for (const listener of attachedListeners(route, ref, gateway)) {
        if (listener.hostname !== null && !hostMatches(listener.hostname, host)) continue;
        const { hostname, ok } = routeHostname(route.hostnames, host);
        if (!ok) continue;
        (route.rules as readonly R['rules'][number][]).forEach((rule, ruleIndex) => {
          candidates(rule).forEach((match, matchIndex) => {
            if (!accepts(match)) return;
            const rank = [...hostnameRank(hostname), ...specificity(match), route.meta.creationTimestamp, `${route.meta.namespace}\0${route.meta.name}`, ruleIndex, matchIndex];
            if (best === null || compareRanks(rank, best.rank) < 0) best = { result: { route, gateway, listener, hostname, ruleIndex, rule, match }, rank };
          });
        });
      }
    }
  }
  return best === null ? null : (best as { result: RouteMatch<R, M> }).result;
}

/** Gateway API hostname matching: exact (case-insensitive), or `*.suffix` for any host under it. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : p === host;
}

/** Whether two hostnames (either may be a wildcard) can match a common host. */
export function hostnamesIntersect(a: string, b: string): boolean {
  if (!a.startsWith('*.') && !b.startsWith('*.')) return a === b;
  if (!a.startsWith('*.')) return hostMatches(b, a);
  if (!b.startsWith('*.')) return hostMatches(a, b);
  return a.endsWith(b.slice(1)) || b.endsWith(a.slice(1));
}

/** Whether one HTTPRouteMatch matches the request (every condition in it). */
export function matches(m: HTTPRouteMatch, request: HTTPRequest): boolean {
  const pathOk =
    m.pathType === 'Exact' ? m.pathValue === request.path : m.pathType === 'PathPrefix' ? matchPath('Prefix', m.pathValue, request.path) : regexFull(m.pathValue, request.path);
  if (!pathOk) return false;
  if (m.method !== null && m.method !== request.method) return false;
  if (!headersMatch(m.headers, request.headers)) return false;
  for (const q of m.queryParams) {
    const v = request.query.get(q.name);
    if (v === null || !(q.type === 'RegularExpression' ? regexFull(q.value, v) : v === q.value)) return false;
  }
  return true;
}

/** Whether every header match holds (names case-insensitive; Exact, or RegularExpression in JavaScript syntax). */
export function headersMatch(headers: readonly HeaderMatch[], requestHeaders: ReadonlyMap<string, string>): boolean {
  for (const h of headers) {
    const v = requestHeaders.get(h.name.toLowerCase());
    if (v === undefined || !(h.type === 'RegularExpression' ? regexFull(h.value, v) : v === h.value)) return false;
  }
  return true;
}

/**
 * The route's hostname that matches `host` and decides its precedence (a non-wildcard one
 * first, then the longest): `ok` false when the route has hostnames and none matches;
 * `hostname` null when it has none (it matches every host).
 */
export function routeHostname(hostnames: readonly string[], host: string): { readonly hostname: string | null; readonly ok: boolean } {
  if (hostnames.length === 0) return { hostname: null, ok: true };
  const hostname = bestHostname(hostnames, host);
  return { hostname, ok: hostname !== null };
}

/** Precedence by hostname, most specific first: [non-wildcard characters, characters], negated for an ascending sort. */
export function hostnameRank(hostname: string | null): [number, number] {
  return [-(hostname !== null && !hostname.startsWith('*.') ? hostname.length : 0), -(hostname?.length ?? 0)];
}

// Private:

function bestHostname(hostnames: readonly string[], host: string): string | null {
  let best: string | null = null;
  for (const h of hostnames) {
    if (!hostMatches(h, host)) continue;
    const exact = !h.startsWith('*.');
    if (best === null || (exact && best.startsWith('*.')) || (exact === !best.startsWith('*.') && h.length > best.length)) best = h;
  }
  return best;
}


/**
 * Whether a route in `fromNamespace` may send traffic to Service `toName` in the namespace of
 * `grants` (the ReferenceGrants of that namespace): always within one namespace; across
 * namespaces only when a grant lists the route's kind and namespace in `from` and Services (all,
 * or this one by name) in `to`.
 */
export function referencePermitted(grants: readonly ReferenceGrantRecord[], fromKind: string, fromNamespace: string, toNamespace: string, toName: string): boolean {
  if (fromNamespace === toNamespace) return true;
  return grants.some(
    (g) =>
      g.meta.namespace === toNamespace &&
      g.from.some((f) => f.group === GatewayGroup && f.kind === fromKind && f.namespace === fromNamespace) &&
      g.to.some((t) => t.group === '' && t.kind === 'Service' && (t.name === null || t.name === toName)),
  );
}

/** Each backendRef's share of the rule's traffic in percent (weights summing to 0: all 0). */
export function weightPercents(weights: readonly number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (total === 0 ? 0 : (w * 100) / total));
}
