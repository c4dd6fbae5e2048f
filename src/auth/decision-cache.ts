/**
 * A bounded cache of review answers with a TTL per answer, that asks once for concurrent
 * questions with the same key: the shape of the API server's own webhook caches
 * (k8s.io/apiserver `cache.NewLRUExpireCache` behind the webhook authorizer and the delegating
 * token authenticator).
 *
 * Keys are opaque strings the caller derives (token hashes, identities); values are shared
 * with every caller, so they should be frozen. A load that fails is never cached: the next
 * question asks again.
 */

export interface DecisionCacheOptions<V> {
  /** How long `value` stays fresh, in milliseconds; 0 or less: do not cache it. */
  ttlMs(value: V): number;
  /** Entries kept; past it the least recently used entry goes. @default 10_000 // entries */
  maxEntries?: number;
  /** Milliseconds since an epoch, for expiry (tests advance it). @default Date.now */
  clock?: () => number;
}

/** How a `get` was answered. */
export type CacheAnswer<V> = {
  readonly value: V;
  /** True when no new review was asked for this call: a fresh entry, or a review already in flight. */
  readonly cached: boolean;
};

export class DecisionCache<V> {
  readonly maxEntries: number;
  readonly #ttlMs: (value: V) => number;
  readonly #clock: () => number;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();
  readonly #inflight = new Map<string, Promise<V>>();

  constructor(options: DecisionCacheOptions<V>) {
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries: expected a positive integer, but got: ${maxEntries}`);
    }
    this.maxEntries = maxEntries;
    this.#ttlMs = options.ttlMs;
    this.#clock = options.clock ?? Date.now;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The fresh value under `key`, or the answer of the load already in flight for it, or the
   * answer of `load()` (cached for its TTL). Rejects with what `load` threw, uncached.
   */
  async get(key: string, load: () => Promise<V>): Promise<CacheAnswer<V>> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      if (entry.expiresAt > this.#clock()) {
        this.#entries.set(key, entry);
        return { value: entry.value, cached: true };
      }
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return { value: await pending, cached: true };
    const loading = this.#load(key, load);
    this.#inflight.set(key, loading);
    return { value: await loading, cached: false };
  }

  // Private:

  async #load(key: string, load: () => Promise<V>): Promise<V> {
    try {
      const value = await load();
      const ttlMs = this.#ttlMs(value);
      if (ttlMs > 0) this.#set(key, value, this.#clock() + ttlMs);
      return value;
    } finally {
      this.#inflight.delete(key);
    }
  }

  #set(key: string, value: V, expiresAt: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt });
    // Over the bound: the least recently used entries go first (the Map's oldest keys).
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
