/**
 * `serviceHealth` (one event per threshold crossing, not per flip) and
 * `endpointChanges(coalesce:)` (at most one change set per Service per interval, the net
 * difference, exact cursors), over a hand-fed cache and the real schema.
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

function service(ns: string, name: string): ServiceRecord {
  return ingest('Service', { metadata: { namespace: ns, name, uid: `uid-${name}`, resourceVersion: '1' }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80 }] } });
}

let rv = 1;
/** The one slice of a/web with these addresses, ready unless listed in `unready`. */
function web(ips: string[], unready: string[] = []): EndpointSliceRecord {
  return ingest('EndpointSlice', {
    metadata: { namespace: 'a', name: 'web-1', uid: 'uid-web-1', resourceVersion: String(++rv), labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: !unready.includes(ip) }, nodeName: 'n1' })),
  });
}

/** Records the frames an operation is sent. */
class Frames implements OperationSink {
  readonly id = 'op';
  frames: any[] = [];
  errors: unknown[] = [];
  nextSerialized(payload: string) {
    this.frames.push(JSON.parse(payload));
  }
  error(errors: readonly unknown[]) {
    this.errors.push(...errors);
  }
  complete() {}
  writable() {
    return true;
  }
  onDrain() {}
  tooSlow() {}
}

const Ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

describe('serviceHealth and coalesced endpointChanges', () => {
  let cache: ClusterCache;
  let fanout: Fanout;
  beforeEach(() => {
    cache = new ClusterCache({ client: null });
    cache.services.replace([service('a', 'web')]);
    cache.slices.replace([web(Ips)]);
    const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
    feed.start();
    fanout = new Fanout({ pipeline: new OperationPipeline({ schema, logger }), cache, feed, createContext: () => createContext({ cache, feed }), logger });
    fanout.start();
  });

  const Health = `subscription($min: Int, $frac: Float) { serviceHealth(namespace: "a", name: "web", minReady: $min, minReadyFraction: $frac) { name state previous ready total cause { type cursor changed { after { address ready } } } } }`;

  it('sends the state at the start, then one event per threshold crossing across a burst of flips, with the counts and the causing change set', async () => {
    const s = new Frames();
    fanout.subscribe(s, { query: Health, variables: { min: 2 } });
    await fanout.idle();
    const burst = [
      [], // back to all ready: no change at all
      ['10.0.0.1'], // 2 ready: still healthy
      ['10.0.0.1', '10.0.0.2'], // 1 ready: degraded
      ['10.0.0.2'], // 2 ready: healthy again
      ['10.0.0.2', '10.0.0.3'], // 1: degraded
      ['10.0.0.1', '10.0.0.3'], // 1 (another one): still degraded
      Ips, // none ready
      ['10.0.0.1', '10.0.0.2'], // 1: degraded
      [], // 3: healthy
    ];
    for (const unready of burst) cache.slices.upsert(web(Ips, unready));
    await fanout.idle();
    assert.deepEqual(s.errors, []);
    const events = s.frames.map((f) => f.data.serviceHealth);
    assert.deepEqual(
      events.map((e) => [e.previous, e.state, e.ready, e.total]),
      [
        [null, 'HEALTHY', 3, 3],
        ['HEALTHY', 'DEGRADED', 1, 3],
        ['DEGRADED', 'HEALTHY', 2, 3],
        ['HEALTHY', 'DEGRADED', 1, 3],
        ['DEGRADED', 'NO_READY_ENDPOINTS', 0, 3],
        ['NO_READY_ENDPOINTS', 'DEGRADED', 1, 3],
        ['DEGRADED', 'HEALTHY', 3, 3],
      ],
    );
    assert.equal(events[0].cause, null);
    assert.deepEqual(events[1].cause.changed, [{ after: { address: '10.0.0.2', ready: false } }]);
    assert.equal(new Set(events.slice(1).map((e) => e.cause.cursor)).size, 6, 'each event names its own change set');
  });

  it('a fraction threshold degrades a Service that still has minReady endpoints', async () => {
    const s = new Frames();
    fanout.subscribe(s, { query: Health, variables: { min: 1, frac: 0.75 } });
    await fanout.idle();
    cache.slices.upsert(web(Ips, ['10.0.0.3']));
    await fanout.idle();
    assert.deepEqual(s.frames.map((f) => f.data.serviceHealth.state), ['HEALTHY', 'DEGRADED']);
  });

  it('refuses a threshold outside its range with INVALID_ARGUMENT before anything is sent', async () => {
    for (const variables of [{ min: -1 }, { frac: 1.5 }]) {
      const s = new Frames();
      fanout.subscribe(s, { query: Health, variables });
      await fanout.idle();
      assert.deepEqual(s.frames, []);
      assert.equal((s.errors[0] as any)?.extensions?.code, 'INVALID_ARGUMENT', JSON.stringify(variables));
    }
  });

  const Changes = `subscription($c: String, $after: String) { endpointChanges(namespace: "a", name: "web", coalesce: $c, after: $after) { type cursor added { address ready } removed { address } changed { after { address ready } } endpoints { address ready } } }`;

  /** The client rule: apply removed, added, changed to what is held. */
  function fold(sets: any[]): Map<string, boolean> {
    const held = new Map<string, boolean>();
    for (const cs of sets) {
      if (cs.type !== 'CHANGE') held.clear();
      for (const r of cs.removed) assert.ok(held.delete(r.address), `removed ${r.address} was held`);
      for (const a of cs.added) {
        assert.ok(!held.has(a.address), `added ${a.address} was not held`);
        held.set(a.address, a.ready);
      }
      for (const c of cs.changed) held.set(c.after.address, c.after.ready);
      assert.deepEqual([...held].sort(), cs.endpoints.map((e: any) => [e.address, e.ready]).sort(), 'the set applied gives its own endpoints');
    }
    return held;
  }

  it('coalesced: at most one change set per interval with the net difference, folding to the same state as the uncoalesced stream, cursors exact', async () => {
    const plain = new Frames();
    const calm = new Frames();
    fanout.subscribe(plain, { query: Changes, variables: {} });
    fanout.subscribe(calm, { query: Changes, variables: { c: '150ms' } });
    await fanout.idle();
    // One interval: an endpoint added then removed (no change), readiness flipped twice (no change), one flipped once.
    cache.slices.upsert(web([...Ips, '10.0.0.9']));
    cache.slices.upsert(web([...Ips, '10.0.0.9'], ['10.0.0.1']));
    cache.slices.upsert(web(Ips, ['10.0.0.1', '10.0.0.2']));
    cache.slices.upsert(web(Ips, ['10.0.0.2']));
    await fanout.idle();
    assert.equal(calm.frames.length, 1, 'nothing but the snapshot before the interval ends');
    await new Promise((r) => setTimeout(r, 250));
    await fanout.idle();
    const p = plain.frames.map((f) => f.data.endpointChanges);
    const c = calm.frames.map((f) => f.data.endpointChanges);
    assert.equal(p.length, 5);
    assert.equal(c.length, 2);
    assert.deepEqual([c[1].added, c[1].removed, c[1].changed], [[], [], [{ after: { address: '10.0.0.2', ready: false } }]]);
    assert.deepEqual([...fold(c)], [['10.0.0.1', true], ['10.0.0.2', false], ['10.0.0.3', true]]);
    assert.deepEqual(fold(c), fold(p));
    assert.equal(c[1].cursor, p.at(-1).cursor, 'the coalesced set carries the last change\'s cursor');
    // A change that nets to nothing within an interval sends nothing.
    cache.slices.upsert(web([...Ips, '10.0.0.8'], ['10.0.0.2']));
    cache.slices.upsert(web(Ips, ['10.0.0.2']));
    await new Promise((r) => setTimeout(r, 250));
    await fanout.idle();
    assert.equal(calm.frames.length, 2);
    // Resuming from the coalesced cursor is exact: nothing is missed or repeated.
    const resumed = new Frames();
    fanout.subscribe(resumed, { query: Changes, variables: { after: c[1].cursor } });
    await fanout.idle();
    const r = resumed.frames.map((f) => f.data.endpointChanges);
    assert.deepEqual(r.map((x) => x.cursor), plain.frames.slice(5).map((f) => f.data.endpointChanges.cursor));
  });

  it('refuses a coalescing interval that is not a duration from 100ms to 1h', async () => {
    for (const c of ['2', '50ms', '2h', 'soon']) {
      const s = new Frames();
      fanout.subscribe(s, { query: Changes, variables: { c } });
      await fanout.idle();
      assert.equal((s.errors[0] as any)?.extensions?.code, 'INVALID_ARGUMENT', c);
      assert.match((s.errors[0] as any).message, /^coalesce: expected a duration from 100ms to 1h/);
    }
  });
});
