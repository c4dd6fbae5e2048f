/**
 * A real graphql-ws subscriber for tests: collects every `endpointChanges` change set, folds
 * them into the endpoint state a client would hold, and checks each change set against that
 * state as it applies it (no gap, no duplicate, `changed.before` is what the client held).
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
export const EndpointChangesQuery = `subscription Churn($ns: String, $name: String, $after: String, $snapshot: Boolean) {
  endpointChanges(namespace: $ns, name: $name, after: $after, snapshot: $snapshot) {
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
  completed = false;

  constructor(url: string) {
    this.client = createClient({ url: url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  }

  start(variables: { ns?: string; name?: string; after?: string; snapshot?: boolean }): void {
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
      if (!held) throw new Error(`${key}: CHANGE before any SNAPSHOT`);
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
