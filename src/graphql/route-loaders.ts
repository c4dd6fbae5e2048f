/**
 * Loaders of the routing kinds (Ingress, IngressClass), with the contract and the per-caller
 * filtering of loaders.ts: an Ingress is visible iff the caller may `list` (or `watch`)
 * `ingresses` in its namespace; IngressClasses are cluster-scoped, all or nothing (every key
 * fails with FORBIDDEN without the cluster-wide permission), as Nodes are. When the kind is not
 * watched, the stores are empty and every answer is empty.
 */
import type DataLoader from 'dataloader';
import { AllNamespaces, type Resource } from '../auth/access.ts';
import { ByNamespace, type ClusterCache } from '../kube/cache.ts';
import {
  RoutesByGateway,
  RoutesByService,
  type GatewayClassRecord,
  type GatewayRecord,
  type GRPCRouteRecord,
  type HTTPRouteRecord,
  type ReferenceGrantRecord,
} from '../kube/gateway-api.ts';
import { referencePermitted } from '../model/httproute-match.ts';
import { AnyHost, IngressesByHost, IngressesByService, type IngressClassRecord, type IngressRecord } from '../kube/routes.ts';
import { namespaceLists, sorted, sortedOnce, visibleByKey, visibleLists, type CacheLoader, type MakeLoader } from './loaders.ts';
import type { Permissions } from './permissions.ts';

export interface RouteLoaders {
  /** `namespace/name` → Ingress. */
  readonly ingressByKey: CacheLoader<string, IngressRecord | null>;
  /** Namespace (NamespaceAll: every one) → its Ingresses, sorted. */
  readonly ingressesByNamespace: DataLoader<string, readonly IngressRecord[]>;
  /** Service key → the Ingresses with a rule or default backend naming it, sorted. */
  readonly ingressesByService: DataLoader<string, readonly IngressRecord[]>;
  /** A rule host as written (`*.example.com` included) → the Ingresses with a rule for it, sorted. */
  readonly ingressesByRuleHost: DataLoader<string, readonly IngressRecord[]>;
  /**
   * A request's hostname (lower-case) → every Ingress that may serve it: rules for the host
   * itself, for its one-label wildcard, rules without a host, and default backends; sorted.
   */
  readonly ingressesByHostname: DataLoader<string, readonly IngressRecord[]>;
  /** IngressClass name → IngressClass; DefaultClass → the default class (the oldest annotated one). */
  readonly ingressClassByName: DataLoader<string, IngressClassRecord | null>;
  /** AllClasses → every IngressClass, sorted by name. */
  readonly ingressClasses: DataLoader<string, readonly IngressClassRecord[]>;

  // Gateway API: empty while a kind is not served.
  /** AllClasses → every GatewayClass, sorted; FORBIDDEN for every key without cluster-wide list. */
  readonly gatewayClasses: DataLoader<string, readonly GatewayClassRecord[]>;
  /** `namespace/name` → Gateway. */
  readonly gatewayByKey: DataLoader<string, GatewayRecord | null>;
  /** Namespace (NamespaceAll: every one) → its Gateways, sorted. */
  readonly gatewaysByNamespace: DataLoader<string, readonly GatewayRecord[]>;
  readonly httpRoutesByNamespace: DataLoader<string, readonly HTTPRouteRecord[]>;
  /** Service key → the HTTPRoutes with a backendRef naming it, sorted. */
  readonly httpRoutesByService: DataLoader<string, readonly HTTPRouteRecord[]>;
  /** Gateway key → the HTTPRoutes with a parentRef naming it, sorted. */
  readonly httpRoutesByGateway: DataLoader<string, readonly HTTPRouteRecord[]>;
  readonly grpcRoutesByNamespace: DataLoader<string, readonly GRPCRouteRecord[]>;
  readonly grpcRoutesByService: DataLoader<string, readonly GRPCRouteRecord[]>;
  readonly referenceGrantsByNamespace: DataLoader<string, readonly ReferenceGrantRecord[]>;
  /**
   * `fromKind|fromNamespace|toNamespace|serviceName` → whether a ReferenceGrant allows the
   * reference: judged over every grant in the cache, as a controller judges it, whoever asks
   * (the grants themselves are listed only to callers who may list them).
   */
  readonly referencePermitted: DataLoader<string, boolean>;
}

export type RouteLoaderName = keyof RouteLoaders;

/** As a key of `ingressClassByName`: the cluster's default IngressClass. */
export const DefaultClass = '';
/** The one key of `ingressClasses`. */
export const AllClasses = '';

/**
 * `hidden` notes that a list across namespaces was narrowed to what the caller may see (the
 * NAMESPACES_HIDDEN warning); null when no warnings are collected.
 */
export function createRouteLoaders(cache: ClusterCache, perms: Permissions, make: MakeLoader, hidden: ((resource: Resource) => void) | null): RouteLoaders {
  const ingresses = cache.ingresses;
  // Ingresses by host come from every namespace (note the narrowing); by Service, from the Service's own.
  const lists = (results: (readonly IngressRecord[])[], across: boolean) => visibleLists(perms, 'ingresses', results, (r) => r.meta.namespace, across ? hidden : null);
  const classes = <V>(results: V[]) => clusterScoped(perms, 'ingressclasses', results);
  return {
    ingressByKey: make('ingressByKey', (keys: readonly string[]) => visibleByKey(perms, 'ingresses', keys, keys.map((k) => ingresses.get(k) ?? null))),
    ingressesByNamespace: make('ingressesByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'ingresses', ingresses, keys)),
    ingressesByService: make('ingressesByService', (keys: readonly string[]) => lists(keys.map((k) => sorted(ingresses.byIndex(IngressesByService, k))), false)),
    ingressesByRuleHost: make('ingressesByRuleHost', (keys: readonly string[]) => lists(keys.map((h) => sorted(ingresses.byIndex(IngressesByHost, h.toLowerCase()))), true)),
    ingressesByHostname: make('ingressesByHostname', (keys: readonly string[]) =>
      lists(
        keys.map((host) => {
          const dot = host.indexOf('.');
          const found = new Set<IngressRecord>([...ingresses.byIndex(IngressesByHost, host), ...ingresses.byIndex(IngressesByHost, AnyHost)]);
          if (dot > 0) for (const i of ingresses.byIndex(IngressesByHost, `*${host.slice(dot)}`)) found.add(i);
          return sorted([...found]);
        }),
        true,
      ),
    ),
    ingressClassByName: make('ingressClassByName', (keys: readonly string[]) =>
      classes(keys.map((name) => (name === DefaultClass ? defaultClass(cache) : (cache.ingressClasses.get(name) ?? null)))),
    ),
    ingressClasses: make('ingressClasses', (keys: readonly string[]) =>
      classes(keys.map(() => sortedOnce(cache.ingressClasses, AllClasses, () => [...cache.ingressClasses.list()]))),
    ),
    gatewayClasses: make('gatewayClasses', (keys: readonly string[]) =>
      clusterScoped(perms, 'gatewayclasses', keys.map(() => sortedOnce(cache.gatewayClasses, AllClasses, () => [...cache.gatewayClasses.list()]))),
    ),
    gatewayByKey: make('gatewayByKey', (keys: readonly string[]) => visibleByKey(perms, 'gateways', keys, keys.map((k) => cache.gateways.get(k) ?? null))),
    gatewaysByNamespace: make('gatewaysByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'gateways', cache.gateways, keys)),
    httpRoutesByNamespace: make('httpRoutesByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'httproutes', cache.httpRoutes, keys)),
    httpRoutesByService: make('httpRoutesByService', (keys: readonly string[]) =>
      visibleLists(perms, 'httproutes', keys.map((k) => sorted(cache.httpRoutes.byIndex(RoutesByService, k))), namespaceOf, hidden),
    ),
    httpRoutesByGateway: make('httpRoutesByGateway', (keys: readonly string[]) =>
      visibleLists(perms, 'httproutes', keys.map((k) => sorted(cache.httpRoutes.byIndex(RoutesByGateway, k))), namespaceOf, hidden),
    ),
    grpcRoutesByNamespace: make('grpcRoutesByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'grpcroutes', cache.grpcRoutes, keys)),
    grpcRoutesByService: make('grpcRoutesByService', (keys: readonly string[]) =>
      visibleLists(perms, 'grpcroutes', keys.map((k) => sorted(cache.grpcRoutes.byIndex(RoutesByService, k))), namespaceOf, hidden),
    ),
    referenceGrantsByNamespace: make('referenceGrantsByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'referencegrants', cache.referenceGrants, keys)),
    referencePermitted: make('referencePermitted', (keys: readonly string[]) =>
      keys.map((key) => {
        const [fromKind, fromNamespace, toNamespace, name] = key.split('|') as [string, string, string, string];
        return referencePermitted(cache.referenceGrants.byIndex(ByNamespace, toNamespace), fromKind, fromNamespace, toNamespace, name);
      }),
    ),
  };
}

// Private:

/** The default IngressClass: the oldest annotated as default (the API server admits one, but may race). */
function defaultClass(cache: ClusterCache): IngressClassRecord | null {
  let best: IngressClassRecord | null = null;
  for (const c of cache.ingressClasses.list()) {
    if (c.isDefault && (best === null || c.meta.creationTimestamp < best.meta.creationTimestamp || (c.meta.creationTimestamp === best.meta.creationTimestamp && c.meta.name < best.meta.name))) best = c;
  }
  return best;
}

/** Cluster-scoped kinds (IngressClasses, GatewayClasses): all of them, or FORBIDDEN for every key. */
function clusterScoped<V>(perms: Permissions, resource: Resource, results: V[]): V[] | Promise<(V | Error)[]> {
  if (perms.open) return results;
  return perms.clusterWide(resource).then((allowed) => {
    if (allowed) return results;
    const error = perms.forbidden(resource, AllNamespaces);
    return results.map(() => error);
  });
}

const namespaceOf = (r: { readonly meta: { readonly namespace: string } }): string => r.meta.namespace;
