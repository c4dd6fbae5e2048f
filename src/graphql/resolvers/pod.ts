/** Pod, ContainerPort and PodServicePort. Relations read nodeByName, servicesByPod and endpointsByPod. */
import { objectKey, type NodeRecord } from '../../kube/records.ts';
import { resolveTargetPort } from '../../model/targetport.ts';
import type { ContainerPortResolvers, PodResolvers, PodServicePortResolvers } from '../generated/resolvers-types.ts';

export const Pod: PodResolvers = {
  // phase: the record's own string, checked against the enum when serialized.
  podIP: (p) => p.podIPs[0] ?? null,
  terminating: (p) => p.meta.deletionTimestamp !== null,
  owner: (p) => p.meta.ownerReferences.find((r) => r.controller) ?? null,

  node: (p, _, ctx) => (p.nodeName ? ctx.loaders.nodeByName.now(p.nodeName) : null),
  zone: (p, _, ctx) => (p.nodeName ? ctx.loaders.nodeByName.nowThen(p.nodeName, zoneOf) : null),
  services: (p, _, ctx) => ctx.loaders.servicesByPod.load(objectKey(p.meta)),
  endpoints: (p, _, ctx) => ctx.loaders.endpointsByPod.load(objectKey(p.meta)),
  servicePorts: async (p, _, ctx) => {
    const services = await ctx.loaders.servicesByPod.load(objectKey(p.meta));
    return services.flatMap((service) => service.ports.map((port) => ({ service, port, pod: p })));
  },
};

// protocol: the record's own string, checked against the enum when serialized.
export const ContainerPort: ContainerPortResolvers = {};

export const PodServicePort: PodServicePortResolvers = {
  podPort: (p) => resolveTargetPort(p.port, p.pod),
};

// Private:

function zoneOf(node: NodeRecord | null): string | null {
  return node?.zone ?? null;
}
