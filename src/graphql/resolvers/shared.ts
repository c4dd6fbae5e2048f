/** Small helpers the type files share. */

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
