/**
 * The cluster cache: one indexed store per kind, fed by one reflector per kind (and per
 * namespace when scoped), with the named indexes the loaders read through.
 */
import type { ApiClient } from './client.ts';
import { Reflector, type ReflectorPhase, type ReflectorStatus } from './reflector.ts';
import type { EndpointSliceRecord, Kind, NodeRecord, PodRecord, RecordOf, RouteKind, ServiceRecord } from './records.ts';
import { IngressesByHost, IngressesByService, ingressHosts, ingressServiceKeys, type IngressClassRecord, type IngressRecord } from './routes.ts';
import { namespacedKey, objectKey } from './records.ts';
import { Store } from './store.ts';
import { sliceAddresses, sliceNodeNames, slicePodNames, slicePodStrings } from './slice-pack.ts';
import { ingest } from './ingest.ts';
import { errorText, logger as rootLogger, type Logger } from '../log.ts';
import { GatewayApiDiscovery } from './discovery.ts';
import {
  GatewayGroup,
  GatewayKinds,
  RoutesByGateway,
  RoutesByService,
  routeGatewayKeys,
  routeServiceKeys,
  type GatewayClassRecord,
  type GatewayKind,
  type GatewayRecord,
  type GRPCRouteRecord,
  type HTTPRouteRecord,
  type ReferenceGrantRecord,
} from './gateway-api.ts';
import { describeRequirement, kindRequirements, reviewRequirements } from './preflight.ts';
import { KindResources, type AnyRecord } from './records.ts';

/** Index names, in Kubernetes' words. */
export const ByNamespace = 'namespace';
export const ServicesByClusterIP = 'clusterIP';
/** `namespace/key=value` for each pair of a Service's selector: candidates for "which Services select this pod". */
export const ServicesBySelectorPair = 'selectorPair';
/** `namespace/serviceName` of the slice's kubernetes.io/service-name label. */
export const SlicesByService = 'service';
/** Every address of every endpoint in the slice. */
export const SlicesByAddress = 'address';
export const SlicesByNode = 'node';
/**
 * The name of every endpoint's Pod targetRef: the record's own string, so the index adds no
 * string per endpoint. Names repeat across namespaces only rarely; readers check the namespace.
 */
export const SlicesByPod = 'pod';
export const PodsByNode = 'node';
export const PodsByIP = 'ip';
export const NodesByZone = 'zone';

export const Kinds: readonly Kind[] = ['Service', 'EndpointSlice', 'Pod', 'Node', 'Ingress', 'IngressClass', ...GatewayKinds];

/** The optional kinds: watched only when the gateway may read them (preflight.ts). */
export const RouteKinds: readonly RouteKind[] = ['Ingress', 'IngressClass'];


export interface KindHealth {
  readonly kind: Kind;
  /** The kind has reflectors: false for an optional kind the gateway may not read (or a hand-fed cache). */
  readonly watched: boolean;
  /** The group/version read (`v1`, `networking.k8s.io/v1`, `gateway.networking.k8s.io/v1beta1`); null when not watched. */
  readonly apiVersion: string | null;
  readonly phase: ReflectorPhase;
  /** Every reflector of this kind has listed once; from then on the kind counts as synced. */
  readonly synced: boolean;
  readonly syncedAt: number | null;
  /** Oldest "last event or bookmark" among this kind's reflectors. */
  readonly lastEventAt: number | null;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly objects: number;
  readonly lists: number;
  readonly watches: number;
  readonly events: number;
}

export interface CacheOptions {
  /** null: no reflectors; the stores are fed by hand (unit tests, benchmarks). */
  client: ApiClient | null;
  /** Watch only these namespaces (Nodes stay cluster-wide); null: every namespace. */
  namespaces?: readonly string[] | null;
  /** Watch Nodes (cluster-scoped). @default true */
  watchNodes?: boolean;
  /** The optional routing kinds to watch (those the gateway may read). @default RouteKinds */
  routeKinds?: readonly RouteKind[];
  /** Discover and watch the Gateway API kinds (discovery.ts). @default true (with a client) */
  gatewayApi?: boolean;
  /** How often discovery asks whether the Gateway API kinds are served. @default 30_000 // 30 seconds */
  discoveryIntervalMs?: number;
  /** Ask (SelfSubjectAccessReview) before watching a discovered kind; false for a server without the authorization API (the demo). @default true */
  askPermissions?: boolean;
  /** Reflector tuning for tests and benchmarks. */
  reflector?: { stallTimeoutMs?: number; backoffInitialMs?: number; backoffMaxMs?: number; watchTimeoutSeconds?: readonly [number, number]; pageSize?: number };
  onStatus?: (s: ReflectorStatus) => void;
  logger?: Logger;
}

export class ClusterCache {
  readonly services = new Store<ServiceRecord>({
    [ByNamespace]: (s) => [s.meta.namespace],
    [ServicesByClusterIP]: (s) => s.clusterIPs.filter((ip) => ip !== 'None'),
    [ServicesBySelectorPair]: (s) => (s.selector ? Object.entries(s.selector).map(([k, v]) => namespacedKey(s.meta.namespace, `${k}=${v}`)) : []),
  });
  readonly slices = new Store<EndpointSliceRecord>({
    [ByNamespace]: (s) => [s.meta.namespace],
    [SlicesByService]: (s) => (s.serviceName ? [namespacedKey(s.meta.namespace, s.serviceName)] : []),
    [SlicesByAddress]: sliceAddresses,
    [SlicesByNode]: sliceNodeNames,
    [SlicesByPod]: slicePodNames,
  });
  readonly pods = new Store<PodRecord>({
    [ByNamespace]: (p) => [p.meta.namespace],
    [PodsByNode]: (p) => (p.nodeName ? [p.nodeName] : []),
    [PodsByIP]: (p) => p.podIPs,
  });
  readonly nodes = new Store<NodeRecord>({
    [NodesByZone]: (n) => (n.zone ? [n.zone] : []),
  });
  readonly ingresses = new Store<IngressRecord>({
    [ByNamespace]: (i) => [i.meta.namespace],
    [IngressesByService]: ingressServiceKeys,
    [IngressesByHost]: ingressHosts,
  });
  readonly ingressClasses = new Store<IngressClassRecord>({});
  // Gateway API: watched while discovery says they are served (discovery.ts).
  readonly gatewayClasses = new Store<GatewayClassRecord>({});
  readonly gateways = new Store<GatewayRecord>({ [ByNamespace]: (g) => [g.meta.namespace] });
  readonly httpRoutes = new Store<HTTPRouteRecord>({ [ByNamespace]: (r) => [r.meta.namespace], [RoutesByService]: routeServiceKeys, [RoutesByGateway]: routeGatewayKeys });
  readonly grpcRoutes = new Store<GRPCRouteRecord>({ [ByNamespace]: (r) => [r.meta.namespace], [RoutesByService]: routeServiceKeys, [RoutesByGateway]: routeGatewayKeys });
  readonly referenceGrants = new Store<ReferenceGrantRecord>({ [ByNamespace]: (g) => [g.meta.namespace] });
  /** The reflectors of the kinds watched from the start (the Gateway API kinds come and go: see gatewayReflectors). */
  readonly reflectors: readonly Reflector<Kind>[];
  /** The namespaces watched (sorted), or null when every namespace is. */
  readonly namespaces: readonly string[] | null;
  /** Kinds whose every reflector has listed once (a kind stays synced once it is). */
  private readonly syncedKinds = new Set<Kind>();
  /** Gateway API kind → its reflectors and the version they read, while served and readable. */
  private readonly gatewayReflectors = new Map<GatewayKind, { version: string; reflectors: Reflector<Kind>[] }>();
  private readonly discovery: GatewayApiDiscovery | null;
  private readonly makeReflector: <K extends Kind>(kind: K, store: Store<RecordOf[K]>, namespace: string | null, version?: string) => Reflector<Kind>;
  private readonly scopes: readonly (string | null)[];
  private readonly client: ApiClient | null;
  private readonly log: Logger;
  private readonly askPermissions: boolean;
  /** Gateway API kinds served but not readable by the gateway (warned at discovery). */
  private readonly deniedGatewayKinds = new Set<GatewayKind>();
  /** Whether discovery has answered (and been applied) once. */
  private discovered = false;
  /** Applying discovery answers one at a time. */
  private applying: Promise<void> = Promise.resolve();

  constructor(opts: CacheOptions) {
    const scopes = opts.namespaces && opts.namespaces.length > 0 ? opts.namespaces : [null];
    this.namespaces = opts.namespaces && opts.namespaces.length > 0 ? Object.freeze([...new Set(opts.namespaces)].sort()) : null;
    const client = opts.client;
    const routeKinds = opts.routeKinds ?? RouteKinds;
    const make = <K extends Kind>(kind: K, store: Store<RecordOf[K]>, namespace: string | null, version?: string) =>
      new Reflector<K>({ kind, store, namespace, version, client: client!, ...opts.reflector, onStatus: opts.onStatus, logger: opts.logger, ingest: this.ingestOf(kind) }) as unknown as Reflector<Kind>;
    this.makeReflector = make;
    this.scopes = scopes;
    this.client = client;
    this.log = opts.logger ?? rootLogger;
    this.askPermissions = opts.askPermissions !== false;
    this.discovery =
      client && opts.gatewayApi !== false
        ? new GatewayApiDiscovery({ client, intervalMs: opts.discoveryIntervalMs, logger: opts.logger, onChange: (served) => this.applyServed(served) })
        : null;
    this.reflectors = !client ? [] : [
      ...scopes.map((ns) => make('Service', this.services, ns)),
      ...scopes.map((ns) => make('EndpointSlice', this.slices, ns)),
      ...scopes.map((ns) => make('Pod', this.pods, ns)),
      ...(opts.watchNodes === false ? [] : [make('Node', this.nodes, null)]),
      ...routeKinds.includes('Ingress') ? scopes.map((ns) => make('Ingress', this.ingresses, ns)) : [],
      ...routeKinds.includes('IngressClass') ? [make('IngressClass', this.ingressClasses, null)] : [],
    ];
  }

  start(): void {
    for (const r of this.reflectors) r.start();
    this.discovery?.start();
  }

  async stop(): Promise<void> {
    await this.discovery?.stop();
    await this.applying;
    await Promise.all([...this.reflectors, ...[...this.gatewayReflectors.values()].flatMap((g) => g.reflectors)].map((r) => r.stop()));
  }

  /**
   * Start watching the Gateway API kinds discovery says are served (at the version it found),
   * after checking with SelfSubjectAccessReviews that the gateway may read them (a denied one
   * is a warning, and stays unwatched until the next change); stop watching, and empty the
   * store of, those no longer served. Resolves when applied. Answers are applied in order.
   */
  applyServed(served: ReadonlyMap<GatewayKind, string>): Promise<void> {
    this.applying = this.applying.then(() => this.apply(served)).catch((err) => this.log.error('applying Gateway API discovery failed', { error: errorText(err) }));
    return this.applying;
  }

  /** The version a Gateway API kind is read at; null when it is not watched. */
  watchedVersion(kind: GatewayKind): string | null {
    return this.gatewayReflectors.get(kind)?.version ?? null;
  }

  /** Resolves when every reflector has listed once. */
  async synced(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.synced()));
  }

  /** Ready: every kind synced once. Later failures are reported in health, not turned into unreadiness. */
  isReady(): boolean {
    return this.reflectors.every((r) => r.status().syncedAt !== null);
  }

  /** Whether Nodes are watched (a cache fed by hand counts as watching everything). */
  get watchesNodes(): boolean {
    return this.reflectors.length === 0 || this.reflectors.some((r) => r.kind === 'Node');
  }

  /** Whether objects in `namespace` are watched (always, when every namespace is). */
  watchesNamespace(namespace: string): boolean {
    return this.namespaces === null || this.namespaces.includes(namespace);
  }

  /**
   * How far answers about `kind` can be trusted: `synced` once every reflector of the kind has
   * listed once (and from then on; a cache fed by hand, without reflectors, counts as synced),
   * `unsynced` before that (an empty answer may mean "not listed yet"), `unwatched` when the
   * kind has no reflector (Nodes with `watchNodes: false`, an optional kind the gateway may not
   * read). A Gateway API kind the cluster does not serve is `synced` (there are none), and
   * `unsynced` until the first discovery has answered.
   */
  kindState(kind: Kind): 'synced' | 'unsynced' | 'unwatched' {
    if (this.reflectors.length === 0 || this.syncedKinds.has(kind)) return 'synced';
    if ((GatewayKinds as readonly Kind[]).includes(kind)) {
      // Served or not is known after the first discovery; not served means there are none.
      if (this.discovery !== null && !this.discovered) return 'unsynced';
      if (this.deniedGatewayKinds.has(kind as GatewayKind)) return 'unwatched';
      const gateway = this.gatewayReflectors.get(kind as GatewayKind);
      if (gateway === undefined) return 'synced';
      return gateway.reflectors.every((r) => r.status().syncedAt !== null) ? 'synced' : 'unsynced';
    }
    const own = this.reflectors.filter((r) => r.kind === kind);
    if (own.length === 0) return 'unwatched';
    if (!own.every((r) => r.status().syncedAt !== null)) return 'unsynced';
    this.syncedKinds.add(kind);
    return 'synced';
  }

  health(): KindHealth[] {
    return Kinds.map((kind) => {
      const st = [...this.reflectors.filter((r) => r.kind === kind), ...(this.gatewayReflectors.get(kind as GatewayKind)?.reflectors ?? [])].map((r) => r.status());
      if (st.length === 0) {
        return { kind, watched: false, apiVersion: null, phase: 'stopped', synced: true, syncedAt: null, lastEventAt: null, consecutiveFailures: 0, lastError: null, objects: 0, lists: 0, watches: 0, events: 0 };
      }
      const phases: ReflectorPhase[] = ['backing-off', 'listing', 'idle', 'watching', 'stopped'];
      const synced = st.every((s) => s.syncedAt !== null);
      const failing = st.find((s) => s.lastError !== null);
      return {
        kind,
        watched: true,
        apiVersion: apiVersionOf(kind, this.gatewayReflectors.get(kind as GatewayKind)?.version),
        phase: phases.find((p) => st.some((s) => s.phase === p)) ?? 'idle',
        synced,
        syncedAt: synced ? Math.max(...st.map((s) => s.syncedAt!)) : null,
        lastEventAt: st.some((s) => s.lastEventAt === null) ? null : Math.min(...st.map((s) => s.lastEventAt!)),
        consecutiveFailures: Math.max(...st.map((s) => s.consecutiveFailures)),
        lastError: failing?.lastError ?? null,
        objects: this.storeOf(kind).size,
        lists: sum(st.map((s) => s.lists)),
        watches: sum(st.map((s) => s.watches)),
        events: sum(st.map((s) => s.events)),
      };
    });
  }

  storeOf<K extends Kind>(kind: K): Store<RecordOf[K]> {
    const stores = {
      Service: this.services,
      EndpointSlice: this.slices,
      Pod: this.pods,
      Node: this.nodes,
      Ingress: this.ingresses,
      IngressClass: this.ingressClasses,
      GatewayClass: this.gatewayClasses,
      Gateway: this.gateways,
      HTTPRoute: this.httpRoutes,
      GRPCRoute: this.grpcRoutes,
      ReferenceGrant: this.referenceGrants,
    };
    return stores[kind] as unknown as Store<RecordOf[K]>;
  }

  /**
   * How this cache turns an API object of `kind` into its record (what its reflectors use):
   * `ingest`, with Pods and EndpointSlices sharing the strings the cache already holds for a
   * pod (PodStrings in ingest.ts). A slice endpoint takes the cached Pod's name, uid and IPs; a
   * Pod takes its previous record's, or else those of a slice endpoint naming it, since
   * slices usually arrive first on a cold start (their list is shorter).
   */
  ingestOf<K extends Kind>(kind: K): (obj: unknown) => RecordOf[K] {
    switch (kind) {
      case 'EndpointSlice':
        return (obj) => ingest(kind, obj, (namespace, name, uid) => {
          const pod = this.pods.get(`${namespace}/${name}`);
          return pod !== undefined && pod.meta.uid === uid ? pod : null;
        });
      case 'Pod':
        return (obj) => ingest(kind, obj, (namespace, name, uid) => {
          // A cold list replaces an empty store at its end: no previous record to look for.
          const old = this.pods.size > 0 ? this.pods.get(`${namespace}/${name}`) : undefined;
          if (old !== undefined && old.meta.uid === uid) return old;
          for (const slice of this.slices.byIndex(SlicesByPod, name)) {
            if (slice.meta.namespace !== namespace) continue;
            const held = slicePodStrings(slice, namespace, name, uid);
            if (held !== null) return held;
          }
          return null;
        });
      default:
        return (obj) => ingest(kind, obj);
    }
  }

  /** The slices of a Service (same namespace, label kubernetes.io/service-name), sorted by name. */
  slicesByService(serviceKey: string): EndpointSliceRecord[] {
    return this.slices.byIndex(SlicesByService, serviceKey).sort((a, b) => cmp(a.meta.name, b.meta.name));
  }

  /** The Services whose selector matches the pod's labels (same namespace), sorted by key. */
  servicesSelectingPod(pod: PodRecord): ServiceRecord[] {
    const ns = pod.meta.namespace;
    const seen = new Map<string, ServiceRecord>();
    for (const [k, v] of Object.entries(pod.meta.labels)) {
      for (const svc of this.services.byIndex(ServicesBySelectorPair, `${ns}/${k}=${v}`)) {
        const key = objectKey(svc.meta);
        if (!seen.has(key) && selects(svc, pod)) seen.set(key, svc);
      }
    }
    return [...seen.values()].sort((a, b) => cmp(objectKey(a.meta), objectKey(b.meta)));
  }

  // Private:

  private async apply(served: ReadonlyMap<GatewayKind, string>): Promise<void> {
    for (const kind of GatewayKinds) {
      const want = served.get(kind) ?? null;
      const have = this.gatewayReflectors.get(kind) ?? null;
      if ((have?.version ?? null) === want) continue;
      if (have) {
        this.gatewayReflectors.delete(kind);
        await Promise.all(have.reflectors.map((r) => r.stop()));
        (this.storeOf(kind) as Store<AnyRecord>).replace([]);
        this.log.info(`${kind} is no longer watched: ${want === null ? 'the API server does not serve it any more' : `now served at ${want}`}`, { kind });
      }
      this.deniedGatewayKinds.delete(kind);
      if (want === null || !this.client) continue;
      const namespaces = this.scopes.filter((s): s is string => s !== null);
      const denied = !this.askPermissions ? [] : (await reviewRequirements(this.client, kindRequirements(kind, namespaces))).filter((x) => !x.allowed).map((x) => describeRequirement(x.r));
      if (denied.length > 0) {
        this.deniedGatewayKinds.add(kind);
        this.log.warn(`${kind} is served (${GatewayGroup}/${want}) but not watched (its fields answer empty): cannot ${denied.join('; cannot ')}`, { kind });
        continue;
      }
      const scopes = KindResources[kind].namespaced ? this.scopes : [null];
      const reflectors = scopes.map((ns) => this.makeReflector(kind, this.storeOf(kind), ns, want));
      this.gatewayReflectors.set(kind, { version: want, reflectors });
      for (const r of reflectors) r.start();
      this.log.info(`${kind} is served (${GatewayGroup}/${want}): watching it`, { kind, version: want });
    }
    this.discovered = true;
  }
}

/** A Service's equality selector matches the pod: same namespace, every pair present. */
export function selects(svc: ServiceRecord, pod: PodRecord): boolean {
  if (!svc.selector || svc.meta.namespace !== pod.meta.namespace) return false;
  for (const [k, v] of Object.entries(svc.selector)) if (pod.meta.labels[k] !== v) return false;
  return true;
}

function apiVersionOf(kind: Kind, version: string | undefined): string {
  const r = KindResources[kind];
  const v = version ?? r.version;
  return r.group === '' ? v : `${r.group}/${v}`;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
