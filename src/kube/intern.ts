/**
 * Interning at ingest: pods of one ReplicaSet carry identical labels, annotations, owner
 * references and containers, and endpoints repeat the same few condition sets, node names and
 * zones. Each distinct value is kept once and shared by every record that has it (records are
 * frozen, so sharing is safe).
 *
 * Objects are held weakly: an entry disappears once no record uses its value any more.
 * Strings (namespaces, node names, zones, host IPs, timestamps) go to a bounded pool that is
 * cleared when it fills, so a cluster with unusual cardinality costs at most the bound.
 */

export class ObjectInterner<T extends object> {
  private readonly pool = new Map<string, WeakRef<T>>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    if (this.pool.get(key)?.deref() === undefined) this.pool.delete(key);
  });

  /** The shared value for `key`, made (and frozen by the caller's `make`) on first use. */
  get(key: string, make: () => T): T {
    const hit = this.pool.get(key)?.deref();
    if (hit !== undefined) return hit;
    const value = make();
    this.pool.set(key, new WeakRef(value));
    this.registry.register(value, key);
    return value;
  }

  get size(): number {
    return this.pool.size;
  }
}

export class StringPool {
  private pool = new Map<string, string>();
  private readonly max: number;

  /** @param max entries before the pool is cleared and starts again. @default 100_000 */
  constructor(max = 100_000) {
    this.max = max;
  }

  get(s: string): string {
    const hit = this.pool.get(s);
    if (hit !== undefined) return hit;
    if (this.pool.size >= this.max) this.pool = new Map();
    this.pool.set(s, s);
    return s;
  }
}
