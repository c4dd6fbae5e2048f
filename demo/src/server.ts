/**
 * The simulated cluster over loopback HTTP, in the Kubernetes list/watch wire format, so a
 * reflector talks to it exactly as to a kube-apiserver.
 *
 * Paths (GET only; anything else is 405):
 * - `/api/v1/{pods,services,nodes,namespaces}`, `/api/v1/namespaces/{ns}/{pods,services}`,
 *   `/apis/discovery.k8s.io/v1/endpointslices`, `/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices`,
 *   `/apis/apps/v1/deployments`, `/apis/networking.k8s.io/v1/{ingresses,ingressclasses}`, the
 *   Gateway API kinds under `/apis/gateway.networking.k8s.io/{v1,v1beta1}` (and namespaced):
 *   LIST, or WATCH with `watch=1|true`;
 * - `…/{name}` below those: GET one object;
 * - `/api`, `/apis`, `/api/v1`, `/apis/{group}`, `/apis/{group}/{version}`: discovery documents;
 * - `/version`, `/healthz`, `/readyz`, `/livez`;
 * - POST `/apis/authentication.k8s.io/v1/tokenreviews` and
 *   `/apis/authorization.k8s.io/v1/subjectaccessreviews`: the demo users' reviews (reviews.ts).
 * An unknown path is 404 with a Status body. Errors are always `Status` objects.
 *
 * LIST honours `limit` and `continue` (an opaque base64url token holding the snapshot revision
 * and the last key; every page of one list is served at the snapshot revision, reconstructed
 * from the store's history, and a token whose revision is compacted answers 410 Expired),
 * `resourceVersion` with `resourceVersionMatch` (`Exact`, `NotOlderThan`; unset with a limit and
 * a non-zero version means Exact, as the real server does), `labelSelector` and `fieldSelector`
 * (see selectors.ts). Items come in key order (`namespace/name`) and, like the real server's,
 * without `kind`/`apiVersion` (kubernetes/kubernetes#3030) unless `listItemTypeMeta` is set.
 * `remainingItemCount` is sent only without selectors. `limit` is honoured at every resourceVersion
 * (a real server may ignore it for resourceVersion=0, served from its watch cache).
 *
 * WATCH streams newline-delimited JSON events, one per line:
 * - from `resourceVersion` X: every event strictly after X, then live ones; X older than the
 *   history gets an in-stream `ERROR` event with a 410 Expired Status on an HTTP 200 stream, then
 *   the stream ends (what a real apiserver does);
 * - without a version, or "0": synthetic ADDED events for the current state first (with
 *   `sendInitialEvents=true`, which needs `resourceVersionMatch=NotOlderThan` and bookmarks,
 *   followed by a BOOKMARK annotated `k8s.io/initial-events-end: "true"`);
 * - `allowWatchBookmarks=true`: a BOOKMARK with the current revision every `bookmarkIntervalMs`
 *   and one `bookmarkBeforeTimeoutMs` before the deadline;
 * - `timeoutSeconds`: the stream ends cleanly at the deadline (default `watchTimeoutMs`);
 * - selectors apply as in the real watch cache: an object that starts matching arrives as
 *   ADDED, one that stops matching as DELETED;
 * - a client that falls `maxWatchQueue` events behind has its stream ended (it re-watches from
 *   its last version, as after any clean close).
 *
 * The wire format (resources, discovery, list bodies, Status objects, continue tokens) is in
 * server/wire.ts; one watch response is in server/watch-stream.ts.
 *
 * Fault hooks for tests: {@link SimServer.dropWatches}, {@link SimServer.setUnavailable},
 * {@link SimServer.injectWatchError}.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cluster, ClusterEvent } from './cluster.ts';
import { ExpiredError, TooLargeError } from './cluster.ts';
import type { StatusJson } from './types.ts';
import { isSelectorError, parseSelectors } from './selectors.ts';
import { answerSubjectAccessReview, answerTokenReview } from './reviews.ts';
import type { ReviewAnswer } from './reviews.ts';
import type { ObjectPredicate } from './selectors.ts';
import { WatchStream } from './server/watch-stream.ts';
import { ContinueExpiredMessage, Resources, apiGroupList, apiResourceList, apiVersionOf, badRequest, decodeContinue, encodeContinue, invalid, listItemSerializer, parseRevision, resolve, sendJson, sendNotFound, sendStatus, statusOf, tooLarge, writeList, type Route } from './server/wire.ts';

export { Resources, decodeContinue, encodeContinue, statusOf, type ResourceInfo } from './server/wire.ts';

export interface SimServerOptions {
  readonly cluster: Cluster;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 // a free port */
  readonly port?: number;
  /** Between bookmarks on a watch with `allowWatchBookmarks=true`. @default 60_000 // 60 seconds */
  readonly bookmarkIntervalMs?: number;
  /** The last bookmark comes this long before a watch's deadline. @default 2_000 // 2 seconds */
  readonly bookmarkBeforeTimeoutMs?: number;
  /**
   * A watch's deadline when the client gives no `timeoutSeconds` (the real server picks at
   * random between 30 and 60 minutes).
   * @default 1_800_000 // 30 minutes
   */
  readonly watchTimeoutMs?: number;
  /** A watch whose client lags this many events behind is ended. @default 10_000 // events */
  readonly maxWatchQueue?: number;
  /** Put `kind` and `apiVersion` on list items (the real server does not). @default false */
  readonly listItemTypeMeta?: boolean;
  /** `/version`'s gitVersion. @default 'v1.36.0' */
  readonly gitVersion?: string;
}

export interface SimServerStats {
  /** Requests answered since start (watches counted when they open). */
  readonly requests: number;
  readonly lists: number;
  readonly watchesOpened: number;
  readonly openWatches: number;
  /** TokenReviews answered (valid or not). */
  readonly tokenReviews: number;
  /** SubjectAccessReviews answered (valid or not). */
  readonly subjectAccessReviews: number;
}

/** How {@link SimServer.setUnavailable} fails requests. */
export type UnavailableMode = 'status' | 'refuse';

export interface SimServer {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly cluster: Cluster;
  /** Watches currently streaming. */
  readonly openWatches: number;
  stats(): SimServerStats;
  /** Destroys every open watch connection (the client sees a reset, not a clean end). Returns how many. */
  dropWatches(): number;
  /**
   * Makes the server unavailable until called with false.
   * - `status` (default): every request gets 503 ServiceUnavailable; open watches stay.
   * - `refuse`: the listener closes (new connections are refused) and every connection,
   *   watches included, is destroyed; turning it back on listens on the same port.
   * @throws when re-listening on the port fails (it was taken meanwhile).
   */
  setUnavailable(unavailable: boolean, mode?: UnavailableMode): Promise<void>;
  /**
   * Sends an `ERROR` event with this Status to every open watch, then ends them (as the real
   * server does after an error). Missing fields default to a 410 Expired Status. Returns how many.
   */
  injectWatchError(status?: Partial<StatusJson>): number;
  /** Ends every watch, closes every connection and the listener. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts serving the cluster; resolves once listening.
 * @throws when the port cannot be bound.
 */
export async function startSimServer(options: SimServerOptions): Promise<SimServer> {
  const server = new SimHttpServer(options);
  await server.listen(options.port ?? 0);
  return server;
}

// Private:

/** The review resources the sim answers on POST, with the counter each one bumps. */
interface ReviewRoute {
  readonly stat: 'tokenReviews' | 'subjectAccessReviews';
  readonly answer: (body: unknown) => ReviewAnswer;
}

const ReviewAnswers: ReadonlyMap<string, ReviewRoute> = new Map<string, ReviewRoute>([
  ['/apis/authentication.k8s.io/v1/tokenreviews', { stat: 'tokenReviews', answer: answerTokenReview }],
  ['/apis/authorization.k8s.io/v1/subjectaccessreviews', { stat: 'subjectAccessReviews', answer: answerSubjectAccessReview }],
]);

/** The request's label and field selectors as one predicate; null after answering 400 for a bad one. */
function selectorsOrReject(res: ServerResponse, params: URLSearchParams, kind: string): ObjectPredicate | undefined | null {
  try {
    return parseSelectors(params.get('labelSelector') ?? '', params.get('fieldSelector') ?? '', kind);
  } catch (error) {
    if (isSelectorError(error)) {
      sendStatus(res, badRequest(error.message));
      return null;
    }
    throw error;
  }
}

interface Stats {
  requests: number;
  lists: number;
  watchesOpened: number;
  tokenReviews: number;
  subjectAccessReviews: number;
}

class SimHttpServer implements SimServer {
  readonly cluster: Cluster;
  readonly host: string;
  #port = 0;
  readonly #server: Server;
  readonly #options: Required<Omit<SimServerOptions, 'cluster' | 'host' | 'port'>>;
  readonly #watches = new Set<WatchStream>();
  readonly #stats: Stats = { requests: 0, lists: 0, watchesOpened: 0, tokenReviews: 0, subjectAccessReviews: 0 };
  #unavailable: UnavailableMode | undefined;
  #listening = false;
  #stopped = false;

  constructor(options: SimServerOptions) {
    this.cluster = options.cluster;
    this.host = options.host ?? '127.0.0.1';
    this.#options = {
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      bookmarkBeforeTimeoutMs: options.bookmarkBeforeTimeoutMs ?? 2_000,
      watchTimeoutMs: options.watchTimeoutMs ?? 1_800_000,
      maxWatchQueue: options.maxWatchQueue ?? 10_000,
      listItemTypeMeta: options.listItemTypeMeta ?? false,
      gitVersion: options.gitVersion ?? 'v1.36.0',
    };
    this.#server = createServer((req, res) => this.#handle(req, res));
    // A watch can be quiet for minutes between bookmarks: no request or keep-alive timeout cuts it.
    this.#server.requestTimeout = 0;
    this.#server.headersTimeout = 60_000;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${host}:${this.#port}`;
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  stats(): SimServerStats {
    return { ...this.#stats, openWatches: this.#watches.size };
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, this.host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#listening = true;
  }

  dropWatches(): number {
    const n = this.#watches.size;
    for (const watch of [...this.#watches]) watch.destroy();
    return n;
  }

  async setUnavailable(unavailable: boolean, mode: UnavailableMode = 'status'): Promise<void> {
    if (this.#stopped) return;
    if (unavailable) {
      this.#unavailable = mode;
      if (mode === 'refuse' && this.#listening) await this.#closeListener();
      return;
    }
    this.#unavailable = undefined;
    if (!this.#listening) await this.listen(this.#port);
  }

  injectWatchError(status: Partial<StatusJson> = {}): number {
    const full: StatusJson = {
      ...statusOf(410, 'Expired', `too old resource version: 1 (${this.cluster.oldestRevision})`),
      ...status,
    };
    const n = this.#watches.size;
    for (const watch of [...this.#watches]) watch.error(full);
    return n;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const watch of [...this.#watches]) watch.destroy();
    if (this.#listening) await this.#closeListener();
  }

  async #closeListener(): Promise<void> {
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const watch of [...this.#watches]) watch.destroy();
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#stats.requests++;
    try {
      this.#route(req, res);
    } catch (error) {
      // Never let one request take the server down.
      if (!res.headersSent) sendStatus(res, statusOf(500, 'InternalError', `Internal error occurred: ${String(error)}`));
      else res.destroy();
    }
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    if (this.#unavailable !== undefined) {
      sendStatus(res, statusOf(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const review = req.method === 'POST' ? ReviewAnswers.get(path) : undefined;
    if (review !== undefined) {
      this.#review(req, res, review);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendStatus(res, statusOf(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
      return;
    }
    switch (path) {
      case '/healthz':
      case '/readyz':
      case '/livez':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end('ok');
        return;
      case '/version':
        sendJson(res, 200, this.#version());
        return;
      case '/api':
        sendJson(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${this.host}:${this.#port}` }] });
        return;
      case '/apis':
        sendJson(res, 200, apiGroupList());
        return;
    }
    const segments = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    if (segments[0] === 'apis' && segments.length === 2) {
      const group = (apiGroupList() as { groups: { name: string }[] }).groups.find((g) => g.name === segments[1]);
      if (group) sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...group });
      else sendNotFound(res);
      return;
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api' && segments.length >= 2) {
      group = '';
      version = segments[1] as string;
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 3) {
      group = segments[1] as string;
      version = segments[2] as string;
      rest = segments.slice(3);
    } else {
      sendNotFound(res);
      return;
    }
    const resources = Resources.filter((r) => r.group === group && r.version === version);
    if (resources.length === 0) {
      sendNotFound(res);
      return;
    }
    if (rest.length === 0) {
      sendJson(res, 200, apiResourceList(group, version, resources));
      return;
    }
    const route = resolve(resources, rest);
    if (route === undefined) {
      sendNotFound(res);
      return;
    }
    const params = url.searchParams;
    if (route.name !== undefined) {
      this.#get(res, route);
      return;
    }
    const watch = params.get('watch');
    if (watch === '1' || watch === 'true') this.#watch(req, res, route, params);
    else this.#list(res, route, params);
  }

  /** Reads a review's JSON body (at most 1 MiB) and answers it. */
  #review(req: IncomingMessage, res: ServerResponse, review: ReviewRoute): void {
    this.#stats[review.stat]++;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1024 * 1024) {
        sendStatus(res, statusOf(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 1048576'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        sendStatus(res, badRequest('the request body is not JSON'));
        return;
      }
      const answer = review.answer(body);
      sendJson(res, answer.code, answer.body);
    });
    req.on('error', () => res.destroy());
  }

  #get(res: ServerResponse, route: Route): void {
    const object = this.cluster.get(route.info.kind, route.namespace, route.name as string);
    if (object === undefined) {
      sendStatus(res, statusOf(404, 'NotFound', `${route.info.resource}${route.info.group ? `.${route.info.group}` : ''} "${route.name}" not found`, {
        name: route.name as string,
        ...(route.info.group ? { group: route.info.group } : {}),
        kind: route.info.resource,
      }));
      return;
    }
    sendJson(res, 200, object);
  }

  #list(res: ServerResponse, route: Route, params: URLSearchParams): void {
    this.#stats.lists++;
    const { info } = route;
    const limitText = params.get('limit') ?? '';
    const limit = limitText === '' ? 0 : Number(limitText);
    if (!Number.isSafeInteger(limit) || limit < 0) {
      sendStatus(res, badRequest(`limit: expected a non-negative integer, but got: ${JSON.stringify(limitText)}`));
      return;
    }
    const filter = selectorsOrReject(res, params, info.kind);
    if (filter === null) return;
    const rv = params.get('resourceVersion') ?? '';
    const rvMatch = params.get('resourceVersionMatch') ?? '';
    const token = params.get('continue') ?? '';

    let revision: number;
    let after: string | undefined;
    if (token !== '') {
      if (rv !== '' && rv !== '0') {
        sendStatus(res, badRequest('specifying resource version is not allowed when using continue'));
        return;
      }
      try {
        ({ revision, lastKey: after } = decodeContinue(token));
      } catch (error) {
        sendStatus(res, badRequest((error as Error).message));
        return;
      }
    } else {
      const chosen = this.#listRevision(rv, rvMatch, limit);
      if (typeof chosen !== 'number') {
        sendStatus(res, chosen);
        return;
      }
      revision = chosen;
    }

    let page;
    try {
      page = this.cluster.listPage({
        kind: info.kind,
        ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
        revision,
        ...(after !== undefined ? { after } : {}),
        limit,
        ...(filter !== undefined ? { filter } : {}),
      });
    } catch (error) {
      if (error instanceof ExpiredError) {
        const status = token !== ''
          ? statusOf(410, 'Expired', ContinueExpiredMessage, undefined, {
              // The inconsistent continuation the real server offers: same position, current revision.
              continue: encodeContinue(this.cluster.revision, after ?? ''),
            })
          : statusOf(410, 'Expired', `The resourceVersion for the provided list is too old. (requested ${error.requested}, oldest ${error.oldest})`);
        sendStatus(res, status);
        return;
      }
      if (error instanceof TooLargeError) {
        sendStatus(res, tooLarge(error));
        return;
      }
      throw error;
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(page.revision) };
    if (page.more && page.lastKey !== undefined) {
      metadata['continue'] = encodeContinue(page.revision, page.lastKey);
      if (filter === undefined) metadata['remainingItemCount'] = page.remaining;
    }
    const head = `{"kind":${JSON.stringify(info.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(info))},"metadata":${JSON.stringify(metadata)},"items":[`;
    writeList(res, head, page.items, this.#options.listItemTypeMeta ? JSON.stringify : listItemSerializer(info));
  }

  /** The snapshot revision of a list without a continue token, or the Status to answer instead. */
  #listRevision(rv: string, rvMatch: string, limit: number): number | StatusJson {
    if (rvMatch !== '' && rvMatch !== 'Exact' && rvMatch !== 'NotOlderThan') {
      return invalid(`resourceVersionMatch: Unsupported value: ${JSON.stringify(rvMatch)}: supported values: "Exact", "NotOlderThan"`);
    }
    if (rvMatch !== '' && rv === '') return invalid('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
    if (rv === '' || rv === '0') {
      if (rvMatch === 'Exact') return invalid('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
      return this.cluster.revision;
    }
    const requested = parseRevision(rv);
    if (requested === undefined) return badRequest(`resourceVersion: expected a decimal integer, but got: ${JSON.stringify(rv)}`);
    if (requested > this.cluster.revision) return tooLarge(new TooLargeError(requested, this.cluster.revision));
    // Unset match with a limit and a non-zero version is Exact (the legacy semantics).
    const exact = rvMatch === 'Exact' || (rvMatch === '' && limit > 0);
    return exact ? requested : this.cluster.revision;
  }

  #watch(req: IncomingMessage, res: ServerResponse, route: Route, params: URLSearchParams): void {
    const { info } = route;
    const filter = selectorsOrReject(res, params, info.kind);
    if (filter === null) return;
    const rv = params.get('resourceVersion') ?? '';
    const rvMatch = params.get('resourceVersionMatch') ?? '';
    const sendInitialEvents = params.get('sendInitialEvents') === 'true';
    const bookmarks = params.get('allowWatchBookmarks') === 'true';
    const timeoutText = params.get('timeoutSeconds') ?? '';
    const timeoutSeconds = timeoutText === '' ? 0 : Number(timeoutText);
    if (!Number.isSafeInteger(timeoutSeconds) || timeoutSeconds < 0) {
      sendStatus(res, badRequest(`timeoutSeconds: expected a non-negative integer, but got: ${JSON.stringify(timeoutText)}`));
      return;
    }
    if (sendInitialEvents && (rvMatch !== 'NotOlderThan' || !bookmarks)) {
      sendStatus(res, invalid('sendInitialEvents: Forbidden: sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true'));
      return;
    }
    if (!sendInitialEvents && rvMatch !== '') {
      sendStatus(res, invalid('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
      return;
    }

    // Decide where the stream starts before answering 200: a too-large version is an HTTP error.
    const requested = rv === '' || rv === '0' ? undefined : parseRevision(rv);
    if (rv !== '' && rv !== '0' && requested === undefined) {
      sendStatus(res, badRequest(`resourceVersion: expected a decimal integer, but got: ${JSON.stringify(rv)}`));
      return;
    }
    if (requested !== undefined && requested > this.cluster.revision) {
      sendStatus(res, tooLarge(new TooLargeError(requested, this.cluster.revision)));
      return;
    }
    const namespace = route.namespace;
    const inScope = (event: ClusterEvent): boolean => event.kind === info.kind && (namespace === undefined || event.namespace === namespace);

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'X-Content-Type-Options': 'nosniff' });
    res.flushHeaders();
    this.#stats.watchesOpened++;
    const stream = new WatchStream(req, res, info, this.#options.maxWatchQueue, () => this.#watches.delete(stream));

    const initial = requested === undefined || sendInitialEvents;
    let backlog: ClusterEvent[] = [];
    if (initial) {
      const objects = this.cluster.list(info.kind, namespace);
      stream.setInitial(filter === undefined ? objects : objects.filter(filter));
      if (sendInitialEvents) stream.bookmark(this.cluster.resourceVersion, true);
    } else {
      try {
        backlog = this.cluster.eventsSince(requested as number);
      } catch (error) {
        if (error instanceof ExpiredError) {
          stream.error(statusOf(410, 'Expired', error.message));
          return;
        }
        throw error;
      }
    }
    this.#watches.add(stream);
    for (const event of backlog) if (inScope(event)) stream.event(event, filter);
    stream.onEnd(this.cluster.subscribe((event) => {
      if (inScope(event)) stream.event(event, filter);
    }));

    const timeoutMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : this.#options.watchTimeoutMs;
    if (bookmarks) {
      const every = setInterval(() => stream.bookmark(this.cluster.resourceVersion), this.#options.bookmarkIntervalMs);
      const last = setTimeout(() => stream.bookmark(this.cluster.resourceVersion), Math.max(0, timeoutMs - this.#options.bookmarkBeforeTimeoutMs));
      stream.onEnd(() => {
        clearInterval(every);
        clearTimeout(last);
      });
    }
    const deadline = setTimeout(() => stream.finish(), timeoutMs);
    stream.onEnd(() => clearTimeout(deadline));
    stream.pump();
  }

  #version(): Record<string, string> {
    const match = /^v(\d+)\.(\d+)/.exec(this.#options.gitVersion);
    return {
      major: match?.[1] ?? '1',
      minor: match?.[2] ?? '36',
      gitVersion: this.#options.gitVersion,
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2026-01-01T00:00:00Z',
      goVersion: 'go1.26.0',
      compiler: 'gc',
      platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    };
  }
}
