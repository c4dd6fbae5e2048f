/**
 * Parent values of every GraphQL type whose parent is not a plain object: the mappers in
 * codegen.yml point here and only here (records of the cache and model values are re-exported
 * under the names the mappers use). Every parent holds shared cache records or merged views:
 * never mutate them.
 */
import type { KindHealth } from '../kube/cache.ts';
import type {
  EndpointSliceRecord,
  NodeRecord,
  PodRecord,
  ServicePort,
  ServiceRecord,
  SliceEndpoint,
} from '../kube/records.ts';
import type { MergedEndpoint } from '../model/endpoints.ts';
import type { AnyRecord, Kind } from '../kube/records.ts';

export type {
  ContainerPort,
  ContainerRecord,
  EndpointSliceRecord,
  NodeRecord,
  ObjectMeta,
  ObjectRef,
  OwnerRef,
  PodRecord,
  ServicePort,
  ServiceRecord,
  SlicePort,
} from '../kube/records.ts';
export type { EndpointCounts, EndpointPort } from '../model/endpoints.ts';
import type { Edge, Page } from './pagination.ts';

/** A merged endpoint with the Service it belongs to (`Endpoint`). */
export interface EndpointParent {
  /** Tells `IPHolder` members apart (records carry their own `kind`). */
  readonly kind: 'Endpoint';
  /** Namespace of the Service (and of its slices). */
  readonly namespace: string;
  /** Name of the Service: the slices' `kubernetes.io/service-name` label. */
  readonly serviceName: string;
  readonly endpoint: MergedEndpoint;
}

/** One endpoint as one slice lists it (`SliceEndpoint`). */
export interface SliceEndpointParent {
  readonly slice: EndpointSliceRecord;
  readonly endpoint: SliceEndpoint;
}

/** One Service port as seen from one pod (`PodServicePort`). */
export interface PodServicePortParent {
  readonly service: ServiceRecord;
  readonly port: ServicePort;
  readonly pod: PodRecord;
}

/** A validated, canonical IP address (`IPAddress`). */
export interface IPAddressParent {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
}

/** The cache as a whole (`Cluster`): everything is read through loaders. */
export interface ClusterParent {
  readonly kind: 'Cluster';
}

/** `Namespace`: a namespace's counts of what the caller may list (null: it may not list that kind there). */
export interface NamespaceSummary {
  readonly name: string;
  readonly services: number | null;
  readonly pods: number | null;
  readonly endpointSlices: number | null;
}

/** `KindSyncStatus`. */
export type KindSyncStatusParent = KindHealth;

export type ServicePage = Page<ServiceRecord>;
export type PodPage = Page<PodRecord>;
export type NodePage = Page<NodeRecord>;
export type EndpointSlicePage = Page<EndpointSliceRecord>;
export type EndpointPage = Page<EndpointParent>;
export type ServiceEdge = Edge<ServiceRecord>;
export type PodEdge = Edge<PodRecord>;
export type NodeEdge = Edge<NodeRecord>;
export type EndpointSliceEdge = Edge<EndpointSliceRecord>;
export type EndpointEdge = Edge<EndpointParent>;
/** `PageInfo` reads the page it describes. */
export type AnyPage = Page<unknown>;

// Subscription payloads (the fan-out builds them; resolvers in src/subscriptions shape them).

export type { ChangeSetType, EndpointChangeSet } from '../model/changesets.ts';
import type { EndpointChangeSet } from '../model/changesets.ts';

/** A page of history change sets (`EndpointChangeSetConnection`): cursors are the change sets' own. */
export interface ChangeSetPage extends Page<EndpointChangeSet> {
  /** Where the history is complete from (ms since epoch). */
  readonly retainedSince: number;
}
export type ChangeSetEdge = Edge<EndpointChangeSet>;
export type { ChurnStats } from '../model/churn.ts';
export type { HealthEvent } from '../model/health.ts';

/** `EndpointChange` parent: both sides already placed in their Service. */
export interface EndpointChangeParent {
  readonly before: EndpointParent;
  readonly after: EndpointParent;
}

export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What Service, Pod and Node change subscribers receive. */
export interface ObjectEvent {
  readonly type: ObjectEventType;
  readonly kind: Kind;
  readonly object: AnyRecord;
  readonly old: AnyRecord | null;
  /** The event comes from a relist. */
  readonly resync: boolean;
  readonly at: number;
}
