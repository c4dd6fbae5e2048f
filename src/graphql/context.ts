/**
 * The per-operation context every resolver receives: fresh loaders (so that one operation sees
 * one consistent set of answers and nothing is cached across operations), the limits the
 * resolvers enforce, and the clock.
 */
import { createLoaders, type BatchHook, type LoaderSources, type Loaders } from './loaders.ts';
import { DefaultLimits, type Limits } from './limits.ts';

export interface GatewayContext {
  /** The only way to data. */
  readonly loaders: Loaders;
  /** Page sizes (and the limits the validation rules enforced before execution). */
  readonly limits: Limits;
  /** Milliseconds since the epoch; fixed per operation so that ages agree within one answer. */
  readonly now: number;
}

export type GatewaySources = LoaderSources;

export interface ContextOptions {
  /** @default DefaultLimits */
  readonly limits?: Limits;
  /** Observe every loader batch (tests, metrics). */
  readonly onBatch?: BatchHook;
  /** The clock. @default Date.now */
  readonly clock?: () => number;
}

/**
 * A context for one operation over HTTP, or one event of a subscription over WebSocket (a
 * graphql-ws context lives as long as the subscription; loaders must not).
 */
export function createContext(sources: GatewaySources, options: ContextOptions = {}): GatewayContext {
  return {
    loaders: createLoaders(sources, { onBatch: options.onBatch }),
    limits: options.limits ?? DefaultLimits,
    now: (options.clock ?? Date.now)(),
  };
}
