/**
 * The endpoint change feed: per Service, the merged endpoint view of its EndpointSlices
 * (kube-proxy's merge, endpoints.ts) kept current from the slice store, and the diff each
 * time the union changes. Computed once per change, whoever listens.
 *
 * - A slice event recomputes only the Services it touches (its old and new service-name
 *   label), and publishes only when the merged endpoints changed.
 * - A relist (one store batch) publishes one change per affected Service, all in one call,
 *   flagged `resync`, never per-object noise.
 */
import { sameStrings } from './text.ts';
import type { EndpointSliceRecord } from '../kube/records.ts';
import type { Store, StoreBatch } from '../kube/store.ts';
import { diffEndpoints, isEmptyDiff, type EndpointDiff } from './diff.ts';
import { mergeServiceEndpoints, sameEndpoint, sliceServiceKey, type ServiceEndpoints } from './endpoints.ts';
import { errorText, logger } from '../log.ts';

export interface EndpointsChange {
  /** `namespace/name` of the Service (the slices' kubernetes.io/service-name label). */
  readonly serviceKey: string;
  /** null: the Service had no slices. */
  readonly before: ServiceEndpoints | null;
  /** null: the Service has no slices any more. */
  readonly after: ServiceEndpoints | null;
  readonly diff: EndpointDiff;
  /** Produced by a relist: subscribers should treat it as a resynchronisation. */
  readonly resync: boolean;
  /** Position in the feed: increases by one per change, across Services. */
  readonly seq: number;
  /** When it was computed (ms since epoch). */
  readonly at: number;
}

export interface FeedBatch {
  readonly changes: readonly EndpointsChange[];
  /** The batch comes from a relist of EndpointSlices. */
  readonly relist: boolean;
}

export type FeedListener = (batch: FeedBatch) => void;

export class EndpointFeed {
  private readonly slices: Store<EndpointSliceRecord>;
  private readonly slicesOf: (serviceKey: string) => EndpointSliceRecord[];
  private readonly views = new Map<string, ServiceEndpoints>();
  private readonly listeners = new Set<FeedListener>();
  private unsubscribe: (() => void) | null = null;
  private nextSeq = 1;
  private readonly clock: () => number;

  /**
   * @param slicesOf the slices of one Service, from the store's index (ClusterCache.slicesByService).
   * @param clock stamps each change's `at` (tests). @default Date.now
   */
  constructor(slices: Store<EndpointSliceRecord>, slicesOf: (serviceKey: string) => EndpointSliceRecord[], clock: () => number = Date.now) {
    this.slices = slices;
    this.slicesOf = slicesOf;
    this.clock = clock;
  }

  /** Build every Service's view from the store's current content, then follow its changes. */
  start(): void {
    if (this.unsubscribe) return;
    const keys = new Set<string>();
    for (const s of this.slices.list()) {
      const k = sliceServiceKey(s);
      if (k) keys.add(k);
    }
    for (const k of keys) this.recompute(k);
    this.unsubscribe = this.slices.subscribe((b) => this.onBatch(b));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** The merged endpoints of a Service, or null when it has no slices. Shared and frozen. */
  get(serviceKey: string): ServiceEndpoints | null {
    return this.views.get(serviceKey) ?? null;
  }

  /** Services that have at least one slice. */
  serviceKeys(): IterableIterator<string> {
    return this.views.keys();
  }

  /** The seq the next change will carry. */
  get position(): number {
    return this.nextSeq;
  }

  /** Subscribe to change batches; returns the unsubscribe function. A throwing listener is isolated. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Private:

  private onBatch(batch: StoreBatch<EndpointSliceRecord>): void {
    const affected = new Set<string>();
    for (const ev of batch.events) {
      const a = ev.old && sliceServiceKey(ev.old);
      const b = ev.new && sliceServiceKey(ev.new);
      if (a) affected.add(a);
      if (b) affected.add(b);
    }
    const changes: EndpointsChange[] = [];
    const at = this.clock();
    for (const key of [...affected].sort()) {
      const before = this.views.get(key) ?? null;
      const after = this.recompute(key);
      const diff = diffEndpoints(before, after);
      if (isEmptyDiff(diff)) continue;
      changes.push(Object.freeze({ serviceKey: key, before, after, diff, resync: batch.relist, seq: this.nextSeq++, at }));
    }
    if (changes.length === 0 && !batch.relist) return;
    const out: FeedBatch = Object.freeze({ changes: Object.freeze(changes), relist: batch.relist });
    for (const l of this.listeners) {
      try {
        l(out);
      } catch (err) {
        logger.error('endpoint feed listener failed', { error: errorText(err) });
      }
    }
  }

  private recompute(key: string): ServiceEndpoints | null {
    const slices = this.slicesOf(key);
    if (slices.length === 0) {
      this.views.delete(key);
      return null;
    }
    const prev = this.views.get(key);
    const merged = mergeServiceEndpoints(slices);
    const view = prev ? shareUnchanged(prev, merged) : merged;
    this.views.set(key, view);
    return view;
  }
}

/**
 * `next` with every endpoint that did not change replaced by the previous view's object, so
 * that consecutive views (kept in the subscription history) share memory and unchanged
 * endpoints compare by identity.
 */
function shareUnchanged(prev: ServiceEndpoints, next: ServiceEndpoints): ServiceEndpoints {
  const old = new Map(prev.endpoints.map((e) => [e.address, e]));
  let shared = 0;
  const endpoints = next.endpoints.map((e) => {
    const o = old.get(e.address);
    if (o && sameEndpoint(o, e) && sameStrings(o.slices, e.slices)) {
      shared++;
      return o;
    }
    return e;
  });
  if (shared === 0) return next;
  return Object.freeze({
    endpoints: Object.freeze(endpoints),
    slices: sameStrings(prev.slices, next.slices) ? prev.slices : next.slices,
    counts: next.counts,
  });
}

