/**
 * A reflector keeps a Store equal to one kind of object on the API server, with client-go's
 * Reflector semantics (docs/kubernetes.md, "Reflector"):
 *
 * 1. LIST with `limit`, following `continue`; a page answering 410 restarts the list.
 * 2. WATCH from the list's resourceVersion with `allowWatchBookmarks=true` and a random
 *    `timeoutSeconds` in [300, 600].
 * 3. Track the resourceVersion of every event, bookmarks included (opaque: equality only).
 * 4. 410 arrives as HTTP 410 or as an in-stream ERROR event: both relist.
 * 5. Clean close: re-watch at once. 429, connection failures and stalls: back off, re-watch.
 *    410 and anything else: back off, relist. Full-jitter backoff from 0.8 s doubling to 30 s,
 *    reset after 2 minutes without error. It never gives up.
 * 6. A relist is one atomic replace against the store.
 *
 * A bad event (an object that does not ingest) is logged and skipped, never fatal.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError, BodyBuffer, type ApiClient } from './client.ts';
import { ingest } from './ingest.ts';
import { IngestedFields } from './ingest-fields.ts';
import type { Kept, ListPage } from './kept-json.ts';
import type { Kind, RecordOf } from './records.ts';
import { collectionPath, KindResources, objectKey } from './records.ts';
import type { Store } from './store.ts';
import { errorText, logger as rootLogger, type Logger } from '../log.ts';

export type ReflectorPhase = 'idle' | 'listing' | 'watching' | 'backing-off' | 'stopped';

export interface ReflectorStatus {
  readonly kind: Kind;
  /** null: cluster-wide. */
  readonly namespace: string | null;
  readonly phase: ReflectorPhase;
  /** When the first list completed (ms since epoch); null until then. */
  readonly syncedAt: number | null;
  /** When the last list completed. */
  readonly lastListAt: number | null;
  /** When the last event or bookmark arrived (or the last list completed). */
  readonly lastEventAt: number | null;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly resourceVersion: string;
  readonly lists: number;
  readonly watches: number;
  readonly events: number;
}

export interface ReflectorOptions<K extends Kind> {
  kind: K;
  client: ApiClient;
  store: Store<RecordOf[K]>;
  /** Watch one namespace only; null or undefined: the whole cluster. Ignored for Nodes. */
  namespace?: string | null;
  /** API version to read the kind at (Gateway API kinds: what discovery found). @default the kind's in KindResources */
  version?: string;
  /** Items per list page. @default 500 */
  pageSize?: number;
  /** Range of the watch's server-side timeout. @default [300, 600] // seconds */
  watchTimeoutSeconds?: readonly [number, number];
  /**
   * No byte (event, bookmark or keep-alive) for this long means the connection is stalled:
   * it is dropped and re-watched. Must stay well above the bookmark cadence (about 60 s).
   * @default 150_000 // 2.5 minutes
   */
  stallTimeoutMs?: number;
  /** First backoff ceiling; doubles per failure. @default 800 // 0.8 seconds */
  backoffInitialMs?: number;
  /** @default 30_000 // 30 seconds */
  backoffMaxMs?: number;
  /** Time without error after which the backoff starts again from the beginning. @default 120_000 // 2 minutes */
  backoffResetMs?: number;
  /** Called on every phase change and failure (for logs and metrics). Must not throw. */
  onStatus?: (status: ReflectorStatus) => void;
  logger?: Logger;
  /**
   * Turns an API object into its record; throws on one that does not ingest (logged and
   * skipped). The cache passes one that shares strings it already holds (ClusterCache.ingestOf).
   * @default ingest(kind, obj)
   */
  ingest?: (obj: unknown) => RecordOf[K];
}

export class Reflector<K extends Kind> {
  readonly kind: K;
  readonly namespace: string | null;
  private readonly client: ApiClient;
  private readonly store: Store<RecordOf[K]>;
  private readonly tuning: Required<Omit<ReflectorOptions<K>, 'namespace' | 'onStatus' | 'logger' | 'client' | 'store' | 'kind' | 'version' | 'ingest'>>;
  private readonly ingest: (obj: unknown) => RecordOf[K];
  readonly version: string | undefined;
  private readonly onStatus: (s: ReflectorStatus) => void;
  private readonly log: Logger;
  private abort: AbortController | null = null;
  private running: Promise<void> | null = null;
  private wakeBackoff: (() => void) | null = null;
  private stopped = false;
  private state: { -readonly [P in keyof ReflectorStatus]: ReflectorStatus[P] };
  private lastFailureAt = 0;
  private firstSync: { promise: Promise<void>; resolve: () => void };
  /** What of each listed object to parse: the fields ingest reads. */
  private readonly itemFields: Kept;

  constructor(opts: ReflectorOptions<K>) {
    this.kind = opts.kind;
    this.namespace = KindResources[opts.kind].namespaced ? (opts.namespace ?? null) : null;
    this.version = opts.version;
    this.client = opts.client;
    this.store = opts.store;
    this.itemFields = IngestedFields[opts.kind] ?? true;
    this.tuning = {
      pageSize: opts.pageSize ?? 500,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? [300, 600],
      stallTimeoutMs: opts.stallTimeoutMs ?? 150_000,
      backoffInitialMs: opts.backoffInitialMs ?? 800,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      backoffResetMs: opts.backoffResetMs ?? 120_000,
    };
    this.onStatus = opts.onStatus ?? (() => {});
    this.ingest = opts.ingest ?? ((obj) => ingest(opts.kind, obj));
    this.log = (opts.logger ?? rootLogger).child({ kind: this.kind, ...(this.namespace ? { namespace: this.namespace } : {}) });
    this.state = {
      kind: this.kind, namespace: this.namespace, phase: 'idle', syncedAt: null, lastListAt: null,
      lastEventAt: null, consecutiveFailures: 0, lastError: null, resourceVersion: '', lists: 0, watches: 0, events: 0,
    };
    let resolve!: () => void;
    this.firstSync = { promise: new Promise<void>((r) => (resolve = r)), resolve };
  }

  status(): ReflectorStatus {
    return { ...this.state };
  }

  /** Resolves once the first list has been applied to the store. */
  synced(): Promise<void> {
    return this.firstSync.promise;
  }

  /** Start listing and watching in the background. Idempotent. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = this.loop();
  }

  /** Stop: abort the open request, end the loop. The store keeps its content. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wakeBackoff?.();
    await this.running;
    this.setPhase('stopped');
  }

  // Private:

  private async loop(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        if (needList) {
          this.setPhase('listing');
          await this.listAndReplace(this.abort.signal);
          needList = false;
        }
        this.setPhase('watching');
        await this.watchOnce(this.abort.signal);
        // A clean close (the server's timeoutSeconds): re-watch at once from the last version.
      } catch (err) {
        if (this.stopped) break;
        const e = err instanceof ApiError ? err : new ApiError('server', errorText(err));
        // Only a lost connection, a stall or throttling can resume from the last version.
        if (!(e.failure === 'connection' || e.failure === 'timeout' || e.failure === 'throttled')) needList = true;
        this.fail(e, needList);
        await this.backoff(e.retryAfterMs);
      }
    }
  }

  private path(): string {
    return collectionPath(this.kind, this.namespace === null ? null : encodeURIComponent(this.namespace), this.version);
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    const records: RecordOf[K][] = [];
    let cont = '';
    let resourceVersion = '';
    let restarts = 0;
    // The next page is asked for as soon as its continue token is known, before the current
    // page is ingested: the server prepares and sends it while this process ingests. So two
    // bodies are alive at most, each read into one of two buffers reused for the whole list
    // (client.ts, BodyBuffer: a buffer per page would cost full collections).
    const bodies = [new BodyBuffer(), new BodyBuffer()];
    let fetched = 0;
    const fetchPage = (token: string): Promise<ListPage> => {
      const q = new URLSearchParams({ limit: String(this.tuning.pageSize) });
      if (token) q.set('continue', token);
      const into = bodies[fetched++ % 2];
      const p = this.client.getList(`${this.path()}?${q}`, { signal, idleTimeoutMs: this.tuning.stallTimeoutMs, itemFields: this.itemFields, into });
      // Awaited below; until then a failure must not count as unhandled.
      p.catch(() => {});
      return p;
    };
    let next = fetchPage(cont);
    for (;;) {
      let page: ListPage;
      try {
        page = await next;
      } catch (err) {
        // The continue token's snapshot was compacted away: start the list over, without it.
        if (err instanceof ApiError && err.failure === 'gone' && cont && restarts < 3) {
          restarts++;
          this.log.info('list continue token expired, restarting the list');
          records.length = 0;
          cont = '';
          resourceVersion = '';
          next = fetchPage(cont);
          continue;
        }
        throw err;
      }
      if (page.items === null || typeof page.metadata?.resourceVersion !== 'string') {
        throw new ApiError('server', `list ${this.path()}: expected a ${this.kind}List with items and metadata.resourceVersion, got ${page.items === null ? 'no items' : `metadata ${JSON.stringify(page.metadata)?.slice(0, 120)}`}`);
      }
      if (!resourceVersion) resourceVersion = page.metadata.resourceVersion;
      cont = typeof page.metadata.continue === 'string' ? page.metadata.continue : '';
      if (cont) next = fetchPage(cont);
      for (const item of page.items) {
        const r = this.ingestOrSkip(item);
        if (r) records.push(r);
      }
      if (!cont) break;
    }
    const batch = this.store.replace(records, this.namespace);
    const now = Date.now();
    this.state.resourceVersion = resourceVersion;
    this.state.lists++;
    this.state.lastListAt = now;
    this.state.lastEventAt = now;
    this.state.consecutiveFailures = 0;
    this.state.lastError = null;
    const first = this.state.syncedAt === null;
    this.state.syncedAt ??= now;
    this.log.info(first ? 'synced' : 'relisted', { objects: records.length, changes: batch.events.length, resourceVersion });
    if (first) this.firstSync.resolve();
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const [lo, hi] = this.tuning.watchTimeoutSeconds;
    const timeoutSeconds = lo + Math.floor(Math.random() * (hi - lo + 1));
    const q = new URLSearchParams({
      watch: '1',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
      resourceVersion: this.state.resourceVersion,
    });
    const started = Date.now();
    const res = await this.client.watch(`${this.path()}?${q}`, { signal, idleTimeoutMs: this.tuning.stallTimeoutMs });
    this.state.watches++;
    let events = 0;
    await this.consume(res, () => {
      events++;
      if (this.state.consecutiveFailures > 0) {
        this.state.consecutiveFailures = 0;
        this.state.lastError = null;
        this.emitStatus();
      }
    });
    // client-go: a watch that ends at once and delivered nothing is an error, not a clean close.
    if (events === 0 && Date.now() - started < 1000) {
      throw new ApiError('connection', `watch ${this.path()}: closed after ${Date.now() - started} ms with no events`);
    }
  }

  /** Read newline-delimited watch events until the stream ends; throws on ERROR events and stalls. */
  private consume(res: IncomingMessage, onEvent: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let buf = '';
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(stall);
        if (err) {
          res.destroy();
          reject(err);
        } else resolve();
      };
      const armStall = () =>
        setTimeout(() => finish(new ApiError('timeout', `watch ${this.path()}: no data for ${this.tuning.stallTimeoutMs} ms`)), this.tuning.stallTimeoutMs);
      let stall = armStall();
      // From here our stall timer is the one idle check (the socket's would race it).
      res.socket?.setTimeout(0);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (settled) return;
        clearTimeout(stall);
        stall = armStall();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() === '') continue;
          try {
            this.handleLine(line);
            onEvent();
          } catch (err) {
            finish(err as Error);
            return;
          }
        }
      });
      res.on('end', () => {
        if (buf.trim() !== '') {
          try {
            this.handleLine(buf);
            onEvent();
          } catch (err) {
            finish(err as Error);
            return;
          }
        }
        finish();
      });
      res.on('error', (err: any) => finish(err instanceof ApiError ? err : new ApiError(res.destroyed && this.stopped ? 'aborted' : 'connection', `watch ${this.path()}: ${errorText(err)}`)));
      res.on('aborted', () => finish(new ApiError('connection', `watch ${this.path()}: connection reset`)));
      res.on('close', () => finish(new ApiError('connection', `watch ${this.path()}: connection closed mid-stream`)));
    });
  }

  /** Apply one watch event. Throws ApiError on an ERROR event; skips (logs) a bad object. */
  private handleLine(line: string): void {
    let ev: any;
    try {
      ev = JSON.parse(line);
    } catch {
      this.log.warn('skipped a watch line that is not JSON', { line: line.slice(0, 120) });
      return;
    }
    const type = ev?.type;
    const obj = ev?.object;
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const r = this.ingestOrSkip(obj);
        if (r) this.store.upsert(r);
        break;
      }
      case 'DELETED': {
        const r = this.ingestOrSkip(obj);
        if (r) this.store.delete(objectKey(r.meta));
        break;
      }
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const code = Number(obj?.code) || 0;
        const message = typeof obj?.message === 'string' ? obj.message : JSON.stringify(obj).slice(0, 200);
        throw new ApiError(code === 410 ? 'gone' : code === 429 ? 'throttled' : 'server', `watch ${this.path()}: ERROR event ${code}: ${message}`, code);
      }
      default:
        this.log.warn('skipped a watch event of unknown type', { type: String(type).slice(0, 40) });
        return;
    }
    const rv = obj?.metadata?.resourceVersion;
    if (typeof rv === 'string' && rv !== '') this.state.resourceVersion = rv;
    this.state.events++;
    this.state.lastEventAt = Date.now();
  }

  private ingestOrSkip(obj: unknown): RecordOf[K] | null {
    try {
      return this.ingest(obj);
    } catch (err) {
      this.log.warn('skipped an object that does not ingest', { error: errorText(err) });
      return null;
    }
  }

  private fail(e: ApiError, willRelist: boolean): void {
    const now = Date.now();
    if (now - this.lastFailureAt > this.tuning.backoffResetMs) this.state.consecutiveFailures = 0;
    this.lastFailureAt = now;
    this.state.consecutiveFailures++;
    this.state.lastError = e.message;
    this.log.warn(willRelist ? 'watch failed, will relist' : 'watch failed, will re-watch', {
      failure: e.failure,
      error: e.message,
      consecutiveFailures: this.state.consecutiveFailures,
    });
  }

  private async backoff(retryAfterMs: number | null): Promise<void> {
    this.setPhase('backing-off');
    const ceiling = Math.min(this.tuning.backoffMaxMs, this.tuning.backoffInitialMs * 2 ** Math.max(0, this.state.consecutiveFailures - 1));
    const delay = Math.max(retryAfterMs ?? 0, Math.random() * ceiling);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      this.wakeBackoff = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wakeBackoff = null;
  }

  private setPhase(phase: ReflectorPhase): void {
    if (this.state.phase === phase) return;
    this.state.phase = phase;
    this.emitStatus();
  }

  private emitStatus(): void {
    try {
      this.onStatus(this.status());
    } catch (err) {
      this.log.error('reflector status listener failed', { error: errorText(err) });
    }
  }
}
