/**
 * Subscription fan-out: one watch feeds everyone, and no subscriber can stall the others.
 *
 * Every operation arrives through the one operation pipeline (graphql/pipeline.ts): the same
 * parse, limits, validation, variable coercion and argument checks as HTTP, before anything
 * is sent. Subscribers whose operation is identical (same document, operation name, variables
 * and caller) share a topic. For every change the topic's change set is computed once,
 * executed once against the schema (with loaders made for that event), serialized once, and
 * the same bytes go to every subscriber of the topic.
 *
 * Fairness:
 * - All rendering (executing an event through a topic's document) goes through one render
 *   queue that yields to the event loop after `sliceMs` of work, so HTTP requests and other
 *   sockets are served between slices however many subscribers are waiting.
 * - Snapshots, replays and catch-ups are not rendered when a subscriber starts: its queue holds
 *   the change sets, and each is rendered only when its socket can take it (so a socket that
 *   does not read costs no rendering and no memory beyond its queue). Snapshot frames are shared
 *   by every subscriber of a topic that starts at the same feed position.
 *
 * Filtered streams: an endpoint subscriber receives the exact difference of its filtered view
 * (model/changesets.ts). Service label changes and route changes are steps beside endpoint
 * changes, in one numbered history that cursors point into (model/history.ts, shared with HTTP
 * history queries), so a Service entering or leaving a label selector's or a host's scope
 * (model/route-scope.ts) is sent live and replayed on resume. A start reflects every step logged before it runs; steps still
 * queued behind it are not delivered to that subscriber again. Object streams send what starts
 * or stops matching as ADDED or DELETED, as the API server's filtered watch does.
 *
 * Health and calmer streams: a `serviceHealth` topic judges each change set of its scope
 * against its threshold (model/health.ts) and sends one event per change of state, not per
 * flip. An `endpointChanges(coalesce:)` topic holds a Service's change sets from its first
 * change for one interval, then sends their fold (model/changesets.ts `coalesce`), per starting
 * point of its subscribers, with the last change's cursor.
 *
 * Slow subscribers: while its socket is writable, frames go straight out; behind that, change
 * sets queue. Past `maxQueue` live change sets they are coalesced to the latest state per
 * Service; if more than `maxQueue` distinct Services are still waiting, or the socket has not
 * drained for `slowTimeoutMs`, the socket is closed as too slow (4008) and counted.
 */
import { execute, GraphQLError, type DocumentNode } from 'graphql';
import type { EndpointFeed } from '../model/endpoint-feed.ts';
import { EndpointHistory, stepChangeSets, type Step } from '../model/history.ts';
import { matches as matchesSel } from '../model/selector.ts';
import { healthNow, healthTransition, type HealthThreshold } from '../model/health.ts';
import type { ClusterCache } from '../kube/cache.ts';
import type { AnyRecord, Kind } from '../kube/records.ts';
import { derived, objectKey } from '../kube/records.ts';
import type { StoreBatch } from '../kube/store.ts';
import type { OperationPipeline, SubscriptionArgs } from '../graphql/pipeline.ts';
import type { ObjectEvent, ObjectEventType } from '../graphql/parents.ts';
import { authorizationUnavailable, ErrorCode, forbidden } from '../graphql/errors.ts';
import { namespaceNotWatched, withWarnings } from '../graphql/warnings.ts';
import { AllNamespaces, AuthorizationUnavailableError, OpenCaller, type Access, type Caller, type Resource, type Verb } from '../auth/access.ts';
import type { OperationSink, StopOperation, SubscribePayload } from './sink.ts';
import { routedServices } from '../model/route-scope.ts';
import { coalesce, serviceInScope, snapshotOf, stepOfSortKey, type EndpointChangeSet, type EndpointFilter, type ServiceLabels } from '../model/changesets.ts';
import { errorText, type Logger } from '../log.ts';

export interface FanoutOptions {
  /** The one operation pipeline, shared with HTTP. */
  pipeline: OperationPipeline;
  cache: ClusterCache;
  feed: EndpointFeed;
  /** A fresh GraphQL context (with its own loaders, answering what `access` may `verb`) for one event or one query. */
  createContext: (access: Access, verb: Verb) => unknown;
  /**
   * How often a live subscription's permission is asked again (the decision cache behind the
   * caller's Access answers from cache until its own TTL runs out, so this bounds how late a
   * revoked permission is noticed). 0: never. @default 0 // with `--auth kubernetes`, main sets it to the allowed-decision TTL
   */
  reauthorizeMs?: number;
  /** Live change sets queued per subscriber before coalescing, and distinct Services before closing. @default 1000 */
  maxQueue?: number;
  /**
   * How long a subscriber may have change sets waiting while its socket stays above the
   * high-water mark (the client is not reading) before it is closed as too slow.
   * @default 20_000 // 20 seconds
   */
  slowTimeoutMs?: number;
  /**
   * The numbered steps endpoint subscriptions follow, kept for resuming from a cursor (shared
   * with HTTP history queries). @default a history of its own, started and stopped with the fan-out
   */
  history?: EndpointHistory;
  /** Steps kept by the fan-out's own history, when `history` is not given. @default 10_000 // steps */
  historySize?: number;
  /** Rendering done in one turn of the event loop before yielding to other work. @default 5 // milliseconds */
  sliceMs?: number;
  /** Called for each frame handed to a socket, with the change's age in ms (for metrics and benchmarks). */
  onDelivered?: (delayMs: number) => void;
  /** Called when a slow subscriber is closed. */
  onSlowSubscriber?: () => void;
  logger: Logger;
}

export type { ObjectEvent, ObjectEventType };

/** Root fields served by the fan-out, by the kind of source they read. */
const ObjectRootFields: Readonly<Record<string, Kind>> = { serviceChanges: 'Service', podChanges: 'Pod', nodeChanges: 'Node' };

/** What a host-scoped subscriber must be allowed to list to resolve the host (what `trace` reads). */
const RouteResources: readonly Resource[] = ['ingresses', 'httproutes', 'gateways'];

/** What a subscriber must be allowed to watch, by root field. */
const ResourceOfField: Readonly<Record<string, Resource>> = { endpointChanges: 'endpointslices', serviceHealth: 'endpointslices', serviceChanges: 'services', podChanges: 'pods', nodeChanges: 'nodes' };

export class Fanout {
  private readonly options: FanoutOptions;
  private readonly maxQueue: number;
  private readonly topics = new Map<string, Topic>();
  /** The steps endpoint subscriptions follow (see model/history.ts), for resuming from a cursor. */
  readonly history: EndpointHistory;
  private readonly ownsHistory: boolean;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly renders: RenderQueue;
  private chain: Promise<void> = Promise.resolve();
  /** Subscribers with frames to send and a socket that takes them, in turn order. */
  private readonly ready = new Set<Subscriber>();
  /** The send loop, while it runs. */
  private sending: Promise<void> | null = null;
  private readonly sliceMs: number;
  /** Frames handed to sockets, shared or not. */
  delivered = 0;
  /** Executions of an event through a document (one per topic per change, plus unshared catch-ups). */
  executions = 0;

  constructor(options: FanoutOptions) {
    this.options = options;
    this.maxQueue = options.maxQueue ?? 1000;
    this.ownsHistory = options.history === undefined;
    this.history = options.history ?? new EndpointHistory(options.feed, options.cache.services, { maxSteps: options.historySize ?? 10_000, windowMs: Number.POSITIVE_INFINITY, routes: options.cache });
    this.sliceMs = options.sliceMs ?? 5;
    this.renders = new RenderQueue(this.sliceMs);
  }

  start(): void {
    if (this.ownsHistory) this.history.start();
    this.unsubscribe.push(this.history.subscribe((steps) => this.serially(() => this.publishSteps(steps))));
    for (const kind of ['Service', 'Pod', 'Node'] as const) {
      this.unsubscribe.push(this.options.cache.storeOf(kind).subscribe((b) => this.onStore(kind, b as StoreBatch<AnyRecord>)));
    }
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const t of this.topics.values()) t.dispose();
    if (this.ownsHistory) this.history.stop();
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
   * Start one operation from a `subscribe` message. Everything a caller can get wrong is
   * answered with an `error` message (coded, the same as over HTTP) before anything is sent;
   * never a thrown exception. Queries are executed once and completed.
   */
  async subscribe(sink: OperationSink, payload: SubscribePayload, caller: Caller = OpenCaller): Promise<StopOperation | void> {
    const pipeline = this.options.pipeline;
    const prepared = pipeline.prepare(payload, 'ws');
    switch (prepared.kind) {
      case 'rejected':
        return sink.error(prepared.errors.map((e) => pipeline.formatError(e)));
      case 'query': {
        let stopped = false;
        void this.renders
          .run(() => pipeline.executeQuery(prepared, this.options.createContext(caller.access, 'list')))
          .then((r) => {
            pipeline.reportDenied(caller.user?.username, r.errors);
            if (stopped) return;
            sink.nextSerialized(JSON.stringify(r));
            sink.complete();
          });
        return () => {
          stopped = true;
        };
      }
      case 'subscription':
        break;
      default:
        return prepared satisfies never;
    }
    const { root } = prepared;
    const denied = await this.authorize(caller, root.field, root.args.namespace);
    if (denied) {
      const errors = [pipeline.formatError(denied)];
      pipeline.reportDenied(caller.user?.username, errors);
      return sink.error(errors);
    }
    // A namespace the gateway does not watch would be a stream that never says anything.
    const namespace = root.args.namespace;
    if (namespace !== null && !this.options.cache.watchesNamespace(namespace)) {
      const { message } = namespaceNotWatched(namespace, this.options.cache.namespaces ?? []);
      return sink.error([pipeline.formatError(new GraphQLError(message, { extensions: { code: ErrorCode.NAMESPACE_NOT_WATCHED } }))]);
    }
    // A host-scoped subscription resolves the host with the routing objects the caller may list.
    let routeNamespace: string | null = null;
    if (root.field === 'endpointChanges' && root.args.route !== null && caller.user !== null) {
      const scope = await this.routeScope(caller, namespace);
      if (scope instanceof GraphQLError) {
        const errors = [pipeline.formatError(scope)];
        pipeline.reportDenied(caller.user?.username, errors);
        return sink.error(errors);
      }
      routeNamespace = scope;
    }
    const key = JSON.stringify([caller.key, payload.query, payload.operationName ?? null, prepared.variables, routeNamespace]);
    let topic = this.topics.get(key);
    if (!topic) {
      topic = new Topic(key, root.field, root.responseKey, prepared.document, prepared.operation.name?.value ?? null, prepared.variables, root.args, caller, routeNamespace);
      this.topics.set(key, topic);
      this.scheduleReauthorization(topic);
    }
    const sub = new Subscriber(sink, this.maxQueue, this.options.slowTimeoutMs ?? 20_000, topic, this);
    topic.pending.add(sub);
    const t = topic;
    // A cursor from another run of the gateway resumes nowhere: RESYNC, as for one older than the history.
    const resumeAfter = root.field === 'endpointChanges' && root.args.after !== null ? (stepOfSortKey(root.args.after) ?? OtherRun) : null;
    // Through the serial chain. The start reflects every step logged so far (the cache and the
    // feed are already past them), including steps still queued in the chain behind this: the
    // subscriber is marked as starting after them, so they are not delivered to it twice.
    this.serially(async () => {
      if (!t.pending.delete(sub)) return; // stopped before it started
      if (t.rootField === 'endpointChanges') this.startEndpoints(t, sub, root.args.snapshot, resumeAfter);
      sub.startsAfter = this.history.position;
      t.subscribers.add(sub);
      if (t.rootField === 'serviceHealth') await this.startHealth(t, sub);
    });
    return () => this.drop(t, sub);
  }

  /** Resolves when everything queued so far has been processed and sent as far as sockets allow (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const chain = this.chain;
      await chain;
      await this.renders.idle();
      if (this.sending) await this.sending;
      if (chain === this.chain && this.sending === null && this.ready.size === 0 && this.renders.size === 0) return;
    }
  }

  // Private (used by Subscriber):

  /** Render one event through a topic's document, in the render queue; null (logged) when execution itself failed. */
  render(topic: Topic, value: unknown): Promise<string | null> {
    return this.renders.run(async () => {
      this.executions++;
      const contextValue = this.options.createContext(topic.caller.access, 'watch');
      try {
        const result = await execute({
          schema: this.options.pipeline.schema,
          document: topic.document,
          rootValue: { [topic.responseKey]: value },
          contextValue,
          variableValues: topic.variables,
          operationName: topic.operationName ?? undefined,
        });
        return JSON.stringify(withWarnings(this.options.pipeline.formatResult(result), contextValue));
      } catch (err) {
        this.options.logger.error('subscription render failed', { error: errorText(err), stack: err instanceof Error ? err.stack : undefined });
        return null;
      }
    });
  }

  /** A snapshot (or unresumable-cursor RESYNC) frame, shared by the topic's subscribers that start at the same position. */
  async renderSnapshot(topic: Topic, set: EndpointChangeSet): Promise<string | null> {
    const key = `${set.type}\0${set.serviceKey}`;
    if (topic.snapshotsAt !== set.seq) {
      topic.snapshots.clear();
      topic.snapshotsAt = set.seq;
    }
    const hit = topic.snapshots.get(key);
    if (hit !== undefined) return hit;
    const frame = this.render(topic, set);
    topic.snapshots.set(key, frame);
    return frame;
  }

  noteDelivered(at: number): void {
    this.delivered++;
    this.options.onDelivered?.(Date.now() - at);
  }

  noteSlow(reason: string): void {
    this.options.logger.warn('subscriber too slow: closing its socket', { reason });
    this.options.onSlowSubscriber?.();
  }

  /** Give `sub` a turn in the send loop (it has frames waiting and its socket takes them). */
  schedule(sub: Subscriber): void {
    this.ready.add(sub);
    this.sending ??= this.sendLoop();
  }

  // Private:

  /**
   * The one send loop: subscribers take turns (a few frames each, round robin), and after
   * `sliceMs` of work the loop yields to the event loop, so that however many sockets wait for
   * snapshots, HTTP requests and other sockets are served between slices.
   */
  private async sendLoop(): Promise<void> {
    const pace = pacer(this.sliceMs);
    try {
      while (this.ready.size > 0) {
        const sub = this.ready.values().next().value!;
        this.ready.delete(sub);
        await sub.sendTurn();
        await pace();
      }
    } finally {
      this.sending = null;
    }
  }

  /**
   * Null when `caller` may watch what a subscription to `field` in `namespace` (null: every
   * namespace) streams, else the error to answer with: FORBIDDEN, or AUTHORIZATION_UNAVAILABLE
   * (fail closed). A subscription across namespaces needs the cluster-wide permission: the
   * gateway does not quietly narrow it to the namespaces the caller may watch (name one).
   */
  private async authorize(caller: Caller, field: string, namespace: string | null) {
    if (caller.user === null) return null;
    const resource = ResourceOfField[field]!;
    const ns = resource === 'nodes' || namespace === null ? AllNamespaces : namespace;
    try {
      return (await caller.access.allowed('watch', resource, ns)) ? null : forbidden('watch', resource, ns, caller.user);
    } catch (err) {
      if (err instanceof AuthorizationUnavailableError) return authorizationUnavailable('watch', resource, ns, err);
      throw err;
    }
  }

  /**
   * The namespace whose routing objects a host-scoped subscription may use: null (every one)
   * when the caller may list Ingresses, HTTPRoutes and Gateways cluster-wide, else the
   * subscription's namespace when it may list them there, else the error to answer with.
   */
  private async routeScope(caller: Caller, namespace: string | null): Promise<string | null | GraphQLError> {
    const everywhere = await this.authorizeRoutes(caller, AllNamespaces);
    if (everywhere === null) return null;
    if (namespace === null || everywhere.extensions['code'] !== ErrorCode.FORBIDDEN) return everywhere;
    return (await this.authorizeRoutes(caller, namespace)) ?? namespace;
  }

  /** Null when `caller` may list every routing kind `trace` reads in `ns`, else FORBIDDEN or AUTHORIZATION_UNAVAILABLE for the first it may not. */
  private async authorizeRoutes(caller: Caller, ns: string): Promise<GraphQLError | null> {
    if (caller.user === null) return null;
    for (const resource of RouteResources) {
      try {
        if (!(await caller.access.allowed('list', resource, ns))) return forbidden('list', resource, ns, caller.user);
      } catch (err) {
        if (err instanceof AuthorizationUnavailableError) return authorizationUnavailable('list', resource, ns, err);
        throw err;
      }
    }
    return null;
  }

  /** Ask a live topic's permission again every `reauthorizeMs`; when it is gone, end every subscriber's operation with the error. */
  private scheduleReauthorization(topic: Topic): void {
    const every = this.options.reauthorizeMs ?? 0;
    if (every <= 0 || topic.caller.user === null) return;
    const timer = setInterval(() => {
      if (this.topics.get(topic.key) !== topic) return clearInterval(timer);
      const route = topic.filter?.route ?? null;
      const ask = async () =>
        (await this.authorize(topic.caller, topic.rootField, topic.filter?.namespace ?? topic.namespace)) ??
        (route === null ? null : await this.authorizeRoutes(topic.caller, route.routeNamespace ?? AllNamespaces));
      void ask().then((denied) => {
        if (!denied || this.topics.get(topic.key) !== topic) return;
        this.options.logger.info('subscription ended: permission gone', { user: topic.caller.user?.username, error: denied.message });
        clearInterval(timer);
        const errors = [this.options.pipeline.formatError(denied)];
        for (const sub of [...topic.subscribers, ...topic.pending]) sub.end(errors);
        this.topics.delete(topic.key);
      });
    }, every);
    timer.unref();
  }

  /** Run `fn` after everything queued before it; a failure is logged and does not stop the chain. */
  private serially(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err) => this.options.logger.error('subscription processing failed', { error: errorText(err) }));
  }

  /**
   * Queue the subscriber's start, as of every step logged so far: a snapshot per Service in
   * scope, or a replay of the steps after its cursor, or RESYNC when the history does not reach
   * back. Nothing is rendered here.
   */
  private startEndpoints(topic: Topic, sub: Subscriber, snapshot: boolean, resumeAfter: number | typeof OtherRun | null): void {
    const f = topic.filter!;
    const position = this.history.position;
    if (resumeAfter !== null) {
      const steps = resumeAfter === OtherRun ? null : this.history.stepsAfter(resumeAfter);
      if (steps !== null) {
        for (const step of steps) for (const cs of stepChangeSets(f, step)) sub.pushStart(cs, false);
        return;
      }
      // History does not reach back that far (or the cursor is another run's): the client must replace what it holds.
      for (const key of this.scopeKeys(f)) sub.pushStart(snapshotOf(f, key, this.stateOf(key), position, 'RESYNC'), true);
      return;
    }
    if (!snapshot) return;
    for (const key of this.scopeKeys(f)) sub.pushStart(snapshotOf(f, key, this.stateOf(key), position), true);
  }

  /** A Service's labels and endpoints, and the routing objects, now (after every logged step). */
  private stateOf(serviceKey: string) {
    return { labels: this.labelsOf(serviceKey), view: this.options.feed.get(serviceKey), routes: this.history.routes };
  }

  private labelsOf(serviceKey: string): ServiceLabels {
    return this.options.cache.services.get(serviceKey)?.meta.labels ?? null;
  }

  /**
   * Service keys a topic covers now: Services in the store and Services that have slices, and
   * the one named Service even when it does not exist (its snapshot says so: `service: null`,
   * no endpoints), so that a typo is never a silent subscription.
   */
  private scopeKeys(f: EndpointFilter): string[] {
    const keys = new Set<string>();
    if (f.namespace !== null && f.name !== null) keys.add(`${f.namespace}/${f.name}`);
    else if (f.route != null) {
      // Only what the routes send the request to (the Services need not exist yet).
      for (const k of routedServices(this.history.routes, f.route)) if (serviceInScope(f, k, this.labelsOf(k), this.history.routes)) keys.add(k);
    } else {
      for (const s of this.options.cache.services.list()) {
        const k = objectKey(s.meta);
        if (serviceInScope(f, k, s.meta.labels)) keys.add(k);
      }
      for (const k of this.options.feed.serviceKeys()) if (serviceInScope(f, k, this.labelsOf(k))) keys.add(k);
    }
    return [...keys].sort();
  }

  private async publishSteps(steps: readonly Step[]): Promise<void> {
    for (const topic of [...this.topics.values()]) {
      if (topic.filter === null || topic.subscribers.size === 0) continue;
      for (const step of steps) {
        for (const cs of stepChangeSets(topic.filter, step)) await this.publishSet(topic, step, cs);
      }
    }
  }

  /** One change set of a step to the topic's subscribers that started before the step. */
  private async publishSet(topic: Topic, step: Step, cs: EndpointChangeSet): Promise<void> {
    const due = (sub: Subscriber) => sub.startsAfter < step.ord;
    if (!someOf(topic.subscribers, due)) return; // every subscriber's start already holds it
    if (topic.rootField === 'serviceHealth') return this.publishHealth(topic, step, cs, due);
    if (topic.coalesceMs !== null) return this.hold(topic, step.ord, cs);
    const frame = await this.render(topic, cs);
    if (frame !== null) await this.pushAll(topic, (sub) => due(sub) && sub.push(cs, frame));
  }

  /** The current health of every Service in a `serviceHealth` topic's scope, to a subscriber starting now. */
  private async startHealth(topic: Topic, sub: Subscriber): Promise<void> {
    const at = Date.now();
    for (const key of this.scopeKeys(topic.filter!)) {
      const ev = healthNow(topic.health!, key, this.options.feed.get(key)?.counts ?? { ready: 0, total: 0 }, at);
      const frame = await this.render(topic, ev);
      if (frame !== null) sub.pushObject(at, frame);
    }
  }

  /** A health transition, when the change set crosses the topic's threshold (one event per crossing, not per flip). */
  private async publishHealth(topic: Topic, step: Step, cs: EndpointChangeSet, due: (sub: Subscriber) => boolean): Promise<void> {
    if (step.kind === 'labels' && !serviceInScope(topic.filter!, step.serviceKey, step.after, step.routes)) return; // left scope: no more news of it
    const entering = step.kind === 'labels';
    const ev = healthTransition(topic.health!, cs, entering);
    if (!ev) return;
    const frame = await this.render(topic, ev);
    if (frame !== null) await this.pushAll(topic, (sub) => due(sub) && sub.pushObject(ev.at, frame));
  }

  /**
   * Hold a change set of a coalescing topic until its Service's interval ends (the first held
   * set starts it): then one change set goes out per Service, the net difference of those held.
   */
  private hold(topic: Topic, ord: number, cs: EndpointChangeSet): void {
    const held = topic.held.get(cs.serviceKey);
    if (held) {
      held.push({ ord, cs });
      return;
    }
    topic.held.set(cs.serviceKey, [{ ord, cs }]);
    const timer = setTimeout(() => {
      topic.timers.delete(timer);
      this.serially(() => this.flush(topic, cs.serviceKey));
    }, topic.coalesceMs!);
    topic.timers.add(timer);
  }

  /**
   * Send what a coalescing topic held for one Service: per subscriber, the sets after its start
   * folded into one (subscribers that started at the same point share the frame). Its cursor is
   * the last set's, so resuming from it is exact.
   */
  private async flush(topic: Topic, serviceKey: string): Promise<void> {
    const held = topic.held.get(serviceKey);
    topic.held.delete(serviceKey);
    if (!held || this.topics.get(topic.key) !== topic) return;
    const groups = new Map<number, Subscriber[]>();
    for (const sub of topic.subscribers) {
      const from = held.findIndex((h) => h.ord > sub.startsAfter);
      if (from < 0) continue;
      const group = groups.get(from);
      if (group) group.push(sub);
      else groups.set(from, [sub]);
    }
    for (const [from, subs] of groups) {
      const one = coalesce(held.slice(from).map((h) => h.cs));
      if (!one) continue;
      const frame = await this.render(topic, one);
      if (frame !== null) for (const sub of subs) sub.push(one, frame);
    }
  }

  /** Hand a frame to every subscriber of a topic, yielding to the event loop after each `sliceMs` (10,000 sockets take ~100 ms). */
  private async pushAll(topic: Topic, push: (sub: Subscriber) => void): Promise<void> {
    const pace = pacer(this.sliceMs);
    for (const sub of [...topic.subscribers]) {
      push(sub);
      const due = pace();
      if (due) await due;
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
        const event = filteredEvent(ev.old, ev.new, (r) => topic.objectMatches(r));
        if (!event) continue;
        const value: ObjectEvent = { ...event, kind, old: ev.old, resync: batch.relist, at };
        const frame = await this.render(topic, value);
        if (frame !== null) await this.pushAll(topic, (sub) => sub.pushObject(at, frame));
      }
    }
  }

  private drop(topic: Topic, sub: Subscriber): void {
    topic.pending.delete(sub);
    topic.subscribers.delete(sub);
    sub.dispose();
    if (topic.subscribers.size === 0 && topic.pending.size === 0) {
      this.topics.delete(topic.key);
      topic.dispose();
    }
  }
}

// Private:

/**
 * A store event as a filtered watch sends it (the API server's watch cache does the same): an
 * object that starts matching is ADDED, one that stops matching is DELETED (with its last
 * matching state, at the event's resourceVersion), one that matches before and after is
 * MODIFIED, and one that matches neither is not sent.
 */
function filteredEvent(old: AnyRecord | null, now: AnyRecord | null, matches: (r: AnyRecord) => boolean): { type: ObjectEventType; object: AnyRecord } | null {
  const was = old !== null && matches(old);
  const is = now !== null && matches(now);
  if (is) return { type: was ? 'MODIFIED' : 'ADDED', object: now };
  if (!was) return null;
  if (now === null) return { type: 'DELETED', object: old };
  return { type: 'DELETED', object: derived<AnyRecord>(old, { meta: { ...old.meta, resourceVersion: now.meta.resourceVersion } }) };
}

function someOf<T>(items: Iterable<T>, test: (item: T) => boolean): boolean {
  for (const item of items) if (test(item)) return true;
  return false;
}

/**
 * A pace for one loop of work: call it between steps. Once `sliceMs` has passed since the loop
 * started or last yielded, it returns a promise that resolves in a later turn of the event loop
 * (setImmediate), so that I/O waiting behind the loop is served; within the slice it returns
 * null, so a hot loop need not await at all.
 */
function pacer(sliceMs: number): () => Promise<void> | null {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart < sliceMs) return null;
    return new Promise<void>((r) =>
      setImmediate(() => {
        sliceStart = performance.now();
        r();
      }),
    );
  };
}

/**
 * One queue for all rendering: jobs run one after another, and after `sliceMs` of work the
 * queue yields to the event loop (setImmediate) so that I/O (HTTP requests, other sockets)
 * is served between slices.
 */
class RenderQueue {
  private readonly sliceMs: number;
  private readonly jobs: (() => Promise<void>)[] = [];
  private running: Promise<void> | null = null;

  constructor(sliceMs: number) {
    this.sliceMs = sliceMs;
  }

  get size(): number {
    return this.jobs.length + (this.running ? 1 : 0);
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push(() => fn().then(resolve, reject));
      this.running ??= this.work();
    });
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async work(): Promise<void> {
    const pace = pacer(this.sliceMs);
    try {
      while (this.jobs.length > 0) {
        await this.jobs.shift()!();
        await pace();
      }
    } finally {
      this.running = null;
    }
  }
}

class Topic {
  readonly subscribers = new Set<Subscriber>();
  /** Subscribers whose start has not been queued yet. */
  readonly pending = new Set<Subscriber>();
  /** Snapshot frames at step position `snapshotsAt`, by type and Service (shared by subscribers starting there). */
  readonly snapshots = new Map<string, Promise<string | null>>();
  snapshotsAt = -1;
  readonly filter: EndpointFilter | null;
  private readonly objectFilter: ((r: AnyRecord) => boolean) | null;
  readonly key: string;
  readonly rootField: string;
  readonly responseKey: string;
  readonly document: DocumentNode;
  readonly operationName: string | null;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Whose subscription this is: renders answer what it may watch. */
  readonly caller: Caller;
  /** The namespace asked for, or null (every namespace). */
  readonly namespace: string | null;
  /** `endpointChanges(coalesce:)`: the interval in ms, or null. */
  readonly coalesceMs: number | null;
  /** Change sets held per Service until its interval ends (coalescing topics), with their step ordinals. */
  readonly held = new Map<string, { ord: number; cs: EndpointChangeSet }[]>();
  readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** `serviceHealth`: the subscriber's threshold. */
  readonly health: HealthThreshold | null;

  constructor(
    key: string,
    rootField: string,
    responseKey: string,
    document: DocumentNode,
    operationName: string | null,
    variables: Readonly<Record<string, unknown>>,
    args: SubscriptionArgs,
    caller: Caller,
    routeNamespace: string | null,
  ) {
    this.key = key;
    this.caller = caller;
    this.namespace = args.namespace;
    this.rootField = rootField;
    this.responseKey = responseKey;
    this.document = document;
    this.operationName = operationName;
    this.variables = variables;
    const { namespace, name, labelSelector: selector, node, zone } = args;
    this.coalesceMs = rootField === 'endpointChanges' ? args.coalesceMs : null;
    this.health = rootField === 'serviceHealth' ? { minReady: args.minReady, minReadyFraction: args.minReadyFraction } : null;
    if (rootField === 'serviceHealth') {
      this.filter = { namespace, name, selector, node: null, zone: null };
      this.objectFilter = null;
    } else if (rootField === 'endpointChanges') {
      const route = args.route === null ? null : { ...args.route, routeNamespace };
      this.filter = { namespace, name, selector, node, zone, route };
      this.objectFilter = null;
    } else {
      this.filter = null;
      this.objectFilter = (r) => {
        if (namespace !== null && r.meta.namespace !== namespace) return false;
        if (selector !== null && !matchesSel(selector, r.meta.labels)) return false;
        if (node !== null && (r.kind === 'Pod' ? r.nodeName !== node : r.kind === 'Node' ? r.meta.name !== node : false)) return false;
        if (zone !== null && !(r.kind === 'Node' && r.zone === zone)) return false;
        return true;
      };
    }
  }

  /** Stop the coalescing timers (the topic is gone). */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held.clear();
  }

  objectMatches(r: AnyRecord): boolean {
    return this.objectFilter ? this.objectFilter(r) : false;
  }
}

/** Frames one subscriber sends per turn of the send loop before the next subscriber's turn. */
const FramesPerTurn = 8;

/** A resume cursor from another run of the gateway (see model/changesets.ts `stepOfSortKey`). */
const OtherRun = Symbol('another run');

interface Queued {
  readonly set: EndpointChangeSet | null;
  /** null: rendered for this subscriber when it is sent. */
  readonly frame: string | null;
  readonly at: number;
  /** A snapshot whose frame is shared across the topic (see Fanout.renderSnapshot). */
  readonly snapshot: boolean;
  /** Counts against the bound (live changes; a start's snapshot or replay does not). */
  readonly live: boolean;
}

class Subscriber {
  private readonly sink: OperationSink;
  private readonly maxQueue: number;
  private readonly slowTimeoutMs: number;
  private readonly topic: Topic;
  private readonly fanout: Fanout;
  private queue: Queued[] = [];
  private live = 0;
  /** When the socket last went above the high-water mark with something queued; null while it drains. */
  private blockedSince: number | null = null;
  private waiting = false;
  /** In the fan-out's send loop (scheduled or sending). */
  private scheduled = false;
  private disposed = false;
  /** The step position the subscriber's start reflects: later steps only are delivered to it live. */
  startsAfter = Number.POSITIVE_INFINITY;

  constructor(sink: OperationSink, maxQueue: number, slowTimeoutMs: number, topic: Topic, fanout: Fanout) {
    this.sink = sink;
    this.maxQueue = maxQueue;
    this.slowTimeoutMs = slowTimeoutMs;
    this.topic = topic;
    this.fanout = fanout;
  }

  /** A change set of the subscriber's start (snapshot, replay, RESYNC): rendered when it is sent. */
  pushStart(set: EndpointChangeSet, snapshot: boolean): void {
    this.enqueue({ set, frame: null, at: set.at, snapshot, live: false });
  }

  push(set: EndpointChangeSet, frame: string): void {
    this.enqueue({ set, frame, at: set.at, snapshot: false, live: true });
  }

  pushObject(at: number, frame: string): void {
    this.enqueue({ set: null, frame, at, snapshot: false, live: true });
  }

  dispose(): void {
    this.disposed = true;
    this.queue = [];
  }

  /** End the operation with `errors` (its permission is gone). */
  end(errors: readonly unknown[]): void {
    this.dispose();
    this.sink.error(errors);
  }

  private enqueue(q: Queued): void {
    if (this.disposed) return;
    if (this.queue.length === 0 && !this.scheduled && q.frame !== null && this.sink.writable()) {
      this.sink.nextSerialized(q.frame);
      this.fanout.noteDelivered(q.at);
      return;
    }
    this.queue.push(q);
    if (q.live) this.live++;
    if (this.blockedSince !== null && q.live && Date.now() - this.blockedSince > this.slowTimeoutMs) {
      return this.close(`its socket has not drained for ${Math.round((Date.now() - this.blockedSince) / 1000)} s with ${this.queue.length} change sets waiting`);
    }
    if (this.live > this.maxQueue) this.compact();
    if (!this.disposed) this.kick();
  }

  /** Fold queued change sets per Service; close the socket if that is not enough. */
  private compact(): void {
    const byService = new Map<string, Queued[]>();
    const objects: Queued[] = [];
    for (const q of this.queue) {
      if (!q.set) {
        objects.push(q);
        continue;
      }
      const list = byService.get(q.set.serviceKey);
      if (list) list.push(q);
      else byService.set(q.set.serviceKey, [q]);
    }
    const next: Queued[] = [];
    for (const items of byService.values()) {
      if (items.length === 1) {
        next.push(items[0]!);
        continue;
      }
      const one = coalesce(items.map((q) => q.set!));
      // Rendered when it is sent (a coalesced snapshot is the shared snapshot of its position).
      if (one) next.push({ set: one, frame: null, at: one.at, snapshot: one.type === 'SNAPSHOT', live: items.some((q) => q.live) });
    }
    // Object events are not folded: they count against the bound as they are.
    next.sort((a, b) => (a.set?.seq ?? 0) - (b.set?.seq ?? 0));
    next.push(...objects);
    this.queue = next;
    this.live = next.reduce((n, q) => n + (q.live ? 1 : 0), 0);
    if (this.live > this.maxQueue) this.close(`${this.live} change sets of distinct Services waiting, more than the bound of ${this.maxQueue}`);
  }

  private close(reason: string): void {
    this.fanout.noteSlow(reason);
    this.sink.tooSlow(`Subscriber too slow: ${reason}`.slice(0, 120));
    this.dispose();
  }

  /** Take a turn in the send loop if the socket takes frames, else wait for it to drain. */
  private kick(): void {
    if (this.scheduled || this.disposed || this.queue.length === 0) return;
    if (this.sink.writable()) {
      this.blockedSince = null;
      this.scheduled = true;
      this.fanout.schedule(this);
      return;
    }
    this.blockedSince ??= Date.now();
    if (this.waiting) return;
    this.waiting = true;
    this.sink.onDrain(() => {
      this.waiting = false;
      this.blockedSince = null;
      this.kick();
    });
  }

  /** One turn of the send loop: up to `FramesPerTurn` frames while the socket takes them (rendered now when not rendered yet). */
  async sendTurn(): Promise<void> {
    try {
      for (let n = 0; n < FramesPerTurn && !this.disposed && this.queue.length > 0 && this.sink.writable(); n++) {
        const q = this.queue[0]!;
        const frame = q.frame ?? (q.snapshot ? await this.fanout.renderSnapshot(this.topic, q.set!) : await this.fanout.render(this.topic, q.set));
        if (this.disposed) return;
        if (this.queue[0] !== q) continue; // compacted meanwhile: go on from the new head
        this.queue.shift();
        if (q.live) this.live--;
        if (frame === null) continue;
        this.sink.nextSerialized(frame);
        this.fanout.noteDelivered(q.at);
      }
    } finally {
      this.scheduled = false;
    }
    this.kick();
  }
}
