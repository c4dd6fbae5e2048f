/**
 * Which GRPCRoute rule serves a gRPC request, by the Gateway API's matching rules
 * (gateway.networking.k8s.io/v1 GRPCRoute: GRPCRouteSpec.hostnames, GRPCRouteRule.matches and
 * their documented precedence), pure and synchronous.
 *
 * - A gRPC request is what a gRPC client sends: `POST /package.Service/Method` with
 *   `content-type: application/grpc` (or `application/grpc+proto`, `application/grpc+json`...).
 * - Attachment and hostnames as for HTTPRoutes (model/httproute-match.ts): through a parentRef
 *   to a listener that admits GRPCRoutes (allowedRoutes kinds empty or naming GRPCRoute), the
 *   request host matching the listener's and one of the route's hostnames.
 * - Method matches: Exact compares service and method case-sensitively, an omitted one matches
 *   anything; RegularExpression matches each given part in full (JavaScript syntax, in linear
 *   time: ./regex.ts; an invalid one matches nothing). A rule without matches matches every request. Headers as HTTPRoute's.
 * - Precedence, continuing on ties: the most characters in a matching non-wildcard hostname,
 *   then in a matching hostname; then the most characters in the matching service, then in the
 *   matching method (as written in the match: a service+method match beats a service-only one
 *   of the same service, which beats a method-only one); then the most header matches; then
 *   the oldest route, then namespace/name alphabetically, then the first rule and match.
 */
import type { GatewayRecord, GRPCRouteRecord, GRPCRouteRule } from '../kube/gateway-api.ts';
import { bestRouteMatch, headersMatch, type RouteMatch } from './httproute-match.ts';
import { regexFull } from './regex.ts';

export interface GRPCRequest {
  /** Lower-case, without port. */
  readonly host: string;
  /** The fully qualified service, `package.Service`. */
  readonly service: string;
  readonly method: string;
  /** Names lower-case. */
  readonly headers: ReadonlyMap<string, string>;
}

export type GRPCMethodMatch = GRPCRouteRule['matches'][number];

/** `match` is null for a rule without matches (it takes every call). */
export type GRPCRouteMatchResult = RouteMatch<GRPCRouteRecord, GRPCMethodMatch | null>;

/**
 * The gRPC service and method of an HTTP request, when it is a gRPC call (POST, content-type
 * application/grpc or application/grpc+..., path `/service/method`); else null.
 */
export function grpcCallOf(method: string, path: string, headers: ReadonlyMap<string, string>): { readonly service: string; readonly method: string } | null {
  if (method !== 'POST') return null;
  const type = headers.get('content-type')?.split(';')[0]!.trim().toLowerCase();
  if (type === undefined || !(type === 'application/grpc' || type.startsWith('application/grpc+'))) return null;
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m === null ? null : { service: m[1]!, method: m[2]! };
}

/** The rule that serves `request` among `routes` attached to `gateways`, or null. */
export function matchGRPCRoute(routes: readonly GRPCRouteRecord[], gateways: ReadonlyMap<string, GatewayRecord>, request: GRPCRequest): GRPCRouteMatchResult | null {
  return bestRouteMatch(
    routes,
    gateways,
    request.host,
    (rule): readonly (GRPCMethodMatch | null)[] => (rule.matches.length === 0 ? [null] : rule.matches),
    (match) => match === null || grpcMatches(match, request),
    (match) => [-(match?.service?.length ?? 0), -(match?.method?.length ?? 0), -(match?.headers.length ?? 0)],
  );
}

/** Whether one GRPCRouteMatch matches the request (method and every header). */
export function grpcMatches(m: GRPCMethodMatch, request: GRPCRequest): boolean {
  const part = (want: string | null, got: string) => want === null || want === '' || (m.type === 'RegularExpression' ? regexFull(want, got) : want === got);
  return part(m.service, request.service) && part(m.method, request.method) && headersMatch(m.headers, request.headers);
}
