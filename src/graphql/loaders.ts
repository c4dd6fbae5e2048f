/**
 * Loaders: the only way resolvers reach data (DESIGN.md "Loaders"). One set per operation over
 * HTTP, per event over WebSocket, so that answers are consistent within an operation and
 * nothing outlives it.
 *
 * Batch functions are synchronous lookups in the cache's indexes and the endpoint feed today;
 * the same seam will batch remote work (authorization per caller and namespace, other
 * clusters) and is where a per-caller filter goes. They keep DataLoader's contract: one result
 * per key, in key order. Single-valued loaders give `null` for absence; list-valued loaders
 * give an empty list when nothing matches. Lists are sorted as documented per loader and frozen.
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
import type { EndpointSliceRecord, Kind, NodeRecord, PodRecord, ServiceRecord } from '../kube/records.ts';
import type { EndpointFeed } from '../model/endpoint-feed.ts';
import { sliceServiceKey, type MergedEndpoint, type ServiceEndpoints } from '../model/endpoints.ts';
import { byEndpointKey, byObjectKey } from './pagination.ts';
import type { Store } from '../kube/store.ts';
import type { EndpointParent } from './parents.ts';

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
  /** Node name → Node. */
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
  /** Kind → its watch state (ClusterCache.health()), read once per batch. */
  readonly kindHealthByKind: DataLoader<Kind, KindHealth | null>;
}

export type LoaderName = keyof Loaders;

/** A fresh set of loaders: create one per operation (HTTP) or per event (WebSocket). */
export function createLoaders(sources: LoaderSources, options: LoaderOptions = {}): Loaders {
  const { cache, feed } = sources;
  const make = <K, V>(name: LoaderName, batch: (keys: readonly K[]) => V[]): DataLoader<K, V> =>
    new DataLoader<K, V>(
      (keys) => {
        options.onBatch?.(name, keys);
        return Promise.resolve(batch(keys));
      },
      { name },
    );

  return {
    serviceByKey: make('serviceByKey', (keys: readonly string[]) => keys.map((k) => cache.services.get(k) ?? null)),
    podByKey: make('podByKey', (keys: readonly string[]) => keys.map((k) => cache.pods.get(k) ?? null)),
    nodeByName: make('nodeByName', (keys: readonly string[]) => keys.map((k) => cache.nodes.get(k) ?? null)),
    sliceByKey: make('sliceByKey', (keys: readonly string[]) => keys.map((k) => cache.slices.get(k) ?? null)),
    slicesByService: make('slicesByService', (keys: readonly string[]) => keys.map((k) => frozen(cache.slicesByService(k)))),
    endpointsByService: make('endpointsByService', (keys: readonly string[]) => keys.map((k) => feed.get(k))),
    podsByService: make('podsByService', (keys: readonly string[]) => podsSelectedBy(cache, keys)),
    servicesByPod: make('servicesByPod', (keys: readonly string[]) =>
      keys.map((k) => {
        const pod = cache.pods.get(k);
        return pod ? frozen(cache.servicesSelectingPod(pod)) : Empty;
      }),
    ),
    podsByNode: make('podsByNode', (keys: readonly string[]) => keys.map((k) => sorted(cache.pods.byIndex(PodsByNode, k)))),
    endpointsByNode: make('endpointsByNode', (keys: readonly string[]) =>
      keys.map((node) => endpointsOfSlices(feed, cache.slices.byIndex(SlicesByNode, node), (e) => e.nodeName === node)),
    ),
    endpointsByPod: make('endpointsByPod', (keys: readonly string[]) =>
      keys.map((podKey) => {
        const slash = podKey.indexOf('/');
        const namespace = podKey.slice(0, slash);
        const name = podKey.slice(slash + 1);
        return endpointsOfSlices(feed, cache.slices.byIndex(SlicesByPod, podKey), (e, serviceNamespace) => {
          const ref = e.targetRef;
          return ref !== null && ref.kind === 'Pod' && ref.name === name && (ref.namespace || serviceNamespace) === namespace;
        });
      }),
    ),
    podsByIP: make('podsByIP', (keys: readonly string[]) => keys.map((ip) => sorted(cache.pods.byIndex(PodsByIP, ip)))),
    servicesByClusterIP: make('servicesByClusterIP', (keys: readonly string[]) => keys.map((ip) => sorted(cache.services.byIndex(ServicesByClusterIP, ip)))),
    nodesByAddress: make('nodesByAddress', (keys: readonly string[]) => nodesWithAddresses(cache, keys)),
    endpointsByAddress: make('endpointsByAddress', (keys: readonly string[]) =>
      keys.map((ip) => endpointsOfSlices(feed, cache.slices.byIndex(SlicesByAddress, ip), (e) => e.address === ip)),
    ),
    servicesByNamespace: make('servicesByNamespace', (keys: readonly string[]) =>
      keys.map((ns) => sortedOnce(cache.services, ns, () => (ns === NamespaceAll ? [...cache.services.list()] : cache.services.byIndex(ByNamespace, ns)))),
    ),
    podsByNamespace: make('podsByNamespace', (keys: readonly string[]) =>
      keys.map((ns) => sortedOnce(cache.pods, ns, () => (ns === NamespaceAll ? [...cache.pods.list()] : cache.pods.byIndex(ByNamespace, ns)))),
    ),
    slicesByNamespace: make('slicesByNamespace', (keys: readonly string[]) =>
      keys.map((ns) => sortedOnce(cache.slices, ns, () => (ns === NamespaceAll ? [...cache.slices.list()] : cache.slices.byIndex(ByNamespace, ns)))),
    ),
    nodesByZone: make('nodesByZone', (keys: readonly string[]) =>
      keys.map((zone) => sortedOnce(cache.nodes, zone, () => (zone === AnyZone ? [...cache.nodes.list()] : cache.nodes.byIndex(NodesByZone, zone)))),
    ),
    kindHealthByKind: make('kindHealthByKind', (keys: readonly Kind[]) => {
      const health = new Map(cache.health().map((h) => [h.kind, h]));
      return keys.map((k) => health.get(k) ?? null);
    }),
  };
}

// Private:

const Empty: readonly never[] = Object.freeze([]);

function frozen<T>(xs: T[]): readonly T[] {
  return xs.length === 0 ? Empty : Object.freeze(xs);
}

/** A new array sorted by (namespace, name); `xs` is a fresh array from the store, safe to sort. */
function sorted<R extends ServiceRecord | PodRecord | EndpointSliceRecord | NodeRecord>(xs: R[]): readonly R[] {
  return frozen(xs.sort(byObjectKey));
}

/**
 * Whole-namespace and whole-zone lists, sorted once per version of their store and shared by
 * every operation until the store changes: a cluster-wide list would otherwise copy and sort
 * every object on every request.
 */
const sortedLists = new WeakMap<object, { version: number; lists: Map<string, readonly unknown[]> }>();
function sortedOnce<R extends ServiceRecord | PodRecord | EndpointSliceRecord | NodeRecord>(store: Store<R>, key: string, list: () => R[]): readonly R[] {
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
