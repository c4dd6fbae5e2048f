/**
 * Gateway API types (schema/gateway-api.graphql): GatewayClass, Gateway and its listeners with
 * their attached routes, HTTPRoute (rules, matches, filters, weighted backendRefs with their
 * ReferenceGrant verdict, status parents), GRPCRoute, ReferenceGrant; the Query lists and
 * Service.httpRoutes / grpcRoutes. Data only through the route loaders.
 */
import { isServiceRef, type BackendRef, type Condition, type GRPCRouteRecord, type HTTPRouteRecord } from '../../kube/gateway-api.ts';
import { objectKey } from '../../kube/records.ts';
import { attachedListeners, weightPercents } from '../../model/httproute-match.ts';
import { optionalNamespaceArg } from '../args.ts';
import type { GatewayContext } from '../context.ts';
import type {
  GatewayListenerResolvers,
  GatewayResolvers,
  GatewayClassResolvers,
  GrpcRouteResolvers,
  HttpRouteResolvers,
  HttpRouteRuleResolvers,
  QueryResolvers,
  ReferenceGrantResolvers,
  RouteBackendRefResolvers,
  RouteParentStatusResolvers,
  ServiceResolvers,
} from '../generated/resolvers-types.ts';
import { NamespaceAll } from '../loaders.ts';
import type { RouteBackendRefParent } from '../parents.ts';
import { AllClasses } from '../route-loaders.ts';
import { byZone, NoEndpoints } from './service.ts';
import { present } from './shared.ts';
import type { Resource } from '../../auth/access.ts';

export const GatewayClass: GatewayClassResolvers = {};

export const Gateway: GatewayResolvers = {
  listeners: (g) => g.listeners.map((listener) => ({ gateway: g, listener })),
};

export const GatewayListener: GatewayListenerResolvers = {
  name: (l) => l.listener.name,
  hostname: (l) => l.listener.hostname,
  port: (l) => l.listener.port,
  protocol: (l) => l.listener.protocol,
  allowedNamespaces: (l) => l.listener.allowedNamespaces,
  httpRoutes: async (l, _, ctx) => {
    const routes = await ctx.loaders.routes.httpRoutesByGateway.load(objectKey(l.gateway.meta));
    return routes.filter((r) => r.parentRefs.some((ref) => attachedListeners(r, ref, l.gateway).includes(l.listener)));
  },
};

export const HTTPRoute: HttpRouteResolvers = {
  rules: (r) => r.rules.map((rule) => ({ route: r, rule })),
  parents: (r) => r.parents,
  gateways: async (r, _, ctx) => present(await ctx.loaders.routes.gatewayByKey.loadMany([...new Set(r.parentRefs.map((p) => `${p.namespace}/${p.name}`))].sort())),
};

export const HTTPRouteRule: HttpRouteRuleResolvers = {
  name: (r) => r.rule.name,
  matches: (r) => r.rule.matches,
  filters: (r) => r.rule.filters,
  backendRefs: (r) => backendRefsOf('HTTPRoute', r.route.meta.namespace, r.rule.backendRefs),
};

export const GRPCRoute: GrpcRouteResolvers = {
  parents: (r) => r.parents,
  backendRefs: (r) => r.rules.flatMap((rule) => backendRefsOf('GRPCRoute', r.meta.namespace, rule.backendRefs)),
};

export const RouteBackendRef: RouteBackendRefResolvers = {
  group: (b) => b.ref.group,
  kind: (b) => b.ref.kind,
  namespace: (b) => b.ref.namespace,
  name: (b) => b.ref.name,
  port: (b) => b.ref.port,
  weight: (b) => b.ref.weight,
  weightPercent: (b) => b.weightPercent,
  permitted: (b, _, ctx) => ctx.loaders.routes.referencePermitted.load(`${b.routeKind}|${b.routeNamespace}|${b.ref.namespace}|${b.ref.name}`),
  service: (b, _, ctx) => (isServiceRef(b.ref) ? ctx.loaders.serviceByKey.load(`${b.ref.namespace}/${b.ref.name}`) : null),
  endpointCounts: async (b, _, ctx) => (isServiceRef(b.ref) ? ((await ctx.loaders.endpointsByService.load(`${b.ref.namespace}/${b.ref.name}`))?.counts ?? NoEndpoints) : NoEndpoints),
  endpointsByZone: async (b, _, ctx) => (isServiceRef(b.ref) ? byZone(await ctx.loaders.endpointsByService.load(`${b.ref.namespace}/${b.ref.name}`)) : []),
};

export const RouteParentStatus: RouteParentStatusResolvers = {
  accepted: (p) => conditionTrue(p.conditions, 'Accepted'),
  resolvedRefs: (p) => conditionTrue(p.conditions, 'ResolvedRefs'),
};

export const ReferenceGrant: ReferenceGrantResolvers = {};

export const GatewayQuery: Pick<QueryResolvers, 'gatewayClasses' | 'gateways' | 'httpRoutes' | 'grpcRoutes' | 'referenceGrants'> = {
  gatewayClasses: (_, __, ctx) => ctx.loaders.routes.gatewayClasses.load(AllClasses),
  gateways: async (_, a, ctx) => inNamespace(ctx, 'gateways', a.namespace, (ns) => ctx.loaders.routes.gatewaysByNamespace.load(ns)),
  httpRoutes: async (_, a, ctx) => {
    const routes = await inNamespace(ctx, 'httproutes', a.namespace, (ns) => ctx.loaders.routes.httpRoutesByNamespace.load(ns));
    const host = a.hostname?.toLowerCase() ?? null;
    return host === null ? routes : routes.filter((r: HTTPRouteRecord) => r.hostnames.includes(host));
  },
  grpcRoutes: async (_, a, ctx) => inNamespace(ctx, 'grpcroutes', a.namespace, (ns) => ctx.loaders.routes.grpcRoutesByNamespace.load(ns)),
  referenceGrants: async (_, a, ctx) => inNamespace(ctx, 'referencegrants', a.namespace, (ns) => ctx.loaders.routes.referenceGrantsByNamespace.load(ns)),
};

export const ServiceGatewayRoutes: Pick<ServiceResolvers, 'httpRoutes' | 'grpcRoutes'> = {
  httpRoutes: (s, _, ctx) => ctx.loaders.routes.httpRoutesByService.load(objectKey(s.meta)),
  grpcRoutes: (s, _, ctx): Promise<readonly GRPCRouteRecord[]> => ctx.loaders.routes.grpcRoutesByService.load(objectKey(s.meta)),
};

// Private:

function backendRefsOf(routeKind: 'HTTPRoute' | 'GRPCRoute', routeNamespace: string, refs: readonly BackendRef[]): RouteBackendRefParent[] {
  const percents = weightPercents(refs.map((r) => r.weight));
  return refs.map((ref, i) => ({ routeKind, routeNamespace, ref, weightPercent: percents[i]! }));
}

function conditionTrue(conditions: readonly Condition[], type: string): boolean | null {
  const c = conditions.find((x) => x.type === type);
  return c === undefined ? null : c.status === 'True';
}

/** A namespace's list (FORBIDDEN first when the caller may not list `resource` there), or every namespace's. */
async function inNamespace<R>(ctx: GatewayContext, resource: Resource, namespace: string | null | undefined, load: (ns: string) => Promise<readonly R[]>): Promise<readonly R[]> {
  const ns = optionalNamespaceArg(namespace);
  if (ns !== null && !ctx.loaders.permissions.open) await ctx.loaders.permissions.require(resource, ns);
  return load(ns ?? NamespaceAll);
}
