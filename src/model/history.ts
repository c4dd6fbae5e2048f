/**
 * The endpoint history: every step endpoint subscriptions follow, numbered in the order the
 * gateway saw it, kept for a bounded window, and the times each endpoint entered its Service
 * and last changed readiness as the gateway observed them.
 *
 * One log serves every reader: a subscriber resuming from a cursor replays it, a query over
 * HTTP (`Service.changes`, `Query.changes`) pages it, churn statistics are computed from it,
 * so a tool that polls and a tool that subscribes see one history, change set for change set
 * and cursor for cursor (the cursor carries the step's ordinal).
 *
 * Steps: a change of a Service's merged endpoints (from the endpoint feed, with the Service's
 * labels and the routing objects at that moment), a change of a Service's labels (creation and
 * deletion included, with its endpoints at that moment), or a change of the routing objects
 * (Ingresses, HTTPRoutes, Gateways, ReferenceGrants: with the endpoints at that moment of every
 * Service a route names), which moves Services in and out of host-scoped subscriptions. A relist is logged as the feed reports it, the
 * difference across the relist flagged `resync` (sent as RESYNC), never as invented individual
 * changes.
 *
 * Retention: at most `maxSteps` steps and none older than `windowMs`, whichever binds first.
 * `retainedSince` says from when on the log is complete, so that a reader asking for older
 * times can be told where retention starts instead of silently getting less.
 */
import type { ServiceRecord } from '../kube/records.ts';
import { objectKey } from '../kube/records.ts';
import type { Store, StoreBatch } from '../kube/store.ts';
import { NoRoutes, routedServices, routeStateOf, routingChanged, type RouteState, type RouteStores } from './route-scope.ts';
import { changeSetBetween, serviceInScope, type EndpointChangeSet, type EndpointFilter, type ServiceLabels } from './changesets.ts';
import type { EndpointFeed, EndpointsChange, FeedBatch } from './endpoint-feed.ts';
import type { ServiceEndpoints } from './endpoints.ts';
import { sameLabels } from './selector.ts';
import { errorText, logger } from '../log.ts';

/**
 * One step endpoint subscriptions follow, numbered in the order the gateway saw it (see the
 * module comment). The ordinal is what cursors carry.
 */
export type Step =
  | { readonly kind: 'endpoints'; readonly ord: number; readonly change: EndpointsChange; readonly labels: ServiceLabels; readonly routes: RouteState }
  | {
      readonly kind: 'labels';
      readonly ord: number;
      readonly serviceKey: string;
      readonly before: ServiceLabels;
      readonly after: ServiceLabels;
      readonly view: ServiceEndpoints | null;
      readonly routes: RouteState;
      readonly resync: boolean;
      readonly at: number;
    }
  | {
      readonly kind: 'routes';
      readonly ord: number;
      readonly before: RouteState;
      readonly after: RouteState;
      /** The endpoints of every Service either side names, at that moment (null: no slices). */
      readonly views: ReadonlyMap<string, ServiceEndpoints | null>;
      readonly resync: boolean;
      readonly at: number;
    };

export type StepListener = (steps: readonly Step[]) => void;

/** When the gateway observed an endpoint enter its Service and last change readiness (ms since epoch). */
export interface ObservedTimes {
  /** The endpoint's `ready` these times are about. */
  readonly ready: boolean;
  readonly inService: number;
  /** false: learned from a list (the gateway's start, or a relist after a lost watch): it happened at or before `inService`. */
  readonly inServiceExact: boolean;
  readonly readyChanged: number;
  /** As `inServiceExact`, for `readyChanged`. */
  readonly readyExact: boolean;
}

export interface HistoryOptions {
  /** Steps kept, at most. @default 10_000 */
  readonly maxSteps?: number;
  /** Age of the oldest step kept, at most (ms). @default 900_000 // 15 minutes */
  readonly windowMs?: number;
  /** The clock. @default Date.now */
  readonly clock?: () => number;
  /** Where the routing objects are (the cluster cache): their changes are steps. @default none: no Service is ever routed */
  readonly routes?: RouteStores;
}

export const DefaultHistoryMaxSteps = 10_000;
export const DefaultHistoryWindowMs = 15 * 60_000;

export class EndpointHistory {
  /** The feed it follows (churn reads current views from it). */
  readonly feed: EndpointFeed;
  private readonly services: Store<ServiceRecord>;
  private readonly maxSteps: number;
  private readonly windowMs: number;
  private readonly clock: () => number;
  private readonly routeStores: RouteStores | null;
  private routeState: RouteState = NoRoutes;
  private steps: Step[] = [];
  private readonly listeners = new Set<StepListener>();
  private readonly unsubscribe: (() => void)[] = [];
  /** Per Service, per address: observed times. */
  private readonly times = new Map<string, Map<string, ObservedTimes>>();
  private ord = 0;
  private oldest = 0;
  /** `at` of the newest step dropped (null: none dropped yet). */
  private droppedAt: number | null = null;
  /** When the history started: it holds nothing from before. */
  readonly startedAt: number;

  constructor(feed: EndpointFeed, services: Store<ServiceRecord>, options: HistoryOptions = {}) {
    this.feed = feed;
    this.services = services;
    this.maxSteps = options.maxSteps ?? DefaultHistoryMaxSteps;
    this.windowMs = options.windowMs ?? DefaultHistoryWindowMs;
    this.clock = options.clock ?? Date.now;
    this.routeStores = options.routes ?? null;
    this.startedAt = this.clock();
  }

  /** Follow the feed and the Service store. Endpoints the feed already holds count as listed now. */
  start(): void {
    if (this.unsubscribe.length > 0) return;
    for (const key of this.feed.serviceKeys()) {
      const view = this.feed.get(key);
      if (view) this.noteTimes({ serviceKey: key, before: null, after: view, resync: true, at: this.startedAt });
    }
    this.unsubscribe.push(this.feed.subscribe((b) => this.onFeed(b)));
    this.unsubscribe.push(this.services.subscribe((b) => this.onServices(b)));
    const stores = this.routeStores;
    if (stores !== null) {
      this.routeState = routeStateOf(stores);
      const changed = (b: StoreBatch<Parameters<typeof routingChanged>[0] & object>) => b.events.some((e) => routingChanged(e.old, e.new)) && this.onRoutes(stores, b.relist);
      this.unsubscribe.push(stores.ingresses.subscribe(changed), stores.httpRoutes.subscribe(changed), stores.gateways.subscribe(changed), stores.referenceGrants.subscribe(changed));
    }
  }

  /** The routing objects after the last step logged. */
  get routes(): RouteState {
    return this.routeState;
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /** Called with the steps of each batch, synchronously, in order (the cache is exactly past them). A throwing listener is isolated. */
  subscribe(listener: StepListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ordinal of the last step logged: the position a reader starting now starts after. */
  get position(): number {
    return this.ord;
  }

  /** The oldest ordinal a cursor may carry and still resume exactly (steps after it are all kept). */
  get oldestResumable(): number {
    this.prune();
    return this.oldest;
  }

  /** Steps kept (after pruning), oldest first. Shared: do not mutate. */
  retained(): readonly Step[] {
    this.prune();
    return this.steps;
  }

  /** The steps after ordinal `ord`, or null when the history no longer reaches back that far (or `ord` is in the future). */
  stepsAfter(ord: number): readonly Step[] | null {
    this.prune();
    if (ord < this.oldest || ord > this.ord) return null;
    return this.steps.filter((s) => s.ord > ord);
  }

  /**
   * The time from which the history is complete (ms since epoch): every step at or after it is
   * kept. The gateway's start until steps have been dropped, then just after the newest dropped.
   */
  retainedSince(): number {
    this.prune();
    return this.droppedAt === null ? this.startedAt : this.droppedAt + 1;
  }

  /**
   * Whether retention dropped steps at or after `ms` (a range starting there is missing them).
   * A range that starts before the gateway's start is not: nothing was dropped, the gateway was
   * not running (`retainedSince` says so).
   */
  droppedSince(ms: number): boolean {
    this.prune();
    return this.droppedAt !== null && ms <= this.droppedAt;
  }

  /** When the gateway observed the endpoint at `address` of `serviceKey` enter the Service and last change readiness. */
  observed(serviceKey: string, address: string): ObservedTimes | null {
    return this.times.get(serviceKey)?.get(address) ?? null;
  }

  /** Drop steps beyond retention now (reads prune too; tests and long quiet periods). */
  prune(): void {
    const cutoff = this.clock() - this.windowMs;
    let drop = Math.max(0, this.steps.length - this.maxSteps);
    while (drop < this.steps.length && stepAt(this.steps[drop]!) < cutoff) drop++;
    if (drop === 0) return;
    const dropped = this.steps.splice(0, drop);
    const last = dropped.at(-1)!;
    this.oldest = last.ord;
    this.droppedAt = Math.max(this.droppedAt ?? 0, stepAt(last));
  }

  // Private:

  private labelsOf(serviceKey: string): ServiceLabels {
    return this.services.get(serviceKey)?.meta.labels ?? null;
  }

  private onFeed(batch: FeedBatch): void {
    for (const c of batch.changes) this.noteTimes(c);
    this.log(batch.changes.map((change) => ({ kind: 'endpoints', ord: ++this.ord, change, labels: this.labelsOf(change.serviceKey), routes: this.routeState })));
  }

  /** Service label changes (creations and deletions included) move Services in and out of label-selector scopes. */
  private onServices(batch: StoreBatch<ServiceRecord>): void {
    const steps: Step[] = [];
    const at = this.clock();
    for (const ev of batch.events) {
      const before = ev.old?.meta.labels ?? null;
      const after = ev.new?.meta.labels ?? null;
      if (sameLabels(before, after)) continue;
      const serviceKey = objectKey((ev.new ?? ev.old)!.meta);
      steps.push({ kind: 'labels', ord: ++this.ord, serviceKey, before, after, view: this.feed.get(serviceKey), routes: this.routeState, resync: batch.relist, at });
    }
    this.log(steps);
  }

  /**
   * A change of what routing reads (not a status write) is one step, whatever it changes: whether
   * it moves Services depends on each subscriber's host.
   */
  private onRoutes(stores: RouteStores, relist: boolean): void {
    const before = this.routeState;
    const after = routeStateOf(stores);
    this.routeState = after;
    const views = new Map<string, ServiceEndpoints | null>();
    for (const k of [...before.backends, ...after.backends]) views.set(k, this.feed.get(k));
    this.log([{ kind: 'routes', ord: ++this.ord, before, after, views, resync: relist, at: this.clock() }]);
  }

  private log(steps: Step[]): void {
    if (steps.length === 0) return;
    for (const s of steps) this.steps.push(s);
    this.prune();
    for (const l of this.listeners) {
      try {
        l(steps);
      } catch (err) {
        logger.error('endpoint history listener failed', { error: errorText(err) });
      }
    }
  }

  private noteTimes(c: Pick<EndpointsChange, 'serviceKey' | 'before' | 'after' | 'resync' | 'at'>): void {
    if (c.after === null) {
      this.times.delete(c.serviceKey);
      return;
    }
    const old = this.times.get(c.serviceKey);
    const next = new Map<string, ObservedTimes>();
    const exact = !c.resync;
    const before = new Map((c.before?.endpoints ?? []).map((e) => [e.address, e]));
    for (const e of c.after.endpoints) {
      const prev = old?.get(e.address);
      const was = before.get(e.address);
      if (!prev || !was) {
        next.set(e.address, { ready: e.ready, inService: c.at, inServiceExact: exact, readyChanged: c.at, readyExact: exact });
      } else if (was.ready !== e.ready || prev.ready !== e.ready) {
        next.set(e.address, { ready: e.ready, inService: prev.inService, inServiceExact: prev.inServiceExact, readyChanged: c.at, readyExact: exact });
      } else next.set(e.address, prev);
    }
    this.times.set(c.serviceKey, next);
  }
}

/** When a step happened (ms since epoch). */
export function stepAt(step: Step): number {
  return step.kind === 'endpoints' ? step.change.at : step.at;
}

/** The Service an endpoint or label step is about. */
export function stepService(step: Step & { readonly kind: 'endpoints' | 'labels' }): string {
  return step.kind === 'endpoints' ? step.change.serviceKey : step.serviceKey;
}

/**
 * A step as change sets for this filter (all with the step's ordinal as cursor), sorted by
 * Service; none when nothing a reader with that filter holds changes. Endpoint and label steps
 * are about one Service; a route step sends a set for each Service that enters or leaves a
 * host-scoped filter's scope (everything `added`, or everything held `removed`).
 */
export function stepChangeSets(f: EndpointFilter, step: Step): EndpointChangeSet[] {
  switch (step.kind) {
    case 'endpoints': {
      const c = step.change;
      const state = (view: ServiceEndpoints | null) => ({ labels: step.labels, view, routes: step.routes });
      return some(changeSetBetween(f, c.serviceKey, state(c.before), state(c.after), step.ord, c.at, c.resync ? 'RESYNC' : 'CHANGE', c.diff));
    }
    case 'labels': {
      // Entering or leaving scope only: a label change that keeps the Service in (or out) sends nothing.
      const { serviceKey, routes } = step;
      if (serviceInScope(f, serviceKey, step.before, routes) === serviceInScope(f, serviceKey, step.after, routes)) return [];
      return some(changeSetBetween(f, serviceKey, { labels: step.before, view: step.view, routes }, { labels: step.after, view: step.view, routes }, step.ord, step.at, step.resync ? 'RESYNC' : 'CHANGE'));
    }
    case 'routes': {
      const type = step.resync ? 'RESYNC' : 'CHANGE';
      if (f.route == null) return [];
      const was = routedServices(step.before, f.route);
      const is = routedServices(step.after, f.route);
      const moved = [...was, ...is].filter((k) => was.has(k) !== is.has(k)).sort();
      const out: EndpointChangeSet[] = [];
      for (const key of moved) {
        // Host-scoped filters take no label selector: the labels do not decide.
        const view = step.views.get(key) ?? null;
        const cs = changeSetBetween(f, key, { labels: null, view, routes: step.before }, { labels: null, view, routes: step.after }, step.ord, step.at, type);
        if (cs) out.push(cs);
      }
      return out;
    }
    default:
      return step satisfies never;
  }
}

function some(cs: EndpointChangeSet | null): EndpointChangeSet[] {
  return cs === null ? [] : [cs];
}

/** What to read from the history. */
export interface HistoryRange {
  /** Change sets at or after this time (ms since epoch); null: all retained. */
  readonly sinceMs: number | null;
  /** Change sets after this ordinal in the reading order; null: from the start. */
  readonly afterOrd: number | null;
  /** NEWEST_FIRST: `afterOrd` pages towards older change sets. */
  readonly newestFirst: boolean;
}

export interface HistoryAnswer {
  /** In the reading order, `afterOrd` applied. */
  readonly sets: readonly EndpointChangeSet[];
  /** Change sets in range before `afterOrd` in the reading order (for hasPreviousPage). */
  readonly skipped: number;
  /** Retention dropped change sets the range asks for: its start is at or before the newest dropped, or an oldest-first `afterOrd` is older than what resumes. */
  readonly truncated: boolean;
  /** See EndpointHistory.retainedSince. */
  readonly retainedSince: number;
}

/**
 * The change sets a subscriber with filter `f` received, from the retained history: the same
 * sets with the same cursors (the step ordinal), for the steps in `range`.
 */
export function changeSetsIn(history: EndpointHistory, f: EndpointFilter, range: HistoryRange): HistoryAnswer {
  const retainedSince = history.retainedSince();
  const oldest = history.oldestResumable;
  const sets: EndpointChangeSet[] = [];
  for (const step of history.retained()) {
    if (range.sinceMs !== null && stepAt(step) < range.sinceMs) continue;
    for (const cs of stepChangeSets(f, step)) sets.push(cs);
  }
  if (range.newestFirst) sets.reverse();
  let start = 0;
  if (range.afterOrd !== null) {
    const a = range.afterOrd;
    while (start < sets.length && (range.newestFirst ? sets[start]!.seq >= a : sets[start]!.seq <= a)) start++;
  }
  const truncated = (range.sinceMs !== null && history.droppedSince(range.sinceMs)) || (!range.newestFirst && range.afterOrd !== null && range.afterOrd < oldest);
  return { sets: start === 0 ? sets : sets.slice(start), skipped: start, truncated, retainedSince };
}
