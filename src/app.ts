/**
 * Composition: configuration in, a running gateway out. Picks the cluster, starts the watch
 * cache, the endpoint feed, the fan-out and the server, and owns the one shutdown path
 * (`stop`). main.ts adds the command line and signals; tests start gateways in-process here.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient, ConfigError, loadKubeConfig, type ClusterSource } from './kube/client.ts';
import { ClusterCache } from './kube/cache.ts';
import { preflight, requirements } from './kube/preflight.ts';
import { EndpointFeed } from './model/endpoint-feed.ts';
import { buildGatewaySchema } from './graphql/schema.ts';
import { createContext, type GatewayContext } from './graphql/context.ts';
import { DefaultLimits, resolveLimits, type Limits } from './graphql/limits.ts';
import { OperationPipeline } from './graphql/pipeline.ts';
import { Fanout } from './subscriptions/fanout.ts';
import { subscriptionResolvers } from './subscriptions/resolvers.ts';
import { GatewayServer, GraphQLPath } from './server/server.ts';
import { GatewayMetrics } from './server/metrics.ts';
import { explorerRoute } from './explorer/route.ts';
import { startSimCluster, type SimCluster } from './sim/index.ts';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';

export interface Gateway {
  readonly url: string;
  readonly source: ClusterSource;
  readonly cache: ClusterCache;
  readonly feed: EndpointFeed;
  readonly fanout: Fanout;
  readonly server: GatewayServer<GatewayContext>;
  readonly metrics: GatewayMetrics;
  /** The demo cluster, when serving it. */
  readonly demo: SimCluster | null;
  /** Resolves once every kind has listed once. */
  synced(): Promise<void>;
  /**
   * The one shutdown path: go unready, wait `delayMs` so endpoints update, close WebSockets with
   * 1001, drain HTTP, stop the watches (and the demo). Safe to call twice.
   */
  stop(delayMs?: number): Promise<void>;
}

/** A start that cannot succeed as configured (bad credentials, missing permissions): one line, exit 1. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface AppOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Reflector tuning (tests). */
  reflector?: ConstructorParameters<typeof ClusterCache>[0]['reflector'];
}

export async function startGateway(cfg: Config, opts: AppOptions): Promise<Gateway> {
  const log = opts.logger;
  const { kc, source, demo } = await chooseCluster(cfg, opts.env ?? process.env, log);
  const client = new ApiClient(kc);
  // The demo cluster grants everything and has no authorization API to ask.
  const checked = demo ? ({ phase: 'ok', version: 'demo' } as const) : await preflight(client, requirements(cfg.namespaces, cfg.watchNodes));
  switch (checked.phase) {
    case 'ok':
      if (!demo) log.info('API server reachable and permissions granted', { version: checked.version });
      break;
    case 'unreachable':
      // Not fatal: the reflectors keep retrying, and /readyz says not ready until they sync.
      log.error(checked.message);
      break;
    case 'fatal':
      client.close();
      await demo?.stop();
      throw new StartupError(checked.message);
    default:
      checked satisfies never;
  }
  let serving: Serving | null = null;
  const cache = new ClusterCache({
    client,
    namespaces: cfg.namespaces.length > 0 ? cfg.namespaces : null,
    watchNodes: cfg.watchNodes,
    reflector: opts.reflector,
    logger: log,
    onStatus: (s) => serving?.metrics.onReflectorStatus(s),
  });
  const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
  feed.start();
  serving = composeServing(cfg, { cache, feed }, log);
  const { server, fanout, metrics } = serving;
  cache.start();
  let address;
  try {
    address = await server.start();
  } catch (err) {
    await cache.stop();
    await demo?.stop();
    client.close();
    throw new ConfigError(`--port: cannot listen on ${cfg.host}:${cfg.port}: ${(err as Error).message}`);
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  log.info(`serving ${source.kind === 'demo' ? 'the embedded demo cluster' : source.detail}; GraphQL at ${url}${GraphQLPath}${cfg.explorer ? `, explorer at ${url}/` : ''}`, {
    cluster: source.kind,
    url,
  });
  void cache.synced().then(() => log.info('cache synced', { kinds: cache.health().map((h) => `${h.kind}=${h.objects}`).join(' ') }));

  let stopping: Promise<void> | null = null;
  const gw: Gateway = {
    url,
    source,
    cache,
    feed,
    fanout,
    server,
    metrics,
    demo,
    synced: () => cache.synced(),
    stop(delayMs = 0) {
      stopping ??= (async () => {
        server!.drain();
        if (delayMs > 0) {
          log.info('shutting down: unready, waiting for endpoints to update', { delayMs });
          await new Promise((r) => setTimeout(r, delayMs));
        }
        await server!.stop();
        fanout.stop();
        feed.stop();
        await cache.stop();
        client.close();
        await demo?.stop();
        log.info('stopped');
      })();
      return stopping;
    },
  };
  return gw;
}

export interface Serving {
  readonly server: GatewayServer<GatewayContext>;
  readonly fanout: Fanout;
  readonly metrics: GatewayMetrics;
}

/**
 * Everything that serves a cache, as a configuration sets it up: one schema, the same limits on
 * HTTP and WebSocket, the fan-out, metrics and (unless turned off) the explorer. Not listening
 * yet: call `server.start()`.
 */
export function composeServing(cfg: Config, sources: { cache: ClusterCache; feed: EndpointFeed }, log: Logger): Serving {
  const { cache, feed } = sources;
  const limits = limitsOf(cfg);
  let metrics: GatewayMetrics | null = null;
  const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
  const context = () => createContext(sources, { limits });
  const pipeline = new OperationPipeline({ schema, limits, introspection: cfg.introspection, logger: log });
  const fanout = new Fanout({
    pipeline,
    cache,
    feed,
    createContext: context,
    maxQueue: cfg.limits.wsMaxQueue,
    slowTimeoutMs: cfg.limits.wsSlowTimeoutMs,
    historySize: cfg.limits.wsHistory,
    onDelivered: (ms) => metrics?.onDelivered(ms),
    onSlowSubscriber: () => metrics?.onSlowSubscriber(),
    logger: log,
  });
  fanout.start();
  let server: GatewayServer<GatewayContext> | null = null;
  metrics = new GatewayMetrics({ cache, sockets: () => server?.socketCount ?? 0, subscribers: () => fanout.subscriberCount, topics: () => fanout.topicCount });
  server = new GatewayServer<GatewayContext>({
    host: cfg.host,
    port: cfg.port,
    graphql: { pipeline, createContext: context },
    cache,
    fanout,
    maxBodyBytes: cfg.limits.maxBodyBytes,
    ws: {
      maxMessageBytes: cfg.limits.wsMaxMessageBytes,
      maxOperations: cfg.limits.wsMaxOperations,
      initTimeoutMs: cfg.limits.wsInitTimeoutMs,
      keepAliveMs: cfg.limits.wsKeepAliveMs,
      onKeepAliveTimeout: () => metrics?.onKeepAliveTimeout(),
    },
    allowedOrigins: cfg.allowedOrigins,
    routes: [metrics.route, ...(cfg.explorer ? [explorerRoute()] : [])],
    onRequest: metrics.onRequest,
    logger: log,
  });
  return { server, fanout, metrics };
}

/** The GraphQL limits a configuration sets (HTTP and WebSocket use the same). */
export function limitsOf(cfg: Config): Limits {
  return resolveLimits({
    maxDepth: cfg.limits.maxDepth,
    maxAliases: cfg.limits.maxAliases,
    maxCost: cfg.limits.maxCost,
    maxTokens: cfg.limits.maxTokens,
    maxPageSize: cfg.limits.maxPageSize,
    defaultPageSize: Math.min(DefaultLimits.defaultPageSize, cfg.limits.maxPageSize),
  });
}

// Private:

async function chooseCluster(cfg: Config, env: NodeJS.ProcessEnv, log: Logger): Promise<{ kc: KubeConfig; source: ClusterSource; demo: SimCluster | null }> {
  if (!cfg.demo) {
    const loaded = loadKubeConfig({ kubeconfig: cfg.kubeconfig ?? undefined, context: cfg.context ?? undefined }, env);
    if (loaded) return { ...loaded, demo: null };
    log.info('no kubeconfig and not in a cluster: starting the embedded demo cluster');
  }
  const demo = await startSimCluster({
    preset: 'demo',
    churn: cfg.demoChurnPerSecond > 0 ? { eventsPerSecond: cfg.demoChurnPerSecond, onError: (e) => log.warn('demo churn step failed', { error: String(e) }) } : false,
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Plain HTTP on loopback: client-node refuses http:// servers unless TLS verification is off.
    clusters: [{ name: 'demo', server: demo.url, skipTLSVerify: true }],
    users: [{ name: 'demo' }],
    contexts: [{ name: 'demo', cluster: 'demo', user: 'demo' }],
    currentContext: 'demo',
  });
  return { kc, source: { kind: 'demo', detail: `demo cluster at ${demo.url}` }, demo };
}
