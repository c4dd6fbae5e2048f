/** Small helpers the type files share. */
import { namespacedKey, type ObjectRef } from '../../kube/records.ts';
import type { MergedEndpoint } from '../../model/endpoints.ts';

/**
 * The values `DataLoader.loadMany` found, in order, without absences. Batch functions never
 * fail per key, so an Error here is a bug: rethrown rather than hidden.
 */
export function present<T>(values: readonly (T | null | Error)[]): T[] {
  const out: T[] = [];
  for (const v of values) {
    if (v instanceof Error) throw v;
    if (v !== null) out.push(v);
  }
  return out;
}

/**
 * The store key (`namespace/name`) of a targetRef's Pod; `namespace` is the slice's, for a
 * ref that names none. A ref naming another namespace is one the slice keeps (slice-pack.ts):
 * its key is made once and kept while the ref lives, since the store hashes a key string once
 * and a kept key is looked up for the price of a compare. A Pod ref in the slice's namespace is
 * built on each read, so its key is made fresh (a cache keyed by it would never hit).
 */
export function podKeyOf(ref: ObjectRef, namespace: string): string {
  // Flat (namespacedKey): a key that is kept and compared would otherwise keep a rope beside its flattened copy.
  if (ref.namespace === '' || ref.namespace === namespace) return namespacedKey(namespace, ref.name);
  let key = PodKeys.get(ref);
  if (key === undefined) {
    key = namespacedKey(ref.namespace, ref.name);
    PodKeys.set(ref, key);
  }
  return key;
}

/**
 * The store key of a merged endpoint's Pod (`podKeyOf` its targetRef), or null when its
 * targetRef names no Pod; `namespace` is its Service's. Made once per merged endpoint and kept
 * while it lives, for the reason `podKeyOf` keeps one per ref: the endpoint's targetRef is built
 * on each read (model/endpoints.ts), so the key is kept by the endpoint instead.
 */
export function endpointPodKey(endpoint: MergedEndpoint, namespace: string): string | null {
  let key = EndpointPodKeys.get(endpoint);
  if (key === undefined) {
    const ref = endpoint.targetRef;
    key = ref?.kind === 'Pod' ? podKeyOf(ref, namespace) : null;
    EndpointPodKeys.set(endpoint, key);
  }
  return key;
}

// Private:

const PodKeys = new WeakMap<ObjectRef, string>();
const EndpointPodKeys = new WeakMap<MergedEndpoint, string | null>();
