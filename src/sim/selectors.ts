/**
 * `labelSelector` and `fieldSelector` query parameters, as the API server parses them, for the
 * simulator's lists and watches.
 *
 * Label selectors: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, joined by
 * commas (no `>`/`<`). Field selectors: `path=v`, `path==v`, `path!=v`, joined by commas, on the
 * fields the real API server supports for the kind (`metadata.name` and `metadata.namespace`
 * everywhere, plus a few per kind); others are rejected as the real server does.
 */
import type { KubeObject, StringMap } from './types.ts';

/** Accepts or rejects an object. */
export type ObjectPredicate = (object: KubeObject) => boolean;

/** A bad selector; `message` says what was expected and what arrived. */
export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/**
 * Parses a label selector; '' selects everything.
 * @throws SelectorError on bad syntax.
 */
export function parseLabelSelector(selector: string): ObjectPredicate {
  const requirements = splitTopLevel(selector).map(parseRequirement);
  if (requirements.length === 0) return () => true;
  return (object) => {
    const labels = object.metadata.labels ?? {};
    return requirements.every((r) => r(labels));
  };
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
 * @throws SelectorError on bad syntax or a field the kind does not support
 * (`field label not supported: x`, the real server's words).
 */
export function parseFieldSelector(selector: string, kind: string): ObjectPredicate {
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(SelectableFields[kind] ?? [])]);
  const terms = splitTopLevel(selector).map((term) => {
    const match = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (match === null) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, path = '', op, value = ''] = match;
    if (!allowed.has(path)) throw new SelectorError(`field label not supported: ${path}`);
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

/** Splits on commas outside parentheses; drops empty parts. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const Key = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const Value = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;

function parseRequirement(term: string): (labels: StringMap) => boolean {
  let m = new RegExp(`^!\\s*(${Key})$`).exec(term);
  if (m !== null) {
    const key = m[1] as string;
    return (labels) => labels[key] === undefined;
  }
  m = new RegExp(`^(${Key})$`).exec(term);
  if (m !== null) {
    const key = m[1] as string;
    return (labels) => labels[key] !== undefined;
  }
  m = new RegExp(`^(${Key})\\s*(==|=|!=)\\s*(${Value})$`).exec(term);
  if (m !== null) {
    const key = m[1] as string;
    const op = m[3];
    const value = m[4] ?? '';
    return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  m = new RegExp(`^(${Key})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(term);
  if (m !== null) {
    const key = m[1] as string;
    const values = new Set((m[4] ?? '').split(',').map((v) => v.trim()));
    return m[3] === 'in'
      ? (labels) => labels[key] !== undefined && values.has(labels[key])
      : (labels) => labels[key] === undefined || !values.has(labels[key]);
  }
  throw new SelectorError(
    `unable to parse requirement: expected "key", "!key", "key=value", "key!=value", "key in (a,b)" or "key notin (a,b)", but got: ${JSON.stringify(term)}`,
  );
}

function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return path === 'spec.unschedulable' || path === 'spec.hostNetwork' ? 'false' : '';
  return String(value);
}
