/**
 * Slim records: what the cache keeps of each Kubernetes object.
 *
 * Built once at ingest (see ingest.ts) from the API object, frozen, and shared by every
 * reader. They keep only what the schema serves: no managedFields, no pod spec beyond
 * ports and nodeName, no node images. Records are shared with the cache: never mutate
 * them; derive instead.
 */

import type { IngressClassRecord, IngressRecord } from './routes.ts';
import type { GatewayClassRecord, GatewayKind, GatewayRecord, GRPCRouteRecord, HTTPRouteRecord, ReferenceGrantRecord } from './gateway-api.ts';

/**
 * The kinds the gateway watches: the four it always needs, and the optional routing kinds
 * (Ingress, IngressClass), watched when the gateway may read them (routes.ts).
 */
export type Kind = CoreKind | RouteKind | GatewayKind;

/** The four kinds the gateway always watches: without read access to them it does not start. */
export type CoreKind = 'Service' | 'EndpointSlice' | 'Pod' | 'Node';

/** The routing kinds (networking.k8s.io/v1): optional, their records are in routes.ts. */
export type RouteKind = 'Ingress' | 'IngressClass';

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller: boolean;
}

/**
 * What every record has: its metadata as `meta`, and as `metadata` as the API serves it (its
 * Kubernetes name), read through a getter that every record shares (`withMetadata`, or the
 * record's class), so it costs no memory per namespaced record. GraphQL's `metadata` fields, and
 * `ObjectMeta.namespace`, read it as properties: compiled execution reads a property where it
 * would call a resolver per object (three per endpoint of an answer that lists endpoints with
 * their pods and nodes).
 */
export interface Metadata {
  readonly meta: ObjectMeta;
  /** `meta` itself; for a cluster-scoped object (namespace ''), a frozen copy with namespace null, kept on the record (not enumerable). */
  readonly metadata: ServedMeta;
}

/** ObjectMeta as the API serves it: no namespace (null) for cluster-scoped objects. */
export type ServedMeta = Omit<ObjectMeta, 'namespace'> & { readonly namespace: string | null };

/** `meta` as the API serves it (Metadata.metadata): itself, or a frozen copy with namespace null for a cluster-scoped object. */
export function servedMeta(meta: ObjectMeta): ServedMeta {
  return meta.namespace === '' ? Object.freeze({ ...meta, namespace: null }) : meta;
}

export interface ObjectMeta {
  /** Empty string for cluster-scoped objects (Nodes). */
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** Opaque: compare for equality only. */
  readonly resourceVersion: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Without `kubectl.kubernetes.io/last-applied-configuration`, which can be many KB. */
  readonly annotations: Readonly<Record<string, string>>;
  /** RFC 3339, as the API server sends it. */
  readonly creationTimestamp: string;
  /** RFC 3339; set when deletion has been requested (the object is terminating). */
  readonly deletionTimestamp: string | null;
  readonly ownerReferences: readonly OwnerRef[];
}

export interface ServicePort {
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
  /** A number, or the name of a container port resolved per pod. */
  readonly targetPort: number | string;
  readonly nodePort: number | null;
  readonly appProtocol: string | null;
}

export interface LoadBalancerIngress {
  readonly ip: string | null;
  readonly hostname: string | null;
}

export interface ServiceRecord extends Metadata {
  readonly kind: 'Service';
  readonly meta: ObjectMeta;
  /** ClusterIP, NodePort, LoadBalancer or ExternalName. */
  readonly type: string;
  readonly clusterIP: string | null;
  readonly clusterIPs: readonly string[];
  readonly ipFamilies: readonly string[];
  readonly ipFamilyPolicy: string | null;
  readonly ports: readonly ServicePort[];
  /** null: a selectorless Service (its slices are written by hand or by the mirroring controller). */
  readonly selector: Readonly<Record<string, string>> | null;
  readonly externalName: string | null;
  readonly externalTrafficPolicy: string | null;
  readonly internalTrafficPolicy: string | null;
  readonly sessionAffinity: string | null;
  readonly trafficDistribution: string | null;
  readonly publishNotReadyAddresses: boolean;
  readonly loadBalancerIngress: readonly LoadBalancerIngress[];
}

export interface EndpointConditions {
  /** As sent: null means the field was absent (ready and serving then default to true, terminating to false). */
  readonly ready: boolean | null;
  readonly serving: boolean | null;
  readonly terminating: boolean | null;
}

export interface ObjectRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface SliceEndpoint {
  readonly addresses: readonly string[];
  readonly conditions: EndpointConditions;
  readonly hostname: string | null;
  readonly nodeName: string | null;
  readonly zone: string | null;
  readonly hintsForZones: readonly string[];
  readonly hintsForNodes: readonly string[];
  readonly targetRef: ObjectRef | null;
}

export interface SlicePort {
  /** Empty string when unnamed. */
  readonly name: string;
  /** null when the slice says "all ports" (only legal for selectorless Services). */
  readonly port: number | null;
  readonly protocol: string;
  readonly appProtocol: string | null;
}

export interface EndpointSliceRecord extends Metadata {
  readonly kind: 'EndpointSlice';
  readonly meta: ObjectMeta;
  /** Value of the `kubernetes.io/service-name` label; null when the slice belongs to no Service. */
  readonly serviceName: string | null;
  /** Value of the `endpointslice.kubernetes.io/managed-by` label. */
  readonly managedBy: string | null;
  /** IPv4, IPv6 or FQDN. */
  readonly addressType: string;
  readonly ports: readonly SlicePort[];
  readonly endpoints: readonly SliceEndpoint[];
}

export interface ContainerPort {
  readonly name: string;
  readonly containerPort: number;
  readonly protocol: string;
}

export interface ContainerRecord {
  readonly name: string;
  /** Regular containers and restartable ("sidecar") init containers. */
  readonly sidecar: boolean;
  readonly ports: readonly ContainerPort[];
}

export interface PodRecord extends Metadata {
  readonly kind: 'Pod';
  readonly meta: ObjectMeta;
  readonly phase: string | null;
  readonly podIPs: readonly string[];
  readonly hostIP: string | null;
  readonly nodeName: string | null;
  /** Status of the Ready condition: true, false, or null when absent/unknown. */
  readonly readyStatus: boolean | null;
  /** The Ready condition is True (`readyStatus === true`): a getter, as `metadata` is (`withReady`). */
  readonly ready: boolean;
  /** The Ready condition's `lastTransitionTime` (RFC 3339), or null when absent. */
  readonly readySince: string | null;
  readonly containers: readonly ContainerRecord[];
}

export interface NodeAddress {
  readonly type: string;
  readonly address: string;
}

export interface Taint {
  readonly key: string;
  readonly value: string | null;
  readonly effect: string;
}

export interface NodeRecord extends Metadata {
  readonly kind: 'Node';
  readonly meta: ObjectMeta;
  /** Status of the Ready condition: true, false, or null when absent/unknown. */
  readonly readyStatus: boolean | null;
  /** The Ready condition is True (`readyStatus === true`): a getter, as `metadata` is (`withReady`). */
  readonly ready: boolean;
  readonly addresses: readonly NodeAddress[];
  /** `topology.kubernetes.io/zone` label. */
  readonly zone: string | null;
  /** `topology.kubernetes.io/region` label. */
  readonly region: string | null;
  readonly podCIDRs: readonly string[];
  readonly unschedulable: boolean;
  readonly taints: readonly Taint[];
}

export type AnyRecord =
  | ServiceRecord
  | EndpointSliceRecord
  | PodRecord
  | NodeRecord
  | IngressRecord
  | IngressClassRecord
  | GatewayClassRecord
  | GatewayRecord
  | HTTPRouteRecord
  | GRPCRouteRecord
  | ReferenceGrantRecord;

export interface RecordOf {
  Service: ServiceRecord;
  EndpointSlice: EndpointSliceRecord;
  Pod: PodRecord;
  Node: NodeRecord;
  Ingress: IngressRecord;
  IngressClass: IngressClassRecord;
  GatewayClass: GatewayClassRecord;
  Gateway: GatewayRecord;
  HTTPRoute: HTTPRouteRecord;
  GRPCRoute: GRPCRouteRecord;
  ReferenceGrant: ReferenceGrantRecord;
}

/**
 * `record` with `metadata` (the Metadata getter): every record ingest builds as a plain object
 * goes through here before it is frozen. A spread copy of a record loses its getters: derive
 * records with `derived`.
 */
export function withMetadata<R extends Metadata>(record: Omit<R, 'metadata'>): R {
  return withPrototype(record, MetadataPrototype);
}

/**
 * A Pod or Node record (`withMetadata`) with `ready`, its Ready condition's status as the schema
 * serves it (true only when True), read from `readyStatus` through the prototype, so GraphQL's
 * `ready` fields read a property as well.
 */
export function withReady<R extends Metadata & { readonly readyStatus: boolean | null; readonly ready: boolean }>(record: Omit<R, 'metadata' | 'ready'>): R {
  return withPrototype(record, ReadyPrototype);
}

/** A copy of `record` with `fields` replaced, with the getters of its prototype (a spread alone drops them). */
export function derived<R extends Metadata>(record: R, fields: Partial<R>): R {
  return withPrototype({ ...record, ...fields }, Object.getPrototypeOf(record) as object);
}

/** client-go's MetaNamespaceKeyFunc: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(meta: { readonly namespace: string; readonly name: string }): string {
  return meta.namespace === '' ? meta.name : namespacedKey(meta.namespace, meta.name);
}

/**
 * `namespace/name` as one flat string, for a key the cache keeps (a store's key, an indexed
 * value). A template literal or `+` makes a rope (V8's cons string: 32 bytes pointing at both
 * halves) that the first comparison in a Map flattens in place, so a kept key would end up as the
 * rope plus its flat copy; `join` writes the flat string at once. Keys only looked up, not
 * kept, need not care.
 */
export function namespacedKey(namespace: string, name: string): string {
  return [namespace, name].join('/');
}

/** Where each kind lives on the API server, as RBAC and the REST paths name it. */
export interface KindResource {
  /** API group; '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural resource name (RBAC's `resources`). */
  readonly resource: string;
  readonly namespaced: boolean;
}

export const KindResources: Readonly<Record<Kind, KindResource>> = {
  Service: { group: '', version: 'v1', resource: 'services', namespaced: true },
  EndpointSlice: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true },
  Pod: { group: '', version: 'v1', resource: 'pods', namespaced: true },
  Node: { group: '', version: 'v1', resource: 'nodes', namespaced: false },
  Ingress: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespaced: true },
  IngressClass: { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', namespaced: false },
  // Gateway API: CRDs, read at the version discovery finds (gateway-api.ts, discovery.ts).
  GatewayClass: { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'gatewayclasses', namespaced: false },
  Gateway: { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'gateways', namespaced: true },
  HTTPRoute: { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'httproutes', namespaced: true },
  GRPCRoute: { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'grpcroutes', namespaced: true },
  ReferenceGrant: { group: 'gateway.networking.k8s.io', version: 'v1beta1', resource: 'referencegrants', namespaced: true },
};

/** The REST path of a kind's collection: cluster-wide, or in `namespace` for namespaced kinds; at `version` (default: the table's). */
export function collectionPath(kind: Kind, namespace: string | null, version?: string): string {
  const r = KindResources[kind];
  const v = version ?? r.version;
  const base = r.group === '' ? `/api/${v}` : `/apis/${r.group}/${v}`;
  return r.namespaced && namespace ? `${base}/namespaces/${namespace}/${r.resource}` : `${base}/${r.resource}`;
}

/** Well-known labels. */
export const LabelServiceName = 'kubernetes.io/service-name';
export const LabelManagedBy = 'endpointslice.kubernetes.io/managed-by';
export const LabelZone = 'topology.kubernetes.io/zone';
export const LabelRegion = 'topology.kubernetes.io/region';

// Private:

/**
 * `record` on `prototype`; a cluster-scoped object gets its served meta as its own `metadata`,
 * made once here (not enumerable: keys and JSON stay the record's fields), where a namespaced
 * one reads `meta` through the prototype's getter.
 */
function withPrototype<R>(record: object, prototype: object): R {
  Object.setPrototypeOf(record, prototype);
  const meta = (record as { readonly meta: ObjectMeta }).meta;
  if (meta.namespace === '') Object.defineProperty(record, 'metadata', { value: servedMeta(meta) });
  return record as R;
}

/** The prototype of records built as plain objects: Object.prototype plus the `metadata` getter (namespaced objects). */
const MetadataPrototype: object = Object.freeze(
  Object.create(Object.prototype, {
    metadata: {
      get(this: { readonly meta: ObjectMeta }): ServedMeta {
        return this.meta;
      },
    },
  }),
);

/** The prototype of Pod and Node records: MetadataPrototype plus the `ready` getter. */
const ReadyPrototype: object = Object.freeze(
  Object.create(MetadataPrototype, {
    ready: {
      get(this: { readonly readyStatus: boolean | null }): boolean {
        return this.readyStatus === true;
      },
    },
  }),
);
