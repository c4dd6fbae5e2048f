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
import { subscriptionResolvers } from '../../src/subscriptions/resolvers.ts';
import type { OperationSink } from '../../src/subscriptions/sink.ts';
import { createLogger } from '../../src/log.ts';

const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
const logger = createLogger({ level: 'error', format: 'text' });

function service(ns: string, name: string, labels: Record<string, string> = {}): ServiceRecord {
  return ingest('Service', { metadata: { namespace: ns, name, uid: `uid-${name}`, resourceVersion: '1', labels }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] } });
}

let rv = 1;
function slice(ns: string, svc: string, name: string, eps: { ip: string; ready?: boolean; node?: string }[]): EndpointSliceRecord {
  return ingest('EndpointSlice', {
    metadata: { namespace: ns, name, uid: `uid-${name}`, resourceVersion: String(++rv), labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, nodeName: e.node ?? 'n1' })),
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
