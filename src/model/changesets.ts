/**
 * Endpoint change sets: what an `endpointChanges` subscriber receives, built from the endpoint
 * feed, filtered to the Services a subscription asked for and narrowed to a node or zone.
 * Pure: no sockets, no GraphQL.
 *
 * The rule: a subscriber holds the *filtered view* of each Service (its endpoints narrowed to
 * the node or zone, or nothing while the Service is out of the subscription's scope), and each
 * change set is the exact difference between the filtered view before and after one step. So
 * `added`, `removed` and `changed` applied to what the subscriber held give the set's own
 * `endpoints`: an endpoint that moves into the node or zone is `added`, one that moves out is
 * `removed`, a Service that comes into scope (its labels now match) has all its endpoints
 * `added`, and one that leaves scope has all of them `removed`.
 */
import { diffEndpoints, isEmptyDiff, type EndpointChange, type EndpointDiff } from './diff.ts';
import { countEndpoints, type EndpointCounts, type MergedEndpoint, type ServiceEndpoints } from './endpoints.ts';
import { randomBytes } from 'node:crypto';

import { CursorError, encodeCursor } from './cursor.ts';
import type { EndpointsChange } from './endpoint-feed.ts';
import { matches, type Selector } from './selector.ts';
import { compareAddresses } from './address.ts';
import { routedServices, type RouteState, type RouteTarget } from './route-scope.ts';

/** SNAPSHOT: the state when the subscription started; CHANGE: a live change; RESYNC: replace what you hold (after a relist or an unresumable cursor). */
export type ChangeSetType = 'SNAPSHOT' | 'CHANGE' | 'RESYNC';

export interface EndpointChangeSet {
  readonly type: ChangeSetType;
  readonly serviceKey: string;
  readonly namespace: string;
  readonly name: string;
  readonly added: readonly MergedEndpoint[];
  readonly removed: readonly MergedEndpoint[];
  readonly changed: readonly EndpointChange[];
  /** Every endpoint after the change, narrowed. */
  readonly endpoints: readonly MergedEndpoint[];
  readonly counts: EndpointCounts;
  /** Resume point: pass it as `after` to continue from here. */
  readonly cursor: string;
  /** When the change was computed (ms since epoch). */
  readonly at: number;
  /** What the subscriber held for this Service before the set (narrowed, sorted), kept for coalescing a slow subscriber's queue. */
  readonly held: readonly MergedEndpoint[];
  readonly seq: number;
}

export const CursorKind = 'endpointChanges';

/**
 * This process's history run: step cursors carry it beside the step's ordinal, because the
 * history lives in memory and its ordinals start at 1 again when the gateway restarts (and
 * differ between replicas). A cursor from another run is recognised as such instead of
 * resuming at whatever step now has its ordinal.
 */
const Run = randomBytes(6).toString('base64url');

/** The sort key a step cursor carries: the run and the step's ordinal (`run.ordinal`). */
export function stepSortKey(seq: number): string {
  return `${Run}.${seq}`;
}

/**
 * The step ordinal in a step cursor's sort key, or null when the cursor comes from another run
 * of the gateway (a restart, another replica, or a release whose cursors carried no run).
 *
 * @throws CursorError when the sort key is neither `run.ordinal` nor a bare ordinal.
 */
export function stepOfSortKey(sortKey: string): number | null {
  const m = /^(?:([A-Za-z0-9_-]{8})\.)?(0|[1-9][0-9]{0,15})$/.exec(sortKey);
  if (m === null) throw new CursorError('a cursor of endpoint changes (`cursor` of a change set)', `one with position ${JSON.stringify(sortKey)}`);
  return m[1] === Run ? Number(m[2]) : null;
}

/** What a subscription asked for. */
export interface EndpointFilter {
  readonly namespace: string | null;
  readonly name: string | null;
  readonly selector: Selector | null;
  readonly node: string | null;
  readonly zone: string | null;
  /** A hostname and path: the Services its routes send the request to (model/route-scope.ts); absent or null: any. */
  readonly route?: RouteTarget | null;
}

/** A Service's labels; null: the Service does not exist (not created yet, or deleted). */
export type ServiceLabels = Readonly<Record<string, string>> | null;

/** One side of a step: the Service's labels and its merged endpoints (null: no slices). */
export interface ServiceState {
  readonly labels: ServiceLabels;
  readonly view: ServiceEndpoints | null;
  /** The routing objects at that moment (only a host-scoped filter reads them). @default none */
  readonly routes?: RouteState;
}

/**
 * Whether a Service (by key and labels) is in the filter's scope; labels null: unknown (deleted).
 * `routes`: the routing objects at that moment, for a host-scoped filter (none: nothing is routed).
 */
export function serviceInScope(f: EndpointFilter, serviceKey: string, labels: ServiceLabels, routes?: RouteState): boolean {
  const slash = serviceKey.indexOf('/');
  const ns = serviceKey.slice(0, slash);
  const name = serviceKey.slice(slash + 1);
  if (f.namespace !== null && f.namespace !== ns) return false;
  if (f.name !== null && f.name !== name) return false;
  if (f.selector !== null && (labels === null || !matches(f.selector, labels))) return false;
  if (f.route != null && (routes === undefined || !routedServices(routes, f.route).has(serviceKey))) return false;
  return true;
}

/** Whether a Service's scope can change with its labels (a label selector): otherwise its key decides. */
export function scopeFollowsLabels(f: EndpointFilter): boolean {
  return f.selector !== null;
}

/**
 * What a subscriber with this filter holds of a Service in `state`: its endpoints narrowed to
 * the node or zone, or none while the Service is out of scope. Sorted by address.
 */
export function filteredEndpoints(f: EndpointFilter, serviceKey: string, state: ServiceState): readonly MergedEndpoint[] {
  if (!serviceInScope(f, serviceKey, state.labels, state.routes) || state.view === null) return [];
  return narrowed(f) ? state.view.endpoints.filter(keeper(f)) : state.view.endpoints;
}

/**
 * The change set from `before` to `after` of one Service for this filter: the exact difference
 * of the filtered views (see `filteredEndpoints`), or null when it is empty (a RESYNC is sent
 * even then, for a Service in scope after the step). `diff` is the unnarrowed diff of the two
 * views when the caller has it (the feed computed it once for everyone).
 */
export function changeSetBetween(
  f: EndpointFilter,
  serviceKey: string,
  before: ServiceState,
  after: ServiceState,
  seq: number,
  at: number,
  type: ChangeSetType = 'CHANGE',
  diff?: EndpointDiff,
): EndpointChangeSet | null {
  const wasIn = serviceInScope(f, serviceKey, before.labels, before.routes);
  const isIn = serviceInScope(f, serviceKey, after.labels, after.routes);
  if (!wasIn && !isIn) return null;
  const held = wasIn ? filteredEndpoints(f, serviceKey, before) : [];
  const endpoints = isIn ? filteredEndpoints(f, serviceKey, after) : [];
  let delta: EndpointDiff;
  if (wasIn && isIn) delta = narrowDiff(f, diff ?? diffEndpoints(before.view, after.view));
  else delta = { added: endpoints, removed: held, changed: [] };
  if (isEmptyDiff(delta) && !(type === 'RESYNC' && isIn)) return null;
  const counts = isIn && !narrowed(f) && after.view ? after.view.counts : countEndpoints(endpoints);
  return make(type, serviceKey, delta, endpoints, counts, held, seq, at);
}

/**
 * A feed change as a change set for this filter, or null when nothing in its filtered view
 * changed. `labels`: the Service's labels when the change happened (only a label selector
 * reads them). Reuses the diff the feed computed once for everyone.
 */
export function changeSetOf(f: EndpointFilter, c: EndpointsChange, labels: ServiceLabels = null, type: ChangeSetType = c.resync ? 'RESYNC' : 'CHANGE'): EndpointChangeSet | null {
  return changeSetBetween(f, c.serviceKey, { labels, view: c.before }, { labels, view: c.after }, c.seq, c.at, type, c.diff);
}

/** The current filtered state of one Service as a SNAPSHOT (or RESYNC) change set: everything added. */
export function snapshotOf(f: EndpointFilter, serviceKey: string, state: ServiceState, seq: number, type: ChangeSetType = 'SNAPSHOT'): EndpointChangeSet {
  return snapshotOfEndpoints(type, serviceKey, filteredEndpoints(f, serviceKey, state), seq, Date.now());
}

/** Several queued change sets of one Service folded into one: from what was held before the first to the last's endpoints. */
export function coalesce(sets: readonly EndpointChangeSet[]): EndpointChangeSet | null {
  const first = sets[0]!;
  const last = sets[sets.length - 1]!;
  const type: ChangeSetType = sets.some((s) => s.type === 'RESYNC') ? 'RESYNC' : first.type === 'SNAPSHOT' ? 'SNAPSHOT' : 'CHANGE';
  if (type === 'SNAPSHOT') return snapshotOfEndpoints(type, first.serviceKey, last.endpoints, last.seq, last.at);
  const delta = diffEndpoints(asView(first.held), asView(last.endpoints));
  if (type === 'CHANGE' && isEmptyDiff(delta)) return null;
  return make(type, first.serviceKey, delta, last.endpoints, last.counts, first.held, last.seq, last.at);
}

// Private:

function narrowed(f: EndpointFilter): boolean {
  return f.node !== null || f.zone !== null;
}

function keeper(f: EndpointFilter): (e: MergedEndpoint) => boolean {
  return (e) => (f.node === null || e.nodeName === f.node) && (f.zone === null || e.zone === f.zone);
}

/**
 * The diff of two unnarrowed views, narrowed to the node or zone: an endpoint whose `nodeName`
 * or `zone` moves it into the narrowing is added, out of it removed; only one that stays
 * inside is changed.
 */
function narrowDiff(f: EndpointFilter, diff: EndpointDiff): EndpointDiff {
  if (!narrowed(f)) return diff;
  const keep = keeper(f);
  const added = diff.added.filter(keep);
  const removed = diff.removed.filter(keep);
  const changed: EndpointChange[] = [];
  let moved = false;
  for (const c of diff.changed) {
    const a = keep(c.before);
    const b = keep(c.after);
    if (a && b) changed.push(c);
    else if (b) {
      added.push(c.after);
      moved = true;
    } else if (a) {
      removed.push(c.before);
      moved = true;
    }
  }
  if (moved) {
    added.sort(byAddress);
    removed.sort(byAddress);
  }
  return { added, removed, changed };
}

function byAddress(a: MergedEndpoint, b: MergedEndpoint): number {
  return compareAddresses(a.address, b.address);
}

/** A sorted endpoint list in the shape diffEndpoints reads. */
function asView(endpoints: readonly MergedEndpoint[]): ServiceEndpoints {
  return { endpoints, slices: [], counts: countEndpoints(endpoints) };
}

function snapshotOfEndpoints(type: ChangeSetType, serviceKey: string, endpoints: readonly MergedEndpoint[], seq: number, at: number): EndpointChangeSet {
  return make(type, serviceKey, { added: endpoints, removed: [], changed: [] }, endpoints, countEndpoints(endpoints), [], seq, at);
}

function make(
  type: ChangeSetType,
  serviceKey: string,
  delta: EndpointDiff,
  endpoints: readonly MergedEndpoint[],
  counts: EndpointChangeSet['counts'],
  held: readonly MergedEndpoint[],
  seq: number,
  at: number,
): EndpointChangeSet {
  const slash = serviceKey.indexOf('/');
  return {
    type,
    serviceKey,
    namespace: serviceKey.slice(0, slash),
    name: serviceKey.slice(slash + 1),
    added: delta.added,
    removed: delta.removed,
    changed: delta.changed,
    endpoints,
    counts,
    cursor: encodeCursor(CursorKind, stepSortKey(seq)),
    at,
    held,
    seq,
  };
}
