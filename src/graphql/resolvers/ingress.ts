/**
 * Ingress, IngressClass, their rules, paths and backends; `Query.ingress`, `ingresses`,
 * `ingressClasses` and `trace`; `Service.ingresses` and `Pod.hostnames`. Data only through the
 * route loaders (route-loaders.ts), filtered per caller like every kind.
 */
import { objectKey } from '../../kube/records.ts';
import { ingressHosts, AnyHost, type IngressBackend as BackendRecord, type IngressRecord } from '../../kube/routes.ts';
import { quote } from '../../model/text.ts';
import { hostArg, optionalNamespaceArg, pageArgs } from '../args.ts';
import { badUserInput, ErrorCode } from '../errors.ts';
import type {
  IngressBackendResolvers,
  IngressClassResolvers,
  IngressPathResolvers,
  IngressResolvers,
  IngressRuleResolvers,
  PathType,
  PodResolvers,
  QueryResolvers,
  ServiceResolvers,
} from '../generated/resolvers-types.ts';
import { NamespaceAll } from '../loaders.ts';
import { compareStrings, objectSortKey, paginate } from '../pagination.ts';
import type { IngressBackendParent, IngressPage } from '../parents.ts';
import { AllClasses, DefaultClass } from '../route-loaders.ts';
import { lookup } from './query.ts';
import { byZone, NoEndpoints } from './service.ts';
import { present } from './shared.ts';

export const Ingress: IngressResolvers = {
  ingressClass: (i, _, ctx) => ctx.loaders.routes.ingressClassByName.load(i.ingressClassName ?? DefaultClass),
  defaultBackend: (i) => (i.defaultBackend === null ? null : { namespace: i.meta.namespace, backend: i.defaultBackend }),
  rules: (i) => i.rules.map((rule) => ({ namespace: i.meta.namespace, rule })),
  hosts: (i) => hostsOf(i),
  services: async (i, _, ctx) => {
    const names = [...new Set(backendsOf(i).flatMap((b) => (b.service ? [b.service.name] : [])))].sort(compareStrings);
    return present(await ctx.loaders.serviceByKey.loadMany(names.map((n) => `${i.meta.namespace}/${n}`)));
  },
};

export const IngressRule: IngressRuleResolvers = {
  host: (r) => r.rule.host,
  paths: (r) => r.rule.paths.map((path) => ({ namespace: r.namespace, path })),
};

export const IngressPath: IngressPathResolvers = {
  path: (p) => p.path.path,
  pathType: (p) => p.path.pathType as PathType,
  backend: (p) => ({ namespace: p.namespace, backend: p.path.backend }),
};

export const IngressBackend: IngressBackendResolvers = {
  serviceName: (b) => b.backend.service?.name ?? null,
  servicePort: (b) => portOf(b.backend),
  service: (b, _, ctx) => (b.backend.service ? ctx.loaders.serviceByKey.load(serviceKeyOf(b)!) : null),
  resolvedPort: async (b, _, ctx) => {
    const svc = b.backend.service ? await ctx.loaders.serviceByKey.load(serviceKeyOf(b)!) : null;
    return svc === null ? null : (resolvePort(svc.ports, b.backend) ?? null);
  },
  resource: (b) => b.backend.resource,
  endpointCounts: async (b, _, ctx) => (b.backend.service ? ((await ctx.loaders.endpointsByService.load(serviceKeyOf(b)!))?.counts ?? NoEndpoints) : NoEndpoints),
  endpointsByZone: async (b, _, ctx) => (b.backend.service ? byZone(await ctx.loaders.endpointsByService.load(serviceKeyOf(b)!)) : []),
};

export const IngressClass: IngressClassResolvers = {};

export const RouteQuery: Pick<QueryResolvers, 'ingress' | 'ingresses' | 'ingressClasses'> = {
  ingress: (_, a, ctx) => lookup(ctx, 'ingresses', a, ctx.loaders.routes.ingressByKey),
  ingresses: async (_, a, ctx) => {
    const request = pageArgs('Ingress', a, ctx.limits);
    const namespace = optionalNamespaceArg(a.namespace);
    const host = a.host == null ? null : hostArg(a.host);
    if (namespace !== null && !ctx.loaders.permissions.open) await ctx.loaders.permissions.require('ingresses', namespace);
    const all = host !== null ? await ctx.loaders.routes.ingressesByRuleHost.load(host) : await ctx.loaders.routes.ingressesByNamespace.load(namespace ?? NamespaceAll);
    const out = namespace === null ? all : all.filter((i) => i.meta.namespace === namespace);
    return paginate('Ingress', out, objectSortKey, request) as IngressPage;
  },
  ingressClasses: (_, __, ctx) => ctx.loaders.routes.ingressClasses.load(AllClasses),
};

export const ServiceIngresses: Pick<ServiceResolvers, 'ingresses'> = {
  ingresses: (s, _, ctx) => ctx.loaders.routes.ingressesByService.load(objectKey(s.meta)),
};

export const PodHostnames: Pick<PodResolvers, 'hostnames'> = {
  hostnames: async (p, _, ctx) => {
    const endpoints = await ctx.loaders.endpointsByPod.load(objectKey(p.meta));
    const services = [...new Set(endpoints.map((e) => `${e.namespace}/${e.serviceName}`))];
    const [lists, routeLists] = await Promise.all([ctx.loaders.routes.ingressesByService.loadMany(services), ctx.loaders.routes.httpRoutesByService.loadMany(services)]);
    const hosts = new Set<string>();
    present(lists).forEach((ingresses, i) => {
      const serviceName = services[i]!.slice(services[i]!.indexOf('/') + 1);
      for (const ing of ingresses) for (const h of hostsReaching(ing, serviceName)) hosts.add(h);
    });
    // HTTPRoutes with a backendRef naming one of the Services: their hostnames (none: any host).
    for (const routes of present(routeLists)) for (const r of routes) for (const h of r.hostnames.length > 0 ? r.hostnames : [AnyHostName]) hosts.add(h);
    return [...hosts].sort(compareStrings);
  },
};

// Private:

/** `*` stands for a rule without a host (and a default backend) in the hosts the schema lists. */
const AnyHostName = '*';

function hostsOf(i: IngressRecord): string[] {
  return ingressHosts(i).map((h) => (h === AnyHost ? AnyHostName : h)).sort(compareStrings);
}

/** The hosts of an Ingress whose rules (or default backend) send traffic to `serviceName`. */
function hostsReaching(i: IngressRecord, serviceName: string): string[] {
  const out: string[] = [];
  if (i.defaultBackend?.service?.name === serviceName) out.push(AnyHostName);
  for (const rule of i.rules) if (rule.paths.some((p) => p.backend.service?.name === serviceName)) out.push(rule.host ?? AnyHostName);
  return out;
}

function backendsOf(i: IngressRecord): BackendRecord[] {
  return [...(i.defaultBackend ? [i.defaultBackend] : []), ...i.rules.flatMap((r) => r.paths.map((p) => p.backend))];
}

function serviceKeyOf(b: IngressBackendParent): string | null {
  return b.backend.service ? `${b.namespace}/${b.backend.service.name}` : null;
}

export function portOf(b: BackendRecord): string | null {
  if (!b.service) return null;
  return b.service.portName ?? (b.service.portNumber === null ? null : String(b.service.portNumber));
}

export function resolvePort<P extends { readonly name: string; readonly port: number }>(ports: readonly P[], b: BackendRecord): P | undefined {
  const s = b.service;
  if (!s) return undefined;
  return s.portName !== null ? ports.find((p) => p.name === s.portName) : ports.find((p) => p.port === s.portNumber);
}

/** HTTP method: a token (RFC 9110), upper-cased; GET by default. */
export function methodArg(method: string | null): string {
  if (method === null) return 'GET';
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]{1,32}$/i.test(method)) throw badUserInput(ErrorCode.INVALID_ARGUMENT, `method: expected an HTTP method such as "GET", got ${quote(method)}`);
  return method.toUpperCase();
}
