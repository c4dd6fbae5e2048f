/**
 * `labelSelector` and `fieldSelector` query parameters, as the API server parses them, for the
 * simulator's lists and watches.
 *
 * Label selectors are the product's own parser and matcher (src/model/selector.ts), so the
 * demo accepts and refuses exactly what the gateway does. Field selectors: `path=v`, `path==v`,
 * `path!=v`, joined by commas, on the fields the real API server supports for the kind
 * (`metadata.name` and `metadata.namespace` everywhere, plus a few per kind); others are
 * rejected as the real server does.
 */
import { matches, parseSelector, SelectorError } from '../../src/model/selector.ts';
import type { KubeObject } from './types.ts';

/** Accepts or rejects an object. */
export type ObjectPredicate = (object: KubeObject) => boolean;

/** A bad field selector; `message` is the real server's words. */
export class FieldSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldSelectorError';
  }
}

/** Whether `error` is a bad label or field selector (answered 400). */
export function isSelectorError(error: unknown): error is SelectorError | FieldSelectorError {
  return error instanceof SelectorError || error instanceof FieldSelectorError;
}

/**
 * Parses a label selector; '' selects everything.
 * @throws SelectorError on bad syntax.
 */
export function parseLabelSelector(selector: string): ObjectPredicate {
  const parsed = parseSelector(selector);
  return (object) => matches(parsed, object.metadata.labels ?? {});
}

/** Fields each kind may be selected on (apart from metadata.name and metadata.namespace). */
export const SelectableFields: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Node: ['spec.unschedulable'],
  Service: ['spec.clusterIP', 'spec.type'],
  EndpointSlice: ['addressType'],
  Namespace: ['status.phase'],
  Deployment: [],
};

/**
 * Parses a field selector for a kind; '' selects everything.
 * @throws FieldSelectorError on bad syntax or a field the kind does not support
 * (`field label not supported: x`, the real server's words).
 */
export function parseFieldSelector(selector: string, kind: string): ObjectPredicate {
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(SelectableFields[kind] ?? [])]);
  const terms = selector.split(',').map((term) => term.trim()).filter((term) => term !== '').map((term) => {
    const match = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (match === null) throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, path = '', op, value = ''] = match;
    if (!allowed.has(path)) throw new FieldSelectorError(`field label not supported: ${path}`);
    const negate = op === '!=';
    return (object: KubeObject): boolean => (fieldValue(object, path) === value) !== negate;
  });
  if (terms.length === 0) return () => true;
  return (object) => terms.every((t) => t(object));
}

/** Both selectors at once; undefined when both are empty (nothing to filter). */
export function parseSelectors(labelSelector: string, fieldSelector: string, kind: string): ObjectPredicate | undefined {
  if (labelSelector.trim() === '' && fieldSelector.trim() === '') return undefined;
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(fieldSelector, kind);
  return (object) => labels(object) && fields(object);
}

// Private:

function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return path === 'spec.unschedulable' || path === 'spec.hostNetwork' ? 'false' : '';
  return String(value);
}
