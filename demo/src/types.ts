/**
 * Wire types of the simulated cluster: Kubernetes objects as JSON, exactly as a kube-apiserver
 * sends them (timestamps are RFC 3339 strings, optional fields are absent rather than null,
 * except where the real server writes null, such as a placeholder EndpointSlice's `endpoints`).
 *
 * Only the fields the simulator writes or reads are named; every object type also admits other
 * fields, so realistic bulk (probes, volumes, node images, managedFields) can ride along.
 *
 * Objects in the simulator are shared (by the store, by watch queues, by list pages): never
 * mutate one; derive a new object instead.
 */

/** Labels, annotations, selectors. */
export type StringMap = Readonly<Record<string, string>>;

export interface OwnerReferenceJson {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntryJson {
  readonly manager: string;
  readonly operation: 'Update' | 'Apply';
  readonly apiVersion: string;
  readonly time: string;
  readonly fieldsType: 'FieldsV1';
  readonly fieldsV1: unknown;
  readonly subresource?: string;
}

export interface ObjectMetaJson {
  readonly name: string;
  readonly generateName?: string;
  /** Absent for cluster-scoped objects (Nodes, Namespaces). */
  readonly namespace?: string;
  readonly uid: string;
  /** Decimal string of the store's global revision; opaque to clients. */
  readonly resourceVersion: string;
  readonly generation?: number;
  readonly creationTimestamp: string;
  readonly deletionTimestamp?: string;
  readonly deletionGracePeriodSeconds?: number;
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
  readonly ownerReferences?: readonly OwnerReferenceJson[];
  readonly finalizers?: readonly string[];
  readonly managedFields?: readonly ManagedFieldsEntryJson[];
}

/** Any object the store holds. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMetaJson;
}

// ---------------------------------------------------------------------------------------------
// core/v1 Namespace

export interface NamespaceJson extends KubeObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Namespace';
  readonly spec: { readonly finalizers: readonly string[] };
  readonly status: { readonly phase: 'Active' | 'Terminating' };
}

// ---------------------------------------------------------------------------------------------
// core/v1 Node

export interface TaintJson {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly timeAdded?: string;
}

export interface NodeConditionJson {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly lastHeartbeatTime: string;
  readonly lastTransitionTime: string;
  readonly reason: string;
  readonly message: string;
}

export interface NodeAddressJson {
  readonly type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  readonly address: string;
}

export interface NodeJson extends KubeObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Node';
  readonly spec: {
    readonly podCIDR?: string;
    readonly podCIDRs?: readonly string[];
    readonly providerID?: string;
    readonly unschedulable?: boolean;
    readonly taints?: readonly TaintJson[];
  };
  readonly status: {
    readonly capacity: StringMap;
    readonly allocatable: StringMap;
    readonly conditions: readonly NodeConditionJson[];
    readonly addresses: readonly NodeAddressJson[];
    readonly [field: string]: unknown;
  };
}

// ---------------------------------------------------------------------------------------------
// core/v1 Pod

export interface ContainerPortJson {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: string;
}

export interface ContainerJson {
  readonly name: string;
  readonly image: string;
  readonly ports?: readonly ContainerPortJson[];
  /** Only on init containers: `Always` makes it a sidecar, whose ports named targetPorts may resolve to. */
  readonly restartPolicy?: string;
  readonly [field: string]: unknown;
}

export interface PodConditionJson {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly lastProbeTime: null;
  readonly lastTransitionTime: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface PodSpecJson {
  readonly containers: readonly ContainerJson[];
  readonly initContainers?: readonly ContainerJson[];
  readonly nodeName?: string;
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly [field: string]: unknown;
}

export interface PodStatusJson {
  readonly phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  readonly conditions?: readonly PodConditionJson[];
  readonly hostIP?: string;
  readonly hostIPs?: readonly { readonly ip: string }[];
  readonly podIP?: string;
  readonly podIPs?: readonly { readonly ip: string }[];
  readonly startTime?: string;
  readonly [field: string]: unknown;
}

export interface PodJson extends KubeObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Pod';
  readonly spec: PodSpecJson;
  readonly status: PodStatusJson;
}

// ---------------------------------------------------------------------------------------------
// core/v1 Service

export interface ServicePortJson {
  /** Required when a Service has more than one port. */
  readonly name?: string;
  readonly protocol: string;
  readonly port: number;
  /** A number, or the name of a container port resolved per pod. */
  readonly targetPort?: number | string;
  readonly nodePort?: number;
  readonly appProtocol?: string;
}

export interface LoadBalancerIngressJson {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ipMode?: 'VIP' | 'Proxy';
}

export interface ServiceJson extends KubeObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Service';
  readonly spec: {
    readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
    /** Absent: a selectorless Service (its slices are written by someone else). */
    readonly selector?: StringMap;
    readonly ports?: readonly ServicePortJson[];
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ipFamilies?: readonly ('IPv4' | 'IPv6')[];
    readonly ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
    readonly externalName?: string;
    readonly publishNotReadyAddresses?: boolean;
    readonly trafficDistribution?: string;
    readonly [field: string]: unknown;
  };
  readonly status: {
    readonly loadBalancer: { readonly ingress?: readonly LoadBalancerIngressJson[] };
  };
}

// ---------------------------------------------------------------------------------------------
// discovery.k8s.io/v1 EndpointSlice

export interface EndpointConditionsJson {
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

export interface ObjectReferenceJson {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface EndpointJson {
  readonly addresses: readonly string[];
  readonly conditions: EndpointConditionsJson;
  readonly hostname?: string;
  readonly targetRef?: ObjectReferenceJson;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hints?: {
    readonly forZones?: readonly { readonly name: string }[];
    readonly forNodes?: readonly { readonly name: string }[];
  };
}

export interface EndpointPortJson {
  readonly name?: string;
  readonly protocol?: string;
  readonly port?: number;
  readonly appProtocol?: string;
}

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface EndpointSliceJson extends KubeObject {
  readonly apiVersion: 'discovery.k8s.io/v1';
  readonly kind: 'EndpointSlice';
  readonly addressType: AddressType;
  /** null on the wire for a placeholder slice (the API server stores an empty list as nil). */
  readonly endpoints: readonly EndpointJson[] | null;
  /** null on the wire for a placeholder slice. */
  readonly ports: readonly EndpointPortJson[] | null;
}

// ---------------------------------------------------------------------------------------------
// apps/v1 Deployment (kept so churn can roll pods from a template; served but not watched)

export interface PodTemplateJson {
  readonly metadata: { readonly labels: StringMap; readonly annotations?: StringMap };
  readonly spec: PodSpecJson;
}

export interface DeploymentJson extends KubeObject {
  readonly apiVersion: 'apps/v1';
  readonly kind: 'Deployment';
  readonly spec: {
    readonly replicas: number;
    readonly selector: { readonly matchLabels: StringMap };
    readonly template: PodTemplateJson;
    readonly strategy: {
      readonly type: 'RollingUpdate' | 'Recreate';
      readonly rollingUpdate?: { readonly maxSurge: string | number; readonly maxUnavailable: string | number };
    };
    readonly [field: string]: unknown;
  };
  readonly status: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly updatedReplicas?: number;
    readonly availableReplicas?: number;
    readonly [field: string]: unknown;
  };
}

// ---------------------------------------------------------------------------------------------
// meta/v1 Status

export interface StatusJson {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: { readonly continue?: string; readonly resourceVersion?: string };
  readonly status: 'Success' | 'Failure';
  readonly message: string;
  readonly reason: string;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly causes?: readonly { readonly reason?: string; readonly message?: string; readonly field?: string }[];
    readonly retryAfterSeconds?: number;
  };
  readonly code: number;
}

/** Well-known label and annotation keys. */
export const LabelServiceName = 'kubernetes.io/service-name';
export const LabelManagedBy = 'endpointslice.kubernetes.io/managed-by';
export const LabelHeadless = 'service.kubernetes.io/headless';
export const LabelZone = 'topology.kubernetes.io/zone';
export const LabelRegion = 'topology.kubernetes.io/region';
export const LabelHostname = 'kubernetes.io/hostname';
export const LabelPodTemplateHash = 'pod-template-hash';
/** Annotation on a Deployment: the other number its `http` container port takes on each rollout. */
export const AnnotationAlternatePort = 'sim.kube-netgraph.dev/alternate-http-port';
export const AnnotationTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time';
export const ControllerEndpointSlice = 'endpointslice-controller.k8s.io';
export const ControllerEndpointSliceMirroring = 'endpointslicemirroring-controller.k8s.io';
