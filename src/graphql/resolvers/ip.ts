/**
 * IPAddress ("what is 10.4.2.17?") and the IPHolder union. The loaders hold only what the
 * caller may list, so an address in a namespace it may not list has no visible holder.
 * `nodes` is FORBIDDEN without Nodes; `holders` then leaves Nodes out without an error (it
 * lists what the caller may see), and still fails on AUTHORIZATION_UNAVAILABLE.
 */
import { GraphQLError } from 'graphql';
import type { NodeRecord } from '../../kube/records.ts';
import { codeOf, ErrorCode } from '../errors.ts';
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
      l.nodesByAddress.load(a.address).catch(noNodesIfForbidden),
    ]);
    return [...pods, ...endpoints, ...services, ...nodes];
  },
};

export const IPHolder: IpHolderResolvers = {
  // Records and EndpointParent carry their kind, which is the GraphQL type name.
  __resolveType: (holder) => holder.kind,
};

// Private:

const NoNodes: readonly NodeRecord[] = Object.freeze([]);

function noNodesIfForbidden(err: unknown): readonly NodeRecord[] {
  if (err instanceof GraphQLError && codeOf(err) === ErrorCode.FORBIDDEN) return NoNodes;
  throw err;
}
