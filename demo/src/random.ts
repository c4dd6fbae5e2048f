/**
 * Seeded randomness for the simulator: the same seed gives the same cluster and the same churn.
 *
 * mulberry32: 32 bits of state, fast, good enough to spread pods over nodes; not for secrets.
 */

/** The alphabet of generated name suffixes (apimachinery's `rand.String`: no vowels, no 0/1/3). */
export const NameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

export class Rng {
  #state: number;

  /** @param seed any integer; equal seeds give equal sequences. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new TypeError(`Rng: seed must be a finite number, but got: ${seed}`);
    this.#state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** An integer in [min, maxInclusive]. */
  range(min: number, maxInclusive: number): number {
    return min + this.int(maxInclusive - min + 1);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element; throws on an empty array, which is always a caller's bug. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError('Rng.pick: expected a non-empty array, but got an empty one');
    return item;
  }

  /** `n` characters of the alphabet Kubernetes uses for generateName suffixes. */
  suffix(n = 5): string {
    let s = '';
    for (let i = 0; i < n; i++) s += NameAlphabet[this.int(NameAlphabet.length)];
    return s;
  }

  /** `n` lowercase hex digits (a flat string: no rope of pieces kept alive). */
  hex(n: number): string {
    const bytes = Buffer.allocUnsafe(Math.ceil(n / 8) * 4);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32BE(this.u32(), i);
    const s = bytes.toString('hex');
    return s.length === n ? s : s.slice(0, n);
  }

  /** An unsigned 32-bit integer. */
  u32(): number {
    return (this.next() * 4294967296) >>> 0;
  }

  /** An RFC 4122 version-4-shaped UUID. */
  uuid(): string {
    const h = this.hex(32);
    const variant = (8 + this.int(4)).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** An independent stream derived from this seed and a label, so that adding draws in one part of
   *  the generator does not shift every later part. */
  fork(label: string): Rng {
    return new Rng((this.#state ^ fnv1a32(label)) >>> 0);
  }
}

/** FNV-1a, 32 bits. */
export function fnv1a32(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A pod-template-hash as the Deployment controller writes it: the decimal digits of a 32-bit hash
 *  mapped through apimachinery's `rand.SafeEncodeString` alphabet (for example `7d4b9c8f6d`). */
export function podTemplateHash(template: unknown): string {
  const digits = String(fnv1a32(JSON.stringify(template)));
  let s = '';
  for (let i = 0; i < digits.length; i++) s += NameAlphabet[digits.charCodeAt(i) % NameAlphabet.length];
  return s;
}

/** A stable UUID derived from a name (for objects the simulator does not store, such as ReplicaSets). */
export function uuidFrom(name: string): string {
  const h = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b]
    .map((seed) => fnv1a32(name, seed).toString(16).padStart(8, '0'))
    .join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
