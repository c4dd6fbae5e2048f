/**
 * The fan-out, over a hand-fed cache and the real schema, with sinks that record what a socket
 * would be sent: one execution and one serialization per topic per change, the same bytes to
 * every subscriber; snapshots before changes; resume and RESYNC; bounded queues that coalesce,
 * then close a subscriber that stays too slow, without slowing the others.
 */
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterCache } from '../../src/kube/cache.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { EndpointSliceRecord, ServiceRecord } from '../../src/kube/records.ts';
import { EndpointFeed } from '../../src/model/endpoint-feed.ts';
import { buildGatewaySchema } from '../../src/graphql/schema.ts';
import { createContext } from '../../src/graphql/context.ts';
import { OperationPipeline } from '../../src/graphql/pipeline.ts';
import { Fanout } from '../../src/subscriptions/fanout.ts';
import { CursorKind, stepOfSortKey } from '../../src/model/changesets.ts';
import { decodeCursor, encodeCursor } from '../../src/model/cursor.ts';
import { subscriptionResolvers } from '../../src/subscriptions/resolvers.ts';
import type { OperationSink } from '../../src/subscriptions/sink.ts';
import { createLogger } from '../../src/log.ts';
import { TableAccess } from './graphql-fixtures.ts';
import { waitFor } from '../harness/wait.ts';

const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
const logger = createLogger({ level: 'error', format: 'text' });

function service(ns: string, name: string, labels: Record<string, string> = {}): ServiceRecord {
  return ingest('Service', { metadata: { namespace: ns, name, uid: `uid-${name}`, resourceVersion: '1', labels }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] } });
}

let rv = 1;
function slice(ns: string, svc: string, name: string, eps: { ip: string; ready?: boolean; node?: string; zone?: string }[]): EndpointSliceRecord {
  return ingest('EndpointSlice', {
    metadata: { namespace: ns, name, uid: `uid-${name}`, resourceVersion: String(++rv), labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, nodeName: e.node ?? 'n1', ...(e.zone ? { zone: e.zone } : {}) })),
  });
}

/** A sink that records frames; `writable` can be turned off to play a socket that stopped reading. */
class RecordingSink implements OperationSink {
  readonly id: string;
  frames: string[] = [];
  errors: unknown[][] = [];
  closed: { reason: string } | null = null;
  isWritable = true;
  private drains: (() => void)[] = [];
  constructor(id: string) {
    this.id = id;
  }
  nextSerialized(payload: string) {
    this.frames.push(payload);
  }
  error(errors: readonly unknown[]) {
    this.errors.push([...errors]);
  }
  complete() {}
  writable() {
    return this.isWritable;
  }
  onDrain(cb: () => void) {
    this.drains.push(cb);
  }
  tooSlow(reason: string) {
    this.closed = { reason };
  }
  resume() {
    this.isWritable = true;
    for (const d of this.drains.splice(0)) d();
  }
  get payloads(): any[] {
    return this.frames.map((f) => JSON.parse(f).data?.endpointChanges ?? JSON.parse(f));
  }
}

const query = (extra = '') => `subscription($ns: String, $name: String, $after: String, $sel: String) {
  endpointChanges(namespace: $ns, name: $name, after: $after, labelSelector: $sel) { type name cursor added { address } removed { address } changed { before { address ready } after { address ready } } counts { total ready } ${extra} }
}`;

describe('subscription fan-out', () => {
  let cache: ClusterCache;
  let feed: EndpointFeed;
  let fanout: Fanout;
  const make = (opts: { maxQueue?: number; historySize?: number } = {}) => {
    cache = new ClusterCache({ client: null });
    cache.services.replace([service('a', 'web', { tier: 'front' }), service('a', 'api', { tier: 'back' })]);
    cache.slices.replace([slice('a', 'web', 'web-1', [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }]), slice('a', 'api', 'api-1', [{ ip: '10.0.1.1' }])]);
    feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
    feed.start();
    fanout = new Fanout({
      pipeline: new OperationPipeline({ schema, logger }),
      cache,
      feed,
      createContext: () => createContext({ cache, feed }),
      logger,
      ...opts,
    });
    fanout.start();
  };
  beforeEach(() => make());

  it('sends a SNAPSHOT first, then each change once', async () => {
    const s = new RecordingSink('1');
    fanout.subscribe(s, { query: query(), variables: { ns: 'a', name: 'web' } });
    await fanout.idle();
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', ready: false }, { ip: '10.0.0.3' }]));
    await fanout.idle();
    assert.deepEqual(
      s.payloads.map((p) => [p.type, p.added.map((a: any) => a.address), p.changed.map((c: any) => [c.after.address, c.before.ready, c.after.ready]), p.counts]),
      [
        ['SNAPSHOT', ['10.0.0.1', '10.0.0.2'], [], { total: 2, ready: 2 }],
        ['CHANGE', ['10.0.0.3'], [['10.0.0.2', true, false]], { total: 3, ready: 2 }],
      ],
    );
  });

  it('one execution per topic per change, and the same bytes to every subscriber of the topic', async () => {
    const sinks = Array.from({ length: 50 }, (_, i) => new RecordingSink(String(i)));
    for (const s of sinks) fanout.subscribe(s, { query: query(), variables: { ns: 'a' } });
    await fanout.idle();
    const before = fanout.executions;
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1' }]));
    cache.slices.upsert(slice('a', 'api', 'api-1', [{ ip: '10.0.1.1', ready: false }]));
    await fanout.idle();
    assert.equal(fanout.executions - before, 2, 'two changes, one topic: two executions for 50 subscribers');
    assert.equal(fanout.topicCount, 1);
    const lastTwo = sinks.map((s) => s.frames.slice(-2).join('\n'));
    assert.equal(new Set(lastTwo).size, 1, 'every subscriber got identical bytes');
    assert.equal(fanout.delivered >= 100, true);
  });

  it('a label selector picks Services, and a removal is still sent for a Service that stops matching', async () => {
    const s = new RecordingSink('sel');
    fanout.subscribe(s, { query: query(), variables: { sel: 'tier in (front)' } });
    await fanout.idle();
    assert.deepEqual(s.payloads.map((p) => p.name), ['web']);
    cache.slices.upsert(slice('a', 'api', 'api-1', [{ ip: '10.0.1.9' }]));
    cache.services.upsert({ ...service('a', 'web', { tier: 'moved' }), meta: { ...service('a', 'web').meta, labels: { tier: 'moved' }, resourceVersion: '9' } });
    cache.slices.delete('a/web-1');
    await fanout.idle();
    assert.deepEqual(s.payloads.map((p) => [p.name, p.type, p.removed.length]), [['web', 'SNAPSHOT', 0], ['web', 'CHANGE', 2]]);
  });

  it('a relist arrives as RESYNC with the removals', async () => {
    const s = new RecordingSink('r');
    fanout.subscribe(s, { query: query(), variables: { ns: 'a', name: 'web' } });
    await fanout.idle();
    cache.slices.replace([slice('a', 'web', 'web-1', [{ ip: '10.0.0.2' }]), slice('a', 'api', 'api-1', [{ ip: '10.0.1.1' }])]);
    await fanout.idle();
    const last = s.payloads.at(-1);
    assert.equal(last.type, 'RESYNC');
    assert.deepEqual(last.removed.map((r: any) => r.address), ['10.0.0.1']);
  });

  it('resumes from a cursor inside the history, and sends RESYNC for one older than the history', async () => {
    make({ historySize: 2 });
    const s = new RecordingSink('c');
    fanout.subscribe(s, { query: query(), variables: { ns: 'a', name: 'web' } });
    await fanout.idle();
    assert.deepEqual(s.errors, []);
    const cursor = s.payloads[0].cursor;
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1' }]));
    await fanout.idle();
    const resumed = new RecordingSink('c2');
    fanout.subscribe(resumed, { query: query(), variables: { ns: 'a', name: 'web', after: cursor } });
    await fanout.idle();
    assert.deepEqual(resumed.payloads.map((p) => [p.type, p.removed.map((r: any) => r.address)]), [['CHANGE', ['10.0.0.2']]]);
    for (const ip of ['10.0.0.5', '10.0.0.6', '10.0.0.7']) cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip }]));
    await fanout.idle();
    const late = new RecordingSink('c3');
    fanout.subscribe(late, { query: query(), variables: { ns: 'a', name: 'web', after: cursor } });
    await fanout.idle();
    assert.deepEqual(late.payloads.map((p) => [p.type, p.added.map((a: any) => a.address)]), [['RESYNC', ['10.0.0.7']]]);
  });

  it('sends RESYNC for a cursor of another run of the gateway, even where its ordinal is inside this run\'s history', async () => {
    make({});
    const s = new RecordingSink('c');
    fanout.subscribe(s, { query: query(), variables: { ns: 'a', name: 'web' } });
    await fanout.idle();
    const own = s.payloads[0].cursor;
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1' }]));
    await fanout.idle();
    const ordinal = stepOfSortKey(decodeCursor(CursorKind, own));
    assert.equal(typeof ordinal, 'number');
    // The same ordinal, as a restarted gateway (another run) or a release without runs would have written it.
    for (const sortKey of [`AAAAAAAA.${ordinal}`, String(ordinal)]) {
      const other = new RecordingSink(`other ${sortKey}`);
      fanout.subscribe(other, { query: query('endpoints { address }'), variables: { ns: 'a', name: 'web', after: encodeCursor(CursorKind, sortKey) } });
      await fanout.idle();
      assert.deepEqual(other.errors, []);
      assert.deepEqual(other.payloads.map((p) => [p.type, p.endpoints.map((e: any) => e.address)]), [['RESYNC', ['10.0.0.1']]], sortKey);
    }
    const resumed = new RecordingSink('own');
    fanout.subscribe(resumed, { query: query(), variables: { ns: 'a', name: 'web', after: own } });
    await fanout.idle();
    assert.deepEqual(resumed.payloads.map((p) => p.type), ['CHANGE'], 'this run\'s cursor still resumes exactly');
  });

  it('a subscriber that stops reading is coalesced per Service, does not hold up the others, and is closed with 4008 past its bound', async () => {
    make({ maxQueue: 3 });
    const slow = new RecordingSink('slow');
    const fast = new RecordingSink('fast');
    fanout.subscribe(slow, { query: query(), variables: { ns: 'a', name: 'web' } });
    fanout.subscribe(fast, { query: query(), variables: { ns: 'a', name: 'web' } });
    await fanout.idle();
    slow.isWritable = false;
    for (let i = 10; i < 20; i++) cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: `10.0.0.${i}` }]));
    await fanout.idle();
    assert.equal(fast.frames.length, 11, 'the fast subscriber got the snapshot and all 10 changes at once');
    assert.equal(slow.frames.length, 1, 'the slow one only its snapshot so far');
    assert.equal(slow.closed, null, 'one Service coalesces into one change set: still within the bound');
    slow.resume();
    await new Promise((r) => setImmediate(r));
    await fanout.idle();
    const caughtUp = slow.payloads.slice(1);
    assert.ok(caughtUp.length <= 3, `coalesced to at most the bound, got ${caughtUp.length}`);
    const last = caughtUp.at(-1);
    assert.equal(last.counts.total, 1);
    assert.deepEqual(last.added.map((a: any) => a.address), ['10.0.0.19']);

    // Many Services behind at once cannot be coalesced below the bound: closed with 4008.
    const slower = new RecordingSink('slower');
    fanout.subscribe(slower, { query: query(), variables: { ns: 'b' } });
    await fanout.idle();
    slower.isWritable = false;
    for (let i = 0; i < 6; i++) cache.slices.upsert(slice('b', `svc${i}`, `svc${i}-1`, [{ ip: `10.9.0.${i}` }]));
    await fanout.idle();
    assert.match(slower.closed?.reason ?? '', /^Subscriber too slow: 4 change sets of distinct Services waiting, more than the bound of 3/);
  });

  it('bad arguments get coded errors before anything is sent', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ sel: 'tier in (front' }, 'INVALID_SELECTOR'],
      [{ ns: 'a', name: 'web', after: 'garbage' }, 'INVALID_CURSOR'],
      [{ ns: 'a', name: 'web', after: encodeCursor(CursorKind, 'not a position') }, 'INVALID_CURSOR'],
      [{ name: 'web' }, 'INVALID_ARGUMENT'],
      [{ ns: 'NOPE!' }, 'INVALID_ARGUMENT'],
      [{ ns: 5 }, 'BAD_USER_INPUT'],
    ];
    for (const [variables, code] of cases) {
      const s = new RecordingSink('e');
      fanout.subscribe(s, { query: query(), variables });
      await fanout.idle();
      assert.equal(s.frames.length, 0);
      assert.equal((s.errors[0]?.[0] as any)?.extensions?.code, code, JSON.stringify(variables));
    }
    const v = new RecordingSink('v');
    fanout.subscribe(v, { query: 'subscription { endpointChanges { nope } }' });
    assert.equal((v.errors[0]?.[0] as any)?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('Pod, Service and Node change subscriptions get ADDED, MODIFIED and DELETED events for what they filter on', async () => {
    const pod = (name: string, node: string, rv: string, labels: Record<string, string> = { app: 'web' }) =>
      ingest('Pod', { metadata: { namespace: 'a', name, uid: `u-${name}`, resourceVersion: rv, labels }, spec: { nodeName: node, containers: [] }, status: { phase: 'Running' } });
    const pods = new RecordingSink('p');
    const services = new RecordingSink('s');
    fanout.subscribe(pods, { query: 'subscription { podChanges(namespace: "a", labelSelector: "app=web", node: "n1") { type resync pod { metadata { name resourceVersion } nodeName } } }' });
    fanout.subscribe(services, { query: 'subscription { serviceChanges(namespace: "a") { type service { metadata { name } } } }' });
    await fanout.idle();
    cache.pods.upsert(pod('web-1', 'n1', '1'));
    cache.pods.upsert(pod('web-2', 'n2', '1')); // another node: filtered out
    cache.pods.upsert(pod('db-1', 'n1', '1', { app: 'db' })); // another app: filtered out
    cache.pods.upsert(pod('web-1', 'n1', '2'));
    cache.pods.delete('a/web-1');
    cache.services.upsert(service('a', 'new'));
    await fanout.idle();
    assert.deepEqual(
      pods.frames.map((f) => JSON.parse(f).data.podChanges).map((e: any) => [e.type, e.resync, e.pod.metadata.name, e.pod.metadata.resourceVersion]),
      [['ADDED', false, 'web-1', '1'], ['MODIFIED', false, 'web-1', '2'], ['DELETED', false, 'web-1', '2']],
    );
    assert.deepEqual(services.frames.map((f) => JSON.parse(f).data.serviceChanges).map((e: any) => [e.type, e.service.metadata.name]), [['ADDED', 'new']]);
  });
});

/** Every field a folding client needs. */
const folding = `subscription($ns: String, $sel: String, $node: String, $zone: String, $after: String) {
  endpointChanges(namespace: $ns, labelSelector: $sel, node: $node, zone: $zone, after: $after) {
    type namespace name cursor
    added { address nodeName zone ready } removed { address nodeName zone ready }
    changed { before { address nodeName zone ready } after { address nodeName zone ready } }
    endpoints { address nodeName zone ready } counts { total ready }
  }
}`;

type Ep = { address: string; nodeName: string | null; zone: string | null; ready: boolean };

/** Fold change sets as a client does, refusing any that does not apply to what it holds; returns service key → sorted endpoints (empty Services left out). */
function fold(payloads: any[], start: Map<string, Map<string, Ep>> = new Map()): Record<string, Ep[]> {
  const held = new Map([...start].map(([k, m]) => [k, new Map(m)]));
  for (const cs of payloads) {
    const key = `${cs.namespace}/${cs.name}`;
    let m = held.get(key) ?? new Map<string, Ep>();
    if (cs.type !== 'CHANGE') m = new Map();
    for (const r of cs.removed) assert.ok(m.delete(r.address), `${cs.type} of ${key} removes ${r.address}, which was not held`);
    for (const a of cs.added) {
      assert.ok(!m.has(a.address), `${cs.type} of ${key} adds ${a.address}, which was held`);
      m.set(a.address, a);
    }
    for (const c of cs.changed) {
      assert.deepEqual(m.get(c.before.address), c.before, `changed.before of ${c.before.address} is what was held`);
      m.set(c.after.address, c.after);
    }
    assert.deepEqual([...m.values()].sort(byAddress), cs.endpoints, `after ${cs.type} of ${key}, held equals the set's endpoints`);
    held.set(key, m);
  }
  return Object.fromEntries([...held].filter(([, m]) => m.size > 0).map(([k, m]) => [k, [...m.values()].sort(byAddress)]));
}

function byAddress(a: { address: string }, b: { address: string }): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

describe('filtered subscriptions across the filter boundary', () => {
  let cache: ClusterCache;
  let feed: EndpointFeed;
  let fanout: Fanout;
  const make = (sliceMs?: number) => {
    cache = new ClusterCache({ client: null });
    cache.services.replace([service('a', 'web', { tier: 'front' }), service('a', 'api', { tier: 'back' })]);
    cache.slices.replace([
      slice('a', 'web', 'web-1', [{ ip: '10.0.0.1', zone: 'za' }, { ip: '10.0.0.2', node: 'n2', zone: 'zb' }]),
      slice('a', 'api', 'api-1', [{ ip: '10.0.1.1', zone: 'za' }]),
    ]);
    feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
    feed.start();
    fanout = new Fanout({ pipeline: new OperationPipeline({ schema, logger }), cache, feed, createContext: () => createContext({ cache, feed }), logger, ...(sliceMs === undefined ? {} : { sliceMs }) });
    fanout.start();
  };
  const relabel = (name: string, labels: Record<string, string>) => {
    const s = service('a', name, labels);
    cache.services.upsert({ ...s, meta: { ...s.meta, resourceVersion: String(++rv) } });
  };
  beforeEach(() => make());

  it('a Service relabelled out of a label selector is emptied by one CHANGE and then left out; one relabelled in arrives with every endpoint added', async () => {
    const s = new RecordingSink('sel');
    fanout.subscribe(s, { query: folding, variables: { sel: 'tier=back' } });
    await fanout.idle();
    relabel('api', { tier: 'front' });
    cache.slices.upsert(slice('a', 'api', 'api-1', [{ ip: '10.0.1.1' }, { ip: '10.0.1.2' }])); // out of scope now: not sent
    relabel('web', { tier: 'back' });
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1', ready: false, zone: 'za' }, { ip: '10.0.0.2', node: 'n2', zone: 'zb' }]));
    await fanout.idle();
    assert.deepEqual(
      s.payloads.map((p) => [p.type, p.name, p.added.map((e: Ep) => e.address), p.removed.map((e: Ep) => e.address), p.changed.map((c: any) => c.after.address), p.counts.total]),
      [
        ['SNAPSHOT', 'api', ['10.0.1.1'], [], [], 1],
        ['CHANGE', 'api', [], ['10.0.1.1'], [], 0],
        ['CHANGE', 'web', ['10.0.0.1', '10.0.0.2'], [], [], 2],
        ['CHANGE', 'web', [], [], ['10.0.0.1'], 2],
      ],
    );
    assert.deepEqual(Object.keys(fold(s.payloads)), ['a/web']);
  });

  it('endpoints whose nodeName or zone moves across a node or zone narrowing are added and removed, never changed', async () => {
    const byNode = new RecordingSink('node');
    const byZone = new RecordingSink('zone');
    fanout.subscribe(byNode, { query: folding, variables: { ns: 'a', node: 'n2' } });
    fanout.subscribe(byZone, { query: folding, variables: { ns: 'a', zone: 'za' } });
    await fanout.idle();
    // 10.0.0.1 moves to n2 in zone zb; 10.0.0.2 moves to n1 in zone za.
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1', node: 'n2', zone: 'zb' }, { ip: '10.0.0.2', zone: 'za' }]));
    await fanout.idle();
    const last = (sink: RecordingSink) => sink.payloads.at(-1);
    assert.deepEqual([last(byNode).added.map((e: Ep) => e.address), last(byNode).removed.map((e: Ep) => e.address), last(byNode).changed], [['10.0.0.1'], ['10.0.0.2'], []]);
    assert.deepEqual([last(byZone).added.map((e: Ep) => e.address), last(byZone).removed.map((e: Ep) => e.address), last(byZone).changed], [['10.0.0.2'], ['10.0.0.1'], []]);
    assert.deepEqual(fold(byNode.payloads), { 'a/web': [{ address: '10.0.0.1', nodeName: 'n2', zone: 'zb', ready: true }] });
    assert.deepEqual(
      Object.fromEntries(Object.entries(fold(byZone.payloads)).map(([k, v]) => [k, v.map((e) => e.address)])),
      { 'a/api': ['10.0.1.1'], 'a/web': ['10.0.0.2'] },
    );
  });

  it('a subscriber resuming across Service label changes gets them replayed in order: what it folds equals the filtered truth', async () => {
    const s = new RecordingSink('r1');
    fanout.subscribe(s, { query: folding, variables: { sel: 'tier=back' } });
    await fanout.idle();
    const cursor = s.payloads.at(-1).cursor;
    const held = fold(s.payloads);
    relabel('api', { tier: 'front' });
    cache.slices.upsert(slice('a', 'api', 'api-1', [{ ip: '10.0.1.7' }]));
    relabel('web', { tier: 'back' });
    relabel('api', { tier: 'back' });
    await fanout.idle();
    const resumed = new RecordingSink('r2');
    fanout.subscribe(resumed, { query: folding, variables: { sel: 'tier=back', after: cursor } });
    await fanout.idle();
    assert.ok(resumed.payloads.every((p) => p.type === 'CHANGE'));
    const start = new Map(Object.entries(held).map(([k, eps]) => [k, new Map(eps.map((e) => [e.address, e]))]));
    assert.deepEqual(
      Object.fromEntries(Object.entries(fold(resumed.payloads, start)).map(([k, v]) => [k, v.map((e) => e.address)])),
      { 'a/api': ['10.0.1.7'], 'a/web': ['10.0.0.1', '10.0.0.2'] },
    );
  });

  it('a subscriber that starts while changes are still queued gets each of them once: in its snapshot or live, never both', async () => {
    make(0); // every paced loop yields at once: queued work stays queued across turns of the event loop
    const first = new RecordingSink('first');
    fanout.subscribe(first, { query: folding, variables: { sel: 'tier=back' } });
    await fanout.idle();
    // A change whose publication is in flight (its frames are being handed out)...
    cache.slices.upsert(slice('a', 'api', 'api-1', [{ ip: '10.0.1.1' }, { ip: '10.0.1.2' }]));
    // ...then a new subscriber and a resuming one, queued behind it...
    const fresh = new RecordingSink('fresh');
    const resumed = new RecordingSink('resumed');
    const cursor = first.payloads.at(-1).cursor;
    await fanout.subscribe(fresh, { query: folding, variables: { sel: 'tier=back' } });
    await fanout.subscribe(resumed, { query: folding, variables: { sel: 'tier=back', after: cursor } });
    // ...then more changes, logged before either start runs, published after it.
    cache.slices.upsert(slice('a', 'api', 'api-1', [{ ip: '10.0.1.2' }, { ip: '10.0.1.3' }]));
    relabel('web', { tier: 'back' });
    await fanout.idle();
    const snapshot = fresh.payloads.filter((p) => p.type === 'SNAPSHOT');
    assert.deepEqual(
      snapshot.map((p) => [p.name, p.endpoints.map((e: Ep) => e.address)]),
      [['api', ['10.0.1.2', '10.0.1.3']], ['web', ['10.0.0.1', '10.0.0.2']]],
      'the start ran after the later changes were logged: the snapshot already holds them',
    );
    assert.deepEqual(fresh.payloads.filter((p) => p.type !== 'SNAPSHOT'), [], 'and they are not delivered again');
    const truth = { 'a/api': ['10.0.1.2', '10.0.1.3'], 'a/web': ['10.0.0.1', '10.0.0.2'] };
    const addresses = (r: Record<string, Ep[]>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.map((e) => e.address)]));
    assert.deepEqual(addresses(fold(fresh.payloads)), truth);
    assert.deepEqual(addresses(fold(first.payloads)), truth);
    const start = new Map([['a/api', new Map([['10.0.1.1', { address: '10.0.1.1', nodeName: 'n1', zone: 'za', ready: true }]])]]);
    assert.deepEqual(addresses(fold(resumed.payloads, start)), truth, 'the resumed one replays each change once');
  });

  it('Pod and Node change subscriptions: starting to match is ADDED, stopping is DELETED with the last matching state at the new resourceVersion, as the API server watch sends', async () => {
    const pod = (name: string, rv: string, labels: Record<string, string>) =>
      ingest('Pod', { metadata: { namespace: 'a', name, uid: `u-${name}`, resourceVersion: rv, labels }, spec: { nodeName: 'n1', containers: [] }, status: { phase: 'Running' } });
    const node = (name: string, rv: string, zone: string) => ingest('Node', { metadata: { name, uid: `u-${name}`, resourceVersion: rv, labels: { 'topology.kubernetes.io/zone': zone } } });
    const pods = new RecordingSink('p');
    const nodes = new RecordingSink('n');
    fanout.subscribe(pods, { query: 'subscription { podChanges(namespace: "a", labelSelector: "role=edge") { type pod { metadata { name resourceVersion labels { key value } } } } }' });
    fanout.subscribe(nodes, { query: 'subscription { nodeChanges(zone: "zb") { type node { metadata { name resourceVersion } zone } } }' });
    await fanout.idle();
    cache.pods.upsert(pod('p1', '1', { role: 'core' })); // outside: nothing
    cache.pods.upsert(pod('p1', '2', { role: 'edge' })); // enters: ADDED
    cache.pods.upsert(pod('p1', '3', { role: 'edge', v: '2' })); // stays: MODIFIED
    cache.pods.upsert(pod('p1', '4', { role: 'core' })); // leaves: DELETED with role=edge at rv 4
    cache.pods.delete('a/p1'); // outside: nothing
    cache.nodes.upsert(node('n9', '1', 'zb'));
    cache.nodes.upsert(node('n9', '2', 'zc'));
    cache.nodes.upsert(node('n9', '3', 'zb'));
    await fanout.idle();
    assert.deepEqual(
      pods.frames.map((f) => JSON.parse(f).data.podChanges).map((e: any) => [e.type, e.pod.metadata.resourceVersion, e.pod.metadata.labels.map((l: any) => `${l.key}=${l.value}`).join(',')]),
      [['ADDED', '2', 'role=edge'], ['MODIFIED', '3', 'role=edge,v=2'], ['DELETED', '4', 'role=edge,v=2']],
    );
    assert.deepEqual(
      nodes.frames.map((f) => JSON.parse(f).data.nodeChanges).map((e: any) => [e.type, e.node.metadata.resourceVersion, e.node.zone]),
      [['ADDED', '1', 'zb'], ['DELETED', '2', 'zb'], ['ADDED', '3', 'zb']],
    );
  });
});

describe('endpointChanges by hostname: the Services the routes send the request to', () => {
  const hostQuery = `subscription($host: String, $path: String, $after: String, $ns: String) {
    endpointChanges(host: $host, path: $path, after: $after, namespace: $ns) { type namespace name cursor added { address } removed { address } endpoints { address } }
  }`;
  const created = '2025-03-01T10:00:00Z';
  const meta = (namespace: string, name: string) => ({ namespace, name, uid: `uid-${namespace}-${name}`, resourceVersion: String(++rv), creationTimestamp: created });
  const shopIngress = (cartService: string) =>
    ingest('Ingress', {
      metadata: meta('a', 'shop'),
      spec: {
        rules: [
          {
            host: 'shop.example.com',
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
                { path: '/cart', pathType: 'Prefix', backend: { service: { name: cartService, port: { number: 80 } } } },
              ],
            },
          },
        ],
      },
    });
  const gateway = () =>
    ingest('Gateway', { metadata: meta('infra', 'edge'), spec: { gatewayClassName: 'eg', listeners: [{ name: 'web', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }] } });
  const apiRoute = (backendRefs: object[]) =>
    ingest('HTTPRoute', { metadata: meta('a', 'api'), spec: { parentRefs: [{ name: 'edge', namespace: 'infra' }], hostnames: ['api.example.com'], rules: [{ backendRefs }] } });

  let cache: ClusterCache;
  let fanout: Fanout;
  beforeEach(() => {
    cache = new ClusterCache({ client: null });
    cache.services.replace([service('a', 'web'), service('a', 'cart'), service('a', 'checkout'), service('b', 'api')]);
    cache.slices.replace([
      slice('a', 'web', 'web-1', [{ ip: '10.0.0.1' }]),
      slice('a', 'cart', 'cart-1', [{ ip: '10.0.1.1' }, { ip: '10.0.1.2' }]),
      slice('a', 'checkout', 'checkout-1', [{ ip: '10.0.2.1' }]),
      slice('b', 'api', 'api-1', [{ ip: '10.0.3.1' }]),
    ]);
    cache.ingresses.replace([shopIngress('cart')]);
    const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
    feed.start();
    fanout = new Fanout({ pipeline: new OperationPipeline({ schema, logger }), cache, feed, createContext: () => createContext({ cache, feed }), logger });
    fanout.start();
  });

  it('an Ingress edited to send the path elsewhere: the old Service is emptied, the new one arrives with everything added, and a resume across the edit replays both', async () => {
    const s = new RecordingSink('host');
    await fanout.subscribe(s, { query: hostQuery, variables: { host: 'Shop.Example.com', path: '/cart/items' } });
    await fanout.idle();
    assert.deepEqual(s.errors, []);
    const cursor = s.payloads[0].cursor;
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1' }, { ip: '10.0.0.9' }])); // not routed to: nothing
    cache.ingresses.upsert(shopIngress('checkout'));
    cache.slices.upsert(slice('a', 'cart', 'cart-1', [{ ip: '10.0.1.1' }])); // out of scope now: nothing
    cache.slices.upsert(slice('a', 'checkout', 'checkout-1', [{ ip: '10.0.2.1' }, { ip: '10.0.2.2' }]));
    await fanout.idle();
    const seen = (p: any) => [p.type, p.name, p.added.map((e: any) => e.address), p.removed.map((e: any) => e.address), p.endpoints.length];
    const expected = [
      ['CHANGE', 'cart', [], ['10.0.1.1', '10.0.1.2'], 0],
      ['CHANGE', 'checkout', ['10.0.2.1'], [], 1],
      ['CHANGE', 'checkout', ['10.0.2.2'], [], 2],
    ];
    assert.deepEqual(s.payloads.map(seen), [['SNAPSHOT', 'cart', ['10.0.1.1', '10.0.1.2'], [], 2], ...expected]);
    assert.equal(s.payloads[1].cursor, s.payloads[2].cursor, 'one route step: one cursor for the Services it moves');

    const resumed = new RecordingSink('resumed');
    await fanout.subscribe(resumed, { query: hostQuery, variables: { host: 'shop.example.com', path: '/cart/items', after: cursor } });
    await fanout.idle();
    assert.deepEqual(resumed.payloads.map(seen), expected);
    const inside = new RecordingSink('inside');
    await fanout.subscribe(inside, { query: hostQuery, variables: { host: 'shop.example.com', path: '/cart/items', after: s.payloads[1].cursor } });
    await fanout.idle();
    assert.deepEqual(inside.payloads.map(seen), [expected[2]], 'a cursor of the route step resumes after all of it');
  });

  it('HTTPRoutes come before Ingresses: every backend with a weight above 0 that a ReferenceGrant permits is in scope, and a grant created later brings its Service in', async () => {
    cache.gateways.replace([gateway()]);
    cache.httpRoutes.replace([apiRoute([{ name: 'web', port: 80, weight: 3 }, { name: 'cart', port: 80, weight: 0 }, { name: 'api', namespace: 'b', port: 80, weight: 1 }])]);
    const s = new RecordingSink('api');
    await fanout.subscribe(s, { query: hostQuery, variables: { host: 'api.example.com' } });
    await fanout.idle();
    assert.deepEqual(s.payloads.map((p) => [p.type, `${p.namespace}/${p.name}`]), [['SNAPSHOT', 'a/web']], 'weight 0 and the ungranted cross-namespace backend are out');
    cache.referenceGrants.upsert(
      ingest('ReferenceGrant', { metadata: meta('b', 'from-a'), spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'a' }], to: [{ group: '', kind: 'Service' }] } }),
    );
    await fanout.idle();
    assert.deepEqual(s.payloads.slice(1).map((p) => [p.type, `${p.namespace}/${p.name}`, p.added.map((e: any) => e.address)]), [['CHANGE', 'b/api', ['10.0.3.1']]]);
  });

  it('a status write to a route or Gateway is no step of the history; a change of what matching reads is one', async () => {
    cache.gateways.upsert(gateway());
    cache.httpRoutes.upsert(apiRoute([{ name: 'web', port: 80 }]));
    const at = fanout.history.position;
    const accepted = { parents: [{ parentRef: { name: 'edge', namespace: 'infra' }, controllerName: 'example.com/eg', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted' }] }] };
    cache.httpRoutes.upsert(ingest('HTTPRoute', { metadata: meta('a', 'api'), spec: { parentRefs: [{ name: 'edge', namespace: 'infra' }], hostnames: ['api.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }, status: accepted }));
    cache.gateways.upsert(ingest('Gateway', { metadata: meta('infra', 'edge'), spec: { gatewayClassName: 'eg', listeners: [{ name: 'web', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }] }, status: { addresses: [{ type: 'IPAddress', value: '203.0.113.9' }] } }));
    assert.equal(fanout.history.position, at);
    cache.httpRoutes.upsert(apiRoute([{ name: 'cart', port: 80 }]));
    assert.equal(fanout.history.position, at + 1);
  });

  it('a host no route serves has no Services, and `namespace` narrows the routed ones', async () => {
    const none = new RecordingSink('none');
    await fanout.subscribe(none, { query: hostQuery, variables: { host: 'nothing.example.com' } });
    const other = new RecordingSink('other');
    await fanout.subscribe(other, { query: hostQuery, variables: { host: 'shop.example.com', ns: 'b' } });
    await fanout.idle();
    cache.slices.upsert(slice('a', 'web', 'web-1', [{ ip: '10.0.0.1', ready: false }]));
    await fanout.idle();
    assert.deepEqual([none.frames, other.frames, none.errors, other.errors], [[], [], [], []]);
  });

  it('the host is resolved with the routing objects the caller may list: every namespace with cluster-wide list, else only the subscription\'s namespace, else FORBIDDEN', async () => {
    // An HTTPRoute in namespace b (granted) sends shop.example.com to a/checkout; the Ingress in a sends it to a/web.
    cache.gateways.upsert(gateway());
    cache.referenceGrants.upsert(
      ingest('ReferenceGrant', { metadata: meta('a', 'from-b'), spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'b' }], to: [{ group: '', kind: 'Service' }] } }),
    );
    cache.httpRoutes.upsert(
      ingest('HTTPRoute', { metadata: meta('b', 'shop'), spec: { parentRefs: [{ name: 'edge', namespace: 'infra' }], hostnames: ['shop.example.com'], rules: [{ backendRefs: [{ name: 'checkout', namespace: 'a', port: 80 }] }] } }),
    );
    const routeKinds = ['ingresses', 'httproutes', 'gateways'] as const;
    const caller = (name: string, access: TableAccess) => ({ user: access.user, access, key: name });
    const admin = caller('admin', new TableAccess('admin', [['watch', 'endpointslices', ''], ...routeKinds.map((r) => ['list', r, ''] as const)]));
    const teamA = caller('team-a', new TableAccess('team-a', [['watch', 'endpointslices', 'a'], ...routeKinds.map((r) => ['list', r, 'a'] as const)]));
    const noRoutes = caller('no-routes', new TableAccess('no-routes', [['watch', 'endpointslices', 'a'], ['list', 'ingresses', 'a']]));
    const first = async (who: ReturnType<typeof caller>) => {
      const s = new RecordingSink(who.key);
      await fanout.subscribe(s, { query: hostQuery, variables: { host: 'shop.example.com', ns: 'a' } }, who);
      await fanout.idle();
      return s;
    };
    assert.deepEqual((await first(admin)).payloads.map((p) => p.name), ['checkout']);
    assert.deepEqual((await first(teamA)).payloads.map((p) => p.name), ['web'], 'the HTTPRoute in b is not the caller\'s to use');
    const denied = await first(noRoutes);
    assert.deepEqual([denied.frames, denied.errors.map((e: any) => [e[0].extensions.code, e[0].message])], [
      [],
      [['FORBIDDEN', 'httproutes: expected permission to list httproutes.gateway.networking.k8s.io in namespace a, got denied for user "no-routes"']],
    ]);
  });

  it('a live host-scoped subscription ends with FORBIDDEN when the permission to list the routes it follows is gone', async () => {
    let routesAllowed = true;
    const access = { user: { username: 'carol', uid: 'uid-carol', groups: [], extra: {} }, allowed: (_verb: string, resource: string) => Promise.resolve(resource !== 'httproutes' || routesAllowed) };
    const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
    feed.start();
    const reauthorizing = new Fanout({ pipeline: new OperationPipeline({ schema, logger }), cache, feed, createContext: () => createContext({ cache, feed }), logger, reauthorizeMs: 10 });
    reauthorizing.start();
    try {
      const s = new RecordingSink('carol');
      await reauthorizing.subscribe(s, { query: hostQuery, variables: { host: 'shop.example.com' } }, { user: access.user, access, key: 'carol' });
      await reauthorizing.idle();
      assert.deepEqual([s.payloads.map((p) => p.name), s.errors], [['web'], []]);
      routesAllowed = false;
      await waitFor('the subscription to end', 5_000, () => s.errors.length > 0);
      assert.deepEqual(s.errors.map((e: any) => [e[0].extensions.code, e[0].message]), [['FORBIDDEN', 'httproutes: expected permission to list httproutes.gateway.networking.k8s.io cluster-wide, got denied for user "carol"']]);
    } finally {
      reauthorizing.stop();
    }
  });
});
