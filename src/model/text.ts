/** Small string helpers shared by the model modules. */

/** Code-unit order (not locale order): the order every sorted list in the model uses. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Order of two rank tuples of the same shape, position by position: numbers ascending, strings
 * by compareStrings (how the route matchers order candidates by precedence).
 */
export function compareRanks(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const c = typeof x === 'number' ? x - (y as number) : compareStrings(x, y as string);
    if (c !== 0) return c;
  }
  return 0;
}

/** Longest part of an input echoed in an error message, in UTF-16 code units. */
export const MaxEchoLength = 40;

/**
 * How an error message shows what arrived: a string JSON-quoted, anything else as written; cut
 * at MaxEchoLength so that a huge input is never echoed whole, e.g. `"aaaa"… (64 characters)`.
 */
export function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  const q = (x: string) => (typeof value === 'string' ? JSON.stringify(x) : x);
  return s.length <= MaxEchoLength ? q(s) : `${q(s.slice(0, MaxEchoLength))}… (${s.length} characters)`;
}

/** Whether two string lists are equal, item by item. */
export function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Milliseconds since the epoch as RFC 3339 (UTC, milliseconds), the form every time in an answer takes; null for null or a non-finite value. */
export function rfc3339(ms: number | null): string | null {
  return ms !== null && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** Units of `parseDuration`, in ms. */
const DurationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as Go and kubectl write it, in ms: one or more `<number><unit>` with units `ms`,
 * `s`, `m`, `h` (`90s`, `5m`, `1h30m`, `1.5s`). Null when `text` is not one.
 */
export function parseDuration(text: string): number | null {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * DurationUnits[m[2]!]!;
  return Math.round(ms);
}
