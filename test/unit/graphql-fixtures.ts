/**
 * Builders for the GraphQL tests: realistic API JSON through the real ingest, a hand-filled
 * ClusterCache and EndpointFeed, the real schema, and a runner that goes through the gateway's
 * request pipeline (parse, validate with limits, coerce, execute) and records loader batches.
 */
import { AllNamespaces, AuthorizationUnavailableError, OpenAccess, type Access, type Resource, type UserInfo, type Verb } from '../../src/auth/access.ts';
import { ClusterCache } from '../../src/kube/cache.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { EndpointSliceRecord, NodeRecord, PodRecord, ServiceRecord } from '../../src/kube/records.ts';
import type { IngressClassRecord, IngressRecord } from '../../src/kube/routes.ts';
import { EndpointHistory, type HistoryOptions } from '../../src/model/history.ts';
import { EndpointFeed } from '../../src/model/endpoint-feed.ts';
import { createContext } from '../../src/graphql/context.ts';
import type { LoaderName } from '../../src/graphql/loaders.ts';
import { DefaultLimits, type Limits } from '../../src/graphql/limits.ts';
import { OperationPipeline } from '../../src/graphql/pipeline.ts';
import { createLogger } from '../../src/log.ts';
import { buildGatewaySchema } from '../../src/graphql/schema.ts';
import type { FormattedExecutionResult } from 'graphql';

export const schema = buildGatewaySchema();
const quiet = createLogger({ level: 'error', format: 'text', write: () => {} });

let uids = 0;
const created = '2025-03-01T10:00:00Z';

function metadata(namespace: string | null, name: string, o: { labels?: Record<string, string>; annotations?: Record<string, string>; owner?: { kind: string; name: string }; deleting?: boolean } = {}) {
  return {
    ...(namespace === null ? {} : { namespace }),
    name,
    uid: `uid-${++uids}`,
    resourceVersion: String(1000 + uids),
    creationTimestamp: created,
    ...(o.deleting ? { deletionTimestamp: '2025-03-01T11:00:00Z' } : {}),
    ...(o.labels ? { labels: o.labels } : {}),
    ...(o.annotations ? { annotations: o.annotations } : {}),
    ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: o.owner.kind, name: o.owner.name, uid: `uid-owner-${o.owner.name}`, controller: true, blockOwnerDeletion: true }] } : {}),
    managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: created, fieldsType: 'FieldsV1', fieldsV1: {} }],
  };
}

export interface ServiceOptions {
  selector?: Record<string, string> | null;
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string; nodePort?: number }[];
  labels?: Record<string, string>;
  externalName?: string;
  ingressIP?: string;
}

export function service(namespace: string, name: string, o: ServiceOptions = {}): ServiceRecord {
  const type = o.type ?? 'ClusterIP';
  const clusterIP = type === 'ExternalName' ? undefined : (o.clusterIP ?? `10.96.${(uids >> 8) & 255}.${uids & 255}`);
  return ingest('Service', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(namespace, name, { labels: o.labels }),
    spec: {
      type,
      ...(o.selector === null ? {} : { selector: o.selector ?? { app: name } }),
      ...(clusterIP ? { clusterIP, clusterIPs: o.clusterIPs ?? [clusterIP] } : {}),
      ipFamilies: o.ipFamilies ?? (type === 'ExternalName' ? undefined : ['IPv4']),
      ipFamilyPolicy: type === 'ExternalName' ? undefined : 'SingleStack',
      ports: o.ports ?? [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      ...(o.externalName ? { externalName: o.externalName } : {}),
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: o.ingressIP ? { ingress: [{ ip: o.ingressIP, ipMode: 'VIP' }] } : {} },
  });
}

export interface PodOptions {
  labels?: Record<string, string>;
  node?: string | null;
  ips?: string[];
  ready?: boolean;
  phase?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  owner?: string;
  deleting?: boolean;
  /** The Ready condition's lastTransitionTime. */
  readySince?: string;
}

export function pod(namespace: string, name: string, o: PodOptions = {}): PodRecord {
  const ips = o.ips ?? [];
  const phase = o.phase ?? (o.node === null ? 'Pending' : 'Running');
  return ingest('Pod', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: metadata(namespace, name, { labels: o.labels ?? { app: name.replace(/-[^-]+$/, '') }, owner: o.owner ? { kind: 'ReplicaSet', name: o.owner } : undefined, deleting: o.deleting }),
    spec: {
      ...(o.node ? { nodeName: o.node } : {}),
      containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', ports: o.ports ?? [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
      restartPolicy: 'Always',
    },
    status: {
      phase,
      ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      ...(o.node ? { hostIP: '10.0.0.1' } : {}),
      conditions: [
        { type: 'PodScheduled', status: o.node ? 'True' : 'False' },
        { type: 'Ready', status: o.ready === false ? 'False' : o.node ? 'True' : 'False', ...(o.readySince ? { lastTransitionTime: o.readySince } : {}) },
      ],
    },
  });
}

export interface NodeOptions {
  zone?: string | null;
  region?: string;
  ready?: boolean;
  ip?: string;
  unschedulable?: boolean;
  taints?: { key: string; value?: string; effect: string }[];
  labels?: Record<string, string>;
}

export function node(name: string, o: NodeOptions = {}): NodeRecord {
  const zone = o.zone === undefined ? 'zone-a' : o.zone;
  return ingest('Node', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: metadata(null, name, {
      labels: {
        'kubernetes.io/hostname': name,
        ...(zone ? { 'topology.kubernetes.io/zone': zone } : {}),
        'topology.kubernetes.io/region': o.region ?? 'region-1',
        ...o.labels,
      },
    }),
    spec: { podCIDRs: [`10.4.${uids & 255}.0/24`], ...(o.unschedulable ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
    status: {
      addresses: [
        { type: 'InternalIP', address: o.ip ?? `10.0.0.${uids & 255}` },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  });
}

export interface EndpointOptions {
  pod?: PodRecord | null;
  node?: string | null;
  zone?: string | null;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  forZones?: string[];
}

/** An endpoint as the EndpointSlice controller writes it for `pod` (or a bare address). */
export function endpoint(address: string, o: EndpointOptions = {}) {
  const p = o.pod ?? null;
  const ready = o.ready ?? true;
  return {
    addresses: [address],
    conditions: { ready, serving: o.serving ?? ready, terminating: o.terminating ?? false },
    ...(p ? { targetRef: { kind: 'Pod', namespace: p.meta.namespace, name: p.meta.name, uid: p.meta.uid } } : {}),
    ...((o.node ?? p?.nodeName) ? { nodeName: o.node ?? p?.nodeName } : {}),
    ...(o.zone !== null ? { zone: o.zone ?? 'zone-a' } : {}),
    ...(o.forZones ? { hints: { forZones: o.forZones.map((name) => ({ name })) } } : {}),
  };
}

export function slice(
  namespace: string,
  name: string,
  serviceName: string | null,
  endpoints: ReturnType<typeof endpoint>[],
  o: { addressType?: string; ports?: { name?: string; port: number | null; protocol?: string }[]; managedBy?: string } = {},
): EndpointSliceRecord {
  return ingest('EndpointSlice', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: metadata(namespace, name, {
      labels: {
        ...(serviceName ? { 'kubernetes.io/service-name': serviceName } : {}),
        'endpointslice.kubernetes.io/managed-by': o.managedBy ?? 'endpointslice-controller.k8s.io',
      },
      owner: serviceName ? { kind: 'Service', name: serviceName } : undefined,
    }),
    addressType: o.addressType ?? 'IPv4',
    ports: (o.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }]).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.length === 0 ? null : endpoints,
  });
}

export interface Batch {
  readonly name: LoaderName;
  readonly keys: readonly unknown[];
}

/** A hand-filled cache with its endpoint feed, and a runner over the real schema. */
export class World {
  readonly cache = new ClusterCache({ client: null });
  readonly feed = new EndpointFeed(this.cache.slices, (k) => this.cache.slicesByService(k), () => this.now);
  /** Every loader batch of the last run, in order. */
  batches: Batch[] = [];
  limits: Limits = DefaultLimits;
  /** The caller of the next runs. */
  access: Access = OpenAccess;
  now = Date.parse('2025-03-01T12:00:00Z');
  /** The endpoint history, on the world's clock (`now`). */
  readonly history: EndpointHistory;

  constructor(objects: { services?: ServiceRecord[]; pods?: PodRecord[]; nodes?: NodeRecord[]; slices?: EndpointSliceRecord[]; ingresses?: IngressRecord[]; ingressClasses?: IngressClassRecord[] }, historyOptions: HistoryOptions = {}) {
    this.cache.services.replace(objects.services ?? []);
    this.cache.pods.replace(objects.pods ?? []);
    this.cache.nodes.replace(objects.nodes ?? []);
    this.cache.slices.replace(objects.slices ?? []);
    this.cache.ingresses.replace(objects.ingresses ?? []);
    this.cache.ingressClasses.replace(objects.ingressClasses ?? []);
    this.feed.start();
    this.history = new EndpointHistory(this.feed, this.cache.services, { clock: () => this.now, ...historyOptions });
    this.history.start();
  }

  /** The gateway's one operation pipeline over the real schema, as HTTP and WebSocket use it. */
  get pipeline(): OperationPipeline {
    if (this.pipelineFor !== this.limits) {
      this.cachedPipeline = new OperationPipeline({ schema, limits: this.limits, logger: quiet });
      this.pipelineFor = this.limits;
    }
    return this.cachedPipeline!;
  }
  private cachedPipeline: OperationPipeline | null = null;
  private pipelineFor: Limits | null = null;

  async run(query: string, variables?: Record<string, unknown>, operationName?: string): Promise<FormattedExecutionResult> {
    this.batches = [];
    const context = createContext(
      { cache: this.cache, feed: this.feed, history: this.history },
      { limits: this.limits, clock: () => this.now, access: this.access, onBatch: (name, keys) => this.batches.push({ name, keys: [...keys] }) },
    );
    return this.pipeline.run({ query, variables, operationName }, 'http', context);
  }

  /** `run`, asserting there are no errors; returns `data` as plain JSON. */
  async data(query: string, variables?: Record<string, unknown>): Promise<any> {
    const result = await this.run(query, variables);
    if (result.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(result.errors, null, 2)}`);
    return JSON.parse(JSON.stringify(result.data));
  }
}

/**
 * A small cluster with every relation in it:
 *
 * - Nodes node-a (zone-a, 10.0.0.1), node-b (zone-b, 10.0.0.2), node-c (zone-a, not ready,
 *   cordoned, tainted, 10.0.0.3).
 * - shop/web (ClusterIP 10.96.0.10, app=web, named targetPort "http" and numeric 9090):
 *   web-1 (node-a, 10.4.1.1), web-2 (node-b, 10.4.2.17), web-3 (node-c, 10.4.3.3, terminating),
 *   web-4 (pending, no node); slice web-abc lists web-1, web-2, web-3.
 * - shop/web-lb (LoadBalancer, also app=web, dual-stack ClusterIPs): slice web-lb-v4 lists web-1, web-2.
 * - shop/db (headless, app=db): db-0 (node-a, 10.4.1.5); slice db-x.
 * - shop/empty (app=nothing): a placeholder slice, no endpoints.
 * - shop/ext (ExternalName), shop/manual (selectorless, mirrored slice with 192.168.7.7).
 * - kube-system/kube-dns (10.96.0.53, k8s-app=kube-dns): coredns-1 (node-b, 10.4.2.2).
 * - kube-system/node-exporter-a: a hostNetwork pod with node-a's IP 10.0.0.1.
 */
export function smallCluster(): World {
  const nodes = [
    node('node-a', { zone: 'zone-a', ip: '10.0.0.1' }),
    node('node-b', { zone: 'zone-b', ip: '10.0.0.2' }),
    node('node-c', { zone: 'zone-a', ip: '10.0.0.3', ready: false, unschedulable: true, taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
  ];
  const web1 = pod('shop', 'web-1', { node: 'node-a', ips: ['10.4.1.1'], owner: 'web-7d9f' });
  const web2 = pod('shop', 'web-2', { node: 'node-b', ips: ['10.4.2.17'], owner: 'web-7d9f' });
  const web3 = pod('shop', 'web-3', { node: 'node-c', ips: ['10.4.3.3'], owner: 'web-7d9f', deleting: true, ready: false });
  const web4 = pod('shop', 'web-4', { node: null, owner: 'web-7d9f' });
  const db0 = pod('shop', 'db-0', { labels: { app: 'db' }, node: 'node-a', ips: ['10.4.1.5'], ports: [{ name: 'pg', containerPort: 5432 }] });
  const dns = pod('kube-system', 'coredns-1', { labels: { 'k8s-app': 'kube-dns' }, node: 'node-b', ips: ['10.4.2.2'], ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] });
  const exporter = pod('kube-system', 'node-exporter-a', { labels: { app: 'node-exporter' }, node: 'node-a', ips: ['10.0.0.1'] });
  return new World({
    nodes,
    pods: [web1, web2, web3, web4, db0, dns, exporter],
    services: [
      service('shop', 'web', {
        clusterIP: '10.96.0.10',
        labels: { tier: 'front' },
        ports: [
          { name: 'http', port: 80, targetPort: 'http' },
          { name: 'metrics', port: 9090, targetPort: 9090 },
        ],
      }),
      service('shop', 'web-lb', {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        clusterIP: '10.96.0.30',
        clusterIPs: ['10.96.0.30', 'fd00::30'],
        ipFamilies: ['IPv4', 'IPv6'],
        ports: [{ name: 'http', port: 443, targetPort: 8080, nodePort: 30443 }],
        ingressIP: '203.0.113.10',
        labels: { tier: 'front' },
      }),
      service('shop', 'db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, targetPort: 'pg' }], labels: { tier: 'back' } }),
      service('shop', 'empty', { selector: { app: 'nothing' }, clusterIP: '10.96.0.20' }),
      service('shop', 'ext', { type: 'ExternalName', externalName: 'db.example.com' }),
      service('shop', 'manual', { selector: null, clusterIP: '10.96.0.40' }),
      service('kube-system', 'kube-dns', { selector: { 'k8s-app': 'kube-dns' }, clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' }] }),
    ],
    slices: [
      slice('shop', 'web-abc', 'web', [
        endpoint('10.4.1.1', { pod: web1, zone: 'zone-a', forZones: ['zone-a'] }),
        endpoint('10.4.2.17', { pod: web2, zone: 'zone-b', forZones: ['zone-b'] }),
        endpoint('10.4.3.3', { pod: web3, zone: 'zone-a', ready: false, serving: true, terminating: true }),
      ], { ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }] }),
      slice('shop', 'web-lb-v4', 'web-lb', [endpoint('10.4.1.1', { pod: web1, zone: 'zone-a' }), endpoint('10.4.2.17', { pod: web2, zone: 'zone-b' })]),
      slice('shop', 'db-x', 'db', [endpoint('10.4.1.5', { pod: db0, zone: 'zone-a' })], { ports: [{ name: 'pg', port: 5432 }] }),
      slice('shop', 'empty-p', 'empty', []),
      slice('shop', 'manual-1', 'manual', [endpoint('192.168.7.7', { node: null, zone: null })], { managedBy: 'endpointslice-mirroring-controller.k8s.io' }),
      slice('kube-system', 'kube-dns-q', 'kube-dns', [endpoint('10.4.2.2', { pod: dns, zone: 'zone-b' })], { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
    ],
  });
}

/** One allowed (verb, resource, namespace); namespace AllNamespaces ('') is cluster-wide. */
export type Permission = readonly [Verb, Resource, string];

/**
 * An Access from a fixed table of allowed permissions (a cluster-wide allow implies every
 * namespace, as the contract says), recording every question as "verb resource namespace"
 * ("*" for cluster-wide). `unavailable` resources reject with AuthorizationUnavailableError.
 */
export class TableAccess implements Access {
  readonly user: UserInfo | null;
  /** Every question asked, in order. */
  readonly asked: string[] = [];
  private readonly table: ReadonlySet<string>;
  private readonly unavailable: ReadonlySet<Resource>;

  constructor(username: string | null, allowed: readonly Permission[], o: { unavailable?: readonly Resource[] } = {}) {
    this.user = username === null ? null : { username, uid: `uid-${username}`, groups: ['system:authenticated'], extra: {} };
    this.table = new Set(allowed.map(([verb, resource, namespace]) => `${verb} ${resource} ${namespace || '*'}`));
    this.unavailable = new Set(o.unavailable ?? []);
  }

  allowed(verb: Verb, resource: Resource, namespace: string): Promise<boolean> {
    this.asked.push(`${verb} ${resource} ${namespace || '*'}`);
    if (this.unavailable.has(resource)) return Promise.reject(new AuthorizationUnavailableError(`subjectaccessreviews: 503 for ${resource}`));
    return Promise.resolve(this.table.has(`${verb} ${resource} *`) || (namespace !== AllNamespaces && this.table.has(`${verb} ${resource} ${namespace}`)));
  }
}

/** Names from a connection's edges. */
export function names(connection: { edges: { node: { metadata: { name: string } } }[] }): string[] {
  return connection.edges.map((e) => e.node.metadata.name);
}
