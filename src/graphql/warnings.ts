/**
 * Warnings: notes that travel with an answer, in `extensions.warnings`, when the answer may be
 * emptier than the cluster is. An error would null the field; a warning keeps the data and
 * says how far to trust it, so that a tool can tell "none" from "don't know".
 *
 * The loaders note what an operation read (see loaders.ts); each warning is added once per
 * operation (per event for subscriptions) and listed in the order first noted.
 *
 * | code                  | when                                                                   |
 * |-----------------------|------------------------------------------------------------------------|
 * | KIND_NOT_SYNCED       | the answer read a kind whose watch has not listed once yet             |
 * | KIND_NOT_WATCHED      | the answer read a kind the gateway does not watch (Nodes with --no-nodes) |
 * | NAMESPACE_NOT_WATCHED | the operation names a namespace outside `--namespaces`                 |
 * | NAMESPACES_HIDDEN     | a list across namespaces covers only those the caller may list         |
 */
import type { FormattedExecutionResult } from 'graphql';
import type { Kind } from '../kube/records.ts';

export const WarningCode = {
  KIND_NOT_SYNCED: 'KIND_NOT_SYNCED',
  KIND_NOT_WATCHED: 'KIND_NOT_WATCHED',
  NAMESPACE_NOT_WATCHED: 'NAMESPACE_NOT_WATCHED',
  NAMESPACES_HIDDEN: 'NAMESPACES_HIDDEN',
  HISTORY_TRUNCATED: 'HISTORY_TRUNCATED',
} as const;
export type WarningCode = (typeof WarningCode)[keyof typeof WarningCode];

/** One entry of `extensions.warnings`. */
export interface Warning {
  readonly code: WarningCode;
  readonly message: string;
  readonly kind?: Kind;
  readonly namespace?: string;
  readonly resource?: string;
}

/** The warnings of one operation (or one subscription event). */
export class Warnings {
  private readonly byKey = new Map<string, Warning>();

  add(warning: Warning): void {
    const key = `${warning.code}\0${warning.kind ?? ''}\0${warning.namespace ?? ''}\0${warning.resource ?? ''}`;
    if (!this.byKey.has(key)) this.byKey.set(key, Object.freeze(warning));
  }

  get size(): number {
    return this.byKey.size;
  }

  list(): readonly Warning[] {
    return [...this.byKey.values()];
  }
}

/** `result` with `extensions.warnings` set from the operation context's warnings (unchanged when there are none). */
export function withWarnings(result: FormattedExecutionResult, contextValue: unknown): FormattedExecutionResult {
  const warnings = warningsOf(contextValue);
  if (warnings === null || warnings.size === 0) return result;
  return { ...result, extensions: { ...result.extensions, warnings: warnings.list() } };
}

/** The warnings a context carries (a GatewayContext's), or null. */
export function warningsOf(contextValue: unknown): Warnings | null {
  const w = (contextValue as { warnings?: unknown } | null)?.warnings;
  return w instanceof Warnings ? w : null;
}

export function kindNotSynced(kind: Kind): Warning {
  return { code: WarningCode.KIND_NOT_SYNCED, kind, message: `${kind}: expected a synced watch, got one that has not listed yet (the answer may miss objects; see cluster.kinds)` };
}

export function kindNotWatched(kind: Kind): Warning {
  return { code: WarningCode.KIND_NOT_WATCHED, kind, message: `${kind}: expected a watched kind, got one this gateway does not watch (started without it, or not allowed to read it): the answer has none` };
}

export function namespaceNotWatched(namespace: string, watched: readonly string[]): Warning {
  return {
    code: WarningCode.NAMESPACE_NOT_WATCHED,
    namespace,
    message: `namespace: expected one of the watched namespaces ${JSON.stringify(watched)}, got ${JSON.stringify(namespace)} (the gateway knows nothing there)`,
  };
}

export function historyTruncated(retainedSince: number): Warning {
  return {
    code: WarningCode.HISTORY_TRUNCATED,
    message: `history: expected a range the history retains, got one reaching change sets it dropped: it is complete only from ${new Date(retainedSince).toISOString()} (--history-window, --history-max)`,
  };
}

export function namespacesHidden(resource: string, verb: string): Warning {
  return {
    code: WarningCode.NAMESPACES_HIDDEN,
    resource,
    message: `${resource}: expected permission to ${verb} ${resource} cluster-wide, got it only in some namespaces: the answer covers those alone`,
  };
}
