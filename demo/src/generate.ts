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
 *
 * This file is the entry point; the work is in generate/: the shape and presets (shape.ts), the
 * generator's state and order of work (builder.ts), nodes and scheduling (nodes.ts), Deployments
 * and pods (workloads.ts), Services and their EndpointSlices (services.ts), managedFields and
 * image digests (bulk.ts).
 */
import type { DeploymentJson, EndpointSliceJson, KubeObject, NamespaceJson, NodeJson, PodJson, ServiceJson } from './types.ts';
import type { ClusterOptions } from './cluster.ts';
import { Cluster } from './cluster.ts';
import type { ClusterShape, PresetName } from './generate/shape.ts';
import { Presets, validateShape } from './generate/shape.ts';
import { Builder } from './generate/builder.ts';
import type { RouteObjects } from './routes.ts';

export type { ClusterShape, PresetName } from './generate/shape.ts';
export { Presets } from './generate/shape.ts';

export interface GenerateOptions {
  /** Equal seeds give identical clusters. @default 1 */
  readonly seed?: number;
  /** The cluster's "now" in ms since the epoch; creation timestamps lie before it. @default Date.UTC(2025, 0, 1) */
  readonly baseTime?: number;
}

/** With the routing objects over the fixed Services (routes.ts): Ingresses, and the Gateway API kinds served as if their CRDs were installed. */
export interface GeneratedCluster extends RouteObjects {
  readonly shape: ClusterShape;
  readonly seed: number;
  readonly namespaces: readonly NamespaceJson[];
  readonly nodes: readonly NodeJson[];
  readonly deployments: readonly DeploymentJson[];
  readonly services: readonly ServiceJson[];
  readonly pods: readonly PodJson[];
  readonly endpointSlices: readonly EndpointSliceJson[];
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
