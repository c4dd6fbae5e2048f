/**
 * The connection to the API server: kubeconfig or in-cluster config, auth (tokens, client
 * certificates, exec and OIDC plugins through @kubernetes/client-node), TLS, and plain HTTP
 * GETs that return the response stream. The reflector builds lists and watches on top.
 *
 * Auth is applied per request, so exec and OIDC credentials refresh as kubectl's do.
 */
// From its own module, not the package's index, which loads every generated API client and
// model (src/slim-client-node.js); YAML through js-yaml, which KubeConfig itself parses with.
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { load as loadYaml } from 'js-yaml';
import { existsSync, readFileSync } from 'node:fs';
import { errorText } from '../log.ts';
import { parseList, type Kept, type ListPage } from './kept-json.ts';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';

/** Why a request failed, in the words the reflector acts on. */
export type ApiFailure =
  | 'connection' // refused, reset, DNS, TLS: the server is unreachable
  | 'timeout' // no byte for the stall timeout
  | 'gone' // 410: the resourceVersion is too old
  | 'throttled' // 429
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'not-found' // 404: the resource is not served (wrong API version?)
  | 'server' // 5xx and anything else
  | 'aborted'; // we stopped it

export class ApiError extends Error {
  readonly failure: ApiFailure;
  readonly status: number;
  readonly retryAfterMs: number | null;
  constructor(failure: ApiFailure, message: string, status = 0, retryAfterMs: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.failure = failure;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** How the cluster was chosen, for the startup line. */
export interface ClusterSource {
  readonly kind: 'kubeconfig' | 'in-cluster' | 'demo';
  readonly detail: string;
}

export interface ConnectOptions {
  /** Path of a kubeconfig file; overrides KUBECONFIG and ~/.kube/config. */
  kubeconfig?: string;
  /** Context name; default: the kubeconfig's current-context. */
  context?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Load a KubeConfig: explicit file, else in-cluster service account, else the files KUBECONFIG
 * names, else ~/.kube/config. Returns null only when nothing was named and none of them exists
 * (the caller may then fall back to the demo cluster). A file that was named (`--kubeconfig`,
 * KUBECONFIG) or found but cannot be used throws ConfigError on one line naming the file and
 * the reason: missing, unreadable, not YAML, not a kubeconfig, unknown context, no server.
 * Like kubectl, a KUBECONFIG list may name files that do not exist as long as one does.
 */
export function loadKubeConfig(opts: ConnectOptions = {}, env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; source: ClusterSource } | null {
  const kc = new KubeConfig();
  let source: ClusterSource;
  if (opts.kubeconfig) {
    loadFile(kc, opts.kubeconfig, '--kubeconfig');
    source = { kind: 'kubeconfig', detail: opts.kubeconfig };
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
    kc.loadFromCluster();
    source = { kind: 'in-cluster', detail: 'service account' };
  } else {
    const named = (env.KUBECONFIG ?? '').split(':').filter((f) => f !== '');
    const home = env.HOME ? `${env.HOME}/.kube/config` : null;
    const present = named.length > 0 ? named.filter((f) => existsSync(f)) : home && existsSync(home) ? [home] : [];
    if (named.length > 0 && present.length === 0) {
      throw new ConfigError(`KUBECONFIG ${named.join(':')}: expected a readable kubeconfig file, got ${named.length === 1 ? 'no such file' : 'none of these files'} (unset KUBECONFIG or pass --demo for the demo cluster)`);
    }
    if (present.length === 0) {
      if (opts.context) throw new ConfigError(`--context: ${JSON.stringify(opts.context)} given, but no kubeconfig was found (KUBECONFIG, ~/.kube/config)`);
      return null;
    }
    const via = named.length > 0 ? 'KUBECONFIG' : 'kubeconfig';
    for (const [i, f] of present.entries()) {
      if (i === 0) loadFile(kc, f, via);
      else {
        const more = new KubeConfig();
        loadFile(more, f, via);
        kc.mergeConfig(more, true);
      }
    }
    source = { kind: 'kubeconfig', detail: present.join(':') };
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new ConfigError(`--context: expected one of ${JSON.stringify(known)} (in ${source.detail}), got ${JSON.stringify(opts.context)}`);
    }
    kc.setCurrentContext(opts.context);
  }
  const current = kc.getCurrentContext();
  const cluster = kc.getCurrentCluster();
  if (!current) {
    const known = kc.getContexts().map((c) => c.name);
    throw new ConfigError(`kubeconfig ${source.detail}: expected a current-context (or --context), got none${known.length > 0 ? `; contexts: ${JSON.stringify(known)}` : ''}`);
  }
  if (!cluster?.server) {
    throw new ConfigError(`kubeconfig ${source.detail}: expected context ${JSON.stringify(current)} to name a cluster with a server, got ${cluster ? `cluster ${JSON.stringify(cluster.name)} without a server` : 'no such cluster'}`);
  }
  return { kc, source: { kind: source.kind, detail: `${source.detail} (context ${JSON.stringify(current)}, server ${cluster.server})` } };
}

export interface ApiClientOptions {
  /** Connections kept open per host. @default 8 */
  maxSockets?: number;
}

export class ApiClient {
  readonly server: string;
  private readonly kc: KubeConfig;
  private readonly agent: HttpAgent | HttpsAgent;
  /**
   * Watches hold their connection for minutes: they get their own agent without a socket bound,
   * so that one watch per kind and namespace never starves lists and access reviews of the
   * bounded pool (with `--namespaces` of two or more, the watches alone would fill it).
   */
  private readonly watchAgent: HttpAgent | HttpsAgent;
  private readonly secure: boolean;

  constructor(kc: KubeConfig, opts: ApiClientOptions = {}) {
    this.kc = kc;
    this.server = kc.getCurrentCluster()!.server.replace(/\/+$/, '');
    this.secure = this.server.startsWith('https:');
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 8 };
    this.agent = this.secure ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
    this.watchAgent = this.secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  /**
   * GET `path` and resolve with the response once its headers arrive (status 2xx); the caller
   * consumes or destroys the body. Rejects with an ApiError classified for the reflector.
   * `idleTimeoutMs` bounds both the wait for headers and every gap between body chunks.
   */
  async get(path: string, opts: { signal?: AbortSignal; idleTimeoutMs: number }): Promise<IncomingMessage> {
    return this.send('GET', path, undefined, opts);
  }

  /** `get` for a watch: the same contract, on the watch connections (never queued behind other watches). */
  async watch(path: string, opts: { signal?: AbortSignal; idleTimeoutMs: number }): Promise<IncomingMessage> {
    return this.send('GET', path, undefined, opts, this.watchAgent);
  }

  /** POST a JSON body and parse the JSON answer (for access reviews). */
  async postJSON(path: string, body: unknown, opts: { signal?: AbortSignal; idleTimeoutMs: number }): Promise<any> {
    const res = await this.send('POST', path, JSON.stringify(body), opts);
    return JSON.parse(await readBody(res, 1024 * 1024));
  }



  /** GET `path` and parse the JSON body (at most `maxBytes`). */
  async getJSON(path: string, opts: { signal?: AbortSignal; idleTimeoutMs: number; maxBytes?: number }): Promise<any> {
    const res = await this.get(path, opts);
    const text = await readBody(res, opts.maxBytes ?? 512 * 1024 * 1024);
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError('server', `GET ${path}: expected a JSON body, got ${JSON.stringify(text.slice(0, 80))}`);
    }
  }

  /**
   * GET a list page (at most `maxBytes`) and parse it keeping of each item the fields `itemFields`
   * names (kept-json.ts; default: everything). The items are parsed as they are iterated; a body
   * that is not JSON is an ApiError, from here or from the iteration.
   */
  async getList(path: string, opts: { signal?: AbortSignal; idleTimeoutMs: number; maxBytes?: number; itemFields?: Kept; into?: BodyBuffer }): Promise<ListPage> {
    const res = await this.get(path, opts);
    return parseListBody(path, await readBodyBytes(res, opts.maxBytes ?? 512 * 1024 * 1024, opts.into), opts.itemFields ?? true);
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  // Private:

  private async send(method: string, path: string, payload: string | undefined, opts: { signal?: AbortSignal; idleTimeoutMs: number }, agent = this.agent): Promise<IncomingMessage> {
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const reqOpts: RequestOptions = { method, headers };
    try {
      await this.kc.applyToHTTPSOptions(reqOpts);
    } catch (err) {
      throw new ApiError('unauthorized', `credentials: ${(err as Error).message}`);
    }
    // client-node builds its own dispatcher for fetch; we keep ours (keep-alive, bounded sockets).
    reqOpts.agent = agent;
    delete (reqOpts as any).timeout;
    const url = `${this.server}${path}`;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (this.secure ? httpsRequest : httpRequest)(url, { ...reqOpts, signal: opts.signal }, resolve);
      req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new ApiError('timeout', `${method} ${path}: no data for ${opts.idleTimeoutMs} ms`)));
      req.on('error', (err: any) => reject(classifyNetworkError(err, path, opts.signal)));
      req.end(payload);
    });
    if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) return res;
    const body = await readBody(res, 64 * 1024).catch(() => '');
    throw statusError(res.statusCode ?? 0, path, body, res.headers['retry-after'], method);
  }
}

/** Build the ApiError for a non-2xx answer, using the Status object's message when there is one. */
export function statusError(status: number, path: string, body: string, retryAfter?: string | string[], method = 'GET'): ApiError {
  let message = body.slice(0, 300);
  try {
    const s = JSON.parse(body);
    if (s && typeof s.message === 'string') message = s.message;
  } catch {}
  const retry = typeof retryAfter === 'string' && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : null;
  const failure: ApiFailure =
    status === 410 ? 'gone'
    : status === 429 ? 'throttled'
    : status === 401 ? 'unauthorized'
    : status === 403 ? 'forbidden'
    : status === 404 ? 'not-found'
    : 'server';
  return new ApiError(failure, `${method} ${path}: HTTP ${status}: ${message}`, status, retry);
}

// Private:

/** Load one kubeconfig file into `kc`; `via` says how it was named (`--kubeconfig`, KUBECONFIG). */
function loadFile(kc: KubeConfig, file: string, via: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory' : errorText(err);
    throw new ConfigError(`${via} ${file}: expected a readable kubeconfig file, got ${why}`);
  }
  let doc: unknown;
  try {
    doc = loadYaml(text);
  } catch (err) {
    throw new ConfigError(`${via} ${file}: expected a kubeconfig in YAML, got text that is not YAML (${errorText(err).split('\n')[0]})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    const got = doc === null || doc === undefined ? 'an empty document' : Array.isArray(doc) ? 'a YAML list' : `a YAML ${typeof doc}`;
    throw new ConfigError(`${via} ${file}: expected a kubeconfig (YAML with clusters, users and contexts), got ${got}`);
  }
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new ConfigError(`${via} ${file}: expected a kubeconfig (YAML with clusters, users and contexts), got an error: ${errorText(err).split('\n')[0]}`);
  }
  if (kc.getClusters().length === 0 && kc.getContexts().length === 0) {
    throw new ConfigError(`${via} ${file}: expected a kubeconfig (YAML with clusters, users and contexts), got YAML with none of them`);
  }
}

function classifyNetworkError(err: any, path: string, signal?: AbortSignal): ApiError {
  if (err instanceof ApiError) return err;
  if (signal?.aborted || err?.name === 'AbortError') return new ApiError('aborted', `GET ${path}: aborted`);
  const code = typeof err?.code === 'string' ? err.code : '';
  return new ApiError('connection', `GET ${path}: ${code ? `${code}: ` : ''}${err?.message ?? err}`);
}

async function readBody(res: IncomingMessage, maxBytes: number): Promise<string> {
  return (await readBodyBytes(res, maxBytes)).toString('utf8');
}

/**
 * A buffer lent to `getList` for response bodies, reused from one list page to the next. A
 * page-sized Buffer per page would be memory outside the heap that lives across awaits, so it
 * gets promoted with its JS object and is only given back by a full mark-compact; V8 starts one
 * whenever such memory grows by some tens of MiB. Listing 150,000 pods that way took 26 to 40
 * full collections of the growing cache (about a third of the sync's CPU); reading every page
 * into the same two buffers, 3.
 */
export class BodyBuffer {
  private bytes = Buffer.allocUnsafeSlow(0);

  /** The buffer, with room for `size` bytes and the first `used` kept (it grows by doubling, never shrinks). */
  room(size: number, used: number): Buffer {
    if (this.bytes.length < size) {
      const grown = Buffer.allocUnsafeSlow(Math.max(size, this.bytes.length * 2, 64 * 1024));
      this.bytes.copy(grown, 0, 0, used);
      this.bytes = grown;
    }
    return this.bytes;
  }
}

/**
 * The whole body, at most `maxBytes` (else the response is destroyed and an ApiError thrown).
 * With `into`, the body is read into that buffer and the result is a view of it, valid until
 * the buffer is lent again.
 */
export async function readBodyBytes(res: IncomingMessage, maxBytes: number, into?: BodyBuffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  let target: Buffer | null = null;
  for await (const c of res) {
    const chunk = c as Buffer;
    n += chunk.length;
    if (n > maxBytes) {
      res.destroy();
      throw new ApiError('server', `response body over ${maxBytes} bytes`);
    }
    if (into) {
      target = into.room(n, n - chunk.length);
      chunk.copy(target, n - chunk.length);
    } else chunks.push(chunk);
  }
  if (into) return (target ?? into.room(0, 0)).subarray(0, n);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n);
}

/** `parseList` (kept-json.ts) of a response body, its SyntaxErrors turned into ApiErrors naming `path`. */
export function parseListBody(path: string, body: Buffer, itemFields: Kept): ListPage {
  const notJson = (err: unknown) => new ApiError('server', `GET ${path}: expected a JSON list, got ${errorText(err)} (body starts ${JSON.stringify(body.toString('utf8', 0, 80))})`);
  let page: ListPage;
  try {
    page = parseList(body, itemFields);
  } catch (err) {
    throw notJson(err);
  }
  const items = page.items;
  if (items === null) return page;
  return {
    metadata: page.metadata,
    items: (function* () {
      try {
        yield* items;
      } catch (err) {
        throw notJson(err);
      }
    })(),
  };
}
