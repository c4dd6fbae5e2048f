/** Small helpers for the authentication and authorization specs. */
import type { ReviewObserver } from '../../src/auth/reviews.ts';

/** A clock tests advance by hand. */
export function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Every decision as `kind outcome` plus ` cached` when no review was sent. */
export function recorder(): ReviewObserver & { seen: string[] } {
  const seen: string[] = [];
  return { seen, onDecision: (kind, outcome, cached) => void seen.push(`${kind} ${outcome}${cached ? ' cached' : ''}`) };
}
