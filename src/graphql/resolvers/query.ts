/**
 * Query: lookups by key or IP, and the lists. Arguments are checked in args.ts. A lookup that
 * names a namespace asks first whether the caller may list the kind there (FORBIDDEN
 * otherwise); the lists' filters do the same for `namespace` (filters.ts).
 */
import { ipArg, namespaceArg, nameArg, optionalNamespaceArg } from '../args.ts';
import { nodeConnection, podConnection, serviceConnection, sliceConnection } from '../filters.ts';
import type { QueryResolvers } from '../generated/resolvers-types.ts';
import { AnyZone, NamespaceAll } from '../loaders.ts';

export const Query: QueryResolvers = {
  cluster: () => ({ kind: 'Cluster' }),

  service: async (_, a, ctx) => {
    const [namespace, name] = [namespaceArg(a.namespace), nameArg('name', a.name)];
    await ctx.loaders.permissions.require('services', namespace);
    return ctx.loaders.serviceByKey.load(`${namespace}/${name}`);
  },
  pod: async (_, a, ctx) => {
    const [namespace, name] = [namespaceArg(a.namespace), nameArg('name', a.name)];
    await ctx.loaders.permissions.require('pods', namespace);
    return ctx.loaders.podByKey.load(`${namespace}/${name}`);
  },
  // nodeByName fails with FORBIDDEN itself when the caller may not list Nodes.
  node: (_, a, ctx) => ctx.loaders.nodeByName.load(nameArg('name', a.name)),
  endpointSlice: async (_, a, ctx) => {
    const [namespace, name] = [namespaceArg(a.namespace), nameArg('name', a.name)];
    await ctx.loaders.permissions.require('endpointslices', namespace);
    return ctx.loaders.sliceByKey.load(`${namespace}/${name}`);
  },
  ip: (_, a) => ipArg(a.address),

  services: (_, a, ctx) => serviceConnection(ctx, ctx.loaders.servicesByNamespace.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll), a),
  pods: (_, a, ctx) => {
    // The narrowest index first: a node's pods, else a namespace's.
    const pods = a.node != null ? ctx.loaders.podsByNode.load(nameArg('node', a.node)) : ctx.loaders.podsByNamespace.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll);
    return podConnection(ctx, pods, a);
  },
  nodes: (_, a, ctx) => nodeConnection(ctx, ctx.loaders.nodesByZone.load(a.zone ?? AnyZone), a),
  endpointSlices: (_, a, ctx) => sliceConnection(ctx, ctx.loaders.slicesByNamespace.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll), a),

  servicesWithoutReadyEndpoints: async (_, a, ctx) => {
    const services = await ctx.loaders.servicesByNamespace.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll);
    // ExternalName Services never have endpoints: they are not "without ready endpoints".
    return serviceConnection(ctx, services.filter((s) => s.type !== 'ExternalName'), { ...a, hasReadyEndpoints: false });
  },
};
