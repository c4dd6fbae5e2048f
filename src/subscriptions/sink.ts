/**
 * What the fan-out needs of a transport: a sink per operation. The WebSocket protocol core
 * (server/ws-protocol.ts) implements it; tests implement it with recording sinks.
 */

/** A `subscribe` message's payload, as the client sent it. */
export interface SubscribePayload {
  readonly query: string;
  readonly operationName?: string | null;
  readonly variables?: Record<string, unknown> | null;
  readonly extensions?: Record<string, unknown> | null;
}

/** What an operation sends through; calls after complete() or after the socket closed are ignored. */
export interface OperationSink {
  readonly id: string;
  /** Send a `next` whose payload is already serialized JSON (shared bytes). */
  nextSerialized(payloadJson: string): void;
  /** Send `error` (the operation ends). */
  error(errors: readonly unknown[]): void;
  /** Send `complete` (the operation ends). */
  complete(): void;
  /** True while fewer than the high-water mark of bytes are waiting in the socket. */
  writable(): boolean;
  /** Run `cb` once the socket drains below the high-water mark (at most once per call). */
  onDrain(cb: () => void): void;
  /**
   * The subscriber stayed too far behind: close its whole socket as too slow (4008 on
   * WebSocket), telling the client `reason`.
   */
  tooSlow(reason: string): void;
}

/** Stops a running operation: the client sent `complete`, or the socket closed. */
export type StopOperation = () => void;
