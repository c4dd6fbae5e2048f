/**
 * Which Gateway API kinds the API server serves, and at which version, found through discovery
 * (`/apis/gateway.networking.k8s.io` and its versions' resource lists) while the gateway runs:
 * the CRDs can be installed or removed at any time. Polled every `intervalMs`; a change is
 * reported once. A failed poll is logged and changes nothing (never throws into the caller).
 */
import { ApiError, type ApiClient } from './client.ts';
import { GatewayGroup, GatewayKinds, GatewayVersions, type GatewayKind } from './gateway-api.ts';
import { KindResources } from './records.ts';
import { errorText, logger as rootLogger, type Logger } from '../log.ts';

/** Kind → the version it is read at; a kind not in the map is not served. */
export type ServedKinds = ReadonlyMap<GatewayKind, string>;

/** What the API server serves of the Gateway API now. An absent group is an empty map. @throws ApiError when it cannot tell. */
export async function servedGatewayKinds(client: ApiClient, timeoutMs = 10_000, signal?: AbortSignal): Promise<ServedKinds> {
  let group: any;
  try {
    group = await client.getJSON(`/apis/${GatewayGroup}`, { idleTimeoutMs: timeoutMs, signal });
  } catch (err) {
    if (err instanceof ApiError && err.failure === 'not-found') return new Map();
    throw err;
  }
  const versions: string[] = Array.isArray(group?.versions) ? group.versions.map((v: any) => v?.version).filter((v: unknown) => typeof v === 'string') : [];
  const resourcesByVersion = new Map<string, Set<string>>();
  for (const version of versions) {
    try {
      const list = await client.getJSON(`/apis/${GatewayGroup}/${version}`, { idleTimeoutMs: timeoutMs, signal });
      resourcesByVersion.set(version, new Set((Array.isArray(list?.resources) ? list.resources : []).map((r: any) => r?.name).filter((n: unknown) => typeof n === 'string' && !n.includes('/'))));
    } catch (err) {
      // A version removed between the two calls: not served.
      if (!(err instanceof ApiError && err.failure === 'not-found')) throw err;
    }
  }
  const out = new Map<GatewayKind, string>();
  for (const kind of GatewayKinds) {
    const resource = KindResources[kind].resource;
    const version = GatewayVersions[kind].find((v) => resourcesByVersion.get(v)?.has(resource));
    if (version !== undefined) out.set(kind, version);
  }
  return out;
}

export interface DiscoveryOptions {
  client: ApiClient;
  /** @default 30_000 // 30 seconds */
  intervalMs?: number;
  /** Called with the served kinds on the first answer and on every change. Must not throw. */
  onChange: (served: ServedKinds) => void | Promise<void>;
  logger?: Logger;
}

export class GatewayApiDiscovery {
  private readonly opts: DiscoveryOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private last = '';
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  /** Aborts a poll in flight at stop, so that a slow API server never delays shutdown. */
  private abort = new AbortController();

  constructor(opts: DiscoveryOptions) {
    this.opts = opts;
    this.log = opts.logger ?? rootLogger;
  }

  start(): void {
    this.stopped = false;
    this.abort = new AbortController();
    this.running = this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  // Private:

  private async poll(): Promise<void> {
    try {
      const served = await servedGatewayKinds(this.opts.client, undefined, this.abort.signal);
      const key = [...served].map(([k, v]) => `${k}@${v}`).join(',');
      if (key !== this.last && !this.stopped) {
        this.last = key;
        await this.opts.onChange(served);
      }
    } catch (err) {
      if (!this.stopped) this.log.warn('Gateway API discovery failed; keeping what is watched', { error: errorText(err) });
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => (this.running = this.poll()), this.opts.intervalMs ?? 30_000);
      this.timer.unref();
    }
  }
}
