/** IPAddress ("what is 10.4.2.17?") and the IPHolder union. */
import type { IpAddressResolvers, IpHolderResolvers } from '../generated/resolvers-types.ts';

export const IPAddress: IpAddressResolvers = {
  pods: (a, _, ctx) => ctx.loaders.podsByIP.load(a.address),
  endpoints: (a, _, ctx) => ctx.loaders.endpointsByAddress.load(a.address),
  services: (a, _, ctx) => ctx.loaders.servicesByClusterIP.load(a.address),
  nodes: (a, _, ctx) => ctx.loaders.nodesByAddress.load(a.address),
  holders: async (a, _, ctx) => {
    const l = ctx.loaders;
    const [pods, endpoints, services, nodes] = await Promise.all([
      l.podsByIP.load(a.address),
      l.endpointsByAddress.load(a.address),
      l.servicesByClusterIP.load(a.address),
      l.nodesByAddress.load(a.address),
    ]);
    return [...pods, ...endpoints, ...services, ...nodes];
  },
};

export const IPHolder: IpHolderResolvers = {
  // Records and EndpointParent carry their kind, which is the GraphQL type name.
  __resolveType: (holder) => holder.kind,
};
