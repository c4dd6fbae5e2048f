/**
 * Query: lookups by key or IP, and the lists. Arguments are checked in args.ts. A lookup that
 * names a namespace asks first whether the caller may list the kind there (FORBIDDEN
 * otherwise); the lists' filters do the same for `namespace` (filters.ts).
 */
import type { Resource } from '../../auth/access.ts';
import { ipArg, namespaceArg, nameArg, optionalNamespaceArg } from '../args.ts';
import { nodeConnection, podConnection, serviceConnection, sliceConnection } from '../filters.ts';
import type { GatewayContext } from '../context.ts';
import type { QueryResolvers } from '../generated/resolvers-types.ts';
import { AnyZone, NamespaceAll, type CacheLoader } from '../loaders.ts';
import { queryChanges, queryChurnRanking } from './history.ts';

export const Query: QueryResolvers = {
  cluster: () => ({ kind: 'Cluster' }),
  changes: (_, a, ctx) => queryChanges(a, ctx),
  churnRanking: (_, a, ctx) => queryChurnRanking(a, ctx),

  service: (_, a, ctx) => lookup(ctx, 'services', a, ctx.loaders.serviceByKey),
  pod: (_, a, ctx) => lookup(ctx, 'pods', a, ctx.loaders.podByKey),
  // nodeByName fails with FORBIDDEN itself when the caller may not list Nodes.
  node: (_, a, ctx) => ctx.loaders.nodeByName.load(nameArg('name', a.name)),
  endpointSlice: (_, a, ctx) => lookup(ctx, 'endpointslices', a, ctx.loaders.sliceByKey),
  ip: (_, a) => ipArg(a.address),
  namespaces: (_, __, ctx) => ctx.loaders.namespaceSummaries.load(NamespaceAll),

  services: (_, a, ctx) => serviceConnection(ctx, ctx.loaders.servicesByNamespace.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll), a),
  pods: (_, a, ctx) => {
    // The narrowest index first: a node's pods, else a namespace's.
    const pods = a.node != null ? ctx.loaders.podsByNode.load(nameArg('node', a.node)) : ctx.loaders.podsByNamespace.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll);
    return podConnection(ctx, pods, a);
  },
  nodes: (_, a, ctx) => nodeConnection(ctx, ctx.loaders.nodesByZone.load(a.zone ?? AnyZone), a),
  endpointSlices: (_, a, ctx) => sliceConnection(ctx, ctx.loaders.slicesByNamespace.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll), a),

  // ExternalName Services never have endpoints: they are not "without ready endpoints". The
  // loader's lists are the answer already; `readinessFiltered` keeps the permission check on slices.
  servicesWithoutReadyEndpoints: (_, a, ctx) =>
    serviceConnection(ctx, ctx.loaders.servicesWithoutReadyEndpoints.load(optionalNamespaceArg(a.namespace) ?? NamespaceAll), { ...a, readinessFiltered: true }),
};

// Private:

/**
 * One object by namespace and name: FORBIDDEN when the caller may not list `resource` in that
 * namespace. With access open, read synchronously (CacheLoader.now).
 */
export function lookup<V>(ctx: GatewayContext, resource: Resource, a: { readonly namespace: string; readonly name: string }, loader: CacheLoader<string, V>): V | Promise<V> {
  const namespace = namespaceArg(a.namespace);
  const key = `${namespace}/${nameArg('name', a.name)}`;
  const permissions = ctx.loaders.permissions;
  return permissions.open ? loader.now(key) : permissions.require(resource, namespace).then(() => loader.load(key));
}
