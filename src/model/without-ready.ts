/**
 * The Services without a ready endpoint, per namespace, kept current as the Service store and
 * the endpoint feed change, so that the cluster-wide question ("what has no ready endpoint?")
 * reads a kept answer instead of every Service's merged view per request.
 *
 * A Service counts when it exists, is not of type ExternalName (those never have endpoints) and
 * its merged view has no ready endpoint (or it has no slices). Each store or feed event rechecks
 * only the Services it names; sorted lists are rebuilt on read, once per change of their
 * namespace. test/unit/model-without-ready.test.ts checks it against a full recomputation after
 * every step of random churn.
 *
 * Records are shared with the cache: never mutate anything returned.
 */
import type { ServiceRecord } from '../kube/records.ts';
import { objectKey } from '../kube/records.ts';
import type { Store, StoreBatch } from '../kube/store.ts';
import type { EndpointFeed, FeedBatch } from './endpoint-feed.ts';
import { compareStrings } from './text.ts';

export class ServicesWithoutReadyEndpoints {
  private readonly services: Store<ServiceRecord>;
  private readonly feed: EndpointFeed;
  /** namespace → name → Service. */
  private readonly byNamespace = new Map<string, Map<string, ServiceRecord>>();
  /** Sorted lists by namespace, dropped when their namespace changes; '' holds all of them. */
  private readonly sorted = new Map<string, readonly ServiceRecord[]>();
  private unsubscribe: (() => void)[] = [];
  private changes = 0;

  constructor(services: Store<ServiceRecord>, feed: EndpointFeed) {
    this.services = services;
    this.feed = feed;
  }

  /** Check every Service once, then follow the Service store and the feed. */
  start(): void {
    if (this.unsubscribe.length > 0) return;
    for (const key of this.services.keys()) this.recheck(key);
    this.unsubscribe = [this.services.subscribe((b) => this.onServices(b)), this.feed.subscribe((b) => this.onFeed(b))];
  }

  stop(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
  }

  /** Increases with every change of the answer. */
  get version(): number {
    return this.changes;
  }

  /** The namespace's Services without a ready endpoint, sorted by name; '' (every namespace): sorted by (namespace, name). */
  list(namespace: string): readonly ServiceRecord[] {
    let hit = this.sorted.get(namespace);
    if (hit === undefined) {
      hit = namespace === '' ? Object.freeze(this.namespaces().flatMap((ns) => this.list(ns))) : this.sortedOf(namespace);
      this.sorted.set(namespace, hit);
    }
    return hit;
  }

  /** Namespaces with at least one such Service, sorted. */
  namespaces(): string[] {
    return [...this.byNamespace.keys()].sort(compareStrings);
  }

  // Private:

  private sortedOf(namespace: string): readonly ServiceRecord[] {
    const names = this.byNamespace.get(namespace);
    if (names === undefined) return Empty;
    return Object.freeze([...names.keys()].sort(compareStrings).map((n) => names.get(n)!));
  }

  private onServices(batch: StoreBatch<ServiceRecord>): void {
    for (const ev of batch.events) this.recheck(ev.key);
  }

  private onFeed(batch: FeedBatch): void {
    for (const c of batch.changes) this.recheck(c.serviceKey);
  }

  /** Whether the Service under `key` belongs in the answer, now; updates it when that changed. */
  private recheck(key: string): void {
    const svc = this.services.get(key);
    const slash = key.indexOf('/');
    const namespace = svc?.meta.namespace ?? key.slice(0, slash);
    const name = svc?.meta.name ?? key.slice(slash + 1);
    const belongs = svc !== undefined && svc.type !== 'ExternalName' && !((this.feed.get(objectKey(svc.meta))?.counts.ready ?? 0) > 0);
    const names = this.byNamespace.get(namespace);
    const held = names?.get(name);
    if (belongs) {
      if (held === svc) return;
      if (names === undefined) this.byNamespace.set(namespace, new Map([[name, svc]]));
      else names.set(name, svc);
    } else {
      if (held === undefined) return;
      names!.delete(name);
      if (names!.size === 0) this.byNamespace.delete(namespace);
    }
    this.changes++;
    this.sorted.delete(namespace);
    this.sorted.delete('');
  }
}

const Empty: readonly ServiceRecord[] = Object.freeze([]);
