/**
 * Composition: configuration in, a running gateway out. Picks the cluster, starts the watch
 * cache, the endpoint feed, the fan-out and the server, and owns the one shutdown path
 * (`stop`). main.ts adds the command line and signals; tests start gateways in-process here.
 */
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { ApiClient, ConfigError, loadKubeConfig, type ClusterSource } from './kube/client.ts';
import { ClusterCache, RouteKinds } from './kube/cache.ts';
import { preflight, requirements } from './kube/preflight.ts';
import { EndpointFeed } from './model/endpoint-feed.ts';
import { EndpointHistory } from './model/history.ts';
import { buildGatewaySchema } from './graphql/schema.ts';
import { createContext, type GatewayContext } from './graphql/context.ts';
import { DefaultLimits, resolveLimits, type Limits } from './graphql/limits.ts';
import { OperationPipeline, type Execution } from './graphql/pipeline.ts';
import { SubjectAccessAuthorizer, TokenAuthenticator, type ReviewClient, type ReviewObserver } from './auth/reviews.ts';
import type { Access, Verb } from './auth/access.ts';
import { CallerAuth } from './server/auth.ts';
import { Fanout } from './subscriptions/fanout.ts';
import { subscriptionResolvers } from './subscriptions/resolvers.ts';
import { GatewayServer, GraphQLPath } from './server/server.ts';
import { ServingCertificate, loadKeyPair } from './server/tls.ts';
import { GatewayMetrics } from './server/metrics.ts';
import { explorerRoute } from './explorer/route.ts';
import type * as Demo from '../demo/src/index.ts';
import type { SimCluster } from '../demo/src/index.ts';
import { isLoopbackHost, type Config } from './config.ts';
import type { Logger } from './log.ts';

export interface Gateway {
  readonly url: string;
  readonly source: ClusterSource;
  readonly cache: ClusterCache;
  readonly feed: EndpointFeed;
  readonly fanout: Fanout;
  /** The endpoint history: subscriptions resume from it, history queries page it. */
  readonly history: EndpointHistory;
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
  /** How often Gateway API discovery polls (tests). @default 30_000 // 30 seconds */
  discoveryIntervalMs?: number;
}

export async function startGateway(cfg: Config, opts: AppOptions): Promise<Gateway> {
  const log = opts.logger;
  // Before anything starts: a certificate that cannot be served is a configuration error.
  const tls = servingCertificate(cfg, log);
  const { kc, source, demo, demoTokens } = await chooseCluster(cfg, opts.env ?? process.env, log);
  const client = new ApiClient(kc);
  // The demo cluster grants everything and has no authorization API to ask.
  const checked = demo ? ({ phase: 'ok', version: 'demo', unreadable: [], warnings: [] } as const) : await preflight(client, requirements(cfg.namespaces, cfg.watchNodes, cfg.auth === 'kubernetes'));
  switch (checked.phase) {
    case 'ok':
      if (!demo) log.info('API server reachable and permissions granted', { version: checked.version });
      for (const w of checked.warnings) log.warn(w);
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
    routeKinds: checked.phase === 'ok' ? RouteKinds.filter((k) => !checked.unreadable.includes(k)) : RouteKinds,
    reflector: opts.reflector,
    discoveryIntervalMs: opts.discoveryIntervalMs,
    // The demo cluster grants everything and has no authorization API to ask.
    askPermissions: !demo,
    logger: log,
    onStatus: (s) => serving?.metrics.onReflectorStatus(s),
  });
  const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
  feed.start();
  serving = composeServing(cfg, { cache, feed }, log, { tls, client });
  const { server, fanout, metrics, history } = serving;
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
  const url = `${server.scheme}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  const explorer = cfg.explorer ? `explorer at ${url}/ · ` : '';
  log.info(`serving ${source.detail}; ${explorer}GraphQL at ${url}${GraphQLPath}`, { cluster: source.kind, url });
  if (cfg.auth === 'kubernetes') {
    log.info(`authentication: kubernetes (every caller needs a bearer token and sees what it may list)${demoTokens ? `; demo tokens: ${demoTokens.admin} (everything), ${demoTokens.shop} (namespace shop only, no Nodes)` : ''}`, { auth: 'kubernetes' });
  } else if (isLoopbackHost(cfg.host)) {
    log.info('authentication: none (loopback only: every local caller sees everything the gateway can read)', { auth: 'none' });
  } else {
    log.warn(AuthOffWarning, { auth: 'none', host: cfg.host });
  }
  if (!tls && !isLoopbackHost(cfg.host)) {
    log.warn('serving plain HTTP on a non-loopback address: bearer tokens and answers would travel in plain text; serve TLS with --tls-cert-file and --tls-private-key-file', { host: cfg.host });
  }
  void cache.synced().then(() => log.info('cache synced', { kinds: cache.health().map((h) => `${h.kind}=${h.objects}`).join(' ') }));

  let stopping: Promise<void> | null = null;
  const gw: Gateway = {
    url,
    source,
    cache,
    feed,
    fanout,
    history,
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
        history.stop();
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
  /** The endpoint history (started): subscriptions resume from it, queries page it. */
  readonly history: EndpointHistory;
}

/**
 * Everything that serves a cache, as a configuration sets it up: one schema, the same limits on
 * HTTP and WebSocket, the fan-out, metrics, (unless turned off) the explorer and (with
 * `cfg.tls`) HTTPS: pass `opts.tls` when already loaded, else it is loaded here. Not listening
 * yet: call `server.start()`. Throws ConfigError when the certificate cannot be served.
 */
export function composeServing(
  cfg: Config,
  sources: { cache: ClusterCache; feed: EndpointFeed },
  log: Logger,
  opts: { tls?: ServingCertificate | null; client?: ReviewClient | null; execution?: Execution } = {},
): Serving {
  const { cache, feed } = sources;
  const history = new EndpointHistory(feed, cache.services, { maxSteps: cfg.limits.historyMax, windowMs: cfg.limits.historyWindowMs, routes: cache });
  history.start();
  const tls = opts.tls !== undefined ? opts.tls : servingCertificate(cfg, log);
  let metrics: GatewayMetrics | null = null;
  const auth = callerAuth(cfg, opts.client ?? null, { onDecision: (kind, outcome, cached, ms) => metrics?.onAuthDecision(kind, outcome, cached, ms) });
  const limits = limitsOf(cfg);
  const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
  const context = (access: Access, verb: Verb = 'list') => createContext({ ...sources, history }, { limits, access, verb });
  const pipeline = new OperationPipeline({ schema, limits, introspection: cfg.introspection, logger: log, execution: opts.execution });
  const fanout = new Fanout({
    pipeline,
    cache,
    feed,
    createContext: context,
    maxQueue: cfg.limits.wsMaxQueue,
    slowTimeoutMs: cfg.limits.wsSlowTimeoutMs,
    reauthorizeMs: auth.mode === 'kubernetes' ? cfg.authAllowedTtlMs : 0,
    history,
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
    graphql: { pipeline, createContext: (access) => context(access) },
    cache,
    fanout,
    auth,
    revalidateTokenMs: cfg.authTokenTtlMs,
    warning: auth.mode === 'none' && !isLoopbackHost(cfg.host) ? AuthOffWarning : null,
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
    explorerPath: cfg.explorer ? '/' : null,
    onRequest: metrics.onRequest,
    tls,
    logger: log,
  });
  return { server, fanout, metrics, history };
}

/** Said at start and in /readyz when `--auth none` listens beyond loopback. */
export const AuthOffWarning = 'authentication is off (--auth none) on a non-loopback address: every caller sees everything the gateway can read';

/**
 * `--auth kubernetes`: TokenReview and SubjectAccessReview through `client` (the gateway's own
 * connection to the API server, or the demo cluster's), with the configured audiences and TTLs.
 */
export function callerAuth(cfg: Config, client: ReviewClient | null, observer: ReviewObserver): CallerAuth {
  if (cfg.auth === 'none') return new CallerAuth({ mode: 'none' });
  if (client === null) throw new ConfigError('--auth: kubernetes needs a connection to the API server to review tokens');
  return new CallerAuth({
    mode: 'kubernetes',
    authenticator: new TokenAuthenticator({ client, audiences: cfg.authAudiences, authenticatedTtlMs: cfg.authTokenTtlMs, observer }),
    authorizer: new SubjectAccessAuthorizer({ client, allowedTtlMs: cfg.authAllowedTtlMs, deniedTtlMs: cfg.authDeniedTtlMs, observer }),
  });
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

/**
 * The serving certificate `cfg.tls` names, checked (readable, parses, key matches), not yet
 * watching; null without `cfg.tls`. Throws ConfigError naming the flag of the file at fault.
 */
export function servingCertificate(cfg: Config, log: Logger): ServingCertificate | null {
  if (!cfg.tls) return null;
  const loaded = loadKeyPair(cfg.tls);
  switch (loaded.phase) {
    case 'ok':
      return new ServingCertificate({ ...cfg.tls, pair: loaded.pair, logger: log });
    case 'invalid':
      throw new ConfigError(`${loaded.file === 'cert' ? '--tls-cert-file' : '--tls-private-key-file'}: ${loaded.message}`);
    default:
      return loaded satisfies never;
  }
}

// Private:

/**
 * The cluster to serve: the kubeconfig or in-cluster account that was named or found, else the
 * demo cluster, loaded from `demo/` only now so that a production process never loads it. A
 * kubeconfig that was named but cannot be used is a StartupError (exit 1), never the demo.
 */
async function chooseCluster(cfg: Config, env: NodeJS.ProcessEnv, log: Logger): Promise<{ kc: KubeConfig; source: ClusterSource; demo: SimCluster | null; demoTokens: { admin: string; shop: string } | null }> {
  if (!cfg.demo) {
    let loaded;
    try {
      loaded = loadKubeConfig({ kubeconfig: cfg.kubeconfig ?? undefined, context: cfg.context ?? undefined }, env);
    } catch (err) {
      if (err instanceof ConfigError) throw new StartupError(err.message);
      throw err;
    }
    if (loaded) return { ...loaded, demo: null, demoTokens: null };
  }
  const why = cfg.demo ? '--demo was given' : 'no kubeconfig was named: no --kubeconfig, no KUBECONFIG, not in a cluster, no ~/.kube/config';
  let sim: typeof Demo;
  try {
    sim = await import(DemoPackage);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new StartupError(`${cfg.demo ? '--demo' : 'no kubeconfig was named (--kubeconfig, KUBECONFIG, ~/.kube/config) and the demo cluster'}: the demo package (demo/) is not installed here; name a kubeconfig or run in a cluster`);
  }
  const demo = await sim.startSimCluster({
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
  return { kc, source: { kind: 'demo', detail: `the DEMO cluster (generated, not a real cluster; ${why})` }, demo, demoTokens: sim.DemoTokens };
}

/** The demo cluster's entry point, imported only when the demo is served (see `chooseCluster`). */
const DemoPackage = new URL('../demo/src/index.ts', import.meta.url).href;
