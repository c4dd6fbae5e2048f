/**
 * Nodes over the zones (control-plane nodes tainted, the rest schedulable, each with a /24 of
 * pod IPs), as a kubelet and the node controllers would have written them, and the round-robin
 * scheduling of pods onto them.
 */
import type { NodeJson, TaintJson } from '../types.ts';
import { LabelHostname, LabelRegion, LabelZone } from '../types.ts';
import { DayMs } from '../cluster.ts';
import type { Builder, NodeSlot } from './builder.ts';
import { fakeDigest, managed } from './bulk.ts';

export function buildNodes(b: Builder): void {
  const { shape } = b;
  const width = Math.max(2, String(shape.nodes).length);
  const workers = shape.nodes - shape.controlPlaneNodes;
  let tainted = 0;
  for (let z = 0; z < shape.zones.length; z++) b.byZone.push([]);
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
    const instanceType = controlPlane ? 'm6i.xlarge' : taint?.key === 'nvidia.com/gpu' ? 'g5.2xlarge' : b.rng.pick(['m6i.2xlarge', 'm6i.4xlarge', 'c6i.4xlarge']);
    const node = buildNode(b, i, name, zone, instanceType, controlPlane, taint);
    b.nodes.push(node);
    b.nodesByName.set(name, node);
    const schedulable = !controlPlane && taint?.effect !== 'NoSchedule';
    const slot: NodeSlot = { node, index: i, schedulable, pods: 0, nextHost: 2 };
    b.slots.push(slot);
    if (schedulable) (b.byZone[zoneIndex] as NodeSlot[]).push(slot);
  }
  if (workers < 1 || b.byZone.every((z) => z.length === 0)) {
    throw new RangeError(`nodes: expected at least one schedulable worker node, but got nodes=${shape.nodes}, controlPlaneNodes=${shape.controlPlaneNodes}`);
  }
}

export function buildNode(b: Builder, i: number, name: string, zone: string, instanceType: string, controlPlane: boolean, taint: TaintJson | undefined): NodeJson {
  const { shape } = b;
  const createdAt = b.ago(DayMs * 90 + b.rng.int(DayMs * 60));
  const heartbeat = b.ago(b.rng.int(10_000));
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
    providerID: `aws:///${zone}/i-0${b.rng.hex(16)}`,
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
      machineID: b.rng.hex(32),
      systemUUID: b.rng.uuid(),
      bootID: b.rng.uuid(),
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
      uid: b.rng.uuid(),
      resourceVersion: b.nextRV(),
      creationTimestamp: createdAt,
      labels,
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      ...(b.withManagedFields()
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
export function schedule(b: Builder): NodeSlot | undefined {
  const zones = b.byZone.length;
  for (let attempt = 0; attempt < zones; attempt++) {
    const candidates = b.byZone[(b.zoneCursor + attempt) % zones] as NodeSlot[];
    if (candidates.length === 0) continue;
    const start = b.rng.int(candidates.length);
    for (let k = 0; k < candidates.length; k++) {
      const slot = candidates[(start + k) % candidates.length] as NodeSlot;
      if (slot.pods < b.shape.maxPodsPerNode && slot.nextHost < 255) {
        b.zoneCursor = (b.zoneCursor + attempt + 1) % zones;
        return slot;
      }
    }
  }
  return undefined;
}

// Private:

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

function nodeCondition(type: string, status: 'True' | 'False', reason: string, message: string, heartbeat: string, transition: string) {
  return { type, status, lastHeartbeatTime: heartbeat, lastTransitionTime: transition, reason, message };
}
