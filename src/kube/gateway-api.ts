/**
 * Gateway API (gateway.networking.k8s.io): slim records of GatewayClass, Gateway, HTTPRoute,
 * GRPCRoute and ReferenceGrant, their ingest, and the versions the gateway reads. These kinds
 * are CustomResourceDefinitions that many clusters lack: discovery.ts finds which are served
 * (and at which version) while the gateway runs, and the cache starts and stops their
 * reflectors accordingly. Records are frozen and shared: never mutate them.
 */
import { arr, deepFreeze, ingestMeta, num, str, strMap } from './ingest.ts';
import { namespacedKey, withMetadata, type Metadata, type ObjectMeta } from './records.ts';

export const GatewayGroup = 'gateway.networking.k8s.io';

/** The Gateway API kinds, with the versions read, most preferred first (the first one served is used). */
export type GatewayKind = 'GatewayClass' | 'Gateway' | 'HTTPRoute' | 'GRPCRoute' | 'ReferenceGrant';
export const GatewayKinds: readonly GatewayKind[] = ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant'];
export const GatewayVersions: Readonly<Record<GatewayKind, readonly string[]>> = {
  GatewayClass: ['v1', 'v1beta1'],
  Gateway: ['v1', 'v1beta1'],
  HTTPRoute: ['v1', 'v1beta1'],
  GRPCRoute: ['v1', 'v1alpha2'],
  ReferenceGrant: ['v1', 'v1beta1'],
};

/** A reference from a route to its parent (usually a Gateway), with defaults applied. */
export interface ParentRef {
  readonly group: string;
  readonly kind: string;
  /** Defaults to the route's namespace. */
  readonly namespace: string;
  readonly name: string;
  readonly sectionName: string | null;
  readonly port: number | null;
}

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** One entry of a route's status.parents: what a controller says about attaching to one parent. */
export interface RouteParentStatus {
  readonly parentRef: ParentRef;
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

/** A backendRef with defaults applied (group "" and kind Service, the route's namespace, weight 1). */
export interface BackendRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly port: number | null;
  readonly weight: number;
}

export interface HeaderMatch {
  /** Exact or RegularExpression. */
  readonly type: string;
  readonly name: string;
  readonly value: string;
}

export interface HTTPRouteMatch {
  /** Exact, PathPrefix or RegularExpression; PathPrefix "/" when absent. */
  readonly pathType: string;
  readonly pathValue: string;
  readonly method: string | null;
  readonly headers: readonly HeaderMatch[];
  readonly queryParams: readonly HeaderMatch[];
}

/** A filter as far as routing is concerned: its type and, for redirects and rewrites, where to. */
export interface RouteFilter {
  /** RequestRedirect, URLRewrite, RequestHeaderModifier, RequestMirror, ... */
  readonly type: string;
  /** For RequestRedirect and URLRewrite: the hostname, path and status code they set, as "key=value" pairs. */
  readonly detail: string | null;
}

export interface HTTPRouteRule {
  readonly name: string | null;
  /** With the default match (PathPrefix "/") when the rule has none. */
  readonly matches: readonly HTTPRouteMatch[];
  readonly filters: readonly RouteFilter[];
  readonly backendRefs: readonly BackendRef[];
}

export interface GRPCRouteRule {
  readonly name: string | null;
  /** "service/method" matches as written ("" parts match anything). */
  readonly matches: readonly { readonly type: string; readonly service: string | null; readonly method: string | null; readonly headers: readonly HeaderMatch[] }[];
  readonly backendRefs: readonly BackendRef[];
}

export interface Listener {
  readonly name: string;
  readonly hostname: string | null;
  readonly port: number;
  readonly protocol: string;
  /** allowedRoutes.namespaces.from: Same (default), All or Selector. */
  readonly allowedNamespaces: string;
  /** allowedRoutes.namespaces.selector.matchLabels, for Selector. */
  readonly namespaceSelector: Readonly<Record<string, string>> | null;
  /** allowedRoutes.kinds, empty: the protocol's default kinds. */
  readonly allowedKinds: readonly string[];
}

export interface GatewayClassRecord extends Metadata {
  readonly kind: 'GatewayClass';
  readonly meta: ObjectMeta;
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

export interface GatewayRecord extends Metadata {
  readonly kind: 'Gateway';
  readonly meta: ObjectMeta;
  readonly gatewayClassName: string;
  readonly listeners: readonly Listener[];
  /** status.addresses values. */
  readonly addresses: readonly string[];
  readonly conditions: readonly Condition[];
}

export interface HTTPRouteRecord extends Metadata {
  readonly kind: 'HTTPRoute';
  readonly meta: ObjectMeta;
  readonly parentRefs: readonly ParentRef[];
  readonly hostnames: readonly string[];
  readonly rules: readonly HTTPRouteRule[];
  readonly parents: readonly RouteParentStatus[];
}

export interface GRPCRouteRecord extends Metadata {
  readonly kind: 'GRPCRoute';
  readonly meta: ObjectMeta;
  readonly parentRefs: readonly ParentRef[];
  readonly hostnames: readonly string[];
  readonly rules: readonly GRPCRouteRule[];
  readonly parents: readonly RouteParentStatus[];
}

export interface ReferenceGrantRecord extends Metadata {
  readonly kind: 'ReferenceGrant';
  readonly meta: ObjectMeta;
  readonly from: readonly { readonly group: string; readonly kind: string; readonly namespace: string }[];
  /** name null: every object of that group and kind in the grant's namespace. */
  readonly to: readonly { readonly group: string; readonly kind: string; readonly name: string | null }[];
}

export type GatewayApiRecord = GatewayClassRecord | GatewayRecord | HTTPRouteRecord | GRPCRouteRecord | ReferenceGrantRecord;

/** Index names. */
/** `namespace/name` of every Service a route's backendRefs name (any namespace). */
export const RoutesByService = 'service';
/** `namespace/name` of every Gateway a route's parentRefs name. */
export const RoutesByGateway = 'gateway';

/** Services (keys) a route sends traffic to. */
export function routeServiceKeys(r: HTTPRouteRecord | GRPCRouteRecord): string[] {
  const out = new Set<string>();
  for (const rule of r.rules) for (const b of rule.backendRefs) if (isServiceRef(b)) out.add(namespacedKey(b.namespace, b.name));
  return [...out];
}

export function routeGatewayKeys(r: HTTPRouteRecord | GRPCRouteRecord): string[] {
  return [...new Set(r.parentRefs.filter(isGatewayRef).map((p) => namespacedKey(p.namespace, p.name)))];
}

export function isServiceRef(b: BackendRef): boolean {
  return b.group === '' && b.kind === 'Service';
}

export function isGatewayRef(p: ParentRef): boolean {
  return p.group === GatewayGroup && p.kind === 'Gateway';
}

// Ingest (called from ingest.ts).

export function ingestGatewayClass(o: any): GatewayClassRecord {
  return deepFreeze(withMetadata({ kind: 'GatewayClass', meta: ingestMeta(o.metadata), controllerName: str(o.spec?.controllerName) ?? '', conditions: conditionsOf(o.status?.conditions) }));
}

export function ingestGateway(o: any): GatewayRecord {
  return deepFreeze(withMetadata({
    kind: 'Gateway',
    meta: ingestMeta(o.metadata),
    gatewayClassName: str(o.spec?.gatewayClassName) ?? '',
    listeners: arr(o.spec?.listeners).map((l: any) => ({
      name: str(l?.name) ?? '',
      hostname: str(l?.hostname),
      port: num(l?.port) ?? 0,
      protocol: str(l?.protocol) ?? '',
      allowedNamespaces: str(l?.allowedRoutes?.namespaces?.from) ?? 'Same',
      namespaceSelector: strMap(l?.allowedRoutes?.namespaces?.selector?.matchLabels),
      allowedKinds: arr(l?.allowedRoutes?.kinds).map((k: any) => str(k?.kind) ?? '').filter((k) => k !== ''),
    })),
    addresses: arr(o.status?.addresses).map((a: any) => str(a?.value) ?? '').filter((a) => a !== ''),
    conditions: conditionsOf(o.status?.conditions),
  }));
}

export function ingestHTTPRoute(o: any): HTTPRouteRecord {
  const meta = ingestMeta(o.metadata);
  return deepFreeze(withMetadata({
    kind: 'HTTPRoute',
    meta,
    parentRefs: arr(o.spec?.parentRefs).map((p: any) => parentRefOf(p, meta.namespace)),
    hostnames: arr(o.spec?.hostnames).map((h: any) => (str(h) ?? '').toLowerCase()).filter((h) => h !== ''),
    rules: (arr(o.spec?.rules).length > 0 ? arr(o.spec?.rules) : [{}]).map((r: any) => ({
      name: str(r?.name),
      matches: (arr(r?.matches).length > 0 ? arr(r?.matches) : [{}]).map((m: any) => ({
        pathType: str(m?.path?.type) ?? 'PathPrefix',
        pathValue: str(m?.path?.value) ?? '/',
        method: str(m?.method),
        headers: arr(m?.headers).map(headerMatchOf),
        queryParams: arr(m?.queryParams).map(headerMatchOf),
      })),
      filters: arr(r?.filters).map(filterOf),
      backendRefs: arr(r?.backendRefs).map((b: any) => backendRefOf(b, meta.namespace)),
    })),
    parents: parentsOf(o.status?.parents, meta.namespace),
  }));
}

export function ingestGRPCRoute(o: any): GRPCRouteRecord {
  const meta = ingestMeta(o.metadata);
  return deepFreeze(withMetadata({
    kind: 'GRPCRoute',
    meta,
    parentRefs: arr(o.spec?.parentRefs).map((p: any) => parentRefOf(p, meta.namespace)),
    hostnames: arr(o.spec?.hostnames).map((h: any) => (str(h) ?? '').toLowerCase()).filter((h) => h !== ''),
    rules: arr(o.spec?.rules).map((r: any) => ({
      name: str(r?.name),
      matches: arr(r?.matches).map((m: any) => ({ type: str(m?.method?.type) ?? 'Exact', service: str(m?.method?.service), method: str(m?.method?.method), headers: arr(m?.headers).map(headerMatchOf) })),
      backendRefs: arr(r?.backendRefs).map((b: any) => backendRefOf(b, meta.namespace)),
    })),
    parents: parentsOf(o.status?.parents, meta.namespace),
  }));
}

export function ingestReferenceGrant(o: any): ReferenceGrantRecord {
  return deepFreeze(withMetadata({
    kind: 'ReferenceGrant',
    meta: ingestMeta(o.metadata),
    from: arr(o.spec?.from).map((f: any) => ({ group: str(f?.group) ?? '', kind: str(f?.kind) ?? '', namespace: str(f?.namespace) ?? '' })),
    to: arr(o.spec?.to).map((t: any) => ({ group: str(t?.group) ?? '', kind: str(t?.kind) ?? '', name: str(t?.name) })),
  }));
}

// Private:

function parentRefOf(p: any, namespace: string): ParentRef {
  return { group: p?.group === undefined ? GatewayGroup : (str(p.group) ?? ''), kind: str(p?.kind) ?? 'Gateway', namespace: str(p?.namespace) ?? namespace, name: str(p?.name) ?? '', sectionName: str(p?.sectionName), port: num(p?.port) };
}

function backendRefOf(b: any, namespace: string): BackendRef {
  return { group: str(b?.group) ?? '', kind: str(b?.kind) ?? 'Service', namespace: str(b?.namespace) ?? namespace, name: str(b?.name) ?? '', port: num(b?.port), weight: num(b?.weight) ?? 1 };
}

function headerMatchOf(h: any): HeaderMatch {
  return { type: str(h?.type) ?? 'Exact', name: str(h?.name) ?? '', value: typeof h?.value === 'string' ? h.value : '' };
}

function filterOf(f: any): RouteFilter {
  const type = str(f?.type) ?? '';
  const spec = type === 'RequestRedirect' ? f?.requestRedirect : type === 'URLRewrite' ? f?.urlRewrite : null;
  if (!spec) return { type, detail: null };
  const parts: string[] = [];
  for (const k of ['scheme', 'hostname', 'port', 'statusCode']) if (spec[k] !== undefined) parts.push(`${k}=${spec[k]}`);
  const p = spec.path;
  if (p) parts.push(`path=${p.replaceFullPath ?? p.replacePrefixMatch ?? ''}${p.replacePrefixMatch !== undefined ? ' (prefix)' : ''}`);
  return { type, detail: parts.length > 0 ? parts.join(', ') : null };
}

function parentsOf(v: unknown, namespace: string): RouteParentStatus[] {
  return arr(v).map((p: any) => ({ parentRef: parentRefOf(p?.parentRef, namespace), controllerName: str(p?.controllerName) ?? '', conditions: conditionsOf(p?.conditions) }));
}

function conditionsOf(v: unknown): Condition[] {
  return arr(v).map((c: any) => ({ type: str(c?.type) ?? '', status: str(c?.status) ?? 'Unknown', reason: str(c?.reason) ?? '', message: str(c?.message) ?? '' }));
}
