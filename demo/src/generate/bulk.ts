/**
 * Realistic bulk that ingest has to strip: managedFields entries shaped like the objects they
 * describe, and image digests.
 */
import type { ManagedFieldsEntryJson } from '../types.ts';

/** A managedFields entry whose fieldsV1 mirrors the given object's shape. */
export function managed(manager: string, operation: 'Update' | 'Apply', apiVersion: string, time: string, fields: unknown, subresource?: string): ManagedFieldsEntryJson {
  return {
    manager,
    operation,
    apiVersion,
    time,
    fieldsType: 'FieldsV1',
    fieldsV1: fieldsV1(fields),
    ...(subresource !== undefined ? { subresource } : {}),
  };
}

/** The FieldsV1 shape of a value: `f:<field>` per key, `k:{...}` per keyed list item, `{}` at leaves. */
export function fieldsV1(value: unknown): unknown {
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const item of value) {
      if (item !== null && typeof item === 'object') {
        const record = item as Record<string, unknown>;
        const keyField = ['name', 'type', 'ip', 'uid', 'key', 'containerPort'].find((k) => record[k] !== undefined);
        if (keyField !== undefined) {
          out[`k:${JSON.stringify({ [keyField]: record[keyField] })}`] = { '.': {}, ...(fieldsV1(item) as object) };
          continue;
        }
      }
      out['.'] = {};
    }
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[`f:${k}`] = fieldsV1(v);
    return out;
  }
  return {};
}

export function fakeDigest(s: string): string {
  let hex = '';
  let h = 0x811c9dc5;
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    hex += h.toString(16).padStart(8, '0');
  }
  return hex;
}
