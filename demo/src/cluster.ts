/**
 * The simulated cluster's object store: what etcd plus the API server's watch cache are to a real
 * cluster, in memory.
 *
 * - One global revision, a monotonically increasing integer, bumped by every create, update and
 *   delete and written to the object's `metadata.resourceVersion` as a decimal string.
 * - A bounded event history (a ring by count and by age). It serves watches from a revision and
 *   consistent list pages at an older revision (the state at revision R is the current state with
 *   every later event undone). A revision older than the history is *compacted*: watching or
 *   continuing a list from it fails with {@link ExpiredError}, which the server turns into 410.
 * - Keys are `namespace/name`, or `name` for cluster-scoped kinds, kept sorted per kind in plain
 *   string order (the order of etcd keys, so a real apiserver lists in the same order).
 *
 * Objects are shared with every reader (list pages, watch queues, churn): never mutate one that
 * went in or came out; derive a new object and `update` it.
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from './types.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as the watch cache keeps it. */
export interface ClusterEvent {
  readonly type: EventType;
  /** The object's kind, such as `Pod`. */
  readonly kind: string;
  /** `namespace/name`, or `name` for cluster-scoped objects. */
  readonly key: string;
  /** Empty for cluster-scoped objects. */
  readonly namespace: string;
  /** The revision this change produced. */
  readonly revision: number;
  /** The new state; for DELETED, the last state carrying the deletion's resourceVersion. */
  readonly object: KubeObject;
  /** The state before; null for ADDED. */
  readonly oldObject: KubeObject | null;
  /** When it happened, in ms since the epoch (from the store's clock). */
  readonly at: number;
}

export interface ClusterOptions {
  /**
   * Most events the history keeps; older ones are compacted.
   * @default 10_000 // events
   */
  readonly historyLimit?: number;
  /**
   * Events older than this are compacted (checked whenever the history is read or written).
   * @default 300_000 // 5 minutes, etcd's default compaction interval
   */
  readonly historyWindowMs?: number;
  /**
   * The store's clock, for event ages and default creation timestamps.
   * @default Date.now
   */
  readonly now?: () => number;
  /**
   * Called when a listener throws; the store then carries on with the next listener.
   * @default logs to console.error
   */
  readonly onListenerError?: (error: unknown, event: ClusterEvent) => void;
}

/** A list page at one revision. */
export interface ListPage {
  /** The snapshot's revision (the list's `metadata.resourceVersion`). */
  readonly revision: number;
  readonly items: readonly KubeObject[];
  /** Key of the last item scanned; pass it as `after` for the next page. undefined when nothing was scanned. */
  readonly lastKey: string | undefined;
  /** More keys exist after `lastKey` at this revision. */
  readonly more: boolean;
  /** How many objects follow `lastKey` at this revision (before any filter). */
  readonly remaining: number;
}

export interface ListPageRequest {
  readonly kind: string;
  /** Restrict to one namespace; undefined or '' for all. */
  readonly namespace?: string;
  /** The snapshot's revision. @default the current revision */
  readonly revision?: number;
  /** Start strictly after this key. */
  readonly after?: string;
  /** At most this many items. @default 0 // no limit */
  readonly limit?: number;
  /** Only items it accepts count toward `limit`. */
  readonly filter?: (object: KubeObject) => boolean;
}

/** A revision is compacted: the history no longer reaches back to it. */
export class ExpiredError extends Error {
  /** The revision asked for. */
  readonly requested: number;
  /** The oldest revision still servable (watching from it works). */
  readonly oldest: number;
  constructor(requested: number, oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
    this.name = 'ExpiredError';
    this.requested = requested;
    this.oldest = oldest;
  }
}

/** A revision is newer than the store's. */
export class TooLargeError extends Error {
  readonly requested: number;
  readonly current: number;
  constructor(requested: number, current: number) {
    super(`Too large resource version: ${requested}, current: ${current}`);
    this.name = 'TooLargeError';
    this.requested = requested;
    this.current = current;
  }
}

/** create of an existing key, or update/delete of a missing one. */
export class ConflictError extends Error {
  readonly reason: 'AlreadyExists' | 'NotFound';
  constructor(reason: 'AlreadyExists' | 'NotFound', message: string) {
    super(message);
    this.name = 'ConflictError';
    this.reason = reason;
  }
}

export class Cluster {
  readonly historyLimit: number;
  readonly historyWindowMs: number;
  readonly now: () => number;

  /**
   * @throws RangeError when historyLimit is not a positive integer or historyWindowMs is not positive.
   */
  constructor(options: ClusterOptions = {}) {
    this.historyLimit = options.historyLimit ?? 10_000;
    this.historyWindowMs = options.historyWindowMs ?? 300_000;
    this.now = options.now ?? Date.now;
    this.#onListenerError = options.onListenerError ?? ((error, event) => {
      console.error(`sim cluster: a listener threw on ${event.type} ${event.kind} ${event.key}:`, error);
    });
    if (!Number.isInteger(this.historyLimit) || this.historyLimit < 1) {
      throw new RangeError(`historyLimit must be a positive integer, but got: ${this.historyLimit}`);
    }
    if (!(this.historyWindowMs > 0)) {
      throw new RangeError(`historyWindowMs must be positive, but got: ${this.historyWindowMs}`);
    }
  }

  /** The current revision. */
  get revision(): number {
    return this.#revision;
  }

  /** The current revision as a resourceVersion string. */
  get resourceVersion(): string {
    return String(this.#revision);
  }

  /** The oldest revision a watch or a list page can start from; older ones are compacted. */
  get oldestRevision(): number {
    this.#trim();
    return this.#compacted;
  }

  /** Events in the history. */
  get historySize(): number {
    return this.#history.length - this.#historyStart;
  }

  /**
   * Bulk-loads the initial state without events (as if it had always been there). An object whose
   * resourceVersion is a decimal integer keeps it; others get the next revision. The store's
   * revision becomes the highest seen, and everything before it is compacted.
   *
   * @throws ConflictError on a duplicate key.
   */
  load(objects: Iterable<KubeObject>): void {
    let revision = this.#revision;
    for (const object of objects) {
      const parsed = /^\d+$/.test(object.metadata.resourceVersion) ? Number(object.metadata.resourceVersion) : NaN;
      let stored = object;
      if (Number.isSafeInteger(parsed)) {
        revision = Math.max(revision, parsed);
      } else {
        revision += 1;
        stored = withResourceVersion(object, revision);
      }
      const table = this.#table(stored.kind);
      const key = objectKey(stored);
      if (table.objects.has(key)) throw new ConflictError('AlreadyExists', `${stored.kind} "${key}" already exists`);
      table.objects.set(key, stored);
      table.keys.push(key);
      table.sorted = false;
    }
    for (const table of this.#tables.values()) sortTable(table);
    this.#revision = revision;
    this.#compacted = revision;
    this.#history = [];
    this.#historyStart = 0;
  }

  /**
   * Stores a new object and returns it as stored: with the next resourceVersion, and with a uid
   * and creationTimestamp when they were empty. An empty name with a `generateName` gets a
   * random suffix, as the API server does.
   *
   * @throws ConflictError (AlreadyExists) when the key exists.
   */
  create<T extends KubeObject>(object: T): T {
    let meta = object.metadata;
    if (meta.name === '' && meta.generateName) {
      const table = this.#table(object.kind);
      let name: string;
      do name = meta.generateName + randomSuffix();
      while (table.objects.has(meta.namespace ? `${meta.namespace}/${name}` : name));
      meta = { ...meta, name };
    }
    if (meta.uid === '' || meta.creationTimestamp === '') {
      meta = {
        ...meta,
        uid: meta.uid === '' ? randomUUID() : meta.uid,
        creationTimestamp: meta.creationTimestamp === '' ? rfc3339(this.now()) : meta.creationTimestamp,
      };
    }
    const key = meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
    const table = this.#table(object.kind);
    if (table.objects.has(key)) throw new ConflictError('AlreadyExists', `${object.kind} "${key}" already exists`);
    const revision = this.#revision + 1;
    const stored = { ...object, metadata: { ...meta, resourceVersion: String(revision) } } as T;
    table.objects.set(key, stored);
    insertSorted(table, key);
    this.#append('ADDED', stored, null, key, revision);
    return stored;
  }

  /**
   * Replaces an existing object (matched by kind, namespace and name) and returns it as stored,
   * with the next resourceVersion. The caller's resourceVersion is ignored: updates are
   * unconditional.
   *
   * @throws ConflictError (NotFound) when the key does not exist.
   */
  update<T extends KubeObject>(object: T): T {
    const key = objectKey(object);
    const table = this.#table(object.kind);
    const old = table.objects.get(key);
    if (old === undefined) throw new ConflictError('NotFound', `${object.kind} "${key}" not found`);
    const revision = this.#revision + 1;
    const stored = withResourceVersion(object, revision);
    table.objects.set(key, stored);
    this.#append('MODIFIED', stored, old, key, revision);
    return stored;
  }

  /**
   * Removes an object; the DELETED event carries its last state with the deletion's
   * resourceVersion. Returns that object, or undefined when there was nothing to delete.
   */
  delete(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = namespace ? `${namespace}/${name}` : name;
    const table = this.#tables.get(kind);
    const old = table?.objects.get(key);
    if (table === undefined || old === undefined) return undefined;
    const revision = this.#revision + 1;
    const last = withResourceVersion(old, revision);
    table.objects.delete(key);
    removeSorted(table, key);
    this.#append('DELETED', last, old, key, revision);
    return last;
  }

  /** The current object, or undefined. */
  get<T extends KubeObject = KubeObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    const key = namespace ? `${namespace}/${name}` : name;
    return this.#tables.get(kind)?.objects.get(key) as T | undefined;
  }

  /** Current objects of a kind, in key order; one namespace when given. */
  list<T extends KubeObject = KubeObject>(kind: string, namespace?: string): T[] {
    const table = this.#tables.get(kind);
    if (table === undefined) return [];
    const [from, to] = range(table, namespace);
    const out: T[] = [];
    for (let i = from; i < to; i++) out.push(table.objects.get(table.keys[i] as string) as T);
    return out;
  }

  /** How many objects of a kind exist now. */
  count(kind: string): number {
    return this.#tables.get(kind)?.objects.size ?? 0;
  }

  /** The object at a position in key order (for picking one at random in O(1)); undefined out of range. */
  nth<T extends KubeObject = KubeObject>(kind: string, index: number): T | undefined {
    const table = this.#tables.get(kind);
    const key = table?.keys[index];
    return key === undefined ? undefined : (table?.objects.get(key) as T | undefined);
  }

  /**
   * One page of a list at a revision: the current state with every later event undone.
   *
   * @throws ExpiredError when the revision is compacted; TooLargeError when it is in the future.
   */
  listPage(request: ListPageRequest): ListPage {
    this.#trim();
    const revision = request.revision ?? this.#revision;
    if (revision > this.#revision) throw new TooLargeError(revision, this.#revision);
    if (revision < this.#compacted) throw new ExpiredError(revision, this.#compacted);
    const table = this.#tables.get(request.kind) ?? emptyTable();
    const namespace = request.namespace || undefined;
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    const inScope = (key: string): boolean => prefix === undefined || key.startsWith(prefix);

    // The state at `revision` of every key changed since: the first later event's old object.
    const before = new Map<string, KubeObject | null>();
    for (let i = this.#firstAfter(revision); i < this.#history.length; i++) {
      const event = this.#history[i] as ClusterEvent;
      if (event.kind !== request.kind || before.has(event.key) || !inScope(event.key)) continue;
      before.set(event.key, event.oldObject);
    }
    const restored = [...before].filter((e): e is [string, KubeObject] => e[1] !== null && (request.after === undefined || e[0] > request.after));
    restored.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

    const [from, to] = range(table, namespace);
    let i = request.after === undefined ? from : Math.max(from, upperBound(table.keys, request.after));
    let j = 0;
    const limit = request.limit && request.limit > 0 ? request.limit : Infinity;
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    // Merge the current keys unchanged since `revision` with the restored ones.
    const nextCurrent = (): void => {
      while (i < to && before.has(table.keys[i] as string)) i++;
    };
    nextCurrent();
    while (items.length < limit && (i < to || j < restored.length)) {
      const current = i < to ? (table.keys[i] as string) : undefined;
      const old = restored[j];
      let key: string;
      let object: KubeObject;
      if (old !== undefined && (current === undefined || old[0] < current)) {
        [key, object] = old;
        j++;
      } else {
        key = current as string;
        object = table.objects.get(key) as KubeObject;
        i++;
        nextCurrent();
      }
      lastKey = key;
      if (request.filter === undefined || request.filter(object)) items.push(object);
    }
    const remainingCurrent = countRemaining(table, to, i, before);
    const remaining = remainingCurrent + (restored.length - j);
    return { revision, items, lastKey, more: remaining > 0, remaining };
  }

  /**
   * The events strictly after a revision, oldest first.
   *
   * @throws ExpiredError when the history does not reach back to it; TooLargeError when it is in the future.
   */
  eventsSince(revision: number): ClusterEvent[] {
    this.#trim();
    if (revision > this.#revision) throw new TooLargeError(revision, this.#revision);
    if (revision < this.#compacted) throw new ExpiredError(revision, this.#compacted);
    return this.#history.slice(this.#firstAfter(revision));
  }

  /**
   * Calls `listener` synchronously, in revision order, for every later change. Returns the
   * unsubscribe function. A listener that throws is reported to `onListenerError` and skipped.
   */
  subscribe(listener: (event: ClusterEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Drops the history up to and including `revision` (default: all of it), as etcd compaction
   * does: watches and list continuations from older revisions then fail with 410.
   */
  compact(revision: number = this.#revision): void {
    const target = Math.min(revision, this.#revision);
    while (this.#historyStart < this.#history.length && (this.#history[this.#historyStart] as ClusterEvent).revision <= target) {
      this.#historyStart++;
    }
    this.#compacted = Math.max(this.#compacted, target);
    this.#shrink();
  }

  // Private:

  #revision = 0;
  /** Events with a revision <= this are gone. */
  #compacted = 0;
  #history: ClusterEvent[] = [];
  #historyStart = 0;
  #tables = new Map<string, Table>();
  #listeners = new Set<(event: ClusterEvent) => void>();
  #onListenerError: (error: unknown, event: ClusterEvent) => void;

  #table(kind: string): Table {
    let table = this.#tables.get(kind);
    if (table === undefined) {
      table = emptyTable();
      this.#tables.set(kind, table);
    }
    return table;
  }

  #append(type: EventType, object: KubeObject, oldObject: KubeObject | null, key: string, revision: number): void {
    this.#revision = revision;
    const event: ClusterEvent = {
      type,
      kind: object.kind,
      key,
      namespace: object.metadata.namespace ?? '',
      revision,
      object,
      oldObject,
      at: this.now(),
    };
    this.#history.push(event);
    this.#trim();
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  /** Applies the count and age bounds. */
  #trim(): void {
    const oldestAllowed = this.now() - this.historyWindowMs;
    while (this.#historyStart < this.#history.length) {
      const first = this.#history[this.#historyStart] as ClusterEvent;
      if (this.#history.length - this.#historyStart <= this.historyLimit && first.at >= oldestAllowed) break;
      this.#compacted = first.revision;
      this.#historyStart++;
    }
    this.#shrink();
  }

  #shrink(): void {
    if (this.#historyStart > 4096 && this.#historyStart * 2 > this.#history.length) {
      this.#history = this.#history.slice(this.#historyStart);
      this.#historyStart = 0;
    }
  }

  /** Index of the first retained event with a revision > `revision`. */
  #firstAfter(revision: number): number {
    let lo = this.#historyStart;
    let hi = this.#history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#history[mid] as ClusterEvent).revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** An hour and a day, in ms (for timestamps "some time ago"). */
export const HourMs = 3_600_000;
export const DayMs = 24 * HourMs;

/** RFC 3339 at second precision, as the API server writes timestamps. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// Private:

interface Table {
  readonly objects: Map<string, KubeObject>;
  /** Sorted (after load) keys of `objects`. */
  keys: string[];
  sorted: boolean;
}

function emptyTable(): Table {
  return { objects: new Map(), keys: [], sorted: true };
}

function sortTable(table: Table): void {
  if (!table.sorted) {
    table.keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    table.sorted = true;
  }
}

function withResourceVersion<T extends KubeObject>(object: T, revision: number): T {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
}

function insertSorted(table: Table, key: string): void {
  table.keys.splice(lowerBound(table.keys, key), 0, key);
}

function removeSorted(table: Table, key: string): void {
  const i = lowerBound(table.keys, key);
  if (table.keys[i] === key) table.keys.splice(i, 1);
}

/** First index whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is > `key`. */
function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** [from, to) of the keys in a namespace (all keys when undefined). Keys of one namespace share the
 *  prefix `namespace/`, so they are contiguous in sorted order. */
function range(table: Table, namespace: string | undefined): [number, number] {
  if (namespace === undefined) return [0, table.keys.length];
  const prefix = `${namespace}/`;
  // '0' is the character after '/'.
  return [lowerBound(table.keys, prefix), lowerBound(table.keys, `${namespace}0`)];
}

/** Current keys in [i, to) that did not change since the snapshot (changed ones are counted from the restored set). */
function countRemaining(table: Table, to: number, i: number, before: ReadonlyMap<string, KubeObject | null>): number {
  let count = to - i;
  if (before.size === 0 || count <= 0) return Math.max(0, count);
  const first = table.keys[i] as string;
  const last = table.keys[to - 1] as string;
  for (const key of before.keys()) {
    if (key >= first && key <= last && table.objects.has(key)) count--;
  }
  return count;
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let k = 0; k < 5; k++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
