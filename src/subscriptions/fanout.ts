/**
 * Subscription fan-out: one watch feeds everyone.
 *
 * Subscribers whose operation is identical (same document, operation name and variables) share
 * a topic. For every change the topic's change set is computed once, executed once against the
 * schema (with loaders made for that event), serialized once, and the same bytes go to every
 * subscriber of the topic. Only snapshots, replays and coalesced catch-ups are executed per
 * subscriber.
 *
 * Every subscriber has a bounded queue. While its socket is writable, frames go straight out;
 * behind that, change sets queue; past `maxQueue` they are coalesced to the latest state per
 * Service (and so per endpoint); if the queue still holds more than `maxQueue` distinct
 * Services, the socket is closed with SubscriberTooSlow (4008).
 */
import { execute, getOperationAST, GraphQLError, parse, validate, specifiedRules, type DocumentNode, type GraphQLSchema, type ValidationRule, type ExecutionResult } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
import { CursorError, decodeCursor } from '../model/cursor.ts';
import type { EndpointFeed, FeedBatch, EndpointsChange } from '../model/endpoint-feed.ts';
import { matches as matchesSel, parseSelector, SelectorError } from '../model/selector.ts';
import type { ClusterCache } from '../kube/cache.ts';
import type { AnyRecord, Kind } from '../kube/records.ts';
import { objectKey } from '../kube/records.ts';
import type { StoreBatch } from '../kube/store.ts';
import { CloseCode, type OperationSink, type StopOperation, type SubscribePayload } from '../server/ws-protocol.ts';
import { changeSetOf, coalesce, CursorKind, serviceInScope, snapshotOf, type EndpointChangeSet, type EndpointFilter } from './changesets.ts';
import { errorText, type Logger } from '../log.ts';

export interface FanoutOptions {
  schema: GraphQLSchema;
  cache: ClusterCache;
  feed: EndpointFeed;
  /** A fresh GraphQL context (with its own loaders) for one event. */
  createContext: () => unknown;
  /** Extra validation rules (the same limits as HTTP). */
  validationRules: readonly ValidationRule[];
  maxTokens: number;
  introspection: boolean;
  /** Change sets queued per subscriber before coalescing, and distinct Services before closing. @default 1000 */
  maxQueue?: number;
  /** Feed changes kept for resuming from a cursor. @default 10_000 // changes */
  historySize?: number;
  /** Called for each frame handed to a socket, with the change's age in ms (for metrics and benchmarks). */
  onDelivered?: (delayMs: number) => void;
  /** Called when a slow subscriber is closed. */
  onSlowSubscriber?: () => void;
  logger: Logger;
}

export type ObjectEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What Service, Pod and Node change subscribers receive. */
export interface ObjectEvent {
  readonly type: ObjectEventType;
  readonly kind: Kind;
  readonly object: AnyRecord;
  readonly old: AnyRecord | null;
  /** The event comes from a relist. */
  readonly resync: boolean;
  readonly at: number;
}

/** Root fields served by the fan-out, by the kind of source they read. */
const ObjectRootFields: Readonly<Record<string, Kind>> = { serviceChanges: 'Service', podChanges: 'Pod', nodeChanges: 'Node' };

export class Fanout {
  private readonly o: FanoutOptions;
  private readonly maxQueue: number;
  private readonly historySize: number;
  private readonly topics = new Map<string, Topic>();
  private readonly history: EndpointsChange[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private readonly rules: readonly ValidationRule[];
  private chain: Promise<void> = Promise.resolve();
  /** Frames handed to sockets, shared or not. */
  delivered = 0;
  /** Executions (one per topic per change, plus per-subscriber snapshots). */
  executions = 0;

  constructor(o: FanoutOptions) {
    this.o = o;
    this.maxQueue = o.maxQueue ?? 1000;
    this.historySize = o.historySize ?? 10_000;
    this.rules = [...specifiedRules, ...o.validationRules];
  }

  start(): void {
    this.unsubscribe.push(this.o.feed.subscribe((b) => this.onFeed(b)));
    for (const kind of ['Service', 'Pod', 'Node'] as const) {
      this.unsubscribe.push(this.o.cache.storeOf(kind).subscribe((b) => this.onStore(kind, b as StoreBatch<AnyRecord>)));
    }
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  get subscriberCount(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.subscribers.size;
    return n;
  }

  get topicCount(): number {
    return this.topics.size;
  }

  /**
   * Start one operation from a graphql-ws `subscribe`. Errors in the document or arguments
   * are answered with an `error` message (coded), never a thrown exception.
   */
  subscribe(sink: OperationSink, payload: SubscribePayload): StopOperation | void {
    let document: DocumentNode;
    try {
      document = parse(payload.query, { maxTokens: this.o.maxTokens });
    } catch (err) {
      return sink.error([coded(err, 'GRAPHQL_PARSE_FAILED')]);
    }
    const errors = validate(this.o.schema, document, this.rules as ValidationRule[]);
    if (errors.length > 0) return sink.error(errors.map((e) => coded(e, (e.extensions?.code as string) ?? 'GRAPHQL_VALIDATION_FAILED')));
    if (!this.o.introspection && /__schema|__type\b/.test(payload.query)) {
      return sink.error([{ message: 'introspection: expected it to be enabled, got it disabled by configuration', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }]);
    }
    const op = getOperationAST(document, payload.operationName ?? undefined);
    if (!op) {
      return sink.error([{ message: `operationName: expected one of the document's operations, got ${JSON.stringify(payload.operationName ?? null)}`, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }]);
    }
    const variables = payload.variables ?? {};
    if (op.operation !== 'subscription') {
      // Queries over the socket: execute once, then complete.
      void this.executeOnce(document, payload, variables).then((r) => {
        sink.nextSerialized(JSON.stringify(r));
        sink.complete();
      });
      return () => {};
    }
    const sel = op.selectionSet.selections[0];
    if (!sel || sel.kind !== 'Field' || op.selectionSet.selections.length !== 1) {
      return sink.error([{ message: 'subscription: expected exactly one root field, got ' + op.selectionSet.selections.length, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }]);
    }
    const rootField = sel.name.value;
    const fieldDef = this.o.schema.getSubscriptionType()!.getFields()[rootField]!;
    let args: Record<string, any>;
    try {
      args = getArgumentValues(fieldDef, sel, variables as Record<string, unknown>);
    } catch (err) {
      return sink.error([coded(err, 'BAD_USER_INPUT')]);
    }
    const key = JSON.stringify([payload.query, payload.operationName ?? null, variables]);
    let topic = this.topics.get(key);
    if (!topic) {
      try {
        topic = new Topic(key, rootField, sel.alias?.value ?? rootField, document, payload.operationName ?? null, variables, args);
      } catch (err) {
        const code = err instanceof SelectorError ? 'INVALID_SELECTOR' : 'BAD_USER_INPUT';
        return sink.error([{ message: errorText(err), extensions: { code } }]);
      }
    }
    // A cursor is checked before anything is sent.
    let resumeAfter: number | null = null;
    if (rootField === 'endpointChanges' && typeof args.after === 'string') {
      try {
        resumeAfter = Number(decodeCursor(CursorKind, args.after));
      } catch (err) {
        const message = err instanceof CursorError ? err.message : errorText(err);
        return sink.error([{ message, extensions: { code: 'INVALID_CURSOR' } }]);
      }
    }
    if (!this.topics.has(key)) this.topics.set(key, topic);
    const sub = new Subscriber(sink, this.maxQueue, topic, this);
    topic.pending.add(sub);
    // Through the serial chain: the snapshot reflects the feed up to here, and every change
    // processed after it reaches this subscriber after the snapshot.
    this.serially(async () => {
      if (!topic!.pending.delete(sub)) return; // stopped before it started
      if (rootField === 'endpointChanges') await this.startEndpoints(topic!, sub, args.snapshot !== false, resumeAfter);
      topic!.subscribers.add(sub);
    });
    return () => this.drop(topic!, sub);
  }

  /** Resolves when everything queued so far has been processed (tests, shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  // Private:

  /** Execute a change set (or object event) through the topic's document; returns the serialized payload. */
  async render(topic: Topic, value: unknown): Promise<string> {
    this.executions++;
    const result = await execute({
      schema: this.o.schema,
      document: topic.document,
      rootValue: { [topic.responseKey]: value },
      contextValue: this.o.createContext(),
      variableValues: topic.variables,
      operationName: topic.operationName ?? undefined,
    });
    return JSON.stringify(maskResult(result, this.o.logger));
  }

  /** render(), or null (logged) when execution itself failed: one bad event never stops the feed. */
  private async renderOrLog(topic: Topic, value: unknown): Promise<string | null> {
    try {
      return await this.render(topic, value);
    } catch (err) {
      this.o.logger.error('subscription render failed', { error: errorText(err) });
      return null;
    }
  }

  noteDelivered(at: number): void {
    this.delivered++;
    this.o.onDelivered?.(Date.now() - at);
  }

  noteSlow(): void {
    this.o.onSlowSubscriber?.();
  }

  /** Run `fn` after everything queued before it; a failure is logged and does not stop the chain. */
  private serially(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err) => this.o.logger.error('subscription processing failed', { error: errorText(err) }));
  }

  private async executeOnce(document: DocumentNode, payload: SubscribePayload, variables: Record<string, unknown>): Promise<unknown> {
    const r = await execute({
      schema: this.o.schema,
      document,
      contextValue: this.o.createContext(),
      variableValues: variables,
      operationName: payload.operationName ?? undefined,
    });
    return maskResult(r, this.o.logger);
  }

  private async startEndpoints(topic: Topic, sub: Subscriber, snapshot: boolean, resumeAfter: number | null): Promise<void> {
    const f = topic.filter!;
    const position = this.o.feed.position - 1;
    if (resumeAfter !== null) {
      const oldest = this.history[0]?.seq ?? this.o.feed.position;
      if (resumeAfter >= oldest - 1 && resumeAfter <= position) {
        for (const c of this.history) {
          if (c.seq <= resumeAfter) continue;
          if (!this.inScope(topic, c.serviceKey)) continue;
          const cs = changeSetOf(f, c);
          if (cs) sub.push(cs, await this.render(topic, cs));
        }
        return;
      }
      // History does not reach back that far: the client must replace what it holds.
      for (const key of this.scopeKeys(topic)) {
        const cs = snapshotOf(f, key, this.o.feed.get(key), position, 'RESYNC');
        sub.push(cs, await this.render(topic, cs));
      }
      return;
    }
    if (!snapshot) return;
    for (const key of this.scopeKeys(topic)) {
      const cs = snapshotOf(f, key, this.o.feed.get(key), position);
      sub.push(cs, await this.render(topic, cs));
    }
  }

  /** Service keys a topic covers now: Services in the store and Services that have slices. */
  private scopeKeys(topic: Topic): string[] {
    const keys = new Set<string>();
    for (const s of this.o.cache.services.list()) {
      const k = objectKey(s.meta);
      if (serviceInScope(topic.filter!, k, s.meta.labels)) keys.add(k);
    }
    for (const k of this.o.feed.serviceKeys()) if (this.inScope(topic, k)) keys.add(k);
    for (const k of keys) topic.seen.add(k);
    return [...keys].sort();
  }

  private inScope(topic: Topic, serviceKey: string): boolean {
    if (topic.seen.has(serviceKey)) return true;
    const svc = this.o.cache.services.get(serviceKey);
    return serviceInScope(topic.filter!, serviceKey, svc ? svc.meta.labels : null);
  }

  private onFeed(batch: FeedBatch): void {
    for (const c of batch.changes) this.history.push(c);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    if (batch.changes.length > 0) this.serially(() => this.publishFeed(batch));
  }

  private async publishFeed(batch: FeedBatch): Promise<void> {
    for (const topic of [...this.topics.values()]) {
      if (topic.rootField !== 'endpointChanges' || topic.subscribers.size === 0) continue;
      for (const c of batch.changes) {
        if (!this.inScope(topic, c.serviceKey)) continue;
        topic.seen.add(c.serviceKey);
        const cs = changeSetOf(topic.filter!, c);
        if (!cs) continue;
        const frame = await this.renderOrLog(topic, cs);
        if (frame !== null) for (const sub of topic.subscribers) sub.push(cs, frame);
      }
    }
  }

  private onStore(kind: Kind, batch: StoreBatch<AnyRecord>): void {
    const at = Date.now();
    let wanted = false;
    for (const topic of this.topics.values()) if (ObjectRootFields[topic.rootField] === kind) wanted = true;
    if (wanted) this.serially(() => this.publishObjects(kind, batch, at));
  }

  private async publishObjects(kind: Kind, batch: StoreBatch<AnyRecord>, at: number): Promise<void> {
    for (const topic of [...this.topics.values()]) {
      if (ObjectRootFields[topic.rootField] !== kind || topic.subscribers.size === 0) continue;
      for (const ev of batch.events) {
        const object = (ev.new ?? ev.old)!;
        if (!topic.objectMatches(object) && !(ev.old && topic.objectMatches(ev.old))) continue;
        const value: ObjectEvent = { type: ev.type, kind, object, old: ev.old, resync: batch.relist, at };
        const frame = await this.renderOrLog(topic, value);
        if (frame !== null) for (const sub of topic.subscribers) sub.pushObject(at, frame);
      }
    }
  }

  private drop(topic: Topic, sub: Subscriber): void {
    topic.pending.delete(sub);
    topic.subscribers.delete(sub);
    sub.dispose();
    if (topic.subscribers.size === 0 && topic.pending.size === 0) this.topics.delete(topic.key);
  }
}

// Private:

class Topic {
  readonly subscribers = new Set<Subscriber>();
  /** Subscribers whose snapshot has not been sent yet. */
  readonly pending = new Set<Subscriber>();
  /** Services this topic has sent something about: their removal is sent even when labels no longer match. */
  readonly seen = new Set<string>();
  readonly filter: EndpointFilter | null;
  private readonly objectFilter: ((r: AnyRecord) => boolean) | null;
  readonly key: string;
  readonly rootField: string;
  readonly responseKey: string;
  readonly document: DocumentNode;
  readonly operationName: string | null;
  readonly variables: Record<string, unknown>;

  constructor(key: string, rootField: string, responseKey: string, document: DocumentNode, operationName: string | null, variables: Record<string, unknown>, args: Record<string, any>) {
    this.key = key;
    this.rootField = rootField;
    this.responseKey = responseKey;
    this.document = document;
    this.operationName = operationName;
    this.variables = variables;
    const selector = typeof args.labelSelector === 'string' ? parseSelector(args.labelSelector) : null;
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    if (rootField === 'endpointChanges') {
      this.filter = { namespace: str(args.namespace), name: str(args.name), selector, node: str(args.node), zone: str(args.zone) };
      if (this.filter.name !== null && this.filter.namespace === null) {
        throw new Error('endpointChanges: expected namespace with name, got name alone');
      }
      this.objectFilter = null;
    } else {
      this.filter = null;
      const ns = str(args.namespace);
      const node = str(args.node);
      const zone = str(args.zone);
      this.objectFilter = (r) => {
        if (ns !== null && r.meta.namespace !== ns) return false;
        if (selector !== null && !matchesSel(selector, r.meta.labels)) return false;
        if (node !== null && (r.kind === 'Pod' ? r.nodeName !== node : r.kind === 'Node' ? r.meta.name !== node : false)) return false;
        if (zone !== null && !(r.kind === 'Node' && r.zone === zone)) return false;
        return true;
      };
    }
  }

  objectMatches(r: AnyRecord): boolean {
    return this.objectFilter ? this.objectFilter(r) : false;
  }
}

interface Queued {
  readonly set: EndpointChangeSet | null;
  /** null: a coalesced change set, rendered for this subscriber when it is sent. */
  readonly frame: string | null;
  readonly at: number;
}

class Subscriber {
  private readonly sink: OperationSink;
  private readonly maxQueue: number;
  private readonly topic: Topic;
  private readonly fanout: Fanout;
  private queue: Queued[] = [];
  private waiting = false;
  private flushing = false;
  private disposed = false;

  constructor(sink: OperationSink, maxQueue: number, topic: Topic, fanout: Fanout) {
    this.sink = sink;
    this.maxQueue = maxQueue;
    this.topic = topic;
    this.fanout = fanout;
  }

  push(set: EndpointChangeSet, frame: string): void {
    this.enqueue({ set, frame, at: set.at });
  }

  pushObject(at: number, frame: string): void {
    this.enqueue({ set: null, frame, at });
  }

  dispose(): void {
    this.disposed = true;
    this.queue = [];
  }

  private enqueue(q: Queued): void {
    if (this.disposed) return;
    if (this.queue.length === 0 && !this.flushing && q.frame !== null && this.sink.writable()) {
      this.sink.nextSerialized(q.frame);
      this.fanout.noteDelivered(q.at);
      return;
    }
    this.queue.push(q);
    if (this.queue.length > this.maxQueue) this.compact();
    this.waitForDrain();
  }

  /** Fold queued change sets per Service; close the socket if that is not enough. */
  private compact(): void {
    const byService = new Map<string, EndpointChangeSet[]>();
    const objects: Queued[] = [];
    for (const q of this.queue) {
      if (!q.set) {
        objects.push(q);
        continue;
      }
      const list = byService.get(q.set.serviceKey);
      if (list) list.push(q.set);
      else byService.set(q.set.serviceKey, [q.set]);
    }
    const next: Queued[] = [];
    for (const sets of byService.values()) {
      if (sets.length === 1) {
        next.push(this.queue.find((q) => q.set === sets[0])!);
        continue;
      }
      const one = coalesce(this.topic.filter!, sets);
      // Rendered when it is sent (the only per-subscriber execution on this path).
      if (one) next.push({ set: one, frame: null, at: one.at });
    }
    // Object events are not folded: they count against the bound as they are.
    next.sort((a, b) => (a.set?.seq ?? 0) - (b.set?.seq ?? 0));
    next.push(...objects);
    this.queue = next;
    if (this.queue.length > this.maxQueue) {
      this.fanout.noteSlow();
      this.sink.closeSocket(CloseCode.SubscriberTooSlow, 'Subscriber too slow');
      this.dispose();
    }
  }

  private waitForDrain(): void {
    if (this.waiting || this.disposed) return;
    this.waiting = true;
    this.sink.onDrain(() => {
      this.waiting = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.disposed && this.queue.length > 0 && this.sink.writable()) {
        const q = this.queue[0]!;
        const frame = q.frame ?? (await this.fanout.render(this.topic, q.set));
        if (this.disposed) return;
        this.queue.shift();
        this.sink.nextSerialized(frame);
        this.fanout.noteDelivered(q.at);
      }
    } finally {
      this.flushing = false;
    }
    if (this.queue.length > 0) this.waitForDrain();
  }
}

function coded(err: unknown, code: string): { message: string; locations?: unknown; extensions: { code: string } } {
  if (err instanceof GraphQLError) {
    const j = err.toJSON();
    return { message: j.message, ...(j.locations ? { locations: j.locations } : {}), extensions: { ...(j.extensions ?? {}), code } };
  }
  return { message: errorText(err), extensions: { code } };
}

/** The same masking policy as HTTP: coded caller errors pass, anything else is logged and masked. */
function maskResult(r: ExecutionResult, logger: Logger): unknown {
  if (!r.errors || r.errors.length === 0) return { data: r.data };
  return {
    data: r.data,
    errors: r.errors.map((e) => {
      const code = e.extensions?.code;
      if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return e.toJSON();
      logger.error('subscription field failed', { error: errorText(e.originalError ?? e), path: e.path?.join('.') });
      return { message: 'Internal server error', ...(e.path ? { path: e.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    }),
  };
}
