/** Small string helpers shared by the model modules. */

/** Code-unit order (not locale order): the order every sorted list in the model uses. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Longest part of an input echoed in an error message, in UTF-16 code units. */
export const MaxEchoLength = 40;

/**
 * How an error message shows what arrived: JSON-quoted, cut at MaxEchoLength so that a huge
 * input is never echoed whole, e.g. `"aaaa"… (64 characters)`.
 */
export function quote(s: string): string {
  return s.length <= MaxEchoLength
    ? JSON.stringify(s)
    : `${JSON.stringify(s.slice(0, MaxEchoLength))}… (${s.length} characters)`;
}
