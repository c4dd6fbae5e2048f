/**
 * The per-operation context every resolver receives: the caller's access, fresh loaders that
 * answer only what it may see (so that one operation sees one consistent set of answers and
 * nothing is cached across operations), the limits the resolvers enforce, and the clock.
 */
import { OpenAccess, type Access, type Verb } from '../auth/access.ts';
import { createLoaders, type BatchHook, type LoaderSources, type Loaders } from './loaders.ts';
import { DefaultLimits, type Limits } from './limits.ts';
import { Warnings } from './warnings.ts';
import type { EndpointHistory } from '../model/history.ts';

export interface GatewayContext {
  /** Who is calling and what they may see (OpenAccess when authorization is off). */
  readonly access: Access;
  /** The verb the loaders ask `access` about: `list` for queries, `watch` for subscription events. */
  readonly verb: Verb;
  /** The only way to data, filtered through `access`. */
  readonly loaders: Loaders;
  /** Page sizes (and the limits the validation rules enforced before execution). */
  readonly limits: Limits;
  /** Milliseconds since the epoch; fixed per operation so that ages agree within one answer. */
  readonly now: number;
  /** What the loaders noted that may make the answer emptier than the cluster: sent as `extensions.warnings`. */
  readonly warnings: Warnings;
  /** The endpoint history (change sets, observed times, churn); null where none is kept (fixtures). */
  readonly history: EndpointHistory | null;
}

export interface GatewaySources extends LoaderSources {
  /** @default null // no history: history fields answer HISTORY_NOT_KEPT */
  readonly history?: EndpointHistory | null;
}

export interface ContextOptions {
  /** @default DefaultLimits */
  readonly limits?: Limits;
  /** Observe every loader batch (tests, metrics). */
  readonly onBatch?: BatchHook;
  /** The clock. @default Date.now */
  readonly clock?: () => number;
  /** The caller: the loaders answer only what it may `verb`. @default OpenAccess (everything, no questions) */
  readonly access?: Access;
  /** `list` for queries; subscriptions pass `watch` for the contexts of their events. @default 'list' */
  readonly verb?: Verb;
}

/**
 * A context for one query (over HTTP or WebSocket), or one event of a subscription: the
 * fan-out makes one per rendered event, so loaders never outlive what they answer.
 */
export function createContext(sources: GatewaySources, options: ContextOptions = {}): GatewayContext {
  const access = options.access ?? OpenAccess;
  const verb = options.verb ?? 'list';
  const warnings = new Warnings();
  return {
    access,
    verb,
    warnings,
    loaders: createLoaders(sources, { onBatch: options.onBatch, access, verb, warnings }),
    limits: options.limits ?? DefaultLimits,
    now: (options.clock ?? Date.now)(),
    history: sources.history ?? null,
  };
}
