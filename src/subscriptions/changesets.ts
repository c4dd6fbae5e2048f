/**
 * Endpoint change sets: what an `endpointChanges` subscriber receives, built from the endpoint
 * feed, filtered to the Services a subscription asked for and narrowed to a node or zone.
 * Pure: no sockets, no GraphQL.
 */
import { diffEndpoints, isEmptyDiff, type EndpointDiff } from '../model/diff.ts';
import { countEndpoints, type MergedEndpoint, type ServiceEndpoints } from '../model/endpoints.ts';
import type { ChangeSetType, EndpointChangeSet } from '../graphql/parents.ts';

export type { ChangeSetType, EndpointChangeSet };
import { encodeCursor } from '../model/cursor.ts';
import type { EndpointsChange } from '../model/endpoint-feed.ts';
import { matches, type Selector } from '../model/selector.ts';

export const CursorKind = 'endpointChanges';

/** What a subscription asked for. */
export interface EndpointFilter {
  readonly namespace: string | null;
  readonly name: string | null;
  readonly selector: Selector | null;
  readonly node: string | null;
  readonly zone: string | null;
}

/** Whether a Service (by key and labels) is in the filter's scope; labels null: unknown (deleted). */
export function serviceInScope(f: EndpointFilter, serviceKey: string, labels: Readonly<Record<string, string>> | null): boolean {
  const slash = serviceKey.indexOf('/');
  const ns = serviceKey.slice(0, slash);
  const name = serviceKey.slice(slash + 1);
  if (f.namespace !== null && f.namespace !== ns) return false;
  if (f.name !== null && f.name !== name) return false;
  if (f.selector !== null && (labels === null || !matches(f.selector, labels))) return false;
  return true;
}

/**
 * A feed change as a change set for this filter, or null when nothing in its narrowed view
 * changed. Reuses the diff the feed computed once for everyone.
 */
export function changeSetOf(f: EndpointFilter, c: EndpointsChange, type: ChangeSetType = c.resync ? 'RESYNC' : 'CHANGE'): EndpointChangeSet | null {
  return build(f, type, c.serviceKey, c.before, c.after, c.diff, c.seq, c.at, type === 'RESYNC');
}

/** The current state of one Service as a SNAPSHOT (or RESYNC) change set: everything added. */
export function snapshotOf(f: EndpointFilter, serviceKey: string, view: ServiceEndpoints | null, seq: number, type: ChangeSetType = 'SNAPSHOT'): EndpointChangeSet {
  const diff: EndpointDiff = { added: view?.endpoints ?? [], removed: [], changed: [] };
  return build(f, type, serviceKey, null, view, diff, seq, Date.now(), true)!;
}

/** Several queued change sets of one Service folded into one: from the first's before to the last's after. */
export function coalesce(f: EndpointFilter, sets: readonly EndpointChangeSet[]): EndpointChangeSet | null {
  const first = sets[0]!;
  const last = sets[sets.length - 1]!;
  const type: ChangeSetType = sets.some((s) => s.type === 'RESYNC') ? 'RESYNC' : first.type === 'SNAPSHOT' ? 'SNAPSHOT' : 'CHANGE';
  if (type === 'SNAPSHOT') return snapshotOf(f, first.serviceKey, last.after, last.seq);
  return build(f, type, first.serviceKey, first.before, last.after, diffEndpoints(first.before, last.after), last.seq, last.at, type === 'RESYNC');
}

// Private:

function build(
  f: EndpointFilter,
  type: ChangeSetType,
  serviceKey: string,
  before: ServiceEndpoints | null,
  after: ServiceEndpoints | null,
  diff: EndpointDiff,
  seq: number,
  at: number,
  emitEmpty: boolean,
): EndpointChangeSet | null {
  const keep = (e: MergedEndpoint) => (f.node === null || e.nodeName === f.node) && (f.zone === null || e.zone === f.zone);
  const narrow = f.node !== null || f.zone !== null;
  const added = narrow ? diff.added.filter(keep) : diff.added;
  const removed = narrow ? diff.removed.filter(keep) : diff.removed;
  const changed = narrow ? diff.changed.filter((c) => keep(c.before) || keep(c.after)) : diff.changed;
  if (!emitEmpty && isEmptyDiff({ added, removed, changed })) return null;
  const endpoints = after ? (narrow ? after.endpoints.filter(keep) : after.endpoints) : [];
  const slash = serviceKey.indexOf('/');
  return {
    type,
    serviceKey,
    namespace: serviceKey.slice(0, slash),
    name: serviceKey.slice(slash + 1),
    added,
    removed,
    changed,
    endpoints,
    counts: narrow || !after ? countEndpoints(endpoints) : after.counts,
    cursor: encodeCursor(CursorKind, String(seq)),
    at,
    before,
    after,
    seq,
  };
}
