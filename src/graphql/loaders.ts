/**
 * Loaders: the only way resolvers reach data (docs/design.md, "Loaders"). One set per operation over
 * HTTP, per event over WebSocket, so that answers are consistent within an operation and
 * nothing outlives it.
 *
 * Batch functions are synchronous lookups in the cache's indexes and the endpoint feed, then a
 * per-caller filter (permissions.ts): the one shared cache answers, and each loader keeps only
 * what the caller may `verb` (`list` for queries, `watch` for subscription events). A Service
 * is visible iff its namespace allows `services`; an EndpointSlice and a merged endpoint iff
 * the Service's namespace allows `endpointslices`; a Pod iff its namespace allows `pods`.
 * Hidden objects are absent: `null`, or left out of lists, so relations, counts and IP lookups
 * are computed over what the caller may see. Nodes are all or nothing (`nodes` cluster-wide):
 * without it, every key of a Node loader fails with FORBIDDEN. The access questions are asked
 * per batch, once per (resource, namespace) the answer touches; with authorization off, or
 * a resource allowed cluster-wide, nothing is filtered and nothing is copied.
 *
 * They keep DataLoader's contract: one result per key, in key order. Single-valued loaders
 * give `null` for absence; list-valued loaders give an empty list when nothing matches. Lists
 * are sorted as documented per loader and frozen.
 *
 * Records are shared with the cache: never mutate anything a loader returns.
 */
import DataLoader from 'dataloader';
import {
  ByNamespace,
  NodesByZone,
  PodsByIP,
  PodsByNode,
  selects,
  ServicesByClusterIP,
  SlicesByAddress,
  SlicesByNode,
  SlicesByPod,
  type ClusterCache,
  type KindHealth,
} from '../kube/cache.ts';
import { AllNamespaces, ClusterScopedResources, OpenAccess, type Access, type Resource, type Verb } from '../auth/access.ts';
import type { AnyRecord, EndpointSliceRecord, Kind, NodeRecord, PodRecord, ServiceRecord } from '../kube/records.ts';
import type { EndpointFeed } from '../model/endpoint-feed.ts';
import { ServicesWithoutReadyEndpoints } from '../model/without-ready.ts';
import { sliceServiceKey, type MergedEndpoint, type ServiceEndpoints } from '../model/endpoints.ts';
import { byEndpointKey, byObjectKey, compareStrings } from './pagination.ts';
import { Permissions } from './permissions.ts';
import type { Store } from '../kube/store.ts';
import { EndpointParent, type NamespaceSummary } from './parents.ts';
import { kindNotSynced, kindNotWatched, namespaceNotWatched, namespacesHidden, type Warnings } from './warnings.ts';
import { createRouteLoaders, type RouteLoaderName, type RouteLoaders } from './route-loaders.ts';

/** What loaders read. */
export interface LoaderSources {
  readonly cache: ClusterCache;
  readonly feed: EndpointFeed;
}

/** Called once per batch, before the batch function runs, with the keys in batch order. */
export type BatchHook = (loader: LoaderName, keys: readonly unknown[]) => void;

export interface LoaderOptions {
  /** Observe every batch (tests assert batches; metrics count them). A throwing hook fails the batch. */
  readonly onBatch?: BatchHook;
  /** The caller's permissions: every loader answers only what it may see. @default OpenAccess */
  readonly access?: Access;
  /** The verb asked of `access`: `list` for queries, `watch` for subscription events. @default 'list' */
  readonly verb?: Verb;
  /**
   * Where the loaders note what may make an answer emptier than the cluster: a kind read before
   * its watch synced (or not watched), a namespace outside the watched ones, a cross-namespace
   * list filtered by permissions (warnings.ts). @default none: nothing is noted
   */
  readonly warnings?: Warnings;
}

/** metav1.NamespaceAll: as a key of a `...ByNamespace` loader, every namespace. */
export const NamespaceAll = '';

/** As a key of `nodesByZone`, every Node, with or without a zone. */
export const AnyZone = '';

export interface Loaders {
  /** `namespace/name` → Service. */
  readonly serviceByKey: CacheLoader<string, ServiceRecord | null>;
  /** `namespace/name` → Pod. */
  readonly podByKey: CacheLoader<string, PodRecord | null>;
  /** Node name → Node. Every key fails with FORBIDDEN when the caller may not list Nodes (so do nodesByAddress and nodesByZone). */
  readonly nodeByName: CacheLoader<string, NodeRecord | null>;
  /** `namespace/name` → EndpointSlice. */
  readonly sliceByKey: CacheLoader<string, EndpointSliceRecord | null>;
  /** Service key → its slices (label kubernetes.io/service-name), sorted by name. */
  readonly slicesByService: CacheLoader<string, readonly EndpointSliceRecord[]>;
  /** Service key → its merged endpoints (the endpoint feed's current view); null when it has no slices. */
  readonly endpointsByService: CacheLoader<string, ServiceEndpoints | null>;
  /** Service key → the Pods its selector selects in its namespace, sorted; empty for selectorless or absent Services. */
  readonly podsByService: CacheLoader<string, readonly PodRecord[]>;
  /** Pod key → the Services whose selector selects it, sorted. */
  readonly servicesByPod: CacheLoader<string, readonly ServiceRecord[]>;
  /** Node name → the Pods scheduled to it, sorted. */
  readonly podsByNode: CacheLoader<string, readonly PodRecord[]>;
  /** Node name → the merged endpoints whose nodeName it is, sorted by Service then address. */
  readonly endpointsByNode: CacheLoader<string, readonly EndpointParent[]>;
  /** Pod key → the merged endpoints whose targetRef is the Pod, sorted by Service then address. */
  readonly endpointsByPod: CacheLoader<string, readonly EndpointParent[]>;
  /** Canonical IP → Pods with it among their podIPs, sorted. */
  readonly podsByIP: CacheLoader<string, readonly PodRecord[]>;
  /** Canonical IP → Services with it among their clusterIPs, sorted. */
  readonly servicesByClusterIP: CacheLoader<string, readonly ServiceRecord[]>;
  /** Canonical IP → Nodes with it among their addresses, sorted by name. One scan of the Nodes per batch (the cache has no address index). */
  readonly nodesByAddress: CacheLoader<string, readonly NodeRecord[]>;
  /** Canonical IP → merged endpoints with that address (one per Service), sorted by Service. */
  readonly endpointsByAddress: CacheLoader<string, readonly EndpointParent[]>;
  /** Namespace (NamespaceAll: every one) → its Services, sorted. */
  readonly servicesByNamespace: CacheLoader<string, readonly ServiceRecord[]>;
  /**
   * Namespace (NamespaceAll: every one) → its Services without a ready endpoint that the caller
   * may see, ExternalName left out, sorted. Read from an answer kept current as the cache changes
   * (model/without-ready.ts), not by loading every Service's endpoints; readiness is what the
   * caller may see of the EndpointSlices (a namespace whose slices it may not list has none ready).
   */
  readonly servicesWithoutReadyEndpoints: CacheLoader<string, readonly ServiceRecord[]>;
  /** Namespace (NamespaceAll: every one) → its Pods, sorted. */
  readonly podsByNamespace: CacheLoader<string, readonly PodRecord[]>;
  /** Namespace (NamespaceAll: every one) → its EndpointSlices, sorted. */
  readonly slicesByNamespace: CacheLoader<string, readonly EndpointSliceRecord[]>;
  /** Zone (AnyZone: every Node) → Nodes labelled topology.kubernetes.io/zone with it, sorted by name. */
  readonly nodesByZone: CacheLoader<string, readonly NodeRecord[]>;
  /** NamespaceAll → every namespace the cache knows (objects' and watched ones), sorted, with the counts the caller may see; namespaces where it may see none of the three kinds are left out. */
  readonly namespaceSummaries: CacheLoader<string, readonly NamespaceSummary[]>;
  /** Kind → its watch state (ClusterCache.health()), read once per batch. `objects` counts the whole cache. */
  readonly kindHealthByKind: CacheLoader<Kind, KindHealth | null>;
  /** Kind → how many of its cached objects the caller may see. */
  readonly objectCountByKind: CacheLoader<Kind, number>;
  /**
   * The caller's decisions for this operation: fields that name a namespace, or need Nodes
   * whatever the data, ask it first (`require`). Not a DataLoader.
   */
  readonly permissions: Permissions;
  /** What the gateway watches: namespaces (null: every one) and whether Nodes. Configuration, not data: not a DataLoader. */
  readonly watched: { readonly namespaces: readonly string[] | null; readonly nodes: boolean };
  /** Ingresses, IngressClasses and the Gateway API kinds (route-loaders.ts), made on first use. */
  readonly routes: RouteLoaders;
}

/** The loaders of `Loaders` itself (not the route loaders, not its plain fields). */
type CoreLoaderName = Exclude<keyof Loaders, 'permissions' | 'watched' | 'routes'>;

export type LoaderName = CoreLoaderName | RouteLoaderName;

/**
 * A fresh set of loaders: create one per operation (HTTP) or per event (WebSocket). Each
 * DataLoader is made on first use: an operation touches a few of them, and making all of them
 * for every request was a good part of a small request's garbage.
 */
export function createLoaders(sources: LoaderSources, options: LoaderOptions = {}): Loaders {
  const { cache, feed } = sources;
  const perms = new Permissions(options.access ?? OpenAccess, options.verb ?? 'list');
  const warnings = options.warnings;
  // Synchronous reads (CacheLoader.now) only where nothing could make them wait: access open.
  const noteRead = warnings ? (name: LoaderName, key: unknown) => noteRead1(cache, warnings, name, key) : null;
  const make: MakeLoader = <K, V>(name: LoaderName, batch: (keys: readonly K[]) => readonly (V | Error)[] | Promise<readonly (V | Error)[]>, now?: NowReaders<K, V>): CacheLoader<K, V> =>
    new CacheLoader<K, V>(
      (keys) => {
        options.onBatch?.(name, keys);
        if (warnings) noteReads(cache, warnings, name, keys);
        return Promise.resolve(batch(keys));
      },
      name,
      perms.open && now !== undefined ? now : null,
      noteRead,
    );
  // The filters, per kind of result. Lists across namespaces note when they were filtered.
  const hidden = warnings ? (resource: Resource) => warnings.add(namespacesHidden(resource, perms.verb)) : null;
  const byKey = <R>(resource: Resource, keys: readonly string[], results: (R | null)[]) => visibleByKey(perms, resource, keys, results);
  const lists = <R>(resource: Resource, results: (readonly R[])[], namespaceOf: (r: R) => string) => visibleLists(perms, resource, results, namespaceOf, null);
  const crossLists = <R>(resource: Resource, results: (readonly R[])[], namespaceOf: (r: R) => string) => visibleLists(perms, resource, results, namespaceOf, hidden);
  const nodes = <V>(results: V[]) => visibleNodes(perms, results);

  const factories: LoaderFactories = {
    serviceByKey: () =>
      make('serviceByKey', (keys: readonly string[]) => byKey('services', keys, keys.map((k) => cache.services.get(k) ?? null)), { key: (k) => cache.services.get(k) ?? null }),
    podByKey: () =>
      make('podByKey', (keys: readonly string[]) => byKey('pods', keys, keys.map((k) => cache.pods.get(k) ?? null)), { key: (k) => cache.pods.get(k) ?? null }),
    nodeByName: () => make('nodeByName', (keys: readonly string[]) => nodes(keys.map((k) => cache.nodes.get(k) ?? null)), { key: (k) => cache.nodes.get(k) ?? null }),
    sliceByKey: () => make('sliceByKey', (keys: readonly string[]) => byKey('endpointslices', keys, keys.map((k) => cache.slices.get(k) ?? null))),
    slicesByService: () => make('slicesByService', (keys: readonly string[]) => lists('endpointslices', keys.map((k) => frozen(cache.slicesByService(k))), namespaceOfRecord)),
    endpointsByService: () => make('endpointsByService', (keys: readonly string[]) => byKey('endpointslices', keys, keys.map((k) => feed.get(k))), { key: (k) => feed.get(k) }),
    podsByService: () => make('podsByService', (keys: readonly string[]) => lists('pods', podsSelectedBy(cache, keys), namespaceOfRecord)),
    servicesByPod: () => make('servicesByPod', (keys: readonly string[]) =>
      lists(
        'services',
        keys.map((k) => {
          const pod = cache.pods.get(k);
          return pod ? frozen(cache.servicesSelectingPod(pod)) : Empty;
        }),
        namespaceOfRecord,
      ),
    ),
    podsByNode: () => make('podsByNode', (keys: readonly string[]) => crossLists('pods', keys.map((k) => sorted(cache.pods.byIndex(PodsByNode, k))), namespaceOfRecord)),
    endpointsByNode: () => make('endpointsByNode', (keys: readonly string[]) =>
      crossLists(
        'endpointslices',
        keys.map((node) => endpointsOfSlices(feed, cache.slices.byIndex(SlicesByNode, node), (e) => e.nodeName === node)),
        namespaceOfEndpoint,
      ),
    ),
    endpointsByPod: () => make('endpointsByPod', (keys: readonly string[]) =>
      lists(
        'endpointslices',
        keys.map((podKey) => {
          const slash = podKey.indexOf('/');
          const namespace = podKey.slice(0, slash);
          const name = podKey.slice(slash + 1);
          return endpointsOfSlices(feed, cache.slices.byIndex(SlicesByPod, name), (e, serviceNamespace) => {
            const ref = e.targetRef;
            return ref !== null && ref.kind === 'Pod' && ref.name === name && (ref.namespace || serviceNamespace) === namespace;
          });
        }),
        namespaceOfEndpoint,
      ),
    ),
    podsByIP: () => make('podsByIP', (keys: readonly string[]) => crossLists('pods', keys.map((ip) => sorted(cache.pods.byIndex(PodsByIP, ip))), namespaceOfRecord)),
    servicesByClusterIP: () => make('servicesByClusterIP', (keys: readonly string[]) =>
      crossLists('services', keys.map((ip) => sorted(cache.services.byIndex(ServicesByClusterIP, ip))), namespaceOfRecord),
    ),
    nodesByAddress: () => make('nodesByAddress', (keys: readonly string[]) => nodes(nodesWithAddresses(cache, keys))),
    endpointsByAddress: () => make('endpointsByAddress', (keys: readonly string[]) =>
      crossLists(
        'endpointslices',
        keys.map((ip) => endpointsOfSlices(feed, cache.slices.byIndex(SlicesByAddress, ip), (e) => e.address === ip)),
        namespaceOfEndpoint,
      ),
    ),
    servicesByNamespace: () => make('servicesByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'services', cache.services, keys)),
    servicesWithoutReadyEndpoints: () =>
      make('servicesWithoutReadyEndpoints', (keys: readonly string[]) => withoutReadyLists(perms, hidden, cache, withoutReadyOf(sources), keys)),
    podsByNamespace: () => make('podsByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'pods', cache.pods, keys)),
    slicesByNamespace: () => make('slicesByNamespace', (keys: readonly string[]) => namespaceLists(perms, hidden, 'endpointslices', cache.slices, keys)),
    nodesByZone: () => make('nodesByZone', (keys: readonly string[]) =>
      nodes(keys.map((zone) => sortedOnce(cache.nodes, zone, () => (zone === AnyZone ? [...cache.nodes.list()] : cache.nodes.byIndex(NodesByZone, zone))))),
    ),
    namespaceSummaries: () => make('namespaceSummaries', (keys: readonly string[]) => Promise.all(keys.map(() => namespaceSummaries(perms, hidden, cache)))),
    kindHealthByKind: () => make('kindHealthByKind', (keys: readonly Kind[]) => {
      const health = new Map(cache.health().map((h) => [h.kind, h]));
      return keys.map((k) => health.get(k) ?? null);
    }),
    objectCountByKind: () => make('objectCountByKind', (keys: readonly Kind[]) => Promise.all(keys.map((k) => visibleCount(perms, cache, k)))),
  };
  return new LazyLoaders(perms, { namespaces: cache.namespaces, nodes: cache.watchesNodes }, factories, () => createRouteLoaders(cache, perms, make, hidden)) as unknown as Loaders;
}

/**
 * Makes one named loader over a batch function (reports batches to `onBatch`); `now`: the same
 * answer as the batch function gives one key with access open, read synchronously.
 */
export type MakeLoader = <K, V>(name: LoaderName, batch: (keys: readonly K[]) => readonly (V | Error)[] | Promise<readonly (V | Error)[]>, now?: NowReaders<K, V>) => CacheLoader<K, V>;

/** A loader's synchronous read of the cache, by key. */
export interface NowReaders<K, V> {
  readonly key: (key: K) => V;
}

/**
 * A DataLoader over the in-memory cache, with a synchronous way in for the hot single-object
 * joins (a lookup by key, a Service's endpoints, an endpoint's pod, node and Service, a pod's
 * node). `now(key)` answers the value itself, without a promise or a batch, when nothing could
 * need to wait: the caller's access is open (authorization off), so the answer is a synchronous
 * read of the cache and no access question is asked. Otherwise (access reviews may have to be asked, and those batch: once per
 * (resource, namespace) per operation) it is `load(key)`, batched as always. Both read the same
 * cache within one turn of the event loop (no watch event lands in between), so they give the
 * same answer; the spec runs the same operations both ways (test/unit/graphql-batching.test.ts).
 * Synchronous reads are not batches: `onBatch` does not see them; what they read is noted
 * (unsynced kinds, unwatched namespaces) as a batch's would be.
 */
export class CacheLoader<K, V> extends DataLoader<K, V> {
  private readonly readers: NowReaders<K, V> | null;
  private readonly noteRead: ((name: LoaderName, key: unknown) => void) | null;
  private readonly loaderName: LoaderName;

  constructor(batch: DataLoader.BatchLoadFn<K, V>, name: LoaderName, readers: NowReaders<K, V> | null, noteRead: ((name: LoaderName, key: unknown) => void) | null) {
    super(batch, { name });
    this.loaderName = name;
    this.readers = readers;
    this.noteRead = noteRead;
  }

  /** The value now when the cache answers synchronously for this caller, else `load(key)`. */
  now(key: K): V | Promise<V> {
    if (this.readers === null) return this.load(key);
    this.noteRead?.(this.loaderName, key);
    return this.readers.key(key);
  }

  /** `fn` of the value `now(key)` answers: synchronously when that is, else once the load settles. */
  nowThen<U>(key: K, fn: (value: V) => U): U | Promise<U> {
    const value = this.now(key);
    return value instanceof Promise ? value.then(fn) : fn(value);
  }
}

// Private:

type LoaderFactories = { readonly [N in CoreLoaderName]: () => Loaders[N] };

/** Every loader name, once (the getters of LazyLoaders). */
const LoaderNames = Object.keys({
  serviceByKey: true,
  podByKey: true,
  nodeByName: true,
  sliceByKey: true,
  slicesByService: true,
  endpointsByService: true,
  podsByService: true,
  servicesByPod: true,
  podsByNode: true,
  endpointsByNode: true,
  endpointsByPod: true,
  podsByIP: true,
  servicesByClusterIP: true,
  nodesByAddress: true,
  endpointsByAddress: true,
  servicesByNamespace: true,
  servicesWithoutReadyEndpoints: true,
  podsByNamespace: true,
  slicesByNamespace: true,
  nodesByZone: true,
  namespaceSummaries: true,
  kindHealthByKind: true,
  objectCountByKind: true,
} satisfies Record<CoreLoaderName, true>) as CoreLoaderName[];

/** Loaders made on first use; one getter per name on the prototype, so nothing per request but two objects. */
class LazyLoaders {
  readonly permissions: Permissions;
  readonly watched: Loaders['watched'];
  private readonly factories: LoaderFactories;
  private readonly made: { [N in CoreLoaderName]?: Loaders[N] } = {};
  private readonly makeRoutes: () => RouteLoaders;
  private madeRoutes: RouteLoaders | null = null;

  constructor(permissions: Permissions, watched: Loaders['watched'], factories: LoaderFactories, routes: () => RouteLoaders) {
    this.permissions = permissions;
    this.watched = watched;
    this.factories = factories;
    this.makeRoutes = routes;
  }

  get routes(): RouteLoaders {
    return (this.madeRoutes ??= this.makeRoutes());
  }

  static {
    for (const name of LoaderNames) {
      Object.defineProperty(LazyLoaders.prototype, name, {
        get(this: LazyLoaders) {
          return (this.made[name] ??= this.factories[name]() as never);
        },
      });
    }
  }
}


/**
 * What each loader reads: the kinds behind its answers, and how to get the namespace from a
 * key (null: keys are not namespaced). The kinds' health and the report loaders read nothing.
 */
const Reads: Readonly<Record<LoaderName, { readonly kinds: readonly Kind[]; readonly namespaceOf: ((key: string) => string) | null }>> = {
  serviceByKey: { kinds: ['Service'], namespaceOf: (k) => namespaceOfKey(k) },
  podByKey: { kinds: ['Pod'], namespaceOf: (k) => namespaceOfKey(k) },
  nodeByName: { kinds: ['Node'], namespaceOf: null },
  sliceByKey: { kinds: ['EndpointSlice'], namespaceOf: (k) => namespaceOfKey(k) },
  slicesByService: { kinds: ['EndpointSlice'], namespaceOf: (k) => namespaceOfKey(k) },
  endpointsByService: { kinds: ['EndpointSlice'], namespaceOf: (k) => namespaceOfKey(k) },
  podsByService: { kinds: ['Service', 'Pod'], namespaceOf: (k) => namespaceOfKey(k) },
  servicesByPod: { kinds: ['Pod', 'Service'], namespaceOf: (k) => namespaceOfKey(k) },
  podsByNode: { kinds: ['Pod'], namespaceOf: null },
  endpointsByNode: { kinds: ['EndpointSlice'], namespaceOf: null },
  endpointsByPod: { kinds: ['EndpointSlice'], namespaceOf: (k) => namespaceOfKey(k) },
  podsByIP: { kinds: ['Pod'], namespaceOf: null },
  servicesByClusterIP: { kinds: ['Service'], namespaceOf: null },
  nodesByAddress: { kinds: ['Node'], namespaceOf: null },
  endpointsByAddress: { kinds: ['EndpointSlice'], namespaceOf: null },
  servicesByNamespace: { kinds: ['Service'], namespaceOf: (k) => k },
  servicesWithoutReadyEndpoints: { kinds: ['Service', 'EndpointSlice'], namespaceOf: (k) => k },
  podsByNamespace: { kinds: ['Pod'], namespaceOf: (k) => k },
  slicesByNamespace: { kinds: ['EndpointSlice'], namespaceOf: (k) => k },
  nodesByZone: { kinds: ['Node'], namespaceOf: null },
  namespaceSummaries: { kinds: ['Service', 'Pod', 'EndpointSlice'], namespaceOf: null },
  kindHealthByKind: { kinds: [], namespaceOf: null },
  objectCountByKind: { kinds: [], namespaceOf: null },
  ingressByKey: { kinds: ['Ingress'], namespaceOf: (k) => namespaceOfKey(k) },
  ingressesByNamespace: { kinds: ['Ingress'], namespaceOf: (k) => k },
  ingressesByService: { kinds: ['Ingress'], namespaceOf: (k) => namespaceOfKey(k) },
  ingressesByRuleHost: { kinds: ['Ingress'], namespaceOf: null },
  ingressesByHostname: { kinds: ['Ingress'], namespaceOf: null },
  ingressClassByName: { kinds: ['IngressClass'], namespaceOf: null },
  ingressClasses: { kinds: ['IngressClass'], namespaceOf: null },
  gatewayClasses: { kinds: ['GatewayClass'], namespaceOf: null },
  gatewayByKey: { kinds: ['Gateway'], namespaceOf: (k) => namespaceOfKey(k) },
  gatewaysByNamespace: { kinds: ['Gateway'], namespaceOf: (k) => k },
  httpRoutesByNamespace: { kinds: ['HTTPRoute'], namespaceOf: (k) => k },
  httpRoutesByService: { kinds: ['HTTPRoute'], namespaceOf: (k) => namespaceOfKey(k) },
  httpRoutesByGateway: { kinds: ['HTTPRoute'], namespaceOf: (k) => namespaceOfKey(k) },
  grpcRoutesByNamespace: { kinds: ['GRPCRoute'], namespaceOf: (k) => k },
  grpcRoutesByService: { kinds: ['GRPCRoute'], namespaceOf: (k) => namespaceOfKey(k) },
  referenceGrantsByNamespace: { kinds: ['ReferenceGrant'], namespaceOf: (k) => k },
  referencePermitted: { kinds: ['ReferenceGrant'], namespaceOf: null },
};

/** Note the kinds a batch reads that are not synced or not watched, and the namespaces it names that are not watched. */
function noteReads(cache: ClusterCache, warnings: Warnings, name: LoaderName, keys: readonly unknown[]): void {
  noteKinds(cache, warnings, name);
  for (const key of keys) noteNamespace(cache, warnings, name, key);
}

/** `noteReads` for one synchronous read (no array per read: a big answer makes thousands). */
function noteRead1(cache: ClusterCache, warnings: Warnings, name: LoaderName, key: unknown): void {
  noteKinds(cache, warnings, name);
  noteNamespace(cache, warnings, name, key);
}

function noteKinds(cache: ClusterCache, warnings: Warnings, name: LoaderName): void {
  for (const kind of Reads[name].kinds) {
    const state = cache.kindState(kind);
    if (state === 'unsynced') warnings.add(kindNotSynced(kind));
    else if (state === 'unwatched') warnings.add(kindNotWatched(kind));
  }
}

function noteNamespace(cache: ClusterCache, warnings: Warnings, name: LoaderName, key: unknown): void {
  const watched = cache.namespaces;
  const namespaceOf = Reads[name].namespaceOf;
  if (watched === null || namespaceOf === null) return;
  const ns = namespaceOf(key as string);
  if (ns !== NamespaceAll && !watched.includes(ns)) warnings.add(namespaceNotWatched(ns, watched));
}

export const Empty: readonly never[] = Object.freeze([]);

export function frozen<T>(xs: T[]): readonly T[] {
  return xs.length === 0 ? Empty : Object.freeze(xs);
}

/** The RBAC resource of each kind. */
const ResourceOfKind: Readonly<Record<Kind, Resource>> = {
  Service: 'services',
  EndpointSlice: 'endpointslices',
  Pod: 'pods',
  Node: 'nodes',
  Ingress: 'ingresses',
  IngressClass: 'ingressclasses',
  GatewayClass: 'gatewayclasses',
  Gateway: 'gateways',
  HTTPRoute: 'httproutes',
  GRPCRoute: 'grpcroutes',
  ReferenceGrant: 'referencegrants',
};

const namespaceOfRecord = (r: { readonly meta: { readonly namespace: string } }): string => r.meta.namespace;
const namespaceOfEndpoint = (e: EndpointParent): string => e.namespace;
const namespaceOfKey = (key: string): string => key.slice(0, key.indexOf('/'));

/**
 * Results keyed by `namespace/name` (of the object, or of the Service it belongs to): a result
 * in a namespace the caller may not see becomes null. Asks about the namespaces of the keys
 * that found something.
 */
export function visibleByKey<R>(perms: Permissions, resource: Resource, keys: readonly string[], results: (R | null)[]): (R | null)[] | Promise<(R | null)[]> {
  if (perms.open) return results;
  const touched = function* () {
    for (let i = 0; i < keys.length; i++) if (results[i] !== null) yield namespaceOfKey(keys[i]!);
  };
  return perms.visibleNamespaces(resource, touched).then((visible) =>
    visible === null ? results : results.map((r, i) => (r !== null && visible.has(namespaceOfKey(keys[i]!)) ? r : null)),
  );
}

/** Lists: items in namespaces the caller may not see are left out (a list wholly visible is returned as is). */
export function visibleLists<R>(
  perms: Permissions,
  resource: Resource,
  results: (readonly R[])[],
  namespaceOf: (r: R) => string,
  hidden: ((resource: Resource) => void) | null,
): (readonly R[])[] | Promise<(readonly R[])[]> {
  if (perms.open) return results;
  const touched = function* () {
    for (const list of results) for (const r of list) yield namespaceOf(r);
  };
  return perms.visibleNamespaces(resource, touched).then((visible) => {
    if (visible !== null) hidden?.(resource);
    return visible === null ? results : results.map((list) => (list.every((r) => visible.has(namespaceOf(r))) ? list : frozen(list.filter((r) => visible.has(namespaceOf(r))))));
  });
}

/** Nodes are cluster-scoped: all of them, or FORBIDDEN for every key (the caller cannot tell absent from hidden). */
function visibleNodes<V>(perms: Permissions, results: V[]): V[] | Promise<(V | Error)[]> {
  if (perms.open) return results;
  return perms.clusterWide('nodes').then((allowed) => {
    if (allowed) return results;
    const error = perms.forbidden('nodes', AllNamespaces);
    return results.map(() => error);
  });
}

/**
 * `...ByNamespace`: a namespace's list, or NamespaceAll's. Allowed cluster-wide, the shared
 * sorted-once lists; otherwise NamespaceAll is the concatenation of the visible namespaces'
 * sorted-once lists in namespace order (which is the (namespace, name) order), so a caller
 * who sees a few namespaces pays for those only.
 */
export function namespaceLists<R extends AnyRecord>(
  perms: Permissions,
  hidden: ((resource: Resource) => void) | null,
  resource: Resource,
  store: Store<R>,
  keys: readonly string[],
): (readonly R[])[] | Promise<(readonly R[])[]> {
  const listOf = (ns: string) => sortedOnce(store, ns, () => (ns === NamespaceAll ? [...store.list()] : store.byIndex(ByNamespace, ns)));
  if (perms.open) return keys.map(listOf);
  const touched = function* () {
    for (const ns of keys) {
      if (ns === NamespaceAll) yield* store.indexValues(ByNamespace);
      else if (store.countByIndex(ByNamespace, ns) > 0) yield ns;
    }
  };
  return perms.visibleNamespaces(resource, touched).then((visible) => {
    if (visible === null) return keys.map(listOf);
    // Whether anything was hidden is not said: only that the list is narrowed to what the caller may see.
    if (keys.includes(NamespaceAll)) hidden?.(resource);
    return keys.map((ns) => {
      if (ns !== NamespaceAll) return visible.has(ns) ? listOf(ns) : Empty;
      const out: R[] = [];
      for (const n of [...visible].sort(compareStrings)) out.push(...listOf(n));
      return frozen(out);
    });
  });
}

/** Every namespace the cache knows, with the counts of the kinds the caller may see there (see Loaders.namespaceSummaries). */
async function namespaceSummaries(perms: Permissions, hidden: ((resource: Resource) => void) | null, cache: ClusterCache): Promise<readonly NamespaceSummary[]> {
  const stores = [cache.services, cache.pods, cache.slices] as const;
  const names = new Set<string>(cache.namespaces ?? []);
  for (const store of stores) for (const ns of store.indexValues(ByNamespace)) names.add(ns);
  const sortedNames = [...names].sort(compareStrings);
  const resources: Resource[] = ['services', 'pods', 'endpointslices'];
  const visible = await Promise.all(resources.map((r) => perms.visibleNamespaces(r, () => sortedNames)));
  visible.forEach((v, i) => v !== null && hidden?.(resources[i]!));
  const count = (i: number, ns: string) => (visible[i] === null || visible[i]!.has(ns) ? stores[i]!.countByIndex(ByNamespace, ns) : null);
  const out: NamespaceSummary[] = [];
  for (const name of sortedNames) {
    const summary = { name, services: count(0, name), pods: count(1, name), endpointSlices: count(2, name) };
    if (summary.services !== null || summary.pods !== null || summary.endpointSlices !== null) out.push(Object.freeze(summary));
  }
  return frozen(out);
}

/**
 * The kept answer of each (cache, feed) pair, made and started on first use and kept current
 * from then on by the store and the feed it follows.
 */
const keptWithoutReady = new WeakMap<EndpointFeed, ServicesWithoutReadyEndpoints>();
function withoutReadyOf(sources: LoaderSources): ServicesWithoutReadyEndpoints {
  let kept = keptWithoutReady.get(sources.feed);
  if (kept === undefined) {
    kept = new ServicesWithoutReadyEndpoints(sources.cache.services, sources.feed);
    kept.start();
    keptWithoutReady.set(sources.feed, kept);
  }
  return kept;
}

/**
 * `servicesWithoutReadyEndpoints`: open or cluster-wide on both resources, the kept lists. Else
 * per namespace whose Services the caller may see: the kept list where it may see the
 * EndpointSlices too, and every Service but ExternalName ones where it may not (it sees no ready
 * endpoint there). Slices are asked about only for namespaces that have some.
 */
function withoutReadyLists(
  perms: Permissions,
  hidden: ((resource: Resource) => void) | null,
  cache: ClusterCache,
  kept: ServicesWithoutReadyEndpoints,
  keys: readonly string[],
): (readonly ServiceRecord[])[] | Promise<(readonly ServiceRecord[])[]> {
  if (perms.open) return keys.map((ns) => kept.list(ns));
  const serviceNamespaces = function* () {
    for (const ns of keys) {
      if (ns === NamespaceAll) yield* cache.services.indexValues(ByNamespace);
      else if (cache.services.countByIndex(ByNamespace, ns) > 0) yield ns;
    }
  };
  return perms.visibleNamespaces('services', serviceNamespaces).then(async (services) => {
    const withServices = services ?? new Set(serviceNamespaces());
    const withSlices = function* () {
      for (const ns of withServices) if (cache.slices.countByIndex(ByNamespace, ns) > 0) yield ns;
    };
    const slices = await perms.visibleNamespaces('endpointslices', withSlices);
    if (services === null && slices === null) return keys.map((ns) => kept.list(ns));
    if (services !== null && keys.includes(NamespaceAll)) hidden?.('services');
    const listOf = (ns: string): readonly ServiceRecord[] =>
      slices === null || slices.has(ns) || cache.slices.countByIndex(ByNamespace, ns) === 0
        ? kept.list(ns)
        : frozen(sortedOnce(cache.services, ns, () => cache.services.byIndex(ByNamespace, ns)).filter((s) => s.type !== 'ExternalName'));
    return keys.map((ns) => {
      if (ns !== NamespaceAll) return withServices.has(ns) ? listOf(ns) : Empty;
      const out: ServiceRecord[] = [];
      for (const n of [...withServices].sort(compareStrings)) out.push(...listOf(n));
      return frozen(out);
    });
  });
}

/** How many objects of `kind` the caller may see: the store's size, or the sum over visible namespaces. */
async function visibleCount(perms: Permissions, cache: ClusterCache, kind: Kind): Promise<number> {
  const store = cache.storeOf(kind) as Store<ServiceRecord | PodRecord | EndpointSliceRecord | NodeRecord>;
  const resource = ResourceOfKind[kind];
  if (ClusterScopedResources.has(resource)) return perms.open || (await perms.clusterWide(resource)) ? store.size : 0;
  const visible = await perms.visibleNamespaces(resource, () => store.indexValues(ByNamespace));
  if (visible === null) return store.size;
  let n = 0;
  for (const ns of visible) n += store.countByIndex(ByNamespace, ns);
  return n;
}

/** A new array sorted by (namespace, name); `xs` is a fresh array from the store, safe to sort. */
export function sorted<R extends AnyRecord>(xs: R[]): readonly R[] {
  return frozen(xs.sort(byObjectKey));
}

/**
 * Whole-namespace and whole-zone lists, sorted once per version of their store and shared by
 * every operation until the store changes: a cluster-wide list would otherwise copy and sort
 * every object on every request.
 */
const sortedLists = new WeakMap<object, { version: number; lists: Map<string, readonly unknown[]> }>();
export function sortedOnce<R extends AnyRecord>(store: Store<R>, key: string, list: () => R[]): readonly R[] {
  let memo = sortedLists.get(store);
  if (!memo || memo.version !== store.version) sortedLists.set(store, (memo = { version: store.version, lists: new Map() }));
  let hit = memo.lists.get(key) as readonly R[] | undefined;
  if (!hit) memo.lists.set(key, (hit = sorted(list())));
  return hit;
}

/**
 * The merged endpoints passing `keep`, of every Service that `slices` belong to. The slice
 * index narrows the Services; the feed's merged view decides (a stale copy of an address in
 * a second slice does not count when the merge prefers another).
 */
function endpointsOfSlices(
  feed: EndpointFeed,
  slices: readonly EndpointSliceRecord[],
  keep: (e: MergedEndpoint, serviceNamespace: string) => boolean,
): readonly EndpointParent[] {
  const services = new Set<string>();
  for (const s of slices) {
    const key = sliceServiceKey(s);
    if (key !== null) services.add(key);
  }
  const out: EndpointParent[] = [];
  for (const key of services) {
    const view = feed.get(key);
    if (view === null) continue;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const serviceName = key.slice(slash + 1);
    for (const endpoint of view.endpoints) {
      if (keep(endpoint, namespace)) out.push(new EndpointParent(namespace, serviceName, endpoint));
    }
  }
  return frozen(out.sort(byEndpointKey));
}

/**
 * The Pods each Service selects. Per namespace in the batch, the Pods are indexed once by
 * label pair; each Service then checks only the Pods carrying its rarest pair.
 */
function podsSelectedBy(cache: ClusterCache, serviceKeys: readonly string[]): (readonly PodRecord[])[] {
  const byPair = new Map<string, Map<string, PodRecord[]>>(); // namespace → "key=value" → pods
  const pairsOf = (namespace: string) => {
    let index = byPair.get(namespace);
    if (index === undefined) {
      index = new Map();
      for (const pod of cache.pods.byIndex(ByNamespace, namespace)) {
        for (const [k, v] of Object.entries(pod.meta.labels)) {
          const pair = `${k}=${v}`;
          const list = index.get(pair);
          if (list === undefined) index.set(pair, [pod]);
          else list.push(pod);
        }
      }
      byPair.set(namespace, index);
    }
    return index;
  };
  return serviceKeys.map((key) => {
    const svc = cache.services.get(key);
    if (!svc || !svc.selector) return Empty;
    const index = pairsOf(svc.meta.namespace);
    let candidates: PodRecord[] | undefined;
    for (const [k, v] of Object.entries(svc.selector)) {
      const list = index.get(`${k}=${v}`);
      if (list === undefined) return Empty; // no pod carries this pair
      if (candidates === undefined || list.length < candidates.length) candidates = list;
    }
    return sorted((candidates ?? []).filter((pod) => selects(svc, pod)));
  });
}

function nodesWithAddresses(cache: ClusterCache, addresses: readonly string[]): (readonly NodeRecord[])[] {
  const wanted = new Map<string, NodeRecord[]>(addresses.map((a) => [a, []]));
  for (const node of cache.nodes.list()) {
    for (const a of node.addresses) {
      const list = wanted.get(a.address);
      if (list !== undefined && !list.includes(node)) list.push(node);
    }
  }
  return addresses.map((a) => sorted(wanted.get(a)!));
}
