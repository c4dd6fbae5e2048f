/**
 * A map from string to value for the store's indexes, where one map holds an entry per endpoint
 * address or pod name of the whole cluster (150,000 on a large one).
 *
 * A JS Map keeps each entry as key, value and chain link in insertion order, plus a bucket per
 * two entries, and doubles when full: about 49 bytes an entry at that size. This one keeps keys
 * and values side by side in one array and finds them by open addressing (linear probing on a
 * FNV-1a hash of the key, computed here since V8's own string hash is out of reach), at most
 * three quarters full: about 16 bytes a slot, 20 to 40 an entry. Deleting shifts the entries
 * after the hole back (no tombstones), and the table halves once an eighth full.
 *
 * Iteration order is the slots' order, not insertion order; `keys` is a snapshot, so the map may
 * change while a caller walks it.
 */
export class StringMap<V> {
  /** `[key0, value0, key1, value1, …]`; an empty slot's key is undefined. */
  private slots: unknown[];
  /** Slots minus one (slots are a power of two). */
  private mask: number;
  private count = 0;

  constructor() {
    this.slots = emptySlots(MinSlots);
    this.mask = MinSlots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Slots allocated: entries fit in three quarters of them. */
  get capacity(): number {
    return this.mask + 1;
  }

  get(key: string): V | undefined {
    const at = this.find(key);
    return at < 0 ? undefined : (this.slots[2 * at + 1] as V);
  }

  set(key: string, value: V): void {
    const at = this.find(key);
    if (at < 0) this.insertAt(at, key, value);
    else this.slots[2 * at + 1] = value;
  }

  /** Removes `key`; false when it was not there. */
  delete(key: string): boolean {
    const at = this.find(key);
    if (at < 0) return false;
    this.deleteAt(at);
    return true;
  }

  /**
   * One probe for a read-then-write (the store's index updates): the slot holding `key`, or when
   * absent the bitwise complement (`~slot`, negative) of the empty slot it would take. A slot is
   * good until the next insert or delete.
   */
  find(key: string): number {
    const s = this.slots;
    const mask = this.mask;
    for (let i = hash(key) & mask; ; i = (i + 1) & mask) {
      const k = s[2 * i];
      if (k === key) return i;
      if (k === undefined) return ~i;
    }
  }

  /** The value in a slot `find` answered with. */
  valueAt(slot: number): V {
    return this.slots[2 * slot + 1] as V;
  }

  /** Replaces the value in a slot `find` answered with. */
  setAt(slot: number, value: V): void {
    this.slots[2 * slot + 1] = value;
  }

  /** Adds `key` at the empty slot `find` answered with (`~slot`). */
  insertAt(absent: number, key: string, value: V): void {
    const i = ~absent;
    this.slots[2 * i] = key;
    this.slots[2 * i + 1] = value;
    if (++this.count * 4 > (this.mask + 1) * 3) this.resize((this.mask + 1) * 2);
  }

  /** Removes the entry in a slot `find` answered with. */
  deleteAt(slot: number): void {
    const s = this.slots;
    const mask = this.mask;
    let i = slot;
    // Backward shift: move up every entry after the hole whose home slot is not between the hole and it.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = s[2 * j];
      if (k === undefined) break;
      const home = hash(k as string) & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        s[2 * i] = k;
        s[2 * i + 1] = s[2 * j + 1];
        i = j;
      }
    }
    s[2 * i] = undefined;
    s[2 * i + 1] = undefined;
    if (--this.count * 8 < this.mask + 1 && this.mask + 1 > MinSlots) this.resize((this.mask + 1) / 2);
  }

  /**
   * Makes room for `entries` (at most `MaxReserve`) without growing step by step (each step
   * rehashes every key); beyond that it grows as entries come.
   */
  reserve(entries: number): void {
    const want = slotsFor(Math.min(entries, MaxReserve));
    if (want > this.mask + 1) this.resize(want);
  }

  /** Shrinks to the size its entries need (after a `reserve` that guessed high). */
  fit(): void {
    const want = slotsFor(this.count);
    if (want < this.mask + 1) this.resize(want);
  }

  /** The keys present now (a copy: safe to hold while the map changes). */
  keys(): IterableIterator<string> {
    const out: string[] = [];
    const s = this.slots;
    for (let i = 0; i < s.length; i += 2) if (s[i] !== undefined) out.push(s[i] as string);
    return out.values();
  }

  // Private:

  private resize(slots: number): void {
    const old = this.slots;
    this.slots = emptySlots(slots);
    this.mask = slots - 1;
    const s = this.slots;
    for (let o = 0; o < old.length; o += 2) {
      const k = old[o];
      if (k === undefined) continue;
      let i = hash(k as string) & this.mask;
      while (s[2 * i] !== undefined) i = (i + 1) & this.mask;
      s[2 * i] = k;
      s[2 * i + 1] = old[o + 1];
    }
  }
}

const MinSlots = 8;
/** A guess above this many entries (a sample of unusually large records) reserves this many: 2^21 slots, 32 MiB. */
export const MaxReserve = 1 << 20;

/** The slots `entries` need: a power of two they fill to at most three quarters. */
function slotsFor(entries: number): number {
  let slots = MinSlots;
  while (entries * 4 > slots * 3) slots *= 2;
  return slots;
}

function emptySlots(slots: number): unknown[] {
  return new Array<unknown>(2 * slots).fill(undefined);
}

/**
 * Drawn once per process, as V8 seeds its own string hashes: keys come from cluster objects that
 * others create (names, label pairs, hosts), and with a fixed basis one could pick keys that all
 * land in one run of slots and make every index update walk it.
 */
const Seed = crypto.getRandomValues(new Uint32Array(1))[0]!;

/** 32-bit FNV-1a over the UTF-16 code units from a random basis, with a final avalanche so that nearby IPs spread over the low bits. */
function hash(s: string): number {
  let h = 0x811c9dc5 ^ Seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
