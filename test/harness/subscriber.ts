/**
 * Real graphql-ws subscribers for tests. `EndpointSubscriber` collects every `endpointChanges`
 * change set, folds them into the endpoint state a client would hold, and checks each change
 * set against that state as it applies it (no gap, no duplicate, `changed.before` is what the
 * client held). `ObjectStream` folds `podChanges`, `nodeChanges` or `serviceChanges` events by
 * the usual watch rules (ADDED and MODIFIED set, DELETED removes).
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './wait.ts';

export interface EndpointView {
  address: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName: string | null;
}

export interface ChangeSetMsg {
  type: 'SNAPSHOT' | 'CHANGE' | 'RESYNC';
  namespace: string;
  name: string;
  cursor: string;
  added: EndpointView[];
  removed: { address: string }[];
  changed: { before: EndpointView; after: EndpointView }[];
  endpoints: EndpointView[];
  counts: { total: number; ready: number; serving: number; terminating: number };
}

const Fields = 'address ready serving terminating nodeName';
export const EndpointChangesQuery = `subscription Churn($ns: String, $name: String, $after: String, $snapshot: Boolean, $sel: String, $host: String, $path: String, $node: String, $zone: String, $coalesce: String) {
  endpointChanges(namespace: $ns, name: $name, after: $after, snapshot: $snapshot, labelSelector: $sel, host: $host, path: $path, node: $node, zone: $zone, coalesce: $coalesce) {
    type namespace name cursor
    added { ${Fields} }
    removed { address }
    changed { before { ${Fields} } after { ${Fields} } }
    endpoints { ${Fields} }
    counts { total ready serving terminating }
  }
}`;

export class EndpointSubscriber {
  readonly events: ChangeSetMsg[] = [];
  /** service key → address → endpoint, as a client applying the change sets holds it. */
  readonly state = new Map<string, Map<string, EndpointView>>();
  readonly errors: unknown[] = [];
  private readonly client: Client;
  private dispose: (() => void) | null = null;
  /** Subscribed to one named Service: its first change set must be a SNAPSHOT (or RESYNC). */
  private named = true;
  completed = false;

  constructor(url: string) {
    this.client = createClient({ url: url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  }

  /**
   * Subscribe. Without `name`, a CHANGE may open a Service the client holds nothing of yet (one
   * created, or coming into a label selector's or a host's scope, after the start).
   */
  start(variables: { ns?: string; name?: string; after?: string; snapshot?: boolean; sel?: string; host?: string; path?: string; node?: string; zone?: string; coalesce?: string }): void {
    this.named = variables.name !== undefined;
    this.dispose = this.client.subscribe<{ endpointChanges: ChangeSetMsg }>(
      { query: EndpointChangesQuery, variables },
      {
        next: (v) => {
          if (v.errors) this.errors.push(v.errors);
          const cs = v.data?.endpointChanges;
          if (cs) {
            try {
              this.apply(cs);
            } catch (err) {
              this.errors.push(err);
            }
            this.events.push(cs);
          }
        },
        error: (e) => this.errors.push(e),
        complete: () => (this.completed = true),
      },
    );
  }

  async stop(): Promise<void> {
    this.dispose?.();
    await this.client.dispose();
  }

  get lastCursor(): string | undefined {
    return this.events.at(-1)?.cursor;
  }

  /** Every Service holding at least one endpoint → its endpoints, sorted by address (keys sorted). */
  heldAll(): Record<string, EndpointView[]> {
    const out: Record<string, EndpointView[]> = {};
    for (const key of [...this.state.keys()].sort()) if (this.state.get(key)!.size > 0) out[key] = this.held(key);
    return out;
  }

  /** The held endpoints of one Service, sorted by address. */
  held(serviceKey: string): EndpointView[] {
    return [...(this.state.get(serviceKey)?.values() ?? [])].sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  async waitForEvents(n: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${n} change sets`, timeoutMs, () => {
      this.throwIfErrors();
      return this.events.length >= n;
    });
  }

  throwIfErrors(): void {
    if (this.errors.length > 0) throw new Error(`subscriber got errors: ${JSON.stringify(this.errors, errReplacer).slice(0, 800)}`);
  }

  private apply(cs: ChangeSetMsg): void {
    const key = `${cs.namespace}/${cs.name}`;
    let held = this.state.get(key);
    if (cs.type === 'SNAPSHOT' || cs.type === 'RESYNC') {
      held = new Map(cs.endpoints.map((e) => [e.address, e]));
      this.state.set(key, held);
    } else {
      if (!held && this.named) throw new Error(`${key}: CHANGE before any SNAPSHOT`);
      if (!held) this.state.set(key, (held = new Map()));
      for (const r of cs.removed) {
        if (!held.has(r.address)) throw new Error(`${key}: removed ${r.address}, which the client did not hold`);
        held.delete(r.address);
      }
      for (const a of cs.added) {
        if (held.has(a.address)) throw new Error(`${key}: added ${a.address}, which the client already held`);
        held.set(a.address, a);
      }
      for (const c of cs.changed) {
        const prev = held.get(c.before.address);
        if (JSON.stringify(prev) !== JSON.stringify(c.before)) {
          throw new Error(`${key}: changed.before ${JSON.stringify(c.before)} differs from held ${JSON.stringify(prev)}`);
        }
        held.set(c.after.address, c.after);
      }
    }
    const mine = this.held(key).map((e) => e.address).join(',');
    const theirs = [...cs.endpoints].map((e) => e.address).sort().join(',');
    if (mine !== theirs) throw new Error(`${key}: after applying ${cs.type}, held [${mine}] but the change set says [${theirs}]`);
    const ready = cs.endpoints.filter((e) => e.ready).length;
    if (cs.counts.total !== cs.endpoints.length || cs.counts.ready !== ready) throw new Error(`${key}: counts ${JSON.stringify(cs.counts)} disagree with endpoints`);
  }
}

/** One object as an object stream holds it. */
export interface HeldObject {
  name: string;
  namespace: string | null;
  resourceVersion: string;
  labels: Record<string, string>;
}

/**
 * A `podChanges`, `nodeChanges` or `serviceChanges` subscription folded by the usual watch
 * rules: ADDED and MODIFIED set the object, DELETED removes it. ADDED for an object held, or
 * MODIFIED or DELETED for one not held, is recorded as an error (a client would drift).
 */
export class ObjectStream {
  /** `namespace/name` (or `name`) → the object as last received. */
  readonly held = new Map<string, HeldObject>();
  readonly events: { type: string; key: string }[] = [];
  readonly errors: unknown[] = [];
  private readonly client: Client;
  private readonly field: 'podChanges' | 'nodeChanges' | 'serviceChanges';
  private readonly objectField: 'pod' | 'node' | 'service';

  /** @param args the field's arguments as GraphQL source, e.g. `namespace: "a", labelSelector: "role=edge"` */
  constructor(url: string, field: 'podChanges' | 'nodeChanges' | 'serviceChanges', args: string) {
    this.client = createClient({ url: url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    this.field = field;
    this.objectField = field === 'podChanges' ? 'pod' : field === 'nodeChanges' ? 'node' : 'service';
    const query = `subscription { ${field}(${args}) { type ${this.objectField} { metadata { namespace name resourceVersion labels { key value } } } } }`;
    this.client.subscribe<Record<string, { type: string } & Record<string, { metadata: { namespace: string | null; name: string; resourceVersion: string; labels: { key: string; value: string }[] } }>>>(
      { query },
      {
        next: (v) => {
          if (v.errors) this.errors.push(v.errors);
          const e = v.data?.[this.field];
          if (e) this.apply(e.type, e[this.objectField]!.metadata);
        },
        error: (e) => this.errors.push(e),
        complete: () => {},
      },
    );
  }

  async stop(): Promise<void> {
    await this.client.dispose();
  }

  throwIfErrors(): void {
    if (this.errors.length > 0) throw new Error(`${this.field} stream got errors: ${JSON.stringify(this.errors, errReplacer).slice(0, 800)}`);
  }

  /** Held objects as `key@resourceVersion`, sorted. */
  heldVersions(): string[] {
    return [...this.held].map(([k, o]) => `${k}@${o.resourceVersion}`).sort();
  }

  private apply(type: string, m: { namespace: string | null; name: string; resourceVersion: string; labels: { key: string; value: string }[] }): void {
    const key = m.namespace ? `${m.namespace}/${m.name}` : m.name;
    this.events.push({ type, key });
    const has = this.held.has(key);
    if (type === 'ADDED' && has) this.errors.push(`${this.field}: ADDED ${key}, which the client already held`);
    if (type !== 'ADDED' && !has) this.errors.push(`${this.field}: ${type} ${key}, which the client did not hold`);
    if (type === 'DELETED') this.held.delete(key);
    else this.held.set(key, { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion, labels: Object.fromEntries(m.labels.map((l) => [l.key, l.value])) });
  }
}

function errReplacer(_k: string, v: unknown) {
  return v instanceof Error ? v.message : v;
}

/**
 * A raw graphql-transport-ws socket to a gateway at `url` (http://…), acknowledged
 * (connection_init sent, with `initPayload` when given, connection_ack read).
 */
export async function openAcknowledged(url: string, initPayload: Record<string, unknown> | null = null): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/graphql', ['graphql-transport-ws']);
  ws.on('error', () => {});
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify(initPayload ? { type: 'connection_init', payload: initPayload } : { type: 'connection_init' }));
  await new Promise((resolve) => ws.once('message', resolve));
  return ws;
}

/**
 * One operation over a fresh acknowledged socket: its first `next` or `error` message (whole,
 * `payload` included), then the socket is closed.
 * @throws when neither arrives within `timeoutMs`, or the socket closes first.
 */
export async function firstMessage(url: string, payload: Record<string, unknown>, initPayload: Record<string, unknown> | null = null, timeoutMs = 15_000): Promise<any> {
  const ws = await openAcknowledged(url, initPayload);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`firstMessage: nothing within ${timeoutMs} ms for ${JSON.stringify(payload).slice(0, 200)}`)), timeoutMs);
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.id === '1' && (m.type === 'next' || m.type === 'error')) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      ws.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`firstMessage: socket closed with ${code}`));
      });
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
    });
  } finally {
    ws.removeAllListeners('close');
    ws.close();
  }
}
