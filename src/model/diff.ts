/**
 * What changed in a Service's endpoints between two merged views: the unit of endpoint churn
 * that subscriptions publish.
 */

import { sameEndpoint } from './endpoints.ts';
import type { MergedEndpoint, ServiceEndpoints } from './endpoints.ts';
import { compareAddresses } from './address.ts';

export interface EndpointChange {
  readonly before: MergedEndpoint;
  readonly after: MergedEndpoint;
}

/** Keyed by address; each list sorted by address; frozen. */
export interface EndpointDiff {
  readonly added: readonly MergedEndpoint[];
  readonly removed: readonly MergedEndpoint[];
  readonly changed: readonly EndpointChange[];
}

/** The diff with nothing in it. */
export const EmptyDiff: EndpointDiff = Object.freeze({
  added: Object.freeze([]),
  removed: Object.freeze([]),
  changed: Object.freeze([]),
});

/**
 * The endpoints added, removed and changed from `before` to `after`, keyed by address. `null`
 * stands for a Service with no slices (not created yet, or deleted): every endpoint is added
 * or removed. An address is "changed" when any served field differs (conditions, ports,
 * nodeName, zone, hints, hostname, targetRef, addressType; see `sameEndpoint`); a move
 * between slices, which changes only `slices`, is not a change.
 *
 * Expects both views as `mergeServiceEndpoints` returns them, sorted by address.
 */
export function diffEndpoints(before: ServiceEndpoints | null, after: ServiceEndpoints | null): EndpointDiff {
  const old = before?.endpoints ?? [];
  const now = after?.endpoints ?? [];
  const added: MergedEndpoint[] = [];
  const removed: MergedEndpoint[] = [];
  const changed: EndpointChange[] = [];
  // A merge walk over two lists sorted by address.
  let i = 0;
  let j = 0;
  while (i < old.length || j < now.length) {
    const a = old[i];
    const b = now[j];
    const order = a === undefined ? 1 : b === undefined ? -1 : compareAddresses(a.address, b.address);
    if (order < 0) {
      removed.push(a!);
      i++;
    } else if (order > 0) {
      added.push(b!);
      j++;
    } else {
      if (!sameEndpoint(a!, b!)) changed.push(Object.freeze({ before: a!, after: b! }));
      i++;
      j++;
    }
  }
  if (added.length === 0 && removed.length === 0 && changed.length === 0) return EmptyDiff;
  return Object.freeze({
    added: Object.freeze(added),
    removed: Object.freeze(removed),
    changed: Object.freeze(changed),
  });
}

/** Whether the diff has nothing to publish. */
export function isEmptyDiff(diff: EndpointDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}
