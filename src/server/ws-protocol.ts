/**
 * The GraphQL over WebSocket protocol (`graphql-transport-ws`, as graphql-ws speaks it), server
 * side. This core never imports a socket library: it needs the small `ProtocolSocket` below,
 * and ws.ts wires a `ws` WebSocket into it.
 *
 * Our own implementation rather than graphql-ws's server, so that a topic's change set is
 * serialized once and the same bytes go to every subscriber (graphql-ws serializes every
 * message per subscriber), and so that every subscriber's queue is bounded. It is tested
 * against graphql-ws's own client.
 */
import type { OperationSink, StopOperation, SubscribePayload } from '../subscriptions/sink.ts';

/** Close codes the server uses. graphql-ws's, plus the standard ones and our own slow-subscriber code. */
export const CloseCode = {
  /** Server shutting down: reconnect elsewhere. */
  GoingAway: 1001,
  /** A message over the size limit (the `ws` library closes with it). */
  MessageTooBig: 1009,
  InternalServerError: 4500,
  /** A message that is not valid protocol: not JSON, unknown type, missing fields. */
  BadRequest: 4400,
  /** `subscribe` before `connection_ack`. */
  Unauthorized: 4401,
  /** Origin not allowed, or the connection_init payload was refused. */
  Forbidden: 4403,
  /** The client did not offer the graphql-transport-ws subprotocol. */
  SubprotocolNotAcceptable: 4406,
  /** No `connection_init` within the init timeout. */
  ConnectionInitialisationTimeout: 4408,
  /** A `subscribe` reused the id of a running operation. */
  SubscriberAlreadyExists: 4409,
  /** A second `connection_init`. */
  TooManyInitialisationRequests: 4429,
  /**
   * A subscriber stayed too far behind (its bounded queue overflowed even after coalescing).
   * graphql-ws clients retry on it; resume with the last cursor to catch up.
   */
  SubscriberTooSlow: 4008,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export const MessageType = {
  ConnectionInit: 'connection_init',
  ConnectionAck: 'connection_ack',
  Ping: 'ping',
  Pong: 'pong',
  Subscribe: 'subscribe',
  Next: 'next',
  Error: 'error',
  Complete: 'complete',
} as const;

export const SubProtocol = 'graphql-transport-ws';

export type { OperationSink, StopOperation, SubscribePayload };

/** What the protocol needs of a socket. */
export interface ProtocolSocket {
  /** Send one text frame; `onSent` runs once it has been written (or failed). */
  send(data: string, onSent: (err?: Error) => void): void;
  close(code: number, reason: string): void;
}

/** What hooks may do to their own connection later (e.g. close it when its token stops validating). */
export interface ConnectionControl {
  close(code: number, reason: string): void;
}

export interface ProtocolHooks {
  /** Accept or refuse a connection_init payload. Return false to close with 4403. */
  onConnect?(payload: Record<string, unknown> | null, control: ConnectionControl): boolean | Promise<boolean>;
  /** The socket closed (either side); the connection's hooks are done. */
  onClosed?(): void;
  /**
   * Start an operation. Return its stop function, or nothing when it completed already (it
   * called sink.error or sink.complete). Must not throw; a throw is answered with 4500.
   */
  onSubscribe(sink: OperationSink, payload: SubscribePayload, connectionParams: Record<string, unknown> | null): StopOperation | void | Promise<StopOperation | void>;
}

export interface ProtocolOptions {
  /** Time a socket has to send connection_init before it is closed with 4408. @default 3_000 // 3 seconds */
  initTimeoutMs?: number;
  /** Concurrent operations per socket; one more is answered with an `error` message (code TOO_MANY_OPERATIONS). @default 100 */
  maxOperations?: number;
  /** Bytes written but not yet flushed above which sink.writable() is false. @default 1_048_576 // 1 MiB */
  highWaterBytes?: number;
}

/** One socket's protocol state. Feed it text messages with `receive`; call `closed` when the socket closes. */
export class Connection {
  private readonly socket: ProtocolSocket;
  private readonly hooks: ProtocolHooks;
  private readonly maxOperations: number;
  private readonly highWaterBytes: number;
  private phase: 'awaiting-init' | 'initialising' | 'acknowledged' | 'closed' = 'awaiting-init';
  private readonly ops = new Map<string, { stop: StopOperation | null; done: boolean }>();
  private connectionParams: Record<string, unknown> | null = null;
  private readonly initTimer: NodeJS.Timeout;
  private inflightBytes = 0;
  private written = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(socket: ProtocolSocket, hooks: ProtocolHooks, opts: ProtocolOptions = {}) {
    this.socket = socket;
    this.hooks = hooks;
    this.maxOperations = opts.maxOperations ?? 100;
    this.highWaterBytes = opts.highWaterBytes ?? 1_048_576;
    this.initTimer = setTimeout(() => {
      if (this.phase === 'awaiting-init' || this.phase === 'initialising') this.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }, opts.initTimeoutMs ?? 3_000);
  }

  get operationCount(): number {
    return this.ops.size;
  }

  /** Frames the socket has taken so far: it grows while the peer reads (the keepalive's sign of life). */
  get framesWritten(): number {
    return this.written;
  }

  /** Handle one text message from the client. Never throws. */
  async receive(data: string): Promise<void> {
    if (this.phase === 'closed') return;
    let msg: any;
    try {
      msg = JSON.parse(data);
    } catch {
      return this.close(CloseCode.BadRequest, 'Invalid message received: expected JSON');
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') {
      return this.close(CloseCode.BadRequest, 'Invalid message received: expected an object with a string "type"');
    }
    switch (msg.type) {
      case MessageType.ConnectionInit:
        return this.onInit(msg.payload);
      case MessageType.Ping:
        this.sendRaw(msg.payload !== undefined ? JSON.stringify({ type: 'pong', payload: msg.payload }) : '{"type":"pong"}');
        return;
      case MessageType.Pong:
        return;
      case MessageType.Subscribe:
        return this.onSubscribe(msg);
      case MessageType.Complete: {
        if (typeof msg.id !== 'string' || msg.id === '') return this.close(CloseCode.BadRequest, 'Invalid message received: "complete" needs a string "id"');
        const op = this.ops.get(msg.id);
        if (op) {
          this.ops.delete(msg.id);
          op.done = true;
          op.stop?.();
        }
        return;
      }
      default:
        return this.close(CloseCode.BadRequest, `Invalid message received: unknown type ${JSON.stringify(String(msg.type).slice(0, 40))}`);
    }
  }

  /** The socket closed (either side): stop every operation. */
  closed(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.initTimer);
    for (const op of this.ops.values()) {
      op.done = true;
      try {
        op.stop?.();
      } catch {}
    }
    this.ops.clear();
    this.drainWaiters = [];
    try {
      this.hooks.onClosed?.();
    } catch {}
  }

  /** Close the socket with a code, stopping every operation. */
  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.socket.close(code, reason);
    this.closed();
  }

  // Private:

  private async onInit(payload: unknown): Promise<void> {
    if (this.phase !== 'awaiting-init') return this.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
    if (payload !== undefined && payload !== null && (typeof payload !== 'object' || Array.isArray(payload))) {
      return this.close(CloseCode.BadRequest, 'Invalid message received: connection_init payload must be an object');
    }
    this.phase = 'initialising';
    this.connectionParams = (payload as Record<string, unknown>) ?? null;
    let ok = true;
    try {
      ok = (await this.hooks.onConnect?.(this.connectionParams, { close: (code, reason) => this.close(code, reason) })) ?? true;
    } catch {
      ok = false;
    }
    if ((this.phase as string) === 'closed') return;
    if (!ok) return this.close(CloseCode.Forbidden, 'Forbidden');
    this.phase = 'acknowledged';
    clearTimeout(this.initTimer);
    this.sendRaw('{"type":"connection_ack"}');
  }

  private async onSubscribe(msg: any): Promise<void> {
    if (typeof msg.id !== 'string' || msg.id === '' || msg.id.length > 256) {
      return this.close(CloseCode.BadRequest, 'Invalid message received: "subscribe" needs a string "id" of 1 to 256 characters');
    }
    const p = msg.payload;
    if (!p || typeof p !== 'object' || typeof p.query !== 'string') {
      return this.close(CloseCode.BadRequest, 'Invalid message received: "subscribe" payload needs a string "query"');
    }
    if (this.phase !== 'acknowledged') return this.close(CloseCode.Unauthorized, 'Unauthorized');
    const id: string = msg.id;
    if (this.ops.has(id)) return this.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
    if (this.ops.size >= this.maxOperations) {
      this.sendRaw(
        JSON.stringify({
          id,
          type: 'error',
          payload: [{ message: `operations per socket: expected at most ${this.maxOperations}, got one more`, extensions: { code: 'TOO_MANY_OPERATIONS' } }],
        }),
      );
      return;
    }
    const op = { stop: null as StopOperation | null, done: false };
    this.ops.set(id, op);
    const sink = this.sinkFor(id, op);
    try {
      const stop = await this.hooks.onSubscribe(sink, {
        query: p.query,
        operationName: typeof p.operationName === 'string' ? p.operationName : null,
        variables: p.variables && typeof p.variables === 'object' && !Array.isArray(p.variables) ? p.variables : null,
        extensions: p.extensions && typeof p.extensions === 'object' ? p.extensions : null,
      }, this.connectionParams);
      if (op.done) {
        stop?.();
        return;
      }
      op.stop = stop ?? null;
    } catch {
      this.close(CloseCode.InternalServerError, 'Internal server error');
    }
  }

  private sinkFor(id: string, op: { stop: StopOperation | null; done: boolean }): OperationSink {
    const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    const end = () => {
      op.done = true;
      if (this.ops.get(id) === op) this.ops.delete(id);
    };
    return {
      id,
      nextSerialized: (payloadJson) => {
        if (!op.done) this.sendRaw(prefix + payloadJson + '}');
      },
      error: (errors) => {
        if (op.done) return;
        end();
        this.sendRaw(JSON.stringify({ id, type: 'error', payload: errors }));
      },
      complete: () => {
        if (op.done) return;
        end();
        this.sendRaw(JSON.stringify({ id, type: 'complete' }));
      },
      writable: () => this.inflightBytes < this.highWaterBytes,
      onDrain: (cb) => {
        if (this.inflightBytes < this.highWaterBytes) queueMicrotask(cb);
        else this.drainWaiters.push(cb);
      },
      tooSlow: (reason) => this.close(CloseCode.SubscriberTooSlow, reason),
    };
  }

  private sendRaw(data: string): void {
    if (this.phase === 'closed') return;
    const n = data.length;
    this.inflightBytes += n;
    this.socket.send(data, () => {
      this.inflightBytes -= n;
      this.written++;
      if (this.inflightBytes < this.highWaterBytes && this.drainWaiters.length > 0) {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const w of waiters) w();
      }
    });
  }
}
