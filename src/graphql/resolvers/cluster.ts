/** Cluster and KindSyncStatus: how fresh the cache is, from kindHealthByKind. */
import { Kinds } from '../../kube/cache.ts';
import type { ClusterResolvers, KindSyncStatusResolvers } from '../generated/resolvers-types.ts';
import { present } from './shared.ts';
import { rfc3339 } from '../../model/text.ts';

export const Cluster: ClusterResolvers = {
  ready: async (_, __, ctx) => present(await ctx.loaders.kindHealthByKind.loadMany(Kinds)).every((h) => h.synced),
  kinds: async (_, __, ctx) => present(await ctx.loaders.kindHealthByKind.loadMany(Kinds)),
  kind: async (_, { kind }, ctx) => {
    const health = await ctx.loaders.kindHealthByKind.load(kind);
    if (health === null) throw new Error(`cluster.kind: no health for kind ${kind}`); // unreachable: every Kind has one
    return health;
  },
  watchedNamespaces: (_, __, ctx) => ctx.loaders.watched.namespaces,
  watchesNodes: (_, __, ctx) => ctx.loaders.watched.nodes,
};

export const KindSyncStatus: KindSyncStatusResolvers = {
  syncedAt: (h) => rfc3339(h.syncedAt),
  lastEventAt: (h) => rfc3339(h.lastEventAt),
  lastEventAgeSeconds: (h, _, ctx) => (isTime(h.lastEventAt) ? Math.max(0, ctx.now - h.lastEventAt) / 1000 : null),
  // A cache without reflectors (hand-fed) aggregates over none: Math.max() is -Infinity.
  // The cache's count when nothing is hidden from the caller; else what it may list.
  objects: (h, _, ctx) => (ctx.loaders.permissions.open ? h.objects : ctx.loaders.objectCountByKind.load(h.kind)),
  consecutiveFailures: (h) => (Number.isFinite(h.consecutiveFailures) ? h.consecutiveFailures : 0),
};

// Private:

function isTime(ms: number | null): ms is number {
  return ms !== null && Number.isFinite(ms);
}
