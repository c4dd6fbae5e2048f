/**
 * Parent values of the types whose data is not one record as is: the mappers in codegen.yml
 * point here. Every parent holds shared cache records or merged views: never mutate them.
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
