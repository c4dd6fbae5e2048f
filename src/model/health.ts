/**
 * Service health against a subscriber's threshold: HEALTHY (at least `minReady` ready endpoints
 * and, when given, at least `minReadyFraction` of all), DEGRADED (some ready, fewer than that),
 * NO_READY_ENDPOINTS (none ready, whatever the threshold). A transition is a change of state
 * between two consecutive change sets of a Service, so a burst of flips that stays on one side
 * of the threshold is no transition.
 */
import type { EndpointChangeSet } from './changesets.ts';
import { countEndpoints } from './endpoints.ts';

export type HealthState = 'HEALTHY' | 'DEGRADED' | 'NO_READY_ENDPOINTS';

export interface HealthThreshold {
  readonly minReady: number;
  readonly minReadyFraction: number | null;
}

export interface HealthEvent {
  readonly serviceKey: string;
  readonly namespace: string;
  readonly name: string;
  readonly state: HealthState;
  /** null: the start of a subscription, or a Service that just came into scope. */
  readonly previous: HealthState | null;
  readonly ready: number;
  readonly total: number;
  /** The change set that caused the transition; null at the start. */
  readonly cause: EndpointChangeSet | null;
  readonly at: number;
}

export function healthOf(t: HealthThreshold, counts: { readonly ready: number; readonly total: number }): HealthState {
  if (counts.ready === 0) return 'NO_READY_ENDPOINTS';
  if (counts.ready < t.minReady) return 'DEGRADED';
  if (t.minReadyFraction !== null && counts.ready / counts.total < t.minReadyFraction) return 'DEGRADED';
  return 'HEALTHY';
}

/**
 * The health event a change set causes, or null when the state did not change. `entering`:
 * the Service just came into the subscription's scope (there is no previous state).
 */
export function healthTransition(t: HealthThreshold, cs: EndpointChangeSet, entering: boolean): HealthEvent | null {
  const state = healthOf(t, cs.counts);
  const previous = entering ? null : healthOf(t, countEndpoints(cs.held));
  if (previous === state) return null;
  return { serviceKey: cs.serviceKey, namespace: cs.namespace, name: cs.name, state, previous, ready: cs.counts.ready, total: cs.counts.total, cause: cs, at: cs.at };
}

/** The state of a Service at the start of a subscription. */
export function healthNow(t: HealthThreshold, serviceKey: string, counts: { readonly ready: number; readonly total: number }, at: number): HealthEvent {
  const slash = serviceKey.indexOf('/');
  return { serviceKey, namespace: serviceKey.slice(0, slash), name: serviceKey.slice(slash + 1), state: healthOf(t, counts), previous: null, ready: counts.ready, total: counts.total, cause: null, at };
}
