/**
 * A generated Kubernetes cluster, deterministic for a seed: Namespaces, Nodes over three zones,
 * Deployments with their pods, Services of every kind the gateway has to understand, and the
 * EndpointSlices the real controller would write for them (see endpointslices.ts).
 *
 * Every generated cluster contains these Services, whatever its size:
 * - `kube-system/kube-dns`: TCP and UDP port 53 plus metrics, named targetPorts (CoreDNS pods);
 * - `shop/frontend`: LoadBalancer with an ingress IP; its metrics port resolves to a sidecar
 *   (an init container with `restartPolicy: Always`);
 * - `shop/frontend-internal`: a second Service selecting the same pods;
 * - `shop/catalog`: the big one (`bigServiceReplicas` pods, several slices), `trafficDistribution:
 *   PreferClose` (endpoints carry `hints.forZones`);
 * - `shop/cart`: dual-stack (IPv4 and IPv6 slices); a rollout flips its named port's number
 *   between 8080 and 8081, so two port sets coexist mid-rollout;
 * - `shop/recommendations`: selects a Deployment scaled to zero: one empty placeholder slice;
 * - `payments/ledger-db`: headless, publishNotReadyAddresses, pods with hostname and subdomain;
 * - `payments/legacy-billing`: selectorless, with a slice mirrored from hand-written Endpoints
 *   (managed by `endpointslicemirroring-controller.k8s.io`, only `ready` set, no targetRef);
 * - `payments/fx-rates`: ExternalName (no slices);
 * - `payments/checkout`: NodePort;
 * - `default/ingress-gateway`: LoadBalancer with a hostname ingress, externalTrafficPolicy Local.
 * The rest are ordinary Services (ClusterIP mostly, some LoadBalancer and NodePort) spread over
 * the namespaces, each with its own Deployment.
 *
 * Realistic bulk rides along so ingest stripping has something to strip: managedFields on a
 * portion of objects, `kubectl.kubernetes.io/last-applied-configuration` on some Services, node
 * images, probes, volumes, container statuses.
 */
import type {
  ContainerJson,
  ContainerPortJson,
  DeploymentJson,
  EndpointSliceJson,
  KubeObject,
  ManagedFieldsEntryJson,
  NamespaceJson,
  NodeJson,
  PodJson,
  ServiceJson,
  ServicePortJson,
  StringMap,
  TaintJson,
} from './types.ts';
import { ControllerEndpointSliceMirroring, LabelHostname, LabelManagedBy, LabelRegion, LabelServiceName, LabelZone } from './types.ts';
import { Rng } from './random.ts';
import { Cluster, rfc3339 } from './cluster.ts';
import type { ClusterOptions } from './cluster.ts';
import { reconcileEndpointSlices } from './endpointslices.ts';
import { generateRoutes } from './routes.ts';
import { DefaultTolerations, newPod, replicaSetOwner, templateHash } from './objects.ts';

export interface ClusterShape {
  /** Namespaces, the fixed `default`, `kube-system`, `shop` and `payments` included (at least 4). */
  readonly namespaces: number;
  /** Nodes, control-plane nodes included; spread round-robin over the zones. */
  readonly nodes: number;
  /** Control-plane nodes: tainted `node-role.kubernetes.io/control-plane:NoSchedule`, no workload pods. */
  readonly controlPlaneNodes: number;
  readonly zones: readonly string[];
  readonly region: string;
  /** Services, the 11 fixed ones included (at least 11). */
  readonly services: number;
  /** Pods in total, approximately: what the fixed Deployments leave is spread over the ordinary ones. */
  readonly pods: number;
  /** Replicas behind `shop/catalog`; more than maxEndpointsPerSlice gives several slices. */
  readonly bigServiceReplicas: number;
  /** Fraction of ordinary Services of type LoadBalancer. */
  readonly loadBalancerRatio: number;
  /** Fraction of worker nodes with a taint (alternately GPU NoSchedule and spot PreferNoSchedule). */
  readonly taintedNodeRatio: number;
  /** Fraction of objects carrying managedFields. */
  readonly managedFieldsRatio: number;
  /** The EndpointSlice controller's `--max-endpoints-per-slice`. */
  readonly maxEndpointsPerSlice: number;
  /** The kubelet's `--max-pods`; the scheduler fills no node beyond it. */
  readonly maxPodsPerNode: number;
}

export const Presets = {
  /** ~4 namespaces, 9 nodes, 20 Services, ~150 pods; `shop/catalog` has 110 endpoints in 2 slices. */
  demo: {
    namespaces: 4,
    nodes: 9,
    controlPlaneNodes: 1,
    zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    region: 'eu-west-1',
    services: 20,
    pods: 150,
    bigServiceReplicas: 110,
    loadBalancerRatio: 0.1,
    taintedNodeRatio: 0.25,
    managedFieldsRatio: 0.5,
    maxEndpointsPerSlice: 100,
    maxPodsPerNode: 110,
  },
  /** 100 namespaces, 5,000 nodes, 10,000 Services, 150,000 pods; `shop/catalog` has 1,000 endpoints. */
  large: {
    namespaces: 100,
    nodes: 5_000,
    controlPlaneNodes: 3,
    zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
    region: 'eu-west-1',
    services: 10_000,
    pods: 150_000,
    bigServiceReplicas: 1_000,
    loadBalancerRatio: 0.02,
    taintedNodeRatio: 0.02,
    managedFieldsRatio: 0.25,
    maxEndpointsPerSlice: 100,
    maxPodsPerNode: 110,
  },
} as const satisfies Record<string, ClusterShape>;

export type PresetName = keyof typeof Presets;

export interface GenerateOptions {
  /** Equal seeds give identical clusters. @default 1 */
  readonly seed?: number;
  /** The cluster's "now" in ms since the epoch; creation timestamps lie before it. @default Date.UTC(2025, 0, 1) */
  readonly baseTime?: number;
}

export interface GeneratedCluster {
  readonly shape: ClusterShape;
  readonly seed: number;
  readonly namespaces: readonly NamespaceJson[];
  readonly nodes: readonly NodeJson[];
  readonly deployments: readonly DeploymentJson[];
  readonly services: readonly ServiceJson[];
  readonly pods: readonly PodJson[];
  readonly endpointSlices: readonly EndpointSliceJson[];
  /** networking.k8s.io/v1 IngressClasses and Ingresses over the fixed Services (routes.ts). */
  readonly ingressClasses: readonly KubeObject[];
  readonly ingresses: readonly KubeObject[];
  /** Gateway API objects (routes.ts): served by the demo as if its CRDs were installed. */
  readonly gatewayClasses: readonly KubeObject[];
  readonly gateways: readonly KubeObject[];
  readonly httpRoutes: readonly KubeObject[];
  readonly referenceGrants: readonly KubeObject[];
  /** The highest resourceVersion given out (objects are numbered 1..revision in creation order). */
  readonly revision: number;
}

/**
 * Generates a cluster.
 *
 * @throws RangeError when the shape is impossible (fewer than 4 namespaces or 11 Services, no
 * zones, no schedulable node, or more pods than the nodes hold), naming the field and its value.
 */
export function generateCluster(shape: ClusterShape | PresetName = 'demo', options: GenerateOptions = {}): GeneratedCluster {
  const resolved = typeof shape === 'string' ? Presets[shape] : shape;
  if (resolved === undefined) throw new RangeError(`preset must be one of ${Object.keys(Presets).join(', ')}, but got: ${String(shape)}`);
  validateShape(resolved);
  return new Builder(resolved, options.seed ?? 1, options.baseTime ?? Date.UTC(2025, 0, 1)).build();
}

/** Every object of a generated cluster, grouped by kind (resourceVersions are 1..revision, interleaved across kinds). */
export function* clusterObjects(generated: GeneratedCluster): Generator<KubeObject> {
  yield* generated.namespaces;
  yield* generated.nodes;
  yield* generated.deployments;
  yield* generated.services;
  yield* generated.pods;
  yield* generated.endpointSlices;
  yield* generated.ingressClasses;
  yield* generated.ingresses;
  yield* generated.gatewayClasses;
  yield* generated.gateways;
  yield* generated.httpRoutes;
  yield* generated.referenceGrants;
}

/** A store loaded with a generated cluster (no events; its revision is the generator's). */
export function loadCluster(generated: GeneratedCluster, options: ClusterOptions = {}): Cluster {
  const cluster = new Cluster(options);
  cluster.load(clusterObjects(generated));
  return cluster;
}

/** Annotation on a Deployment: the other number its `http` container port takes on each rollout. */
export const AnnotationAlternatePort = 'sim.kube-netgraph.dev/alternate-http-port';

// Private:

const FixedNamespaces = ['default', 'kube-system', 'shop', 'payments'] as const;
const FixedServiceCount = 11;

const Words = [
  'api', 'auth', 'search', 'inventory', 'orders', 'notifications', 'billing', 'reviews', 'shipping',
  'pricing', 'users', 'sessions', 'media', 'reports', 'analytics', 'profile', 'ratings', 'email',
  'events', 'ledger', 'quotes', 'tax', 'stock', 'audit', 'feeds', 'tokens', 'uploads', 'webhooks',
  'geo', 'promo', 'wishlist', 'loyalty', 'invoices', 'refunds', 'fraud', 'kyc', 'scheduler', 'jobs',
];

const NodeImages = [
  ['registry.k8s.io/kube-proxy', 'v1.36.0', 30_000_000],
  ['registry.k8s.io/coredns/coredns', 'v1.12.1', 21_000_000],
  ['registry.k8s.io/pause', '3.10', 320_000],
  ['docker.io/calico/node', 'v3.29.1', 142_000_000],
  ['docker.io/calico/cni', 'v3.29.1', 97_000_000],
  ['quay.io/prometheus/node-exporter', 'v1.9.1', 12_000_000],
  ['docker.io/fluent/fluent-bit', '3.2.4', 40_000_000],
  ['registry.example.com/shop/frontend', '1.42.0', 58_000_000],
  ['registry.example.com/shop/catalog', '3.7.2', 77_000_000],
  ['registry.example.com/payments/ledger-db', '16.4', 151_000_000],
  ['docker.io/library/nginx', '1.27.3', 72_000_000],
  ['docker.io/envoyproxy/envoy', 'v1.33.0', 64_000_000],
].map(([repo, tag, size]) => ({
  names: [`${repo}@sha256:${fakeDigest(`${repo}:${tag}`)}`, `${repo}:${tag}`],
  sizeBytes: size as number,
}));

interface WorkloadPlan {
  readonly namespace: string;
  readonly app: string;
  readonly replicas: number;
  readonly ports: readonly ContainerPortJson[];
  readonly sidecarPorts?: readonly ContainerPortJson[];
  /** Template `subdomain` (a headless Service's name); each pod gets its name as `hostname`. */
  readonly subdomain?: string;
  readonly alternatePort?: number;
  readonly image?: string;
}

type ServiceKind = 'ClusterIP' | 'Headless' | 'DualStack' | 'LoadBalancer' | 'NodePort' | 'ExternalName' | 'Selectorless';

interface ServicePlan {
  readonly namespace: string;
  readonly name: string;
  readonly kind: ServiceKind;
  /** The `app` label it selects. */
  readonly app?: string;
  readonly ports: readonly ServicePortJson[];
  readonly publishNotReadyAddresses?: boolean;
  readonly trafficDistribution?: string;
  readonly ingress?: 'ip' | 'hostname';
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly externalName?: string;
}

interface NodeSlot {
  readonly node: NodeJson;
  readonly index: number;
  readonly schedulable: boolean;
  pods: number;
  nextHost: number;
}

class Builder {
  readonly shape: ClusterShape;
  readonly seed: number;
  readonly baseTime: number;
  readonly rng: Rng;
  revision = 0;
  serviceIndex = 0;
  nodePort = 30_000;
  loadBalancers = 0;
  readonly namespaces: NamespaceJson[] = [];
  readonly nodes: NodeJson[] = [];
  readonly slots: NodeSlot[] = [];
  readonly nodesByName = new Map<string, NodeJson>();
  /** Schedulable slots per zone. */
  readonly byZone: NodeSlot[][] = [];
  readonly deployments: DeploymentJson[] = [];
  readonly services: ServiceJson[] = [];
  readonly pods: PodJson[] = [];
  readonly slices: EndpointSliceJson[] = [];
  readonly podsByApp = new Map<string, PodJson[]>();
  readonly sliceNames = new Set<string>();
  readonly podNames = new Set<string>();
  readonly podFieldsBySignature = new Map<string, { spec: unknown; status: unknown }>();
  zoneCursor = 0;

  constructor(shape: ClusterShape, seed: number, baseTime: number) {
    this.shape = shape;
    this.seed = seed;
    this.baseTime = baseTime;
    this.rng = new Rng(seed);
  }

  build(): GeneratedCluster {
    this.buildNamespaces();
    this.buildNodes();
    const { workloads, services } = this.plan();
    for (const workload of workloads) this.buildWorkload(workload);
    for (const plan of services) this.buildService(plan);
    const routes = generateRoutes({ nextRV: () => this.nextRV(), uid: () => this.rng.uuid(), ago: (ms) => this.ago(ms) });
    return {
      shape: this.shape,
      seed: this.seed,
      namespaces: this.namespaces,
      nodes: this.nodes,
      deployments: this.deployments,
      services: this.services,
      pods: this.pods,
      endpointSlices: this.slices,
      ingressClasses: routes.ingressClasses,
      ingresses: routes.ingresses,
      gatewayClasses: routes.gatewayClasses,
      gateways: routes.gateways,
      httpRoutes: routes.httpRoutes,
      referenceGrants: routes.referenceGrants,
      revision: this.revision,
    };
  }

  nextRV(): string {
    this.revision += 1;
    return String(this.revision);
  }

  /** RFC 3339 time `ms` before the base time. */
  ago(ms: number): string {
    return rfc3339(this.baseTime - ms);
  }

  withManagedFields(): boolean {
    return this.rng.chance(this.shape.managedFieldsRatio);
  }

  // -- namespaces ------------------------------------------------------------------------------

  buildNamespaces(): void {
    const names: string[] = [...FixedNamespaces];
    const width = String(this.shape.namespaces).length;
    for (let i = names.length; i < this.shape.namespaces; i++) names.push(`team-${String(i - FixedNamespaces.length + 1).padStart(width, '0')}`);
    for (const name of names) {
      const createdAt = this.ago(DayMs * 200 + this.rng.int(DayMs * 30));
      this.namespaces.push({
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: {
          name,
          uid: this.rng.uuid(),
          resourceVersion: this.nextRV(),
          creationTimestamp: createdAt,
          labels: { 'kubernetes.io/metadata.name': name },
          ...(this.withManagedFields()
            ? { managedFields: [managed('kubectl-create', 'Update', 'v1', createdAt, { metadata: { labels: { 'kubernetes.io/metadata.name': name } } })] }
            : {}),
        },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      });
    }
  }

  workloadNamespaces(): string[] {
    return this.namespaces.map((n) => n.metadata.name).filter((n) => n !== 'kube-system');
  }

  // -- nodes -----------------------------------------------------------------------------------

  buildNodes(): void {
    const { shape } = this;
    const width = Math.max(2, String(shape.nodes).length);
    const workers = shape.nodes - shape.controlPlaneNodes;
    let tainted = 0;
    for (let z = 0; z < shape.zones.length; z++) this.byZone.push([]);
    for (let i = 0; i < shape.nodes; i++) {
      const controlPlane = i < shape.controlPlaneNodes;
      const w = i - shape.controlPlaneNodes;
      const zoneIndex = controlPlane ? i % shape.zones.length : w % shape.zones.length;
      const zone = shape.zones[zoneIndex] as string;
      const letter = zone.slice(-1);
      const name = controlPlane ? `control-plane-${letter}-${i + 1}` : `worker-${letter}-${String(w + 1).padStart(width, '0')}`;
      // Spread the tainted workers evenly: worker w is tainted when floor((w+1)r) > floor(wr).
      let taint: TaintJson | undefined;
      if (controlPlane) {
        taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
      } else if (Math.floor((w + 1) * shape.taintedNodeRatio) > Math.floor(w * shape.taintedNodeRatio)) {
        taint = tainted++ % 2 === 0
          ? { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }
          : { key: 'cloud.example.com/spot', value: 'true', effect: 'PreferNoSchedule' };
      }
      const instanceType = controlPlane ? 'm6i.xlarge' : taint?.key === 'nvidia.com/gpu' ? 'g5.2xlarge' : this.rng.pick(['m6i.2xlarge', 'm6i.4xlarge', 'c6i.4xlarge']);
      const node = this.buildNode(i, name, zone, instanceType, controlPlane, taint);
      this.nodes.push(node);
      this.nodesByName.set(name, node);
      const schedulable = !controlPlane && taint?.effect !== 'NoSchedule';
      const slot: NodeSlot = { node, index: i, schedulable, pods: 0, nextHost: 2 };
      this.slots.push(slot);
      if (schedulable) (this.byZone[zoneIndex] as NodeSlot[]).push(slot);
    }
    if (workers < 1 || this.byZone.every((z) => z.length === 0)) {
      throw new RangeError(`nodes: expected at least one schedulable worker node, but got nodes=${shape.nodes}, controlPlaneNodes=${shape.controlPlaneNodes}`);
    }
  }

  buildNode(i: number, name: string, zone: string, instanceType: string, controlPlane: boolean, taint: TaintJson | undefined): NodeJson {
    const { shape } = this;
    const createdAt = this.ago(DayMs * 90 + this.rng.int(DayMs * 60));
    const heartbeat = this.ago(this.rng.int(10_000));
    const ipv4 = `10.0.${(i + 10) >> 8}.${(i + 10) & 255}`;
    const ipv6 = `fd00:10::${(i + 10).toString(16)}`;
    const cpu = instanceType.endsWith('4xlarge') ? 16 : instanceType.endsWith('2xlarge') ? 8 : 4;
    const memoryKi = cpu * 4 * 1024 * 1024 - 500_000;
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/instance-type': instanceType,
      'beta.kubernetes.io/os': 'linux',
      'failure-domain.beta.kubernetes.io/region': shape.region,
      'failure-domain.beta.kubernetes.io/zone': zone,
      'kubernetes.io/arch': 'amd64',
      [LabelHostname]: name,
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': instanceType,
      [LabelRegion]: shape.region,
      [LabelZone]: zone,
    };
    if (controlPlane) labels['node-role.kubernetes.io/control-plane'] = '';
    const spec = {
      podCIDR: `10.${64 + (i >> 8)}.${i & 255}.0/24`,
      podCIDRs: [`10.${64 + (i >> 8)}.${i & 255}.0/24`, `fd00:10:244:${i.toString(16)}::/64`],
      providerID: `aws:///${zone}/i-0${this.rng.hex(16)}`,
      ...(taint !== undefined ? { taints: [taint] } : {}),
    };
    const capacity = { cpu: String(cpu), 'ephemeral-storage': '104845292Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: `${memoryKi}Ki`, pods: String(shape.maxPodsPerNode) };
    const allocatable = { ...capacity, cpu: `${cpu * 1000 - 90}m`, 'ephemeral-storage': '95551679124', memory: `${memoryKi - 1_000_000}Ki` };
    const status = {
      capacity,
      allocatable,
      conditions: [
        nodeCondition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', heartbeat, createdAt),
        nodeCondition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', heartbeat, createdAt),
        nodeCondition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', heartbeat, createdAt),
        nodeCondition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status', heartbeat, createdAt),
      ],
      addresses: [
        { type: 'InternalIP' as const, address: ipv4 },
        { type: 'InternalIP' as const, address: ipv6 },
        { type: 'Hostname' as const, address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: this.rng.hex(32),
        systemUUID: this.rng.uuid(),
        bootID: this.rng.uuid(),
        kernelVersion: '6.8.0-1021-aws',
        osImage: 'Ubuntu 24.04.2 LTS',
        containerRuntimeVersion: 'containerd://2.0.4',
        kubeletVersion: 'v1.36.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: NodeImages,
    };
    return {
      kind: 'Node',
      apiVersion: 'v1',
      metadata: {
        name,
        uid: this.rng.uuid(),
        resourceVersion: this.nextRV(),
        creationTimestamp: createdAt,
        labels,
        annotations: {
          'node.alpha.kubernetes.io/ttl': '0',
          'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        },
        ...(this.withManagedFields()
          ? {
              managedFields: [
                managed('kubelet', 'Update', 'v1', createdAt, { metadata: { labels }, spec: { providerID: '' } }),
                managed('kube-controller-manager', 'Update', 'v1', createdAt, { spec: { podCIDR: '', podCIDRs: [] } }),
                managed('kubelet', 'Update', 'v1', heartbeat, { status }, 'status'),
              ],
            }
          : {}),
      },
      spec,
      status,
    };
  }

  /** A schedulable node with room, zones round-robin; undefined when the cluster is full. */
  schedule(): NodeSlot | undefined {
    const zones = this.byZone.length;
    for (let attempt = 0; attempt < zones; attempt++) {
      const candidates = this.byZone[(this.zoneCursor + attempt) % zones] as NodeSlot[];
      if (candidates.length === 0) continue;
      const start = this.rng.int(candidates.length);
      for (let k = 0; k < candidates.length; k++) {
        const slot = candidates[(start + k) % candidates.length] as NodeSlot;
        if (slot.pods < this.shape.maxPodsPerNode && slot.nextHost < 255) {
          this.zoneCursor = (this.zoneCursor + attempt + 1) % zones;
          return slot;
        }
      }
    }
    return undefined;
  }

  // -- plan --------------------------------------------------------------------------------------

  plan(): { workloads: WorkloadPlan[]; services: ServicePlan[] } {
    const { shape, rng } = this;
    const http = (containerPort = 8080): ContainerPortJson => ({ name: 'http', containerPort, protocol: 'TCP' });
    const workloads: WorkloadPlan[] = [
      {
        namespace: 'kube-system',
        app: 'coredns',
        replicas: 2,
        image: 'registry.k8s.io/coredns/coredns:v1.12.1',
        ports: [
          { name: 'dns', containerPort: 53, protocol: 'UDP' },
          { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
          { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
        ],
      },
      { namespace: 'shop', app: 'frontend', replicas: 3, ports: [http(), { name: 'https', containerPort: 8443, protocol: 'TCP' }], sidecarPorts: [{ name: 'metrics', containerPort: 15090, protocol: 'TCP' }] },
      { namespace: 'shop', app: 'catalog', replicas: shape.bigServiceReplicas, ports: [http(), { name: 'grpc', containerPort: 9090, protocol: 'TCP' }] },
      { namespace: 'shop', app: 'cart', replicas: 3, ports: [http()], alternatePort: 8081 },
      { namespace: 'shop', app: 'recommendations', replicas: 0, ports: [http()] },
      { namespace: 'payments', app: 'ledger-db', replicas: 3, ports: [{ name: 'postgres', containerPort: 5432, protocol: 'TCP' }], subdomain: 'ledger-db', image: 'registry.example.com/payments/ledger-db:16.4' },
      { namespace: 'payments', app: 'checkout', replicas: 2, ports: [http()] },
      { namespace: 'default', app: 'ingress-gateway', replicas: 2, ports: [http(8080), { name: 'https', containerPort: 8443, protocol: 'TCP' }], image: 'docker.io/envoyproxy/envoy:v1.33.0' },
    ];
    const tcp = (name: string, port: number, targetPort: number | string, appProtocol?: string): ServicePortJson => ({
      name,
      protocol: 'TCP',
      port,
      targetPort,
      ...(appProtocol !== undefined ? { appProtocol } : {}),
    });
    const services: ServicePlan[] = [
      {
        namespace: 'kube-system',
        name: 'kube-dns',
        kind: 'ClusterIP',
        app: 'coredns',
        ports: [
          { name: 'dns', protocol: 'UDP', port: 53, targetPort: 'dns' },
          { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 'dns-tcp' },
          tcp('metrics', 9153, 9153),
        ],
      },
      { namespace: 'shop', name: 'frontend', kind: 'LoadBalancer', app: 'frontend', ingress: 'ip', externalTrafficPolicy: 'Cluster', ports: [tcp('http', 80, 'http'), tcp('https', 443, 'https'), tcp('metrics', 15090, 'metrics')] },
      { namespace: 'shop', name: 'frontend-internal', kind: 'ClusterIP', app: 'frontend', ports: [{ protocol: 'TCP', port: 8080, targetPort: 8080 }] },
      { namespace: 'shop', name: 'catalog', kind: 'ClusterIP', app: 'catalog', trafficDistribution: 'PreferClose', ports: [tcp('http', 80, 'http', 'http'), tcp('grpc', 9090, 'grpc', 'kubernetes.io/h2c')] },
      { namespace: 'shop', name: 'cart', kind: 'DualStack', app: 'cart', ports: [tcp('http', 80, 'http')] },
      { namespace: 'shop', name: 'recommendations', kind: 'ClusterIP', app: 'recommendations', ports: [tcp('http', 80, 'http')] },
      { namespace: 'payments', name: 'ledger-db', kind: 'Headless', app: 'ledger-db', publishNotReadyAddresses: true, ports: [tcp('postgres', 5432, 'postgres')] },
      { namespace: 'payments', name: 'legacy-billing', kind: 'Selectorless', ports: [tcp('https', 8443, 8443)] },
      { namespace: 'payments', name: 'fx-rates', kind: 'ExternalName', externalName: 'api.fx-provider.example.com', ports: [tcp('https', 443, 443)] },
      { namespace: 'payments', name: 'checkout', kind: 'NodePort', app: 'checkout', ports: [tcp('http', 80, 'http')] },
      { namespace: 'default', name: 'ingress-gateway', kind: 'LoadBalancer', app: 'ingress-gateway', ingress: 'hostname', externalTrafficPolicy: 'Local', ports: [tcp('http', 80, 'http'), tcp('https', 443, 'https')] },
    ];

    // Ordinary Services: one Deployment each, the leftover pods spread with some variance.
    const ordinary = shape.services - FixedServiceCount;
    const fixedPods = workloads.reduce((sum, w) => sum + w.replicas, 0);
    let leftover = Math.max(0, shape.pods - fixedPods);
    const namespaces = this.workloadNamespaces();
    const taken = new Set(services.map((s) => `${s.namespace}/${s.name}`));
    for (let k = 0; k < ordinary; k++) {
      const namespace = namespaces[k % namespaces.length] as string;
      const word = Words[rng.int(Words.length)] as string;
      let name = word;
      for (let n = 2; taken.has(`${namespace}/${name}`); n++) name = `${word}-${n}`;
      taken.add(`${namespace}/${name}`);
      const left = ordinary - k;
      const mean = leftover / left;
      const replicas = left === 1 ? leftover : Math.min(leftover, Math.max(1, Math.round(mean * (0.5 + rng.next()))));
      leftover -= replicas;
      const grpc = rng.chance(0.4);
      const named = rng.chance(0.7);
      workloads.push({
        namespace,
        app: name,
        replicas,
        ports: grpc ? [http(), { name: 'grpc', containerPort: 9090, protocol: 'TCP' }] : [http()],
      });
      const roll = rng.next();
      const kind: ServiceKind = roll < shape.loadBalancerRatio ? 'LoadBalancer' : roll < shape.loadBalancerRatio + 0.05 ? 'NodePort' : 'ClusterIP';
      services.push({
        namespace,
        name,
        kind,
        app: name,
        ...(kind === 'LoadBalancer' ? { ingress: 'ip' as const, externalTrafficPolicy: 'Cluster' as const } : {}),
        ports: grpc
          ? [tcp('http', 80, named ? 'http' : 8080), tcp('grpc', 9090, named ? 'grpc' : 9090, 'kubernetes.io/h2c')]
          : [named ? { protocol: 'TCP', port: 80, targetPort: 'http' } : { protocol: 'TCP', port: 80, targetPort: 8080 }],
      });
    }
    return { workloads, services };
  }

  // -- workloads ---------------------------------------------------------------------------------

  buildWorkload(plan: WorkloadPlan): void {
    const { rng } = this;
    const createdAt = this.ago(DayMs * 30 + rng.int(DayMs * 100));
    const rolledAt = this.ago(HourMs + rng.int(DayMs * 20));
    const image = plan.image ?? `registry.example.com/${plan.namespace}/${plan.app}:1.${rng.int(60)}.${rng.int(10)}`;
    const labels = { app: plan.app };
    const container: ContainerJson = {
      name: 'app',
      image,
      ports: plan.ports,
      env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'OTEL_SERVICE_NAME', value: plan.app }],
      resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
      ...(plan.ports[0] !== undefined && plan.ports[0].protocol === 'TCP'
        ? { readinessProbe: { tcpSocket: { port: plan.ports[0].name ?? plan.ports[0].containerPort }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } }
        : {}),
      volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    };
    const sidecars: ContainerJson[] | undefined = plan.sidecarPorts === undefined
      ? undefined
      : [{
          name: 'metrics-proxy',
          image: 'docker.io/envoyproxy/envoy:v1.33.0',
          restartPolicy: 'Always',
          ports: plan.sidecarPorts,
          resources: { requests: { cpu: '10m', memory: '32Mi' } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
        }];
    const deployment: DeploymentJson = {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: {
        name: plan.app,
        namespace: plan.namespace,
        uid: rng.uuid(),
        resourceVersion: this.nextRV(),
        generation: 1 + rng.int(20),
        creationTimestamp: createdAt,
        labels,
        annotations: {
          'deployment.kubernetes.io/revision': String(1 + rng.int(20)),
          ...(plan.alternatePort !== undefined ? { [AnnotationAlternatePort]: String(plan.alternatePort) } : {}),
        },
      },
      spec: {
        replicas: plan.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { 'kubectl.kubernetes.io/restartedAt': rolledAt } },
          spec: {
            ...(sidecars !== undefined ? { initContainers: sidecars } : {}),
            containers: [container],
            ...(plan.subdomain !== undefined ? { subdomain: plan.subdomain } : {}),
            restartPolicy: 'Always',
            terminationGracePeriodSeconds: 30,
            dnsPolicy: 'ClusterFirst',
            serviceAccountName: 'default',
            serviceAccount: 'default',
            securityContext: {},
            schedulerName: 'default-scheduler',
            tolerations: DefaultTolerations,
            priority: 0,
            enableServiceLinks: true,
            preemptionPolicy: 'PreemptLowerPriority',
            volumes: [{
              name: 'kube-api-access',
              projected: {
                sources: [
                  { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
                  { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                  { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
                ],
                defaultMode: 420,
              },
            }],
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {
        observedGeneration: 1,
        replicas: plan.replicas,
        updatedReplicas: plan.replicas,
        readyReplicas: plan.replicas,
        availableReplicas: plan.replicas,
      },
    };
    this.deployments.push(deployment);

    const hash = templateHash(deployment);
    const owner = replicaSetOwner(deployment, hash);
    const pods: PodJson[] = [];
    let podManagedFields: readonly ManagedFieldsEntryJson[] | undefined;
    for (let r = 0; r < plan.replicas; r++) {
      const slot = this.schedule();
      if (slot === undefined) throw new RangeError(`pods: the nodes are full (maxPodsPerNode=${this.shape.maxPodsPerNode}) at ${this.pods.length} pods`);
      const host = slot.nextHost++;
      slot.pods++;
      let name: string;
      do name = `${owner.name}-${rng.suffix()}`;
      while (this.podNames.has(`${plan.namespace}/${name}`));
      this.podNames.add(`${plan.namespace}/${name}`);
      const i = slot.index;
      const withManaged = this.withManagedFields();
      if (withManaged && podManagedFields === undefined) {
        // The fields' shape depends on the template's shape only: computed once per shape.
        const signature = `${JSON.stringify(plan.ports)}|${plan.sidecarPorts !== undefined}|${plan.image !== undefined}`;
        let fields = this.podFieldsBySignature.get(signature);
        if (fields === undefined) {
          fields = {
            spec: fieldsV1({ metadata: { generateName: '', labels: deployment.spec.template.metadata.labels, ownerReferences: [{ uid: 'x' }] }, spec: deployment.spec.template.spec }),
            status: fieldsV1({ status: { conditions: [{ type: 'Ready' }, { type: 'ContainersReady' }, { type: 'PodScheduled' }], containerStatuses: {}, hostIP: '', hostIPs: {}, phase: '', podIP: '', podIPs: {}, startTime: '' } }),
          };
          this.podFieldsBySignature.set(signature, fields);
        }
        podManagedFields = [
          { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: rolledAt, fieldsType: 'FieldsV1', fieldsV1: fields.spec },
          { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: rolledAt, fieldsType: 'FieldsV1', fieldsV1: fields.status, subresource: 'status' },
        ];
      }
      const pod = newPod(
        {
          deployment,
          name,
          uid: rng.uuid(),
          createdAt: rolledAt,
          placement: { node: slot.node, podIPs: [`10.${64 + (i >> 8)}.${i & 255}.${host}`, `fd00:10:244:${i.toString(16)}::${host.toString(16)}`] },
          stage: 'ready',
          containerIDs: sidecars === undefined ? [rng.hex(64)] : [rng.hex(64), rng.hex(64)],
          resourceVersion: this.nextRV(),
          ...(withManaged ? { managedFields: podManagedFields } : {}),
        },
        hash,
        owner,
      );
      pods.push(pod);
      this.pods.push(pod);
    }
    this.podsByApp.set(`${plan.namespace}/${plan.app}`, pods);
  }

  // -- services ----------------------------------------------------------------------------------

  buildService(plan: ServicePlan): void {
    const { rng } = this;
    const createdAt = this.ago(DayMs * 30 + rng.int(DayMs * 100));
    const index = this.serviceIndex++;
    const v4 = `10.96.${(index + 10) >> 8}.${(index + 10) & 255}`;
    const v6 = `fd00:10:96::${(index + 10).toString(16)}`;
    const labels: StringMap = plan.app !== undefined ? { app: plan.app, 'app.kubernetes.io/part-of': plan.namespace } : { 'app.kubernetes.io/part-of': plan.namespace };
    const withNodePorts = plan.kind === 'LoadBalancer' || plan.kind === 'NodePort';
    const ports = plan.ports.map((p) => (withNodePorts ? { ...p, nodePort: this.nodePort++ } : p));
    const selector = plan.app !== undefined && plan.kind !== 'Selectorless' && plan.kind !== 'ExternalName' ? { app: plan.app } : undefined;
    const common = { ports, ...(selector !== undefined ? { selector } : {}), sessionAffinity: 'None' };
    let spec: ServiceJson['spec'];
    switch (plan.kind) {
      case 'ExternalName':
        spec = { type: 'ExternalName', externalName: plan.externalName ?? 'example.com', ...common };
        break;
      case 'Headless':
        spec = { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster', ...common };
        break;
      case 'DualStack':
        spec = { type: 'ClusterIP', clusterIP: v4, clusterIPs: [v4, v6], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', internalTrafficPolicy: 'Cluster', ...common };
        break;
      case 'ClusterIP':
      case 'Selectorless':
        spec = { type: 'ClusterIP', clusterIP: v4, clusterIPs: [v4], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster', ...common };
        break;
      case 'NodePort':
      case 'LoadBalancer':
        spec = {
          type: plan.kind,
          clusterIP: v4,
          clusterIPs: [v4],
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          internalTrafficPolicy: 'Cluster',
          externalTrafficPolicy: plan.externalTrafficPolicy ?? 'Cluster',
          ...(plan.externalTrafficPolicy === 'Local' ? { healthCheckNodePort: this.nodePort++ } : {}),
          ...(plan.kind === 'LoadBalancer' ? { allocateLoadBalancerNodePorts: true } : {}),
          ...common,
        };
        break;
    }
    if (plan.publishNotReadyAddresses) spec = { ...spec, publishNotReadyAddresses: true };
    if (plan.trafficDistribution !== undefined) spec = { ...spec, trafficDistribution: plan.trafficDistribution };
    const status: ServiceJson['status'] = { loadBalancer: plan.kind === 'LoadBalancer' ? { ingress: [this.ingress(plan)] } : {} };
    const lastApplied = rng.chance(0.3);
    const manifest = { apiVersion: 'v1', kind: 'Service', metadata: { labels, name: plan.name, namespace: plan.namespace }, spec: { ports: plan.ports, ...(selector ? { selector } : {}), type: spec.type } };
    const service: ServiceJson = {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: {
        name: plan.name,
        namespace: plan.namespace,
        uid: rng.uuid(),
        resourceVersion: this.nextRV(),
        creationTimestamp: createdAt,
        labels,
        ...(lastApplied ? { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(manifest)}\n` } } : {}),
        ...(this.withManagedFields()
          ? {
              managedFields: [
                managed(lastApplied ? 'kubectl-client-side-apply' : 'helm', 'Update', 'v1', createdAt, { metadata: { labels }, spec: manifest.spec }),
                ...(plan.kind === 'LoadBalancer' ? [managed('aws-cloud-controller-manager', 'Update', 'v1', createdAt, { status }, 'status')] : []),
              ],
            }
          : {}),
      },
      spec,
      status,
    };
    this.services.push(service);

    if (plan.kind === 'Selectorless') {
      this.slices.push(this.mirroredSlice(service, createdAt));
      return;
    }
    if (selector === undefined) return;
    const pods = this.podsByApp.get(`${plan.namespace}/${plan.app}`) ?? [];
    const changes = reconcileEndpointSlices({
      service,
      pods,
      existing: [],
      getNode: (name) => this.nodesByName.get(name),
      maxEndpointsPerSlice: this.shape.maxEndpointsPerSlice,
      triggerTime: pods[0]?.metadata.creationTimestamp ?? createdAt,
    });
    const withManaged = this.withManagedFields();
    for (const draft of changes.create) {
      let name: string;
      do name = `${draft.metadata.generateName ?? `${plan.name}-`}${rng.suffix()}`;
      while (this.sliceNames.has(`${plan.namespace}/${name}`));
      this.sliceNames.add(`${plan.namespace}/${name}`);
      const created = pods[0]?.metadata.creationTimestamp ?? createdAt;
      this.slices.push({
        ...draft,
        metadata: {
          ...draft.metadata,
          name,
          uid: rng.uuid(),
          resourceVersion: this.nextRV(),
          creationTimestamp: created,
          ...(withManaged
            ? { managedFields: [managed('endpointslice-controller.k8s.io', 'Update', 'discovery.k8s.io/v1', created, { metadata: { labels: draft.metadata.labels, ownerReferences: draft.metadata.ownerReferences, generateName: '' }, addressType: '', endpoints: [], ports: [] })] }
            : {}),
        },
      });
    }
  }

  ingress(plan: ServicePlan): { ip?: string; hostname?: string; ipMode?: 'VIP' } {
    const k = this.loadBalancers++;
    if (plan.ingress === 'hostname' || k >= 500) {
      return { hostname: `a${this.rng.hex(31)}-${this.rng.int(2_000_000_000)}.${this.shape.region}.elb.amazonaws.com` };
    }
    const ip = k < 250 ? `203.0.113.${k + 1}` : `198.51.100.${k - 249}`;
    return { ip, ipMode: 'VIP' };
  }

  /** What endpointslicemirroring writes for hand-written Endpoints: only `ready`, no targetRef. */
  mirroredSlice(service: ServiceJson, createdAt: string): EndpointSliceJson {
    const name = `${service.metadata.name}-${this.rng.suffix()}`;
    this.sliceNames.add(`${service.metadata.namespace}/${name}`);
    return {
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: {
        name,
        generateName: `${service.metadata.name}-`,
        namespace: service.metadata.namespace ?? 'default',
        uid: this.rng.uuid(),
        resourceVersion: this.nextRV(),
        generation: 1,
        creationTimestamp: createdAt,
        labels: {
          ...(service.metadata.labels ?? {}),
          [LabelServiceName]: service.metadata.name,
          [LabelManagedBy]: ControllerEndpointSliceMirroring,
        },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: service.metadata.name, uid: this.rng.uuid(), controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['192.168.50.10'], conditions: { ready: true } },
        { addresses: ['192.168.50.11'], conditions: { ready: true } },
        { addresses: ['192.168.50.12'], conditions: { ready: false } },
      ],
      ports: [{ name: 'https', protocol: 'TCP', port: 8443 }],
    };
  }
}

const HourMs = 3_600_000;
const DayMs = 24 * HourMs;

function validateShape(shape: ClusterShape): void {
  const need = (ok: boolean, field: string, expected: string, got: unknown): void => {
    if (!ok) throw new RangeError(`${field}: expected ${expected}, but got: ${JSON.stringify(got)}`);
  };
  need(Number.isInteger(shape.namespaces) && shape.namespaces >= FixedNamespaces.length, 'namespaces', `an integer >= ${FixedNamespaces.length}`, shape.namespaces);
  need(Number.isInteger(shape.services) && shape.services >= FixedServiceCount, 'services', `an integer >= ${FixedServiceCount}`, shape.services);
  need(shape.zones.length >= 1, 'zones', 'at least one zone', shape.zones);
  need(Number.isInteger(shape.nodes) && shape.nodes > shape.controlPlaneNodes, 'nodes', 'an integer > controlPlaneNodes', shape.nodes);
  need(Number.isInteger(shape.bigServiceReplicas) && shape.bigServiceReplicas >= 0, 'bigServiceReplicas', 'a non-negative integer', shape.bigServiceReplicas);
  need(shape.maxPodsPerNode >= 1 && shape.maxPodsPerNode <= 253, 'maxPodsPerNode', 'an integer in [1, 253] (one /24 per node)', shape.maxPodsPerNode);
}

function nodeCondition(type: string, status: 'True' | 'False', reason: string, message: string, heartbeat: string, transition: string) {
  return { type, status, lastHeartbeatTime: heartbeat, lastTransitionTime: transition, reason, message };
}

/** A managedFields entry whose fieldsV1 mirrors the given object's shape. */
function managed(manager: string, operation: 'Update' | 'Apply', apiVersion: string, time: string, fields: unknown, subresource?: string): ManagedFieldsEntryJson {
  return {
    manager,
    operation,
    apiVersion,
    time,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldsV1(fields),
    ...(subresource !== undefined ? { subresource } : {}),
  };
}

/** The FieldsV1 shape of a value: `f:<field>` per key, `k:{...}` per keyed list item, `{}` at leaves. */
function fieldsV1(value: unknown): unknown {
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const item of value) {
      if (item !== null && typeof item === 'object') {
        const record = item as Record<string, unknown>;
        const keyField = ['name', 'type', 'ip', 'uid', 'key', 'containerPort'].find((k) => record[k] !== undefined);
        if (keyField !== undefined) {
          out[`k:${JSON.stringify({ [keyField]: record[keyField] })}`] = { '.': {}, ...(fieldsV1(item) as object) };
          continue;
        }
      }
      out['.'] = {};
    }
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldsV1(v);
    return out;
  }
  return {};
}

function fakeDigest(s: string): string {
  let hex = '';
  let h = 0x811c9dc5;
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    hex += h.toString(16).padStart(8, '0');
  }
  return hex;
}
