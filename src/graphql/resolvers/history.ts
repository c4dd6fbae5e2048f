/**
 * History: change sets from the gateway's endpoint history (model/history.ts) over HTTP, their
 * shape (`EndpointChangeSet`, shared with subscriptions, whose events have the same type), and
 * the `readySince`/`inServiceSince` of endpoints.
 */
import { GraphQLError } from 'graphql';
import { AllNamespaces } from '../../auth/access.ts';
import { CursorKind as ChangeSetCursorKind, stepOfSortKey, stepSortKey, type EndpointChangeSet as ChangeSet, type EndpointFilter } from '../../model/changesets.ts';
import { CursorError, decodeCursor } from '../../model/cursor.ts';
import type { MergedEndpoint } from '../../model/endpoints.ts';
import { changeSetsIn, type EndpointHistory } from '../../model/history.ts';
import { churnOf, churnRanking, type ChurnStats } from '../../model/churn.ts';
import { parseDuration, rfc3339 } from '../../model/text.ts';
import { optionalNamespaceArg, selectorArg } from '../args.ts';
import type { GatewayContext } from '../context.ts';
import { badUserInput, ErrorCode, quote } from '../errors.ts';
import type {
  EndpointChangeResolvers,
  EndpointChangeSetConnectionResolvers,
  EndpointChangeSetEdgeResolvers,
  EndpointChangeSetResolvers,
  HistoryOrder,
  ServiceChurnResolvers,
  SinceSource,
} from '../generated/resolvers-types.ts';
import { EndpointParent, type ChangeSetPage } from '../parents.ts';
import { historyTruncated, namespaceNotWatched } from '../warnings.ts';


/** `Endpoint.readySince` and `Endpoint.inServiceSince`. */
export interface SinceParent {
  readonly at: string;
  readonly source: SinceSource;
  readonly exact: boolean;
}

export const EndpointSince = {
  readySince: async (p: EndpointParent, _: unknown, ctx: GatewayContext): Promise<SinceParent | null> => {
    const times = ctx.history?.observed(`${p.namespace}/${p.serviceName}`, p.endpoint.address) ?? null;
    if (times === null || times.ready !== p.endpoint.ready) return null;
    const ref = p.endpoint.targetRef;
    if (ref?.kind === 'Pod' && !p.endpoint.terminating) {
      const pod = await ctx.loaders.podByKey.load(`${ref.namespace || p.namespace}/${ref.name}`).catch(() => null);
      // The Pod's condition is the truth when it agrees with the endpoint (the slice may lag it).
      if (pod && pod.readySince !== null && pod.readyStatus === p.endpoint.ready && (ref.uid === '' || pod.meta.uid === ref.uid)) {
        return { at: pod.readySince, source: 'POD_READY_CONDITION', exact: true };
      }
    }
    return { at: observedTime(times.readyChanged), source: 'OBSERVED', exact: times.readyExact };
  },
  inServiceSince: (p: EndpointParent, _: unknown, ctx: GatewayContext): SinceParent | null => {
    const times = ctx.history?.observed(`${p.namespace}/${p.serviceName}`, p.endpoint.address) ?? null;
    return times === null ? null : { at: observedTime(times.inService), source: 'OBSERVED', exact: times.inServiceExact };
  },
};

/** `Service.changes`: FORBIDDEN (the field null) when the caller may not list the Service's EndpointSlices. */
export async function serviceChanges(namespace: string, name: string, args: HistoryArgs, ctx: GatewayContext): Promise<ChangeSetPage> {
  await ctx.loaders.permissions.require('endpointslices', namespace);
  return historyPage(ctx, { namespace, name, selector: null, node: null, zone: null }, args);
}

/** `Query.changes`: the caller needs `list` EndpointSlices in `namespace` (cluster-wide without one). */
export async function queryChanges(args: HistoryArgs & { readonly namespace?: string | null; readonly labelSelector?: string | null }, ctx: GatewayContext): Promise<ChangeSetPage> {
  const namespace = optionalNamespaceArg(args.namespace);
  const selector = selectorArg(args.labelSelector);
  noteUnwatched(ctx, namespace);
  await ctx.loaders.permissions.require('endpointslices', namespace ?? AllNamespaces);
  return historyPage(ctx, { namespace, name: null, selector, node: null, zone: null }, args);
}

export interface HistoryArgs {
  readonly since?: string | null;
  readonly after?: string | null;
  readonly first?: number | null;
  readonly order?: HistoryOrder | null;
}

export const EndpointChangeSetConnection: EndpointChangeSetConnectionResolvers = {
  edges: (page) => page.items.map((node) => ({ node, page })),
  pageInfo: (page) => page,
  retainedSince: (page) => rfc3339(page.retainedSince)!,
};

export const EndpointChangeSetEdge: EndpointChangeSetEdgeResolvers = {
  cursor: (e) => e.node.cursor,
};

const inService = (cs: ChangeSet) => (endpoint: MergedEndpoint): EndpointParent => new EndpointParent(cs.namespace, cs.name, endpoint);

export const EndpointChangeSet: EndpointChangeSetResolvers = {
  service: (cs, _, ctx) => ctx.loaders.serviceByKey.load(cs.serviceKey),
  added: (cs) => cs.added.map(inService(cs)),
  removed: (cs) => cs.removed.map(inService(cs)),
  changed: (cs) => cs.changed.map((c) => ({ before: inService(cs)(c.before), after: inService(cs)(c.after) })),
  endpoints: (cs) => cs.endpoints.map(inService(cs)),
  at: (cs) => new Date(cs.at).toISOString(),
};

export const EndpointChange: EndpointChangeResolvers = {};

export interface ChurnArgs {
  readonly window: string;
  readonly flapThreshold?: number | null;
}

/** `Service.churn`: FORBIDDEN (the field null) when the caller may not list the Service's EndpointSlices. */
export async function serviceChurn(namespace: string, name: string, args: ChurnArgs, ctx: GatewayContext): Promise<ChurnStats> {
  const history = requireHistory(ctx.history);
  const { windowMs, flapThreshold } = churnArgs(args);
  await ctx.loaders.permissions.require('endpointslices', namespace);
  const stats = churnOf(history, history.feed, `${namespace}/${name}`, windowMs, ctx.now, flapThreshold);
  if (history.droppedSince(ctx.now - windowMs)) ctx.warnings.add(historyTruncated(stats.from));
  return stats;
}

/** `Query.churnRanking`: the caller needs `list` EndpointSlices in `namespace` (cluster-wide without one). */
export async function queryChurnRanking(args: ChurnArgs & { readonly namespace?: string | null; readonly first?: number | null }, ctx: GatewayContext): Promise<ChurnStats[]> {
  const history = requireHistory(ctx.history);
  const namespace = optionalNamespaceArg(args.namespace);
  const { windowMs, flapThreshold } = churnArgs(args);
  const first = firstArg(args.first ?? 10, ctx);
  noteUnwatched(ctx, namespace);
  await ctx.loaders.permissions.require('endpointslices', namespace ?? AllNamespaces);
  const prefix = namespace === null ? null : `${namespace}/`;
  const ranked = churnRanking(history, history.feed, windowMs, ctx.now, (k) => prefix === null || k.startsWith(prefix), flapThreshold);
  if (history.droppedSince(ctx.now - windowMs)) ctx.warnings.add(historyTruncated(history.retainedSince()));
  return ranked.slice(0, first);
}

export const ServiceChurn: ServiceChurnResolvers = {
  namespace: (c) => c.serviceKey.slice(0, c.serviceKey.indexOf('/')),
  name: (c) => c.serviceKey.slice(c.serviceKey.indexOf('/') + 1),
  service: (c, _, ctx) => ctx.loaders.serviceByKey.load(c.serviceKey),
  from: (c) => rfc3339(c.from)!,
  to: (c) => rfc3339(c.to)!,
  endpointsAdded: (c) => c.added,
  endpointsRemoved: (c) => c.removed,
  noReadySeconds: (c) => c.noReadyMs / 1000,
  lastChange: (c) => rfc3339(c.lastChange),
};

/**
 * A time argument: RFC 3339 (`2026-01-02T15:04:05Z`) or a duration back from now (`10m`, `1h`).
 *
 * @throws INVALID_ARGUMENT otherwise.
 */
export function timeArg(argument: string, value: string, now: number): number {
  const ago = parseDuration(value);
  if (ago !== null) return now - ago;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw badUserInput(ErrorCode.INVALID_ARGUMENT, `${argument}: expected an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (90s, 10m, 1h), got ${quote(value)}`);
  return ms;
}

// Private:

function firstArg(first: number, ctx: GatewayContext): number {
  if (first < 0) throw badUserInput(ErrorCode.INVALID_ARGUMENT, `first: expected a page size from 0 to ${ctx.limits.maxPageSize}, got ${first}`);
  if (first > ctx.limits.maxPageSize) throw badUserInput(ErrorCode.PAGE_SIZE_EXCEEDED, `first: expected at most ${ctx.limits.maxPageSize} items per page, got ${first}`);
  return first;
}

/** A churn window (a positive duration of at most 7 days) and flap threshold (at least 1). */
function churnArgs(args: ChurnArgs): { windowMs: number; flapThreshold: number } {
  const windowMs = parseDuration(args.window);
  if (windowMs === null || windowMs <= 0 || windowMs > MaxWindowMs) {
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, `window: expected a duration from 1ms to 168h (90s, 5m, 1h), got ${quote(args.window)}`);
  }
  const flapThreshold = args.flapThreshold ?? 2;
  if (flapThreshold < 1) throw badUserInput(ErrorCode.INVALID_ARGUMENT, `flapThreshold: expected at least 1, got ${flapThreshold}`);
  return { windowMs, flapThreshold };
}

const MaxWindowMs = 7 * 24 * 3_600_000;

function historyPage(ctx: GatewayContext, f: EndpointFilter, args: HistoryArgs): ChangeSetPage {
  const history = requireHistory(ctx.history);
  const first = firstArg(args.first ?? ctx.limits.defaultPageSize, ctx);
  let afterOrd: number | null = null;
  if (args.after != null) {
    try {
      afterOrd = stepOfSortKey(decodeCursor(ChangeSetCursorKind, args.after));
    } catch (err) {
      if (err instanceof CursorError) throw badUserInput(ErrorCode.INVALID_CURSOR, `after: expected ${err.expected}, got ${err.got}`);
      throw err;
    }
    if (afterOrd === null) {
      throw badUserInput(
        ErrorCode.INVALID_CURSOR,
        'after: expected a cursor from this run of the gateway, got one from another run (the history is kept in memory: it starts anew when the gateway restarts, and each replica keeps its own); page again without `after`',
      );
    }
  }
  const sinceMs = args.since != null ? timeArg('since', args.since, ctx.now) : null;
  const answer = changeSetsIn(history, f, { sinceMs, afterOrd, newestFirst: (args.order ?? 'NEWEST_FIRST') === 'NEWEST_FIRST' });
  if (answer.truncated) ctx.warnings.add(historyTruncated(answer.retainedSince));
  return Object.freeze({
    kind: ChangeSetCursorKind,
    items: answer.sets.slice(0, first),
    totalCount: answer.sets.length + answer.skipped,
    hasNextPage: answer.sets.length > first,
    hasPreviousPage: answer.skipped > 0,
    sortKeyOf: (cs: ChangeSet) => stepSortKey(cs.seq),
    retainedSince: answer.retainedSince,
  });
}

/** A namespace outside --namespaces has no history: the answer is empty, and says why. */
function noteUnwatched(ctx: GatewayContext, namespace: string | null): void {
  const watched = ctx.loaders.watched.namespaces;
  if (namespace !== null && watched !== null && !watched.includes(namespace)) ctx.warnings.add(namespaceNotWatched(namespace, watched));
}

function requireHistory(history: EndpointHistory | null): EndpointHistory {
  if (history === null) throw new GraphQLError('changes: this gateway keeps no endpoint history', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
  return history;
}

/** An observed time: RFC 3339 with milliseconds (the gateway's clock, finer than the API server's seconds). */
function observedTime(ms: number): string {
  return rfc3339(ms)!;
}

