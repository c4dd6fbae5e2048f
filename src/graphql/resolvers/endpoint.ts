/** Endpoint (the merged view of one address of a Service) and EndpointPort. */
import type { AddressType, EndpointPortResolvers, EndpointResolvers, Protocol } from '../generated/resolvers-types.ts';
import { present } from './shared.ts';
import { EndpointSince } from './history.ts';

export const Endpoint: EndpointResolvers = {
  address: (p) => p.endpoint.address,
  addresses: (p) => p.endpoint.addresses,
  addressType: (p) => p.endpoint.addressType as AddressType,
  ready: (p) => p.endpoint.ready,
  serving: (p) => p.endpoint.serving,
  terminating: (p) => p.endpoint.terminating,
  hostname: (p) => p.endpoint.hostname,
  nodeName: (p) => p.endpoint.nodeName,
  zone: (p) => p.endpoint.zone,
  hints: (p) => hints(p.endpoint.hintsForZones, p.endpoint.hintsForNodes),
  targetRef: (p) => p.endpoint.targetRef,
  ports: (p) => p.endpoint.ports,

  service: (p, _, ctx) => ctx.loaders.serviceByKey.load(`${p.namespace}/${p.serviceName}`),
  pod: (p, _, ctx) => {
    const ref = p.endpoint.targetRef;
    return ref?.kind === 'Pod' ? ctx.loaders.podByKey.load(`${ref.namespace || p.namespace}/${ref.name}`) : null;
  },
  node: (p, _, ctx) => (p.endpoint.nodeName ? ctx.loaders.nodeByName.load(p.endpoint.nodeName) : null),
  slices: async (p, _, ctx) => present(await ctx.loaders.sliceByKey.loadMany(p.endpoint.slices.map((name) => `${p.namespace}/${name}`))),
  ...EndpointSince,
};

export const EndpointPort: EndpointPortResolvers = {
  protocol: (p) => p.protocol as Protocol,
};

/** `EndpointHints`, or null when the slice gives none. */
export function hints(forZones: readonly string[], forNodes: readonly string[]): { forZones: readonly string[]; forNodes: readonly string[] } | null {
  return forZones.length === 0 && forNodes.length === 0 ? null : { forZones, forNodes };
}
