/**
 * The shape of a generated cluster (how many namespaces, nodes, Services, pods...), the named
 * presets (`demo`, `large`), and the check that a shape can be built.
 */
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

export const FixedNamespaces = ['default', 'kube-system', 'shop', 'payments'] as const;
export const FixedServiceCount = 11;

/** @throws RangeError naming the first field whose value is impossible. */
export function validateShape(shape: ClusterShape): void {
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
