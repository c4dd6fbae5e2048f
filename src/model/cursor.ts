/**
 * Opaque Relay cursors. A cursor names a position in one sorted connection: the kind of the
 * connection (so that a Pod cursor is not accepted by a Service connection) and the sort key
 * of the edge it points at.
 *
 * Wire form: base64url (no padding) of the JSON `{"v":1,"k":kind,"s":sortKey,"c":check}`,
 * where `check` is the first 8 hex digits of SHA-256 over `1\0kind\0sortKey`. The check catches
 * edits and corruption; it is not a signature: cursors carry nothing secret, and a forged one
 * only starts a page elsewhere.
 */

import { createHash } from 'node:crypto';

import { quote } from './text.ts';

/** Longest cursor accepted or produced: 1 KiB of base64url characters. */
export const MaxCursorLength = 1024;

/** Version of the wire form; decodeCursor rejects any other. */
export const CursorVersion = 1;

/**
 * A cursor that decodeCursor refuses. The message says what was expected and what arrived,
 * e.g. `cursor: expected a cursor for "Service", got one for "Pod"`.
 */
export class CursorError extends Error {
  override readonly name = 'CursorError';
  readonly expected: string;
  readonly got: string;

  constructor(expected: string, got: string) {
    super(`cursor: expected ${expected}, got ${got}`);
    this.expected = expected;
    this.got = got;
  }
}

/**
 * The cursor for the edge with `sortKey` in a connection of `kind`.
 *
 * @throws RangeError when the cursor would be longer than MaxCursorLength, which decodeCursor
 * would refuse: a programming error (sort keys are names, far below the cap).
 */
export function encodeCursor(kind: string, sortKey: string): string {
  const payload = JSON.stringify({ v: CursorVersion, k: kind, s: sortKey, c: check(kind, sortKey) });
  const cursor = Buffer.from(payload, 'utf8').toString('base64url');
  if (cursor.length > MaxCursorLength) {
    throw new RangeError(`encodeCursor: expected a cursor of at most ${MaxCursorLength} characters, got ${cursor.length}`);
  }
  return cursor;
}

/**
 * The sort key inside a cursor of `kind`.
 *
 * @throws CursorError when the cursor is longer than MaxCursorLength, is not base64url, does not
 * decode to this module's JSON, has another version, fails its check, or is for another kind.
 */
export function decodeCursor(kind: string, cursor: string): string {
  const expected = 'an opaque cursor from pageInfo or an edge';
  if (cursor.length > MaxCursorLength) {
    throw new CursorError(`a cursor of at most ${MaxCursorLength} characters`, `${cursor.length} characters`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new CursorError(expected, quote(cursor));
  const bytes = Buffer.from(cursor, 'base64url');
  // Node decodes leniently (stray trailing bits, invalid UTF-8): insist on the canonical form.
  const text = bytes.toString('utf8');
  if (bytes.toString('base64url') !== cursor || Buffer.from(text, 'utf8').toString('base64url') !== cursor) {
    throw new CursorError(expected, quote(cursor));
  }
  const payload = parseJson(text);
  if (!isPayload(payload)) throw new CursorError(expected, quote(cursor));
  if (payload.v !== CursorVersion) {
    throw new CursorError(`a cursor of version ${CursorVersion}`, `version ${JSON.stringify(payload.v)}`);
  }
  if (payload.c !== check(payload.k, payload.s)) throw new CursorError(`${expected}, unmodified`, quote(cursor));
  if (payload.k !== kind) throw new CursorError(`a cursor for ${quote(kind)}`, `one for ${quote(payload.k)}`);
  return payload.s;
}

// Private:

/** A cursor's JSON before encoding; one-letter keys keep cursors short on the wire. */
interface Payload {
  /** Cursor format version. */
  readonly v: unknown;
  /** The kind of list the cursor belongs to. */
  readonly k: string;
  /** The sort key of the item the page ended with. */
  readonly s: string;
  /** A check over version, kind and sort key, so a changed cursor is refused. */
  readonly c: string;
}

function check(kind: string, sortKey: string): string {
  return createHash('sha256').update(`${CursorVersion}\0${kind}\0${sortKey}`).digest('hex').slice(0, 8);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isPayload(x: unknown): x is Payload {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  return (
    Object.keys(o).length === 4 &&
    'v' in o &&
    typeof o['k'] === 'string' &&
    typeof o['s'] === 'string' &&
    typeof o['c'] === 'string'
  );
}
