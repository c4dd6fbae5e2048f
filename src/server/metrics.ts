/**
 * Prometheus metrics (prom-client): watch health per kind, cache sizes, query and subscription
 * counts and latencies, sockets, and slow subscribers dropped. Served at GET /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterCache } from '../kube/cache.ts';
import type { ReflectorStatus } from '../kube/reflector.ts';

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly watchRestarts: Counter<'kind'>;
  private readonly relists: Counter<'kind'>;
  private readonly httpRequests: Counter<'route' | 'status'>;
  private readonly httpDuration: Histogram<'route'>;
  private readonly deliveries: Counter;
  private readonly deliveryDelay: Histogram;
  private readonly slowSubscribers: Counter;
  private readonly keepAliveTimeouts: Counter;
  private readonly authDecisions: Counter;
  private readonly authReviewSeconds: Histogram;
  private readonly seen = new Map<string, { lists: number; watches: number }>();

  constructor(sources: { cache: ClusterCache; sockets: () => number; subscribers: () => number; topics: () => number }) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'netgraph_' });
    this.watchRestarts = new Counter({ name: 'netgraph_watch_restarts_total', help: 'Watches opened again after the first, per kind.', labelNames: ['kind'], registers: [r] });
    this.relists = new Counter({ name: 'netgraph_relists_total', help: 'Lists after the first (410, errors), per kind.', labelNames: ['kind'], registers: [r] });
    new Gauge({
      name: 'netgraph_watch_events_total',
      help: 'Watch events received (bookmarks included), per kind.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        for (const h of sources.cache.health()) this.set({ kind: h.kind }, h.events);
      },
    });
    new Gauge({
      name: 'netgraph_cache_objects',
      help: 'Objects in the cache, per kind.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        for (const h of sources.cache.health()) this.set({ kind: h.kind }, h.objects);
      },
    });
    new Gauge({
      name: 'netgraph_last_event_age_seconds',
      help: 'Seconds since the last event or bookmark, per kind (oldest of its reflectors).',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        const now = Date.now();
        for (const h of sources.cache.health()) if (h.lastEventAt !== null) this.set({ kind: h.kind }, (now - h.lastEventAt) / 1000);
      },
    });
    new Gauge({
      name: 'netgraph_watch_consecutive_failures',
      help: 'Consecutive list/watch failures, per kind.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        for (const h of sources.cache.health()) this.set({ kind: h.kind }, h.consecutiveFailures);
      },
    });
    new Gauge({
      name: 'netgraph_synced',
      help: '1 once every reflector of the kind has listed once.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        for (const h of sources.cache.health()) this.set({ kind: h.kind }, h.synced ? 1 : 0);
      },
    });
    new Gauge({ name: 'netgraph_websockets', help: 'Open WebSockets.', registers: [r], collect() { this.set(sources.sockets()); } });
    new Gauge({ name: 'netgraph_subscriptions', help: 'Active subscriptions.', registers: [r], collect() { this.set(sources.subscribers()); } });
    new Gauge({ name: 'netgraph_subscription_topics', help: 'Distinct subscription topics (shared executions).', registers: [r], collect() { this.set(sources.topics()); } });
    this.httpRequests = new Counter({ name: 'netgraph_http_requests_total', help: 'HTTP requests, per route and status.', labelNames: ['route', 'status'], registers: [r] });
    this.httpDuration = new Histogram({
      name: 'netgraph_http_request_duration_seconds',
      help: 'HTTP request latency, per route.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    this.deliveries = new Counter({ name: 'netgraph_subscription_deliveries_total', help: 'Change frames handed to sockets.', registers: [r] });
    this.deliveryDelay = new Histogram({
      name: 'netgraph_subscription_delivery_delay_seconds',
      help: 'From a change entering the cache to its frame being handed to the socket.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [r],
    });
    this.slowSubscribers = new Counter({ name: 'netgraph_slow_subscribers_dropped_total', help: 'Subscribers closed with 4008 for falling too far behind.', registers: [r] });
    this.authDecisions = new Counter({
      name: 'netgraph_auth_decisions_total',
      help: 'Caller authentication (authn: TokenReview) and authorization (authz: SubjectAccessReview) decisions, by outcome and whether the decision cache answered.',
      labelNames: ['kind', 'outcome', 'cached'],
      registers: [r],
    });
    this.authReviewSeconds = new Histogram({
      name: 'netgraph_auth_review_seconds',
      help: 'Latency of TokenReviews and SubjectAccessReviews sent to the API server (cache misses only).',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [r],
    });
    this.keepAliveTimeouts = new Counter({ name: 'netgraph_ws_keepalive_timeouts_total', help: 'WebSockets terminated for answering no ping and reading nothing for one keepalive interval.', registers: [r] });
  }

  /** Reflector status listener: counts watch restarts and relists. */
  onReflectorStatus = (s: ReflectorStatus): void => {
    const key = `${s.kind}/${s.namespace ?? ''}`;
    const prev = this.seen.get(key) ?? { lists: 0, watches: 0 };
    if (s.lists > 1 && s.lists > prev.lists) this.relists.inc({ kind: s.kind }, s.lists - Math.max(prev.lists, 1));
    if (s.watches > 1 && s.watches > prev.watches) this.watchRestarts.inc({ kind: s.kind }, s.watches - Math.max(prev.watches, 1));
    this.seen.set(key, { lists: s.lists, watches: s.watches });
  };

  onRequest = (route: string, status: number, ms: number): void => {
    this.httpRequests.inc({ route, status: String(status) });
    this.httpDuration.observe({ route }, ms / 1000);
  };

  onDelivered = (delayMs: number): void => {
    this.deliveries.inc();
    this.deliveryDelay.observe(delayMs / 1000);
  };

  onAuthDecision = (kind: string, outcome: string, cached: boolean, ms: number): void => {
    this.authDecisions.inc({ kind, outcome, cached: String(cached) });
    if (!cached) this.authReviewSeconds.observe({ kind }, ms / 1000);
  };

  onKeepAliveTimeout = (): void => {
    this.keepAliveTimeouts.inc();
  };

  onSlowSubscriber = (): void => {
    this.slowSubscribers.inc();
  };

  /** The /metrics route. */
  route = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (url.pathname !== '/metrics' || req.method !== 'GET') return false;
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType });
    res.end(text);
    return true;
  };
}
