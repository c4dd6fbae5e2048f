/**
 * The generator's state and its order of work: namespaces, nodes (nodes.ts), the plan of
 * workloads and Services, then each workload (workloads.ts) and each Service with its
 * EndpointSlices (services.ts). Objects are numbered 1..revision in creation order, so the same
 * seed gives the same cluster.
 */
import type { ContainerPortJson, DeploymentJson, EndpointSliceJson, NamespaceJson, NodeJson, PodJson, ServiceJson, ServicePortJson } from '../types.ts';
import { Rng } from '../random.ts';
import { DayMs, rfc3339 } from '../cluster.ts';
import type { GeneratedCluster } from '../generate.ts';
import type { ClusterShape } from './shape.ts';
import { FixedNamespaces, FixedServiceCount } from './shape.ts';
import { managed } from './bulk.ts';
import { generateRoutes } from '../routes.ts';
import { buildNodes } from './nodes.ts';
import { buildWorkload } from './workloads.ts';
import { buildService, ingress } from './services.ts';

export interface WorkloadPlan {
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

export type ServiceKind = 'ClusterIP' | 'Headless' | 'DualStack' | 'LoadBalancer' | 'NodePort' | 'ExternalName' | 'Selectorless';

export interface ServicePlan {
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

export interface NodeSlot {
  readonly node: NodeJson;
  readonly index: number;
  readonly schedulable: boolean;
  pods: number;
  nextHost: number;
}

/** The state of one generation: counters, the objects made so far, the node slots pods are scheduled onto. */
export class Builder {
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
    buildNodes(this);
    const { workloads, services } = this.plan();
    for (const workload of workloads) buildWorkload(this, workload);
    for (const plan of services) buildService(this, plan);
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

}

// Private:

const Words = [
  'api', 'auth', 'search', 'inventory', 'orders', 'notifications', 'billing', 'reviews', 'shipping',
  'pricing', 'users', 'sessions', 'media', 'reports', 'analytics', 'profile', 'ratings', 'email',
  'events', 'ledger', 'quotes', 'tax', 'stock', 'audit', 'feeds', 'tokens', 'uploads', 'webhooks',
  'geo', 'promo', 'wishlist', 'loyalty', 'invoices', 'refunds', 'fraud', 'kyc', 'scheduler', 'jobs',
];
