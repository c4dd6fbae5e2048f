/**
 * Full-string regular expression matches for route rules (HTTPRoute paths, headers and query
 * parameters; GRPCRoute services and methods), in linear time.
 *
 * The patterns come from the cluster and the values from callers (`trace` takes any path and
 * header values), so a pattern with nested repetition (`(a+)+`) run by a backtracking engine
 * would let one request take seconds or hours of CPU. Patterns run on V8's linear-time engine
 * (the `l` flag), which refuses what it cannot run in linear time: backreferences, lookaround,
 * counted repetition above a few hundred. Such a pattern matches nothing, like an invalid one.
 * Data planes commonly run RE2, which refuses the same features, so a route that works there
 * is matched here.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--enable-experimental-regexp-engine');
try {
  new RegExp('a', 'l');
} catch (err) {
  throw new Error(`regex: expected V8's linear-time regular expression engine (the "l" flag) on Node ${process.versions.node}, got ${String(err)}`);
}

/** Compiled patterns kept; past this many distinct patterns the cache starts over. */
export const MaxCachedPatterns = 1024;

/** Whether `value` matches `pattern` (JavaScript syntax) in full; an invalid pattern, or one that cannot run in linear time, matches nothing. */
export function regexFull(pattern: string, value: string): boolean {
  return compiled(pattern)?.test(value) ?? false;
}

// Private:

const cache = new Map<string, RegExp | null>();

function compiled(pattern: string): RegExp | null {
  let re = cache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${pattern})$`, 'l');
    } catch {
      re = null;
    }
    if (cache.size >= MaxCachedPatterns) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}
