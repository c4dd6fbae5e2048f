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
import { sliceServiceKey, type MergedEndpoint, type ServiceEndpoints } from '../model/endpoints.ts';
import { byEndpointKey, byObjectKey, compareStrings } from './pagination.ts';
import { Permissions } from './permissions.ts';
import type { Store } from '../kube/store.ts';
import type { EndpointParent } from './parents.ts';
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
}

/** metav1.NamespaceAll: as a key of a `...ByNamespace` loader, every namespace. */
export const NamespaceAll = '';

/** As a key of `nodesByZone`, every Node, with or without a zone. */
export const AnyZone = '';

export interface Loaders {
  /** `namespace/name` → Service. */
  readonly serviceByKey: DataLoader<string, ServiceRecord | null>;
  /** `namespace/name` → Pod. */
  readonly podByKey: DataLoader<string, PodRecord | null>;
  /** Node name → Node. Every key fails with FORBIDDEN when the caller may not list Nodes (so do nodesByAddress and nodesByZone). */
  readonly nodeByName: DataLoader<string, NodeRecord | null>;
  /** `namespace/name` → EndpointSlice. */
  readonly sliceByKey: DataLoader<string, EndpointSliceRecord | null>;
  /** Service key → its slices (label kubernetes.io/service-name), sorted by name. */
  readonly slicesByService: DataLoader<string, readonly EndpointSliceRecord[]>;
  /** Service key → its merged endpoints (the endpoint feed's current view); null when it has no slices. */
  readonly endpointsByService: DataLoader<string, ServiceEndpoints | null>;
  /** Service key → the Pods its selector selects in its namespace, sorted; empty for selectorless or absent Services. */
  readonly podsByService: DataLoader<string, readonly PodRecord[]>;
  /** Pod key → the Services whose selector selects it, sorted. */
  readonly servicesByPod: DataLoader<string, readonly ServiceRecord[]>;
  /** Node name → the Pods scheduled to it, sorted. */
  readonly podsByNode: DataLoader<string, readonly PodRecord[]>;
  /** Node name → the merged endpoints whose nodeName it is, sorted by Service then address. */
  readonly endpointsByNode: DataLoader<string, readonly EndpointParent[]>;
  /** Pod key → the merged endpoints whose targetRef is the Pod, sorted by Service then address. */
  readonly endpointsByPod: DataLoader<string, readonly EndpointParent[]>;
  /** Canonical IP → Pods with it among their podIPs, sorted. */
  readonly podsByIP: DataLoader<string, readonly PodRecord[]>;
  /** Canonical IP → Services with it among their clusterIPs, sorted. */
  readonly servicesByClusterIP: DataLoader<string, readonly ServiceRecord[]>;
  /** Canonical IP → Nodes with it among their addresses, sorted by name. One scan of the Nodes per batch (the cache has no address index). */
  readonly nodesByAddress: DataLoader<string, readonly NodeRecord[]>;
  /** Canonical IP → merged endpoints with that address (one per Service), sorted by Service. */
  readonly endpointsByAddress: DataLoader<string, readonly EndpointParent[]>;
  /** Namespace (NamespaceAll: every one) → its Services, sorted. */
  readonly servicesByNamespace: DataLoader<string, readonly ServiceRecord[]>;
  /** Namespace (NamespaceAll: every one) → its Pods, sorted. */
  readonly podsByNamespace: DataLoader<string, readonly PodRecord[]>;
  /** Namespace (NamespaceAll: every one) → its EndpointSlices, sorted. */
  readonly slicesByNamespace: DataLoader<string, readonly EndpointSliceRecord[]>;
  /** Zone (AnyZone: every Node) → Nodes labelled topology.kubernetes.io/zone with it, sorted by name. */
  readonly nodesByZone: DataLoader<string, readonly NodeRecord[]>;
  /** Kind → its watch state (ClusterCache.health()), read once per batch. `objects` counts the whole cache. */
  readonly kindHealthByKind: DataLoader<Kind, KindHealth | null>;
  /** Kind → how many of its cached objects the caller may see. */
  readonly objectCountByKind: DataLoader<Kind, number>;
  /**
   * The caller's decisions for this operation: fields that name a namespace, or need Nodes
   * whatever the data, ask it first (`require`). Not a DataLoader.
   */
  readonly permissions: Permissions;
  /** Ingresses and IngressClasses (route-loaders.ts). */
  readonly routes: RouteLoaders;
}

export type LoaderName = Exclude<keyof Loaders, 'permissions' | 'routes'> | RouteLoaderName;

/** A fresh set of loaders: create one per operation (HTTP) or per event (WebSocket). */
export function createLoaders(sources: LoaderSources, options: LoaderOptions = {}): Loaders {
  const { cache, feed } = sources;
  const perms = new Permissions(options.access ?? OpenAccess, options.verb ?? 'list');
  const make: MakeLoader = <K, V>(name: LoaderName, batch: (keys: readonly K[]) => readonly (V | Error)[] | Promise<readonly (V | Error)[]>): DataLoader<K, V> =>
    new DataLoader<K, V>(
      (keys) => {
        options.onBatch?.(name, keys);
        return Promise.resolve(batch(keys));
      },
      { name },
    );
  // The filters, per kind of result.
  const byKey = <R>(resource: Resource, keys: readonly string[], results: (R | null)[]) => visibleByKey(perms, resource, keys, results);
  const lists = <R>(resource: Resource, results: (readonly R[])[], namespaceOf: (r: R) => string) => visibleLists(perms, resource, results, namespaceOf);
  const nodes = <V>(results: V[]) => visibleNodes(perms, results);

  return {
    serviceByKey: make('serviceByKey', (keys: readonly string[]) => byKey('services', keys, keys.map((k) => cache.services.get(k) ?? null))),
    podByKey: make('podByKey', (keys: readonly string[]) => byKey('pods', keys, keys.map((k) => cache.pods.get(k) ?? null))),
    nodeByName: make('nodeByName', (keys: readonly string[]) => nodes(keys.map((k) => cache.nodes.get(k) ?? null))),
    sliceByKey: make('sliceByKey', (keys: readonly string[]) => byKey('endpointslices', keys, keys.map((k) => cache.slices.get(k) ?? null))),
    slicesByService: make('slicesByService', (keys: readonly string[]) => lists('endpointslices', keys.map((k) => frozen(cache.slicesByService(k))), namespaceOfRecord)),
    endpointsByService: make('endpointsByService', (keys: readonly string[]) => byKey('endpointslices', keys, keys.map((k) => feed.get(k)))),
    podsByService: make('podsByService', (keys: readonly string[]) => lists('pods', podsSelectedBy(cache, keys), namespaceOfRecord)),
    servicesByPod: make('servicesByPod', (keys: readonly string[]) =>
      lists(
        'services',
        keys.map((k) => {
          const pod = cache.pods.get(k);
          return pod ? frozen(cache.servicesSelectingPod(pod)) : Empty;
        }),
        namespaceOfRecord,
      ),
    ),
    podsByNode: make('podsByNode', (keys: readonly string[]) => lists('pods', keys.map((k) => sorted(cache.pods.byIndex(PodsByNode, k))), namespaceOfRecord)),
    endpointsByNode: make('endpointsByNode', (keys: readonly string[]) =>
      lists(
        'endpointslices',
        keys.map((node) => endpointsOfSlices(feed, cache.slices.byIndex(SlicesByNode, node), (e) => e.nodeName === node)),
        namespaceOfEndpoint,
      ),
    ),
    endpointsByPod: make('endpointsByPod', (keys: readonly string[]) =>
      lists(
        'endpointslices',
        keys.map((podKey) => {
          const slash = podKey.indexOf('/');
          const namespace = podKey.slice(0, slash);
          const name = podKey.slice(slash + 1);
          return endpointsOfSlices(feed, cache.slices.byIndex(SlicesByPod, podKey), (e, serviceNamespace) => {
            const ref = e.targetRef;
            return ref !== null && ref.kind === 'Pod' && ref.name === name && (ref.namespace || serviceNamespace) === namespace;
          });
        }),
        namespaceOfEndpoint,
      ),
    ),
    podsByIP: make('podsByIP', (keys: readonly string[]) => lists('pods', keys.map((ip) => sorted(cache.pods.byIndex(PodsByIP, ip))), namespaceOfRecord)),
    servicesByClusterIP: make('servicesByClusterIP', (keys: readonly string[]) =>
      lists('services', keys.map((ip) => sorted(cache.services.byIndex(ServicesByClusterIP, ip))), namespaceOfRecord),
    ),
    nodesByAddress: make('nodesByAddress', (keys: readonly string[]) => nodes(nodesWithAddresses(cache, keys))),
    endpointsByAddress: make('endpointsByAddress', (keys: readonly string[]) =>
      lists(
        'endpointslices',
        keys.map((ip) => endpointsOfSlices(feed, cache.slices.byIndex(SlicesByAddress, ip), (e) => e.address === ip)),
        namespaceOfEndpoint,
      ),
    ),
    servicesByNamespace: make('servicesByNamespace', (keys: readonly string[]) => namespaceLists(perms, 'services', cache.services, keys)),
    podsByNamespace: make('podsByNamespace', (keys: readonly string[]) => namespaceLists(perms, 'pods', cache.pods, keys)),
    slicesByNamespace: make('slicesByNamespace', (keys: readonly string[]) => namespaceLists(perms, 'endpointslices', cache.slices, keys)),
    nodesByZone: make('nodesByZone', (keys: readonly string[]) =>
      nodes(keys.map((zone) => sortedOnce(cache.nodes, zone, () => (zone === AnyZone ? [...cache.nodes.list()] : cache.nodes.byIndex(NodesByZone, zone))))),
    ),
    kindHealthByKind: make('kindHealthByKind', (keys: readonly Kind[]) => {
      const health = new Map(cache.health().map((h) => [h.kind, h]));
      return keys.map((k) => health.get(k) ?? null);
    }),
    objectCountByKind: make('objectCountByKind', (keys: readonly Kind[]) => Promise.all(keys.map((k) => visibleCount(perms, cache, k)))),
    permissions: perms,
    routes: createRouteLoaders(cache, perms, make),
  };
}

/** Makes one named loader over a batch function (reports batches to `onBatch`). */
export type MakeLoader = <K, V>(name: LoaderName, batch: (keys: readonly K[]) => readonly (V | Error)[] | Promise<readonly (V | Error)[]>) => DataLoader<K, V>;

// Private:

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
export function visibleLists<R>(perms: Permissions, resource: Resource, results: (readonly R[])[], namespaceOf: (r: R) => string): (readonly R[])[] | Promise<(readonly R[])[]> {
  if (perms.open) return results;
  const touched = function* () {
    for (const list of results) for (const r of list) yield namespaceOf(r);
  };
  return perms.visibleNamespaces(resource, touched).then((visible) =>
    visible === null ? results : results.map((list) => (list.every((r) => visible.has(namespaceOf(r))) ? list : frozen(list.filter((r) => visible.has(namespaceOf(r)))))),
  );
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
    return keys.map((ns) => {
      if (ns !== NamespaceAll) return visible.has(ns) ? listOf(ns) : Empty;
      const out: R[] = [];
      for (const n of [...visible].sort(compareStrings)) out.push(...listOf(n));
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
      if (keep(endpoint, namespace)) out.push(Object.freeze({ kind: 'Endpoint', namespace, serviceName, endpoint }));
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
