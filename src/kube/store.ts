/**
 * An indexed store of records of one kind, after client-go's ThreadSafeStore + Indexer, but
 * synchronous and single-threaded (one event loop). Every change is published as a batch of
 * events carrying the old and the new record; a relist is one batch (`relist: true`).
 *
 * Records are shared with every reader: you must not modify anything returned by get, list or
 * byIndex.
 */
import type { AnyRecord } from './records.ts';
import { objectKey } from './records.ts';
import { errorText, logger } from '../log.ts';
import { StringMap } from './string-map.ts';

export type StoreEvent<R> =
  | { readonly type: 'ADDED'; readonly key: string; readonly old: null; readonly new: R }
  | { readonly type: 'MODIFIED'; readonly key: string; readonly old: R; readonly new: R }
  | { readonly type: 'DELETED'; readonly key: string; readonly old: R; readonly new: null };

export interface StoreBatch<R> {
  readonly events: readonly StoreEvent<R>[];
  /** True when the batch is the result of a relist (an atomic replace). */
  readonly relist: boolean;
}

/** Returns the indexed values of a record; an empty array leaves it out of that index. */
export type IndexFunc<R> = (record: R) => readonly string[];

export type StoreListener<R> = (batch: StoreBatch<R>) => void;

/** The keys under one indexed value: one key, a few (in insertion order), or many. */
type Keys = string | string[] | Set<string>;

/** Records indexed before a large first list sizes its indexes for the rest (see Store.replace). */
const ReserveSample = 256;

/** Up to this many keys under one value are kept in an array (see Store.indices). */
export const SmallKeys = 64;

export class Store<R extends AnyRecord> {
  private readonly items = new Map<string, R>();
  private readonly indexers: Readonly<Record<string, IndexFunc<R>>>;
  /**
   * index name → indexed value → keys (in a StringMap: a JS Map costs about 49 bytes an entry
   * at the size of an address index). A value held by one key maps to that key itself (most
   * pod IPs and endpoint addresses): a one-element Set would cost about 300 bytes per pod. A
   * value held by a few keys maps to an array of exactly them (a node's slices: about 9 bytes a
   * key where a Set costs about 25), and by more than `SmallKeys`, to a Set, so that removing a
   * key stays cheap under a value every record holds (a namespace).
   */
  private readonly indices = new Map<string, StringMap<Keys>>();
  /** Each index's function beside its map, walked per record without allocating. */
  private readonly indexes: readonly { readonly fn: IndexFunc<R>; readonly idx: StringMap<Keys> }[];
  private readonly listeners = new Set<StoreListener<R>>();
  private changes = 0;

  constructor(indexers: Readonly<Record<string, IndexFunc<R>>> = {}) {
    this.indexers = indexers;
    for (const name of Object.keys(indexers)) this.indices.set(name, new StringMap());
    this.indexes = Object.entries(indexers).map(([name, fn]) => ({ fn, idx: this.indices.get(name)! }));
  }

  get size(): number {
    return this.items.size;
  }

  /** Increases with every change: equal versions mean equal content (for memoizing derived lists). */
  get version(): number {
    return this.changes;
  }

  /** Records are shared with the cache: never mutate them; derive instead. */
  get(key: string): R | undefined {
    return this.items.get(key);
  }

  /** Every record, in insertion order (callers that need an order sort a copy). */
  list(): IterableIterator<R> {
    return this.items.values();
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  /** Records whose index `indexName` holds `indexedValue`; throws on an unknown index name. */
  byIndex(indexName: string, indexedValue: string): R[] {
    const keys = this.index(indexName).get(indexedValue);
    if (keys === undefined) return [];
    if (typeof keys === 'string') return [this.items.get(keys)!];
    if (Array.isArray(keys)) return keys.map((k) => this.items.get(k)!);
    const out: R[] = [];
    for (const k of keys) out.push(this.items.get(k)!);
    return out;
  }

  /** Number of records under one indexed value, without building a list. */
  countByIndex(indexName: string, indexedValue: string): number {
    const keys = this.index(indexName).get(indexedValue);
    return keys === undefined ? 0 : typeof keys === 'string' ? 1 : Array.isArray(keys) ? keys.length : keys.size;
  }

  /** The indexed values currently present in `indexName`, in no particular order (a snapshot). */
  indexValues(indexName: string): IterableIterator<string> {
    return this.index(indexName).keys();
  }

  /** Subscribe to change batches; returns the unsubscribe function. A throwing listener is isolated. */
  subscribe(listener: StoreListener<R>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Add or update one record (a watch ADDED or MODIFIED). No event when the resourceVersion is unchanged. */
  upsert(record: R): void {
    const ev = this.put(record);
    if (ev) this.publish({ events: [ev], relist: false });
  }

  /** Remove one record (a watch DELETED). No event when it was not there. */
  delete(key: string): void {
    const ev = this.remove(key);
    if (ev) this.publish({ events: [ev], relist: false });
  }

  /**
   * Replace the whole content with `records` (a relist), as one batch: adds, updates, and
   * deletes for keys that vanished. A changed UID under the same key is a delete plus an add.
   * Records whose resourceVersion did not change produce no event. With `namespace`, only
   * that namespace is replaced (a namespace-scoped reflector's relist); other keys stay.
   */
  replace(records: Iterable<R>, namespace: string | null = null): StoreBatch<R> {
    const events: StoreEvent<R>[] = [];
    // Into an empty store (the first list), nothing can vanish: no need to note what was seen.
    const seen = this.items.size > 0 ? new Set<string>() : null;
    // A large first list: once a sample is indexed, size each index for the whole list at once.
    const expected = seen === null && Array.isArray(records) && records.length >= 4 * ReserveSample ? records.length : 0;
    let done = 0;
    for (const r of records) {
      if (expected > 0 && done++ === ReserveSample) for (const { idx } of this.indexes) idx.reserve(Math.ceil((idx.size * expected) / ReserveSample));
      const key = objectKey(r.meta);
      seen?.add(key);
      const old = this.items.get(key);
      if (old && old.meta.uid !== r.meta.uid) {
        events.push(this.remove(key)!);
      }
      const ev = this.put(r, key);
      if (ev) events.push(ev);
    }
    if (seen) {
      for (const [key, r] of [...this.items]) {
        if (!seen.has(key) && (namespace === null || r.meta.namespace === namespace)) events.push(this.remove(key)!);
      }
    }
    // A value many records share (a node, a namespace) was counted once per record in the guess.
    if (expected > 0) for (const { idx } of this.indexes) idx.fit();
    const batch = { events, relist: true };
    this.publish(batch);
    return batch;
  }

  // Private:

  private index(name: string): StringMap<Keys> {
    const idx = this.indices.get(name);
    if (!idx) throw new Error(`store: expected one of the index names ${JSON.stringify(Object.keys(this.indexers))}, got ${JSON.stringify(name)}`);
    return idx;
  }

  private put(record: R, key = objectKey(record.meta)): StoreEvent<R> | null {
    const old = this.items.get(key);
    if (old && old.meta.resourceVersion === record.meta.resourceVersion && old.meta.uid === record.meta.uid) return null;
    if (old) this.unindex(key, old);
    this.changes++;
    this.items.set(key, record);
    this.indexRecord(key, record);
    return old ? { type: 'MODIFIED', key, old, new: record } : { type: 'ADDED', key, old: null, new: record };
  }

  private remove(key: string): StoreEvent<R> | null {
    const old = this.items.get(key);
    if (!old) return null;
    this.changes++;
    this.items.delete(key);
    this.unindex(key, old);
    return { type: 'DELETED', key, old, new: null };
  }

  private indexRecord(key: string, r: R): void {
    for (const { fn, idx } of this.indexes) {
      for (const v of fn(r)) {
        const at = idx.find(v);
        if (at < 0) {
          idx.insertAt(at, v, key);
          continue;
        }
        const keys = idx.valueAt(at);
        if (typeof keys === 'string') {
          if (keys !== key) idx.setAt(at, [keys, key]);
        } else if (Array.isArray(keys)) {
          // A new array of exactly the size needed (`concat`): `push` or a spread leave room for more.
          if (!keys.includes(key)) idx.setAt(at, keys.length < SmallKeys ? keys.concat(key) : new Set(keys).add(key));
        } else keys.add(key);
      }
    }
  }

  private unindex(key: string, r: R): void {
    for (const { fn, idx } of this.indexes) {
      for (const v of fn(r)) {
        const at = idx.find(v);
        if (at < 0) continue;
        const keys = idx.valueAt(at);
        if (typeof keys === 'string') {
          if (keys === key) idx.deleteAt(at);
          continue;
        }
        if (Array.isArray(keys)) {
          const i = keys.indexOf(key);
          if (i >= 0) idx.setAt(at, keys.length === 2 ? keys[1 - i]! : without(keys, i));
          continue;
        }
        keys.delete(key);
        // Back to an array only well below the bound, so a value near it does not flip on each change.
        if (keys.size === 0) idx.deleteAt(at);
        else if (keys.size <= SmallKeys / 2) idx.setAt(at, keys.size === 1 ? keys.values().next().value! : [...keys]);
      }
    }
  }

  private publish(batch: StoreBatch<R>): void {
    if (batch.events.length === 0 && !batch.relist) return;
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        // A listener's bug must not stop the watch or other listeners: log and go on.
        logger.error('store listener failed', { error: errorText(err) });
      }
    }
  }
}

/** `keys` without the one at `at`, in an array of exactly that size (`filter` leaves room for more). */
function without(keys: readonly string[], at: number): string[] {
  const out = new Array<string>(keys.length - 1);
  for (let i = 0, j = 0; i < keys.length; i++) if (i !== at) out[j++] = keys[i]!;
  return out;
}
