/**
 * An independent answer to `trace`, for the integration specs: which Ingress rule or HTTPRoute
 * rule serves a request, and what its backends hold, computed from the API objects read back
 * from the API server (as the API server stores them, defaults applied) and nothing of the
 * gateway's code. Written from the specifications, deliberately apart from src/model's
 * matchers, and only as far as the specs' cases need: what it does not model it refuses with
 * an error rather than guess.
 *
 * - Ingress (networking.k8s.io/v1): a rule host matches case-insensitively, `*.x` exactly one
 *   DNS label in place of `*`, a rule without a host every host; Exact paths are string
 *   equality, Prefix (and ImplementationSpecific, as Prefix) compares `/`-separated elements;
 *   the most specific host wins (exact, wildcard, none), then the longest path, then Exact over
 *   Prefix, then the oldest Ingress, then namespace/name; a request no rule matches goes to the
 *   oldest Ingress's default backend.
 * - HTTPRoute (gateway.networking.k8s.io/v1): a parentRef attaches the route to a Gateway's
 *   listeners (sectionName, port, allowedRoutes namespaces Same or All, kinds, hostname); a
 *   wildcard hostname `*.x` matches one label or more; precedence is the specification's:
 *   the longest non-wildcard matching hostname, the longest matching hostname, an Exact path,
 *   the longest PathPrefix, a method, the most header matches, the most query parameter
 *   matches, the oldest route, namespace/name, then rule and match order. Cross-namespace
 *   backendRefs need a ReferenceGrant in the backend's namespace.
 * - An HTTPRoute match is the answer and the Ingress match the alternative, as `trace` documents.
 */

import { KubeApiError, type KubeClient } from './kube-client.ts';

export interface ApiObjects {
  ingresses: any[];
  httpRoutes: any[];
  gateways: any[];
  referenceGrants: any[];
  services: any[];
  /** EndpointSlices, any namespace: the ready counts per zone come from them. */
  slices: any[];
}

export interface ZoneReady {
  zone: string | null;
  ready: number;
}

export interface ExpectedBackend {
  namespace: string;
  service: string;
  weightPercent: number;
  /** The port as the reference names it (number or name); null when it names none. */
  port: number | string | null;
  permitted: boolean;
  endpointsByZone: ZoneReady[];
}

export interface ExpectedMatch {
  kind: 'Ingress' | 'HTTPRoute';
  /** namespace/name of the Ingress or HTTPRoute. */
  object: string;
  /** Ingress: the path as written and its type; HTTPRoute: the match's path type and value. */
  pathType: string;
  path: string;
  /** HTTPRoute only: the match's method, the Gateway (namespace/name) and listener name. */
  method: string | null;
  gateway: string | null;
  listener: string | null;
  /** HTTPRoute only: the rule's RequestRedirect, if any. */
  redirect: boolean;
  backends: ExpectedBackend[];
}

export interface ExpectedTrace {
  status: string;
  match: ExpectedMatch | null;
  alsoMatched: ExpectedMatch | null;
}

export interface Request {
  url: string;
  method?: string;
  headers?: { name: string; value: string }[];
}

/** What `trace` should answer for `request`, from `api`. */
export function expectedTrace(api: ApiObjects, request: Request): ExpectedTrace {
  const u = new URL(request.url);
  const req = {
    host: u.hostname.toLowerCase(),
    path: u.pathname === '' ? '/' : u.pathname,
    method: (request.method ?? 'GET').toUpperCase(),
    headers: (request.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), value: h.value })),
    query: u.searchParams,
  };
  const route = routeMatch(api, req);
  const ingress = ingressMatch(api, req);
  const first = route ?? ingress;
  if (first === null) return { status: 'NO_MATCH', match: null, alsoMatched: null };
  return { status: statusOf(api, first), match: first, alsoMatched: route !== null ? ingress : null };
}

/** Every object the oracle reads, across all namespaces, as the API server holds it now; no Gateway API objects while it serves none. */
export async function readApiObjects(kube: KubeClient): Promise<ApiObjects> {
  const items = async (path: string) => (await kube.list(path)).items;
  const gatewayApi = async (path: string) => {
    try {
      return await items(`/apis/gateway.networking.k8s.io/${path}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return [];
      throw err;
    }
  };
  return {
    ingresses: await items('/apis/networking.k8s.io/v1/ingresses'),
    httpRoutes: await gatewayApi('v1/httproutes'),
    gateways: await gatewayApi('v1/gateways'),
    referenceGrants: await gatewayApi('v1beta1/referencegrants'),
    services: await items('/api/v1/services'),
    slices: await items('/apis/discovery.k8s.io/v1/endpointslices'),
  };
}

/** Ready endpoints of a Service per zone, merged over its slices by address, sorted by zone. */
export function readyPerZone(slices: any[], namespace: string, service: string): ZoneReady[] {
  const byAddress = new Map<string, { zone: string | null; ready: boolean }>();
  for (const s of slices) {
    if (s.metadata.namespace !== namespace || s.metadata.labels?.['kubernetes.io/service-name'] !== service) continue;
    for (const e of s.endpoints ?? []) {
      // An unset ready condition is to be read as ready (EndpointConditions).
      const ready = e.conditions?.ready !== false;
      for (const a of e.addresses) {
        const seen = byAddress.get(a);
        if (!seen || (!seen.ready && ready)) byAddress.set(a, { zone: e.zone ?? null, ready });
      }
    }
  }
  const zones = new Map<string | null, number>();
  for (const { zone, ready } of byAddress.values()) zones.set(zone, (zones.get(zone) ?? 0) + (ready ? 1 : 0));
  return [...zones].map(([zone, ready]) => ({ zone, ready })).sort((a, b) => String(a.zone).localeCompare(String(b.zone)));
}

// Private:

type Req = { host: string; path: string; method: string; headers: { name: string; value: string }[]; query: URLSearchParams };

const key = (o: any) => `${o.metadata.namespace}/${o.metadata.name}`;
const age = (o: any) => Date.parse(o.metadata.creationTimestamp);

/** Compares rank tuples: smaller first. */
function byRank(a: (number | string)[], b: (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    return typeof a[i] === 'number' ? (a[i] as number) - (b[i] as number) : String(a[i]) < String(b[i]) ? -1 : 1;
  }
  return 0;
}

/** `/a/b/` → ['a', 'b']. */
const segments = (p: string) => p.split('/').filter((s) => s !== '');

function prefixMatches(prefix: string, path: string): boolean {
  const want = segments(prefix);
  const got = segments(path);
  return want.length <= got.length && want.every((s, i) => s === got[i]);
}

function ingressMatch(api: ApiObjects, req: Req): ExpectedMatch | null {
  const found: { rank: (number | string)[]; ing: any; path: any }[] = [];
  for (const ing of api.ingresses) {
    (ing.spec.rules ?? []).forEach((rule: any, ri: number) => {
      const host = rule.host?.toLowerCase();
      let hostRank: number;
      if (host === undefined) hostRank = 2;
      else if (host.startsWith('*.')) {
        const dot = req.host.indexOf('.');
        if (dot <= 0 || req.host.slice(dot) !== host.slice(1)) return;
        hostRank = 1;
      } else if (host === req.host) hostRank = 0;
      else return;
      (rule.http?.paths ?? []).forEach((p: any, pi: number) => {
        const path = p.path ?? '/';
        const ok = p.pathType === 'Exact' ? path === req.path : p.pathType === 'Prefix' || p.pathType === 'ImplementationSpecific' ? prefixMatches(path, req.path) : unmodelled(`pathType ${p.pathType}`);
        if (!ok) return;
        found.push({ rank: [hostRank, -path.replace(/\/+$/, '').length, p.pathType === 'Exact' ? 0 : 1, age(ing), key(ing), ri, pi], ing, path: p });
      });
    });
  }
  found.sort((a, b) => byRank(a.rank, b.rank));
  const best = found[0];
  if (best !== undefined) return ingressAnswer(api, best.ing, best.path.pathType, best.path.path ?? '/', best.path.backend);
  const withDefault = api.ingresses.filter((i) => i.spec.defaultBackend).sort((a, b) => byRank([age(a), key(a)], [age(b), key(b)]))[0];
  return withDefault ? ingressAnswer(api, withDefault, '', '', withDefault.spec.defaultBackend) : null;
}

function ingressAnswer(api: ApiObjects, ing: any, pathType: string, path: string, backend: any): ExpectedMatch {
  if (!backend.service) unmodelled('a resource backend');
  const ns = ing.metadata.namespace;
  const svc = backend.service;
  return {
    kind: 'Ingress', object: key(ing), pathType, path, method: null, gateway: null, listener: null, redirect: false,
    backends: [{ namespace: ns, service: svc.name, weightPercent: 100, permitted: true, port: svc.port.number ?? svc.port.name ?? null, endpointsByZone: readyPerZone(api.slices, ns, svc.name) }],
  };
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? host.endsWith(p.slice(1)) && host.length > p.length - 1 : p === host;
}

/** Whether two hostnames (either may be a wildcard) have a host in common. */
function intersect(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a) || (a.startsWith('*.') && b.startsWith('*.') && (a.endsWith(b.slice(1)) || b.endsWith(a.slice(1))));
}

function listenersOf(api: ApiObjects, route: any, ref: any): { gateway: any; listener: any }[] {
  if ((ref.group ?? 'gateway.networking.k8s.io') !== 'gateway.networking.k8s.io' || (ref.kind ?? 'Gateway') !== 'Gateway') return [];
  const ns = ref.namespace ?? route.metadata.namespace;
  const gateway = api.gateways.find((g) => g.metadata.namespace === ns && g.metadata.name === ref.name);
  if (!gateway) return [];
  const hostnames: string[] = route.spec.hostnames ?? [];
  return gateway.spec.listeners
    .filter((l: any) => {
      if (ref.sectionName !== undefined && ref.sectionName !== l.name) return false;
      if (ref.port !== undefined && ref.port !== l.port) return false;
      const from = l.allowedRoutes?.namespaces?.from ?? 'Same';
      if (from === 'Selector') unmodelled('allowedRoutes Selector');
      if (from === 'Same' && ns !== route.metadata.namespace) return false;
      const kinds: any[] = l.allowedRoutes?.kinds ?? [];
      if (kinds.length > 0 && !kinds.some((k) => k.kind === 'HTTPRoute')) return false;
      return l.hostname === undefined || hostnames.length === 0 || hostnames.some((h) => intersect(h, l.hostname));
    })
    .map((listener: any) => ({ gateway, listener }));
}

function routeMatch(api: ApiObjects, req: Req): ExpectedMatch | null {
  const found: { rank: (number | string)[]; route: any; gateway: any; listener: any; rule: any; match: any }[] = [];
  for (const route of api.httpRoutes) {
    const hostnames: string[] = (route.spec.hostnames ?? []).map((h: string) => h.toLowerCase());
    const matching = hostnames.filter((h) => hostMatches(h, req.host));
    if (hostnames.length > 0 && matching.length === 0) continue;
    const exactLen = Math.max(0, ...matching.filter((h) => !h.startsWith('*.')).map((h) => h.length));
    const anyLen = Math.max(0, ...matching.map((h) => h.length));
    for (const ref of route.spec.parentRefs ?? []) {
      for (const { gateway, listener } of listenersOf(api, route, ref)) {
        if (listener.hostname !== undefined && !hostMatches(listener.hostname, req.host)) continue;
        (route.spec.rules ?? [{}]).forEach((rule: any, ri: number) => {
          (rule.matches ?? [{}]).forEach((m: any, mi: number) => {
            const type = m.path?.type ?? 'PathPrefix';
            const value = m.path?.value ?? '/';
            if (type === 'Exact' ? value !== req.path : type === 'PathPrefix' ? !prefixMatches(value, req.path) : unmodelled(`path type ${type}`)) return;
            if (m.method !== undefined && m.method !== req.method) return;
            for (const h of m.headers ?? []) {
              if ((h.type ?? 'Exact') !== 'Exact') unmodelled(`header match ${h.type}`);
              if (!req.headers.some((x) => x.name === h.name.toLowerCase() && x.value === h.value)) return;
            }
            for (const q of m.queryParams ?? []) {
              if ((q.type ?? 'Exact') !== 'Exact') unmodelled(`query match ${q.type}`);
              if (req.query.get(q.name) !== q.value) return;
            }
            const rank = [-exactLen, -anyLen, type === 'Exact' ? 0 : 1, -value.length, m.method !== undefined ? 0 : 1, -(m.headers?.length ?? 0), -(m.queryParams?.length ?? 0), age(route), key(route), ri, mi];
            found.push({ rank, route, gateway, listener, rule, match: m });
          });
        });
      }
    }
  }
  found.sort((a, b) => byRank(a.rank, b.rank));
  const best = found[0];
  if (best === undefined) return null;
  const refs: any[] = best.rule.backendRefs ?? [];
  const total = refs.reduce((n, r) => n + (r.weight ?? 1), 0);
  return {
    kind: 'HTTPRoute', object: key(best.route), pathType: best.match.path?.type ?? 'PathPrefix', path: best.match.path?.value ?? '/', method: best.match.method ?? null,
    gateway: key(best.gateway), listener: best.listener.name, redirect: (best.rule.filters ?? []).some((f: any) => f.type === 'RequestRedirect'),
    backends: refs.map((r) => {
      if ((r.group ?? '') !== '' || (r.kind ?? 'Service') !== 'Service') unmodelled(`a ${r.kind} backendRef`);
      const namespace = r.namespace ?? best.route.metadata.namespace;
      return {
        namespace, service: r.name, weightPercent: total === 0 ? 0 : ((r.weight ?? 1) * 100) / total,
        permitted: namespace === best.route.metadata.namespace || granted(api, best.route.metadata.namespace, namespace, r.name),
        port: r.port ?? null, endpointsByZone: readyPerZone(api.slices, namespace, r.name),
      };
    }),
  };
}

function granted(api: ApiObjects, fromNamespace: string, namespace: string, service: string): boolean {
  return api.referenceGrants.some((g) =>
    g.metadata.namespace === namespace
    && g.spec.from.some((f: any) => f.group === 'gateway.networking.k8s.io' && f.kind === 'HTTPRoute' && f.namespace === fromNamespace)
    && g.spec.to.some((t: any) => t.group === '' && t.kind === 'Service' && (t.name === undefined || t.name === service)));
}

/** Status as `trace` documents it: redirects route, refused backends, then each Service's existence, port and ready endpoints. */
function statusOf(api: ApiObjects, m: ExpectedMatch): string {
  if (m.redirect) return 'ROUTED';
  if (m.backends.length === 0) unmodelled('a rule without backends');
  const allowed = m.backends.filter((b) => b.permitted && b.weightPercent > 0);
  if (allowed.length === 0) return 'REF_NOT_PERMITTED';
  const verdicts = allowed.map((b) => {
    const svc = api.services.find((s) => s.metadata.namespace === b.namespace && s.metadata.name === b.service);
    if (!svc) return 'SERVICE_NOT_FOUND';
    if (b.port !== null && !svc.spec.ports.some((p: any) => p.port === b.port || p.name === b.port)) return 'PORT_NOT_FOUND';
    return b.endpointsByZone.some((z) => z.ready > 0) ? 'ROUTED' : 'NO_READY_ENDPOINTS';
  });
  if (verdicts.includes('ROUTED')) return 'ROUTED';
  return verdicts.length === 1 ? verdicts[0]! : 'NO_READY_ENDPOINTS';
}

function unmodelled(what: string): never {
  throw new Error(`route-oracle: ${what} is not modelled; extend the oracle before using it in a case`);
}

/** The `trace` query `actualTrace` reads, with the variables of `traceVariables`. */
export const TraceQuery = `query($u: String!, $m: String, $h: [HeaderInput!]) {
  trace(url: $u, method: $m, headers: $h) { status message match { ...TraceMatchFields } alsoMatched { ...TraceMatchFields } } }
fragment TraceMatchFields on TraceMatch { kind ingress { metadata { namespace name } } httpRoute { metadata { namespace name } }
  path { path pathType } httpMatch { pathType pathValue method } gateway { metadata { namespace name } } listener filters { type }
  backends { namespace weightPercent permitted backend { serviceName servicePort endpointsByZone { zone ready } } } }`;

export function traceVariables(r: Request): Record<string, unknown> {
  return { u: r.url, m: r.method ?? 'GET', h: r.headers ?? [] };
}

/** The gateway's `trace` answer (asked with `TraceQuery`) in the oracle's shape, for deepEqual. */
export function actualTrace(t: any): ExpectedTrace {
  return { status: t.status, match: actualMatch(t.match), alsoMatched: actualMatch(t.alsoMatched) };
}

/** Percentages to two decimals, so that the two sides' arithmetic cannot differ in the last bit. */
export function rounded(e: ExpectedTrace): ExpectedTrace {
  const m = (x: ExpectedMatch | null) => x && { ...x, backends: x.backends.map((b) => ({ ...b, weightPercent: Math.round(b.weightPercent * 100) / 100 })) };
  return { ...e, match: m(e.match), alsoMatched: m(e.alsoMatched) };
}

function actualMatch(m: any): ExpectedMatch | null {
  if (!m) return null;
  const meta = (m.kind === 'Ingress' ? m.ingress : m.httpRoute).metadata;
  return {
    kind: m.kind,
    object: `${meta.namespace}/${meta.name}`,
    pathType: m.kind === 'Ingress' ? (m.path?.pathType ?? '') : m.httpMatch.pathType,
    path: m.kind === 'Ingress' ? (m.path === null ? '' : (m.path.path ?? '/')) : m.httpMatch.pathValue,
    method: m.httpMatch?.method ?? null,
    gateway: m.gateway ? `${m.gateway.metadata.namespace}/${m.gateway.metadata.name}` : null,
    listener: m.listener ?? null,
    redirect: m.filters.some((f: any) => f.type === 'RequestRedirect'),
    backends: m.backends.map((b: any) => ({
      namespace: b.namespace,
      service: b.backend.serviceName,
      weightPercent: b.weightPercent,
      port: b.backend.servicePort === null ? null : /^\d+$/.test(b.backend.servicePort) ? Number(b.backend.servicePort) : b.backend.servicePort,
      permitted: b.permitted,
      endpointsByZone: b.backend.endpointsByZone,
    })),
  };
}
