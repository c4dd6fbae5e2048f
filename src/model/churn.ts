/**
 * Churn of a Service over a window, computed from the endpoint history (history.ts): how many
 * change sets, endpoints added and removed, readiness flips, which endpoints flapped, the
 * lowest and highest number of ready endpoints, and how long none was ready.
 *
 * The window is clipped to what the history holds (`from` is then later than asked, and
 * `complete` false). A relist that found a Service the gateway knew nothing of (its start)
 * does not count the time before it as "no ready endpoint": that time is unknown.
 */
import type { EndpointsChange } from './endpoint-feed.ts';
import type { EndpointFeed } from './endpoint-feed.ts';
import { compareAddresses } from './address.ts';
import { stepAt, stepService, type EndpointHistory } from './history.ts';

export interface ChurnStats {
  readonly serviceKey: string;
  /** Start of the window actually covered (ms since epoch): the asked start, or where the history starts. */
  readonly from: number;
  readonly to: number;
  /** The whole asked window is covered. */
  readonly complete: boolean;
  readonly changeSets: number;
  readonly added: number;
  readonly removed: number;
  /** Endpoints whose `ready` changed, summed over change sets. */
  readonly readinessFlips: number;
  /** Addresses that flipped at least the threshold, with their flips, by address. */
  readonly flapping: readonly { readonly address: string; readonly flips: number }[];
  /** Null when the count was unknown over the whole window. */
  readonly minReady: number | null;
  readonly maxReady: number | null;
  /** Time with no ready endpoint, in ms (known time only). */
  readonly noReadyMs: number;
  /** `at` of the newest change set in the window, or null. */
  readonly lastChange: number | null;
}

/**
 * The churn of `serviceKey` over `[now - windowMs, now]`. `feed` gives the current view for a
 * Service without changes in the window.
 */
export function churnOf(history: EndpointHistory, feed: EndpointFeed, serviceKey: string, windowMs: number, now: number, flapThreshold: number): ChurnStats {
  return churnFrom(serviceChanges(history, serviceKey), feed.get(serviceKey)?.counts.ready ?? 0, serviceKey, now - windowMs, now, history.retainedSince(), flapThreshold);
}

/** Churn of every Service with a change in the window (and matching `keep`), most change sets first, then most flips, then by key. */
export function churnRanking(history: EndpointHistory, feed: EndpointFeed, windowMs: number, now: number, keep: (serviceKey: string) => boolean, flapThreshold: number): ChurnStats[] {
  const from = now - windowMs;
  const keys = new Set<string>();
  for (const s of history.retained()) if (s.kind === 'endpoints' && stepAt(s) >= from && keep(stepService(s))) keys.add(stepService(s));
  return [...keys]
    .map((k) => churnOf(history, feed, k, windowMs, now, flapThreshold))
    .sort((a, b) => b.changeSets - a.changeSets || b.readinessFlips - a.readinessFlips || (a.serviceKey < b.serviceKey ? -1 : 1));
}

/**
 * The computation itself, over a Service's endpoint changes oldest first (pure; unit tests
 * compare it with a recomputation from folded views). `readyNow`: the Service's ready count
 * after the last change.
 */
export function churnFrom(changes: readonly EndpointsChange[], readyNow: number, serviceKey: string, askedFrom: number, now: number, retainedSince: number, flapThreshold: number): ChurnStats {
  const from = Math.max(askedFrom, retainedSince);
  const inWindow = changes.filter((c) => c.at >= from && c.at <= now);
  let changeSets = 0;
  let added = 0;
  let removed = 0;
  let readinessFlips = 0;
  const flips = new Map<string, number>();
  // The ready count over time: null while unknown.
  let ready: number | null;
  const first = inWindow[0];
  if (first === undefined) ready = readyNow;
  else ready = first.resync && first.before === null ? null : (first.before?.counts.ready ?? 0);
  // A state that ends exactly where the window starts occupies none of it.
  const occupies = first === undefined || first.at > from;
  let min: number | null = occupies ? ready : null;
  let max: number | null = occupies ? ready : null;
  let noReadyMs = 0;
  let t = from;
  let lastChange: number | null = null;
  for (const c of inWindow) {
    if (ready === 0) noReadyMs += c.at - t;
    t = c.at;
    changeSets++;
    added += c.diff.added.length;
    removed += c.diff.removed.length;
    for (const ch of c.diff.changed) {
      if (ch.before.ready === ch.after.ready) continue;
      readinessFlips++;
      flips.set(ch.after.address, (flips.get(ch.after.address) ?? 0) + 1);
    }
    ready = c.after?.counts.ready ?? 0;
    min = min === null ? ready : Math.min(min, ready);
    max = max === null ? ready : Math.max(max, ready);
    lastChange = c.at;
  }
  if (ready === 0) noReadyMs += now - t;
  const flapping = [...flips]
    .filter(([, n]) => n >= flapThreshold)
    .sort(([a], [b]) => compareAddresses(a, b))
    .map(([address, n]) => ({ address, flips: n }));
  return { serviceKey, from, to: now, complete: from === askedFrom, changeSets, added, removed, readinessFlips, flapping, minReady: min, maxReady: max, noReadyMs, lastChange };
}

// Private:

function serviceChanges(history: EndpointHistory, serviceKey: string): EndpointsChange[] {
  const out: EndpointsChange[] = [];
  for (const s of history.retained()) if (s.kind === 'endpoints' && s.change.serviceKey === serviceKey) out.push(s.change);
  return out;
}
