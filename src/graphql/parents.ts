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
import type { IngressBackend, IngressPath, IngressRecord, IngressRule } from '../kube/routes.ts';
import type { IngressMatch } from '../model/ingress-match.ts';
import type { BackendRef, GatewayRecord, HTTPRouteRecord, HTTPRouteRule, Listener } from '../kube/gateway-api.ts';
import type { HTTPRouteMatchResult } from '../model/httproute-match.ts';
import type { GRPCRouteMatchResult } from '../model/grpcroute-match.ts';

export type {
  ContainerPort,
  ContainerRecord,
  EndpointSliceRecord,
  NodeRecord,
  ServedMeta,
  ObjectRef,
  OwnerRef,
  PodRecord,
  ServicePort,
  ServiceRecord,
  SlicePort,
} from '../kube/records.ts';
export type { EndpointCounts, EndpointPort } from '../model/endpoints.ts';
import type { Edge, Page } from './pagination.ts';

/**
 * A merged endpoint with the Service it belongs to (`Endpoint`). The endpoint's own fields are
 * getters named as the schema names them, so that they resolve as plain properties: compiled
 * execution reads a property where it would otherwise call a resolver per field and endpoint.
 */
export class EndpointParent {
  /** Tells `IPHolder` members apart (records carry their own `kind`). */
  readonly kind = 'Endpoint' as const;
  /** Namespace of the Service (and of its slices). */
  readonly namespace: string;
  /** Name of the Service: the slices' `kubernetes.io/service-name` label. */
  readonly serviceName: string;
  readonly endpoint: MergedEndpoint;
  private ref: MergedEndpoint['targetRef'] | undefined = undefined;

  constructor(namespace: string, serviceName: string, endpoint: MergedEndpoint) {
    this.namespace = namespace;
    this.serviceName = serviceName;
    this.endpoint = endpoint;
  }

  get address(): string {
    return this.endpoint.address;
  }
  get addresses(): readonly string[] {
    return this.endpoint.addresses;
  }
  get addressType(): string {
    return this.endpoint.addressType;
  }
  get ready(): boolean {
    return this.endpoint.ready;
  }
  get serving(): boolean {
    return this.endpoint.serving;
  }
  get terminating(): boolean {
    return this.endpoint.terminating;
  }
  get hostname(): string | null {
    return this.endpoint.hostname;
  }
  get nodeName(): string | null {
    return this.endpoint.nodeName;
  }
  get zone(): string | null {
    return this.endpoint.zone;
  }
  /** Built once per parent: a query reads it once per field it selects, and more to check it. */
  get targetRef(): MergedEndpoint['targetRef'] {
    if (this.ref === undefined) this.ref = this.endpoint.targetRef;
    return this.ref;
  }
  get ports(): MergedEndpoint['ports'] {
    return this.endpoint.ports;
  }
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

// Routes (schema/ingress.graphql).

export type { IngressClassRecord, IngressRecord } from '../kube/routes.ts';

/** A rule of an Ingress, with the Ingress's namespace (where its backends' Services live). */
export interface IngressRuleParent {
  readonly namespace: string;
  readonly rule: IngressRule;
}

/** A path of an Ingress rule (`IngressPath`). */
export interface IngressPathParent {
  readonly namespace: string;
  readonly path: IngressPath;
}

/** A backend of an Ingress (`IngressBackend`): its Service is `namespace/backend.service.name`. */
export interface IngressBackendParent {
  readonly namespace: string;
  readonly backend: IngressBackend;
}

export type IngressPage = Page<IngressRecord>;
export type IngressEdge = Edge<IngressRecord>;

/** What `trace` answers (`Trace`), computed by the resolver in one go. */
export interface TraceParent {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly status: 'ROUTED' | 'NO_MATCH' | 'SERVICE_NOT_FOUND' | 'PORT_NOT_FOUND' | 'RESOURCE_BACKEND' | 'NO_READY_ENDPOINTS' | 'REF_NOT_PERMITTED';
  readonly message: string;
  readonly match: TraceMatchParent | null;
  readonly alsoMatched: TraceMatchParent | null;
}

/** `TraceMatch`: an Ingress match, an HTTPRoute match or a GRPCRoute match. */
export type TraceMatchParent =
  | { readonly kind: 'Ingress'; readonly match: IngressMatch; readonly backends: readonly TraceBackendParent[] }
  | { readonly kind: 'HTTPRoute'; readonly match: HTTPRouteMatchResult; readonly backends: readonly TraceBackendParent[] }
  | { readonly kind: 'GRPCRoute'; readonly match: GRPCRouteMatchResult; readonly backends: readonly TraceBackendParent[] };

/** `TraceBackend`: an Ingress backend, or an HTTPRoute backendRef seen as one (its Service and port). */
export interface TraceBackendParent extends IngressBackendParent {
  readonly weightPercent: number;
  readonly permitted: boolean;
}

// Gateway API (schema/gateway-api.graphql).

export type { GatewayClassRecord, GatewayRecord, GRPCRouteRecord, HTTPRouteRecord, ReferenceGrantRecord, RouteParentStatus } from '../kube/gateway-api.ts';

/** A listener with its Gateway (`GatewayListener`). */
export interface ListenerParent {
  readonly gateway: GatewayRecord;
  readonly listener: Listener;
}

/** A rule of an HTTPRoute with the route (`HTTPRouteRule`). */
export interface HTTPRouteRuleParent {
  readonly route: HTTPRouteRecord;
  readonly rule: HTTPRouteRule;
}

/** A backendRef with its route and its share of the rule (`RouteBackendRef`). */
export interface RouteBackendRefParent {
  readonly routeKind: 'HTTPRoute' | 'GRPCRoute';
  readonly routeNamespace: string;
  readonly ref: BackendRef;
  readonly weightPercent: number;
}
