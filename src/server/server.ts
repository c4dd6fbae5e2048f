/**
 * The gateway's one port: GraphQL over HTTP (Apollo Server), GraphQL over WebSocket (our
 * graphql-transport-ws core fed by the fan-out), health, metrics and the explorer, all on one
 * node:http server (node:https with `tls`: HTTPS and WSS) and one schema. `start()` listens;
 * `stop()` is the one shutdown path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ApolloServer, BaseContext } from '@apollo/server';
import { serveGraphQL, sendJSON, startApollo } from './apollo.ts';
import { WsGateway } from './ws.ts';
import type { ServingCertificate } from './tls.ts';
import type { ClusterCache } from '../kube/cache.ts';
import type { Fanout } from '../subscriptions/fanout.ts';
import type { OperationPipeline } from '../graphql/pipeline.ts';
import { OpenCaller, type Access, type Caller } from '../auth/access.ts';
import { AuthErrorCode, bearerToken, connectionParamsToken, type CallerAuth } from './auth.ts';
import type { ProtocolHooks } from './ws-protocol.ts';
import { errorText, type Logger } from '../log.ts';
import { rfc3339 } from '../model/text.ts';

export interface GraphQLLayer<C extends BaseContext> {
  /** The one operation pipeline (HTTP through Apollo, WebSocket through the fan-out). */
  pipeline: OperationPipeline;
  /** A context for one HTTP operation by a caller with `access`. */
  createContext: (access: Access) => C;
}

export interface ExtraRoute {
  /** Handle the request and return true, or return false to pass. */
  (req: IncomingMessage, res: ServerResponse, url: URL): boolean | Promise<boolean>;
}

export interface ServerOptions<C extends BaseContext> {
  host: string;
  port: number;
  graphql: GraphQLLayer<C>;
  cache: ClusterCache;
  fanout: Fanout;
  /** Who is calling (`--auth`). */
  auth: CallerAuth;
  /** How often a WebSocket's token is reviewed again; a token that stopped validating closes the socket with 4403. @default 120_000 // 2 minutes */
  revalidateTokenMs?: number;
  /** Said in /readyz when set (e.g. authentication is off on a non-loopback address). */
  warning?: string | null;
  maxBodyBytes: number;
  ws: { maxMessageBytes: number; maxOperations: number; initTimeoutMs: number; keepAliveMs: number; onKeepAliveTimeout?: () => void };
  allowedOrigins: readonly string[];
  /** Where the explorer is served, to point to it from a GET of /graphql without a query; null when it is off. @default null */
  explorerPath?: string | null;
  /** Routes tried before GraphQL (explorer, metrics). */
  routes?: readonly ExtraRoute[];
  /** Called with each HTTP request's duration (ms) and status, for metrics. */
  onRequest?: (route: string, status: number, ms: number) => void;
  /**
   * Serve HTTPS and WSS with this certificate; `start()` starts its reloading (each reloaded
   * pair goes to `setSecureContext`, for new connections) and `stop()` stops it.
   * @default null // plain HTTP
   */
  tls?: ServingCertificate | null;
  logger: Logger;
}

export const GraphQLPath = '/graphql';

/** `GraphQLPath` parsed, for requests whose URL is exactly that (handle: one parse, not one per request). */
const GraphQLURL = new URL(GraphQLPath, 'http://localhost');

/** The methods /graphql answers. */
const AllowedMethods = 'GET, POST, OPTIONS';

/** RFC 6455 "Try Again Later": the API server could not review the token. */
const CloseTryAgainLater = 1013;

export class GatewayServer<C extends BaseContext> {
  private readonly options: ServerOptions<C>;
  private readonly http: Server | HttpsServer;
  private apollo: ApolloServer<C> | null = null;
  private ws: WsGateway | null = null;
  private draining = false;
  private stopping: Promise<void> | null = null;

  constructor(options: ServerOptions<C>) {
    this.options = options;
    const timeouts = { requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 };
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const pair = options.tls?.current;
    this.http = pair ? createHttpsServer({ ...timeouts, cert: pair.cert, key: pair.key }, handler) : createServer(timeouts, handler);
  }

  /** 'https' when serving with a certificate, else 'http'. */
  get scheme(): 'http' | 'https' {
    return this.options.tls ? 'https' : 'http';
  }

  /** Start Apollo and listen; resolves with the bound address. */
  async start(): Promise<AddressInfo> {
    const g = this.options.graphql;
    this.apollo = await startApollo<C>({ pipeline: g.pipeline, logger: this.options.logger });
    this.ws = new WsGateway({
      server: this.http,
      path: GraphQLPath,
      maxMessageBytes: this.options.ws.maxMessageBytes,
      maxOperations: this.options.ws.maxOperations,
      initTimeoutMs: this.options.ws.initTimeoutMs,
      keepAliveMs: this.options.ws.keepAliveMs,
      onKeepAliveTimeout: this.options.ws.onKeepAliveTimeout,
      originAllowed: (origin, req) => this.originAllowed(origin, req),
      hooks: (req) => this.socketHooks(req),
      logger: this.options.logger,
    });
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const https = this.http as HttpsServer;
    this.options.tls?.start((pair) => https.setSecureContext({ cert: pair.cert, key: pair.key }));
    return this.http.address() as AddressInfo;
  }

  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  get socketCount(): number {
    return this.ws?.socketCount ?? 0;
  }

  /** Go unready (readyz answers 503) while still serving: the first step of shutdown. */
  drain(): void {
    this.draining = true;
  }

  /**
   * Stop: refuse new work, close WebSockets with 1001 (reconnect elsewhere), let in-flight
   * HTTP requests finish (up to `graceMs`), then stop Apollo. Stops reloading the certificate.
   * Safe to call twice.
   */
  stop(graceMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      this.draining = true;
      this.options.tls?.stop();
      await this.ws?.closeAll();
      const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeIdleConnections();
      const timer = setTimeout(() => this.http.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      await this.apollo?.stop();
    })();
    return this.stopping;
  }

  // Private:

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    // The common request (POST /graphql) shares one parsed URL: nothing changes a URL it is given.
    const url = req.url === GraphQLPath ? GraphQLURL : new URL(req.url ?? '/', 'http://localhost');
    let route = 'other';
    try {
      if (this.applyCors(req, res)) return;
      switch (url.pathname) {
        case '/healthz':
          route = 'healthz';
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
          return;
        case '/readyz': {
          route = 'readyz';
          const ready = !this.draining && this.options.cache.isReady();
          sendJSON(res, ready ? 200 : 503, {
            ready,
            draining: this.draining,
            auth: this.options.auth.mode,
            ...(this.options.warning ? { warning: this.options.warning } : {}),
            // Times as RFC 3339, as GraphQL's cluster.kinds gives them.
            kinds: this.options.cache.health().map((h) => ({ ...h, syncedAt: rfc3339(h.syncedAt), lastEventAt: rfc3339(h.lastEventAt) })),
          });
          return;
        }
      }
      for (const r of this.options.routes ?? []) {
        // Routes answer most requests synchronously (false): no await for those.
        const hit = r(req, res, url);
        if (hit === true || (hit !== false && (await hit))) {
          route = url.pathname;
          return;
        }
      }
      if (url.pathname === GraphQLPath) {
        route = 'graphql';
        if (this.answerMethod(req, res, url)) return;
        const outcome = await this.options.auth.callerFor(bearerToken(req.headers.authorization));
        switch (outcome.kind) {
          case 'ok':
            await serveGraphQL(this.apollo!, req, res, async () => this.options.graphql.createContext(outcome.caller.access), this.options.maxBodyBytes, url.search);
            return;
          case 'unauthenticated':
            req.resume();
            this.options.logger.info('request refused: unauthenticated', { path: url.pathname, reason: outcome.message });
            res.setHeader('www-authenticate', 'Bearer realm="kube-netgraph"');
            sendJSON(res, 401, { errors: [{ message: outcome.message, extensions: { code: AuthErrorCode.UNAUTHENTICATED } }] });
            return;
          case 'unavailable':
            req.resume();
            this.options.logger.warn('request refused: the token could not be reviewed', { path: url.pathname });
            sendJSON(res, 503, { errors: [{ message: outcome.message, extensions: { code: AuthErrorCode.AUTHENTICATION_UNAVAILABLE } }] });
            return;
          default:
            return outcome satisfies never;
        }
      }
      sendJSON(res, 404, { errors: [{ message: `path: expected ${GraphQLPath}, /healthz, /readyz or /metrics, got ${JSON.stringify(url.pathname.slice(0, 80))}`, extensions: { code: 'NOT_FOUND' } }] });
    } catch (err) {
      this.options.logger.error('request failed', { error: errorText(err), path: url.pathname });
      if (!res.headersSent) sendJSON(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    } finally {
      this.options.onRequest?.(route, res.statusCode, performance.now() - started);
    }
  }

  /**
   * One WebSocket's hooks: the caller comes from the upgrade request's Authorization header,
   * else from the connection_init payload; no valid token closes it with 4403 (1013 when the
   * token could not be reviewed). The token is reviewed again every `revalidateTokenMs`.
   */
  private socketHooks(req: IncomingMessage): ProtocolHooks {
    const auth = this.options.auth;
    const headerToken = bearerToken(req.headers.authorization);
    let caller: Caller = OpenCaller;
    let timer: NodeJS.Timeout | null = null;
    return {
      onConnect: async (params, control) => {
        if (auth.mode === 'none') return true;
        const token = headerToken ?? connectionParamsToken(params);
        const outcome = await auth.callerFor(token);
        if (outcome.kind === 'unavailable') {
          this.options.logger.warn('websocket refused: the token could not be reviewed');
          control.close(CloseTryAgainLater, 'Try again later: the token could not be reviewed');
          return false;
        }
        if (outcome.kind === 'unauthenticated') {
          this.options.logger.info('websocket refused: unauthenticated', { reason: outcome.message });
          return false;
        }
        caller = outcome.caller;
        timer = setInterval(() => {
          void auth.callerFor(token).then((again) => {
            if (again.kind !== 'unauthenticated') return;
            this.options.logger.info('websocket closed: its token no longer validates', { user: caller.user?.username });
            control.close(4403, 'Forbidden: the token no longer validates');
          });
        }, this.options.revalidateTokenMs ?? 120_000);
        timer.unref();
        return true;
      },
      onSubscribe: (sink, payload) => this.options.fanout.subscribe(sink, payload, caller),
      onClosed: () => {
        if (timer) clearInterval(timer);
      },
    };
  }

  private originAllowed(origin: string, req: IncomingMessage): boolean {
    if (this.options.allowedOrigins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  /**
   * Requests to /graphql that are not an operation, answered here instead of by Apollo's CSRF
   * refusal: a GET without `query` (a browser that wants HTML has had the explorer already) is
   * told how to ask; a method GraphQL over HTTP does not use is 405 with `Allow`; an OPTIONS
   * that applyCors did not answer (no Origin, or one not in --allowed-origins) is 204 with
   * `Allow` and no CORS headers, so a browser still refuses the cross-origin request. Returns
   * true when the request was answered.
   */
  private answerMethod(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const method = req.method ?? 'GET';
    if ((method === 'GET' || method === 'HEAD') && !url.searchParams.has('query')) {
      req.resume();
      const explorer = this.options.explorerPath ? `; or open the explorer at ${this.options.explorerPath}` : '';
      sendJSON(res, 400, {
        errors: [
          {
            message: `request: expected a GraphQL operation, got a ${method} without ?query= (POST {"query": "{ cluster { ready } }"} as application/json to ${GraphQLPath}, subscribe over WebSocket at ${GraphQLPath} with graphql-transport-ws${explorer})`,
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      });
      return true;
    }
    if (method === 'OPTIONS') {
      req.resume();
      res.writeHead(204, { allow: AllowedMethods }).end();
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      req.resume();
      res.setHeader('allow', AllowedMethods);
      sendJSON(res, 405, {
        errors: [{ message: `method: expected GET or POST, got ${JSON.stringify(method.slice(0, 20))}`, extensions: { code: 'METHOD_NOT_ALLOWED' } }],
      });
      return true;
    }
    return false;
  }

  /** CORS for the configured origins; answers preflights. Returns true when the request was answered. */
  private applyCors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (!origin || !this.options.allowedOrigins.includes(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': AllowedMethods,
        'access-control-allow-headers': 'content-type, authorization, apollo-require-preflight',
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    return false;
  }
}
