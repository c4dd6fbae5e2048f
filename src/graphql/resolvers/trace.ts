/**
 * `Query.trace`, TraceMatch and TraceBackend: which Ingress rule, HTTPRoute rule or (for a gRPC
 * call) GRPCRoute rule serves a URL (src/model/ingress-match.ts, src/model/httproute-match.ts,
 * src/model/grpcroute-match.ts, docs/routes.md), among the objects the caller may list, and
 * whether its backends can take the request.
 */
import { isServiceRef, type BackendRef, type GatewayRecord, type RouteFilter } from '../../kube/gateway-api.ts';
import { grpcCallOf, matchGRPCRoute, type GRPCRequest } from '../../model/grpcroute-match.ts';
import { objectKey } from '../../kube/records.ts';
import type { IngressBackend } from '../../kube/routes.ts';
import { matchHTTPRoute, weightPercents } from '../../model/httproute-match.ts';
import { matchIngress, requestOfUrl, type IngressMatch } from '../../model/ingress-match.ts';
import type { GatewayContext } from '../context.ts';
import { badUserInput, ErrorCode } from '../errors.ts';
import type { QueryResolvers, TraceBackendResolvers, TraceMatchResolvers } from '../generated/resolvers-types.ts';
import { NamespaceAll } from '../loaders.ts';
import type { TraceBackendParent, TraceMatchParent, TraceParent } from '../parents.ts';
import { methodArg, portOf, resolvePort } from './ingress.ts';

export const TraceQuery: Pick<QueryResolvers, 'trace'> = {
  trace: (_, a, ctx) => trace(ctx, a.url, a.method ?? null, a.headers ?? []),
};

export const TraceMatch: TraceMatchResolvers = {
  kind: (m) => m.kind,
  ingress: (m) => (m.kind === 'Ingress' ? m.match.ingress : null),
  hostMatch: (m) => (m.kind === 'Ingress' ? m.match.hostMatch : m.match.hostname === null ? 'ANY' : m.match.hostname.startsWith('*.') ? 'WILDCARD' : 'EXACT'),
  ruleHost: (m) => (m.kind === 'Ingress' ? m.match.ruleHost : m.match.hostname),
  path: (m) => (m.kind === 'Ingress' && m.match.path !== null ? { namespace: m.match.ingress.meta.namespace, path: m.match.path } : null),
  backends: (m) => m.backends,
  httpRoute: (m) => (m.kind === 'HTTPRoute' ? m.match.route : null),
  grpcRoute: (m) => (m.kind === 'GRPCRoute' ? m.match.route : null),
  grpcMatch: (m) => (m.kind === 'GRPCRoute' ? m.match.match : null),
  gateway: (m) => (m.kind === 'Ingress' ? null : m.match.gateway),
  listener: (m) => (m.kind === 'Ingress' ? null : m.match.listener.name),
  httpMatch: (m) => (m.kind === 'HTTPRoute' ? m.match.match : null),
  filters: (m) => (m.kind === 'HTTPRoute' ? m.match.rule.filters : []),
};

export const TraceBackend: TraceBackendResolvers = {
  backend: (b) => ({ namespace: b.namespace, backend: b.backend }),
};

// Private:

type Verdict = Pick<TraceParent, 'status' | 'message'>;

async function trace(ctx: GatewayContext, url: string, method: string | null, headers: readonly { readonly name: string; readonly value: string }[]): Promise<TraceParent> {
  let request;
  try {
    request = requestOfUrl(url);
  } catch (err) {
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, (err as Error).message);
  }
  const base = { host: request.host, path: request.path, method: methodArg(method) };
  const headerMap = new Map(headers.map((h) => [h.name.toLowerCase(), h.value]));
  const call = grpcCallOf(base.method, request.path, headerMap);
  const [ingressSide, httpSide, grpcSide] = await Promise.all([
    traceIngress(ctx, request),
    traceHTTPRoute(ctx, { ...request, method: base.method, headers: headerMap }),
    call === null ? null : traceGRPCRoute(ctx, { host: request.host, ...call, headers: headerMap }),
  ]);
  // A gRPC call goes to a GRPCRoute first: HTTPRoutes and GRPCRoutes are not merged (GRPCRouteRule.matches).
  const routeSide = grpcSide ?? httpSide;
  const first = routeSide ?? ingressSide;
  if (first === null) {
    const what = call === null ? 'no HTTPRoute, Ingress rule or default backend matches' : `no GRPCRoute matches the gRPC call ${call.service}/${call.method}, and no HTTPRoute, Ingress rule or default backend matches`;
    return { ...base, status: 'NO_MATCH', message: `${what} host ${request.host} and path ${request.path}`, match: null, alsoMatched: null };
  }
  return { ...base, status: first.verdict.status, message: first.verdict.message, match: first.match, alsoMatched: routeSide ? (ingressSide?.match ?? null) : null };
}

async function traceIngress(ctx: GatewayContext, request: { host: string; path: string }): Promise<{ match: TraceMatchParent; verdict: Verdict } | null> {
  const match = matchIngress(await ctx.loaders.routes.ingressesByHostname.load(request.host), request);
  if (match === null) return null;
  const ing = match.ingress;
  const backend: TraceBackendParent = { namespace: ing.meta.namespace, backend: match.backend, weightPercent: 100, permitted: true };
  return { match: { kind: 'Ingress', match, backends: [backend] }, verdict: await ingressVerdict(ctx, match) };
}

async function ingressVerdict(ctx: GatewayContext, match: IngressMatch): Promise<Verdict> {
  const ing = match.ingress;
  const where = `Ingress ${objectKey(ing.meta)} (${match.hostMatch === 'DEFAULT_BACKEND' ? 'default backend' : `host ${match.ruleHost ?? '*'}, ${match.path!.pathType} ${match.path!.path ?? '/'}`})`;
  const svcRef = match.backend.service;
  if (svcRef === null) {
    const r = match.backend.resource;
    return { status: 'RESOURCE_BACKEND', message: `${where} sends traffic to ${r ? `${r.kind} ${r.name}` : 'a resource'}, not a Service` };
  }
  return serviceVerdict(ctx, where, `${ing.meta.namespace}/${svcRef.name}`, match.backend);
}

/** The verdict on one Service backend: exists, has the port, has ready endpoints. */
async function serviceVerdict(ctx: GatewayContext, where: string, svcKey: string, backend: IngressBackend): Promise<Verdict & { ready: number }> {
  const [svc, view] = await Promise.all([ctx.loaders.serviceByKey.load(svcKey), ctx.loaders.endpointsByService.load(svcKey)]);
  const port = portOf(backend);
  if (svc === null) return { status: 'SERVICE_NOT_FOUND', message: `${where} sends traffic to Service ${svcKey}, which does not exist`, ready: 0 };
  if (resolvePort(svc.ports, backend) === undefined) {
    return { status: 'PORT_NOT_FOUND', message: `${where} sends traffic to port ${port} of Service ${svcKey}, which has no such port`, ready: 0 };
  }
  const ready = view?.counts.ready ?? 0;
  if (ready === 0) return { status: 'NO_READY_ENDPOINTS', message: `${where} sends traffic to Service ${svcKey} port ${port}, which has no ready endpoint (${view?.counts.total ?? 0} endpoints)`, ready };
  return { status: 'ROUTED', message: `${where} sends traffic to Service ${svcKey} port ${port}: ${ready} ready endpoint${ready === 1 ? '' : 's'}`, ready };
}

async function traceHTTPRoute(
  ctx: GatewayContext,
  request: { host: string; path: string; method: string; headers: ReadonlyMap<string, string>; query: URLSearchParams },
): Promise<{ match: TraceMatchParent; verdict: Verdict } | null> {
  const [routes, gateways] = await Promise.all([ctx.loaders.routes.httpRoutesByNamespace.load(NamespaceAll), ctx.loaders.routes.gatewaysByNamespace.load(NamespaceAll)]);
  if (routes.length === 0 || gateways.length === 0) return null;
  const byKey = new Map<string, GatewayRecord>(gateways.map((g) => [objectKey(g.meta), g]));
  const match = matchHTTPRoute(routes, byKey, request);
  if (match === null) return null;
  const backends = await backendsOf(ctx, 'HTTPRoute', match.route.meta.namespace, match.rule.backendRefs);
  const m = match.match;
  const where = `HTTPRoute ${objectKey(match.route.meta)} (Gateway ${objectKey(match.gateway.meta)} listener ${match.listener.name}, rule ${match.ruleIndex + 1}, ${m.pathType} ${m.pathValue}${m.method ? ` ${m.method}` : ''})`;
  return { match: { kind: 'HTTPRoute', match, backends }, verdict: await routeVerdict(ctx, where, match.rule.filters, backends) };
}

async function traceGRPCRoute(ctx: GatewayContext, request: GRPCRequest): Promise<{ match: TraceMatchParent; verdict: Verdict } | null> {
  const [routes, gateways] = await Promise.all([ctx.loaders.routes.grpcRoutesByNamespace.load(NamespaceAll), ctx.loaders.routes.gatewaysByNamespace.load(NamespaceAll)]);
  if (routes.length === 0 || gateways.length === 0) return null;
  const match = matchGRPCRoute(routes, new Map<string, GatewayRecord>(gateways.map((g) => [objectKey(g.meta), g])), request);
  if (match === null) return null;
  const backends = await backendsOf(ctx, 'GRPCRoute', match.route.meta.namespace, match.rule.backendRefs);
  const m = match.match;
  const matched = m === null ? 'any call' : `${m.type} ${m.service ?? '*'}/${m.method ?? '*'}`;
  const where = `GRPCRoute ${objectKey(match.route.meta)} (Gateway ${objectKey(match.gateway.meta)} listener ${match.listener.name}, rule ${match.ruleIndex + 1}, ${matched})`;
  return { match: { kind: 'GRPCRoute', match, backends }, verdict: await routeVerdict(ctx, where, [], backends) };
}

/** A route rule's backendRefs as trace backends: weight shares, and whether a ReferenceGrant permits each. */
async function backendsOf(ctx: GatewayContext, kind: 'HTTPRoute' | 'GRPCRoute', namespace: string, refs: readonly BackendRef[]): Promise<TraceBackendParent[]> {
  const percents = weightPercents(refs.map((r) => r.weight));
  const permitted = await ctx.loaders.routes.referencePermitted.loadMany(refs.map((r) => `${kind}|${namespace}|${r.namespace}|${r.name}`));
  return refs.map((r, i) => ({ namespace: r.namespace, backend: asBackend(r), weightPercent: percents[i]!, permitted: permitted[i] === true }));
}

async function routeVerdict(ctx: GatewayContext, where: string, filters: readonly RouteFilter[], backends: readonly TraceBackendParent[]): Promise<Verdict> {
  const redirect = filters.find((f) => f.type === 'RequestRedirect');
  if (redirect) return { status: 'ROUTED', message: `${where} redirects${redirect.detail ? ` (${redirect.detail})` : ''}` };
  if (backends.length === 0) return { status: 'SERVICE_NOT_FOUND', message: `${where} has no backendRefs` };
  const allowed = backends.filter((b) => b.permitted && b.weightPercent > 0);
  if (allowed.length === 0 && backends.some((b) => !b.permitted)) {
    const refused = backends.filter((b) => !b.permitted).map((b) => `${b.namespace}/${b.backend.service?.name ?? b.backend.resource?.name}`);
    return { status: 'REF_NOT_PERMITTED', message: `${where} sends traffic to ${refused.join(', ')} in another namespace, and no ReferenceGrant allows it` };
  }
  const verdicts = await Promise.all(
    allowed.map((b) =>
      b.backend.service
        ? serviceVerdict(ctx, where, `${b.namespace}/${b.backend.service.name}`, b.backend)
        : Promise.resolve({ status: 'RESOURCE_BACKEND' as const, message: `${where} sends traffic to ${b.backend.resource?.kind} ${b.backend.resource?.name}, not a Service`, ready: 0 }),
    ),
  );
  const ready = verdicts.reduce((n, v) => n + v.ready, 0);
  if (ready > 0) {
    const shares = allowed.map((b, i) => `${b.namespace}/${b.backend.service?.name} ${round(b.weightPercent)}% (${verdicts[i]!.ready} ready)`);
    const refused = backends.length - backends.filter((b) => b.permitted).length;
    return { status: 'ROUTED', message: `${where} sends traffic to ${shares.join(', ')}${refused > 0 ? `; ${refused} backend${refused === 1 ? '' : 's'} refused for lack of a ReferenceGrant` : ''}` };
  }
  return verdicts.length === 1 ? verdicts[0]! : { status: 'NO_READY_ENDPOINTS', message: `${where}: none of its backends has a ready endpoint (${verdicts.map((v) => v.message.slice(where.length + 1)).join('; ')})` };
}

function asBackend(r: BackendRef): IngressBackend {
  return isServiceRef(r)
    ? { service: { name: r.name, portName: null, portNumber: r.port }, resource: null }
    : { service: null, resource: { apiGroup: r.group === '' ? null : r.group, kind: r.kind, name: r.name } };
}

function round(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
