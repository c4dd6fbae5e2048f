/** Endpoint (the merged view of one address of a Service) and EndpointPort. */
import type { EndpointPortResolvers, EndpointResolvers } from '../generated/resolvers-types.ts';
import { endpointPodKey, present } from './shared.ts';
import { EndpointSince } from './history.ts';

export const Endpoint: EndpointResolvers = {
  // address, addresses, addressType, ready, serving, terminating, hostname, nodeName, zone,
  // targetRef, ports: the parent's own getters (parents.ts EndpointParent).
  hints: (p) => hints(p.endpoint.hintsForZones, p.endpoint.hintsForNodes),

  service: (p, _, ctx) => ctx.loaders.serviceByKey.now(`${p.namespace}/${p.serviceName}`),
  pod: (p, _, ctx) => {
    const key = endpointPodKey(p.endpoint, p.namespace);
    return key === null ? null : ctx.loaders.podByKey.now(key);
  },
  node: (p, _, ctx) => (p.endpoint.nodeName ? ctx.loaders.nodeByName.now(p.endpoint.nodeName) : null),
  slices: async (p, _, ctx) => present(await ctx.loaders.sliceByKey.loadMany(p.endpoint.slices.map((name) => `${p.namespace}/${name}`))),
  ...EndpointSince,
};

// protocol: the record's own string, checked against the enum when serialized.
export const EndpointPort: EndpointPortResolvers = {};

/** `EndpointHints`, or null when the slice gives none. */
export function hints(forZones: readonly string[], forNodes: readonly string[]): { forZones: readonly string[]; forNodes: readonly string[] } | null {
  return forZones.length === 0 && forNodes.length === 0 ? null : { forZones, forNodes };
}
