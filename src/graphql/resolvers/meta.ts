/** ObjectMeta (records' `metadata`, namespace null for cluster-scoped objects): labels and annotations as sorted key/value lists. */
import type { ObjectMetaResolvers } from '../generated/resolvers-types.ts';
import { compareStrings } from '../pagination.ts';

export const ObjectMeta: ObjectMetaResolvers = {
  labels: (m) => keyValues(m.labels),
  label: (m, { key }) => valueOf(m.labels, key),
  annotations: (m) => keyValues(m.annotations),
  annotation: (m, { key }) => valueOf(m.annotations, key),
};

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/** A string map as a list of pairs sorted by key (code-unit order). */
export function keyValues(map: Readonly<Record<string, string>>): readonly KeyValue[] {
  return Object.keys(map)
    .sort(compareStrings)
    .map((key) => ({ key, value: map[key]! }));
}

// Private:

function valueOf(map: Readonly<Record<string, string>>, key: string): string | null {
  return Object.hasOwn(map, key) ? map[key]! : null;
}
