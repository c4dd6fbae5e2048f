/** Pod, ContainerPort and PodServicePort. Relations read nodeByName, servicesByPod and endpointsByPod. */
import { objectKey } from '../../kube/records.ts';
import { resolveTargetPort } from '../../model/targetport.ts';
import type { ContainerPortResolvers, PodPhase, PodResolvers, PodServicePortResolvers, Protocol } from '../generated/resolvers-types.ts';

export const Pod: PodResolvers = {
  metadata: (p) => p.meta,
  phase: (p) => p.phase as PodPhase | null,
  podIP: (p) => p.podIPs[0] ?? null,
  ready: (p) => p.ready === true,
  terminating: (p) => p.meta.deletionTimestamp !== null,
  owner: (p) => p.meta.ownerReferences.find((r) => r.controller) ?? null,

  node: (p, _, ctx) => (p.nodeName ? ctx.loaders.nodeByName.load(p.nodeName) : null),
  zone: async (p, _, ctx) => (p.nodeName ? ((await ctx.loaders.nodeByName.load(p.nodeName))?.zone ?? null) : null),
  services: (p, _, ctx) => ctx.loaders.servicesByPod.load(objectKey(p.meta)),
  endpoints: (p, _, ctx) => ctx.loaders.endpointsByPod.load(objectKey(p.meta)),
  servicePorts: async (p, _, ctx) => {
    const services = await ctx.loaders.servicesByPod.load(objectKey(p.meta));
    return services.flatMap((service) => service.ports.map((port) => ({ service, port, pod: p })));
  },
};

export const ContainerPort: ContainerPortResolvers = {
  protocol: (p) => p.protocol as Protocol,
};

export const PodServicePort: PodServicePortResolvers = {
  podPort: (p) => resolveTargetPort(p.port, p.pod),
};
