/** Node. Relations read podsByNode, endpointsByNode and serviceByKey. */
import { endpointConnection, podConnection, serviceConnection } from '../filters.ts';
import type { NodeResolvers } from '../generated/resolvers-types.ts';
import { present } from './shared.ts';

export const Node: NodeResolvers = {

  pods: (n, args, ctx) => podConnection(ctx, ctx.loaders.podsByNode.load(n.meta.name), args),
  endpoints: (n, args, ctx) => endpointConnection(ctx, ctx.loaders.endpointsByNode.load(n.meta.name), args),
  services: async (n, args, ctx) => {
    // endpointsByNode is sorted by Service, so the keys come out sorted too.
    const endpoints = await ctx.loaders.endpointsByNode.load(n.meta.name);
    const keys = [...new Set(endpoints.map((e) => `${e.namespace}/${e.serviceName}`))];
    return serviceConnection(ctx, present(await ctx.loaders.serviceByKey.loadMany(keys)), args);
  },
};
