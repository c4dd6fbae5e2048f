/**
 * JSON.parse for list pages, keeping only the fields ingest reads, one item at a time.
 *
 * A Pod as the API server lists it is about 4 KB of JSON, of which ingest keeps about a third:
 * managedFields, most of the spec (env, resources, probes, volumes, tolerations) and the
 * container statuses would be parsed into objects only to be dropped. `parseList` reads the
 * bytes of a list response once, builds only the values a `Kept` mask names, and steps over the
 * others without building them (their extent is found, their content is not checked). Strings
 * are decoded from the bytes into fresh strings, never slices of a page-sized string (which
 * would keep the page alive as long as a record holds one of them).
 *
 * Items are parsed as they are iterated, so the caller ingests each before the next is built:
 * what ingest drops dies young, instead of a whole page of parsed objects surviving long enough
 * to be copied into the old generation and collected there by full mark-compacts.
 *
 * Contract, for valid JSON: the items iterated deep-equal `prune(item, kept)` for each item of
 * `JSON.parse(text).items`, where `prune` keeps a value whole where the mask says `true` or where
 * the value is not an object or array, applies an array's mask to each element, and keeps an
 * object's masked keys only (test/unit/kept-json.test.ts). Malformed JSON in what is kept or in
 * the page's structure throws a SyntaxError (from `parseList`, or from the iteration for the
 * items), as JSON.parse would; a truncated body always throws.
 */
import { isAscii } from 'node:buffer';

/** Which fields to keep: `true` keeps a value whole; an object keeps those keys, applied to each element of an array. */
export type Kept = true | { readonly [key: string]: Kept };

/** A list page: its `metadata` whole (resourceVersion, continue; undefined when missing), and its items. */
export interface ListPage {
  readonly metadata: any;
  /** Parsed as iterated, once; null when the page has no `items` array. */
  readonly items: Iterable<unknown> | null;
}

/**
 * Parse a list page from `bytes` (UTF-8 JSON), keeping its `metadata` and of each item what
 * `itemKept` names (other top-level fields, `kind` and `apiVersion`, are stepped over). When
 * `metadata` comes before `items` (as the API server writes lists) the items are parsed lazily,
 * as iterated; otherwise at once.
 * @throws SyntaxError on malformed or truncated JSON (later, from the iteration, for the items).
 */
export function parseList(bytes: Buffer, itemKept: Kept): ListPage {
  const r = new Reader(bytes, isAscii(bytes));
  const level = itemKept === true ? true : compiled(itemKept);
  const b = bytes;
  r.space();
  if (b[r.i] !== OpenBrace) throw r.error('"{"');
  r.i++;
  r.space();
  let metadata: unknown;
  let items: unknown[] | null = null;
  if (b[r.i] === CloseBrace) r.i++;
  else {
    for (;;) {
      if (b[r.i] !== Quote) throw r.error('a key');
      const key = r.string();
      r.space();
      if (b[r.i] !== Colon) throw r.error('":"');
      r.i++;
      r.space();
      if (key === 'items' && b[r.i] === OpenBracket) {
        if (metadata !== undefined) return { metadata, items: lazyItems(r, level) };
        items = level === true ? (r.value(true) as unknown[]) : r.array(level);
      } else if (key === 'metadata') metadata = r.value(true);
      else r.skip();
      if (r.endOfMember(CloseBrace)) break;
    }
  }
  r.end();
  return { metadata, items };
}

// Private:

/** A mask level with its keys as bytes, matched without decoding a key that is dropped. */
interface Level {
  readonly keys: readonly Uint8Array[];
  readonly names: readonly string[];
  readonly next: readonly (Level | true)[];
}

const Compiled = new WeakMap<object, Level>();

function compiled(kept: Exclude<Kept, true>): Level {
  let level = Compiled.get(kept);
  if (!level) {
    const names = Object.keys(kept);
    level = {
      keys: names.map((n) => Buffer.from(JSON.stringify(n).slice(1, -1), 'utf8')),
      names,
      next: names.map((n) => (kept[n] === true ? true : compiled(kept[n] as Exclude<Kept, true>))),
    };
    Compiled.set(kept, level);
  }
  return level;
}

const Quote = 0x22;
const Backslash = 0x5c;
const Comma = 0x2c;
const Colon = 0x3a;
const OpenBrace = 0x7b;
const CloseBrace = 0x7d;
const OpenBracket = 0x5b;
const CloseBracket = 0x5d;

/** The items of a page, from the `[` of its items array; then the rest of the page is read (checked, not kept). */
function* lazyItems(r: Reader, level: Level | true): Generator<unknown> {
  const b = r.b;
  r.i++;
  r.space();
  if (b[r.i] === CloseBracket) r.i++;
  else {
    for (;;) {
      yield r.value(level);
      if (r.endOfMember(CloseBracket)) break;
    }
  }
  if (!r.endOfMember(CloseBrace)) {
    for (;;) {
      if (b[r.i] !== Quote) throw r.error('a key');
      r.string();
      r.space();
      if (b[r.i] !== Colon) throw r.error('":"');
      r.i++;
      r.space();
      r.skip();
      if (r.endOfMember(CloseBrace)) break;
    }
  }
  r.end();
}

class Reader {
  readonly b: Buffer;
  readonly n: number;
  /** latin1 decodes an all-ASCII body as UTF-8 would, faster. */
  readonly encoding: 'latin1' | 'utf8';
  i = 0;

  constructor(b: Buffer, ascii: boolean) {
    this.b = b;
    this.n = b.length;
    this.encoding = ascii ? 'latin1' : 'utf8';
  }

  value(level: Level | true): unknown {
    const c = this.b[this.i];
    if (level !== true) {
      if (c === OpenBrace) return this.object(level);
      if (c === OpenBracket) return this.array(level);
    }
    if (c === Quote) return this.string();
    const start = this.i;
    this.skip();
    const text = this.b.toString(this.encoding, start, this.i);
    try {
      return JSON.parse(text);
    } catch {
      throw this.error('a JSON value', start);
    }
  }

  object(level: Level): Record<string, unknown> {
    const b = this.b;
    const out: Record<string, unknown> = {};
    this.i++;
    this.space();
    if (b[this.i] === CloseBrace) {
      this.i++;
      return out;
    }
    for (;;) {
      if (b[this.i] !== Quote) throw this.error('a key');
      const k = this.key(level);
      this.space();
      if (b[this.i] !== Colon) throw this.error('":"');
      this.i++;
      this.space();
      if (k < 0) this.skip();
      else out[level.names[k]!] = this.value(level.next[k]!);
      if (this.endOfMember(CloseBrace)) return out;
    }
  }

  array(level: Level): unknown[] {
    const b = this.b;
    const out: unknown[] = [];
    this.i++;
    this.space();
    if (b[this.i] === CloseBracket) {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(level));
      if (this.endOfMember(CloseBracket)) return out;
    }
  }

  /** At a key's opening quote: the index of the mask key it names, or -1; moves past the closing quote. */
  key(level: Level): number {
    const b = this.b;
    const start = this.i + 1;
    let j = start;
    let escaped = false;
    for (;;) {
      const c = b[j];
      if (c === Quote) break;
      if (c === Backslash) {
        escaped = true;
        j += 2;
      } else if (c === undefined) throw this.error('the end of a key', j);
      else j++;
    }
    this.i = j + 1;
    // A key written with escapes is decoded and compared by name; others byte by byte, undecoded.
    if (escaped) return level.names.indexOf(this.escapedString(start));
    const len = j - start;
    const keys = level.keys;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!;
      if (key.length !== len) continue;
      let m = 0;
      while (m < len && key[m] === b[start + m]) m++;
      if (m === len) return k;
    }
    return -1;
  }

  /** At an opening quote: the decoded string; moves past the closing quote. */
  string(): string {
    const b = this.b;
    const start = this.i + 1;
    let j = start;
    for (;;) {
      const c = b[j];
      if (c === Quote) break;
      if (c === Backslash) return this.escapedString(start);
      if (c === undefined) throw this.error('the end of a string', j);
      j++;
    }
    this.i = j + 1;
    return this.b.toString(this.encoding, start, j);
  }

  /** The string whose content starts at `start` (it has escapes), decoded; moves past its closing quote. */
  escapedString(start: number): string {
    const end = this.stringEnd(start);
    this.i = end + 1;
    try {
      return JSON.parse(this.b.toString('utf8', start - 1, end + 1));
    } catch {
      throw this.error('a JSON string', start - 1);
    }
  }

  /** From just inside a string: the index of its closing quote. */
  stringEnd(j: number): number {
    const b = this.b;
    for (;;) {
      const c = b[j];
      if (c === Quote) return j;
      if (c === Backslash) j += 2;
      else if (c === undefined) throw this.error('the end of a string', j);
      else j++;
    }
  }

  /** Step over one value without building it: strings and nesting are followed, content is not checked. */
  skip(): void {
    const b = this.b;
    const n = this.n;
    let i = this.i;
    let depth = 0;
    for (;;) {
      if (i >= n) {
        if (depth > 0) throw this.error('the end of an object or array', i);
        break;
      }
      const c = b[i]!;
      if (c === Quote) {
        i = this.stringEnd(i + 1) + 1;
        if (depth === 0) break;
      } else if (c === OpenBrace || c === OpenBracket) {
        depth++;
        i++;
      } else if (c === CloseBrace || c === CloseBracket) {
        if (depth === 0) break;
        depth--;
        i++;
        if (depth === 0) break;
      } else if (depth === 0 && (c === Comma || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) break;
      else i++;
    }
    if (i === this.i) throw this.error('a JSON value');
    this.i = i;
  }

  /** After a member or element: true at the closing `close` (moved past it), false after a comma. */
  endOfMember(close: number): boolean {
    this.space();
    const c = this.b[this.i++];
    if (c === Comma) {
      this.space();
      return false;
    }
    if (c === close) return true;
    throw this.error(close === CloseBrace ? '"," or "}"' : '"," or "]"', this.i - 1);
  }

  /** Only white space may follow. */
  end(): void {
    this.space();
    if (this.i !== this.n) throw this.error('the end of the input');
  }

  space(): void {
    const b = this.b;
    let i = this.i;
    for (;;) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  error(expected: string, at = this.i): SyntaxError {
    const got = at >= this.n ? 'the end of the input' : JSON.stringify(this.b.toString('utf8', at, Math.min(this.n, at + 20)));
    return new SyntaxError(`JSON at position ${at}: expected ${expected}, got ${got}`);
  }
}
