import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { endpoint, service, slice, World } from './graphql-fixtures.ts';
import { Rng } from '../../demo/src/random.ts';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const Addresses = ['10.4.0.1', '10.4.0.2', '10.4.0.3', '10.4.0.4', '10.4.0.5'];

type State = Map<string, boolean>;

function randomState(r: () => number): State {
  const s: State = new Map();
  for (const a of Addresses) if (r() < 0.7) s.set(a, r() < 0.6);
  return s;
}

function sliceOf(s: State) {
  return slice('shop', 'web-abc', 'web', [...s].map(([a, ready]) => endpoint(a, { ready })));
}

/**
 * The oracle: churn recomputed from the script of states (what was written, not what the
 * gateway logged), by walking every millisecond of the window.
 */
function recompute(script: { at: number; state: State }[], from: number, to: number, threshold: number) {
  const readyAt = (t: number) => {
    let s = script[0]!.state;
    for (const x of script) if (x.at <= t) s = x.state;
    return [...s.values()].filter(Boolean).length;
  };
  let min = Infinity;
  let max = -Infinity;
  let noReady = 0;
  for (let t = from; t <= to; t++) {
    const n = readyAt(t);
    min = Math.min(min, n);
    max = Math.max(max, n);
    if (n === 0 && t < to) noReady++;
  }
  let changeSets = 0;
  let added = 0;
  let removed = 0;
  let flipsTotal = 0;
  let last: number | null = null;
  const flips = new Map<string, number>();
  for (let i = 1; i < script.length; i++) {
    const { at, state } = script[i]!;
    const prev = script[i - 1]!.state;
    if (at < from) continue;
    let changed = false;
    for (const [a, ready] of state) {
      if (!prev.has(a)) {
        added++;
        changed = true;
      } else if (prev.get(a) !== ready) {
        flipsTotal++;
        flips.set(a, (flips.get(a) ?? 0) + 1);
        changed = true;
      }
    }
    for (const a of prev.keys()) {
      if (!state.has(a)) {
        removed++;
        changed = true;
      }
    }
    if (changed) {
      changeSets++;
      last = at;
    }
  }
  const flapping = [...flips].filter(([, n]) => n >= threshold).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([address, n]) => ({ address, flips: n }));
  return { changeSets, endpointsAdded: added, endpointsRemoved: removed, readinessFlips: flipsTotal, flapping, minReady: min, maxReady: max, noReadySeconds: noReady / 1000, lastChange: last === null ? null : new Date(last).toISOString() };
}

const Churn = (window: string, threshold: number) =>
  `{ service(namespace: "shop", name: "web") { churn(window: "${window}", flapThreshold: ${threshold}) { from complete changeSets endpointsAdded endpointsRemoved readinessFlips flapping { address flips } minReady maxReady noReadySeconds lastChange } } }`;

describe('Churn', () => {
  it('equals a recomputation from the written states, millisecond by millisecond, for random scripts and windows (60 seeds)', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const seeded = new Rng(seed);
      const r = () => seeded.next(); // replayable: every assertion names the seed
      const initial = randomState(r);
      const w = new World({ services: [service('shop', 'web', { labels: { app: 'web' } })], slices: [sliceOf(initial)] });
      w.now = T0;
      const script = [{ at: w.history.startedAt, state: initial }];
      let t = T0;
      for (let i = 0; i < 12; i++) {
        t += 1 + Math.floor(r() * 400);
        const next = r() < 0.5 ? randomState(r) : new Map([...script.at(-1)!.state].map(([a, ready]) => [a, r() < 0.4 ? !ready : ready] as [string, boolean]));
        w.now = t;
        w.cache.slices.upsert(sliceOf(next));
        script.push({ at: t, state: next });
      }
      w.now = t + Math.floor(r() * 300);
      const total = w.now - w.history.startedAt;
      const windowMs = r() < 0.5 ? total : 1 + Math.floor(r() * total);
      const threshold = 1 + Math.floor(r() * 3);
      const d = await w.data(Churn(`${windowMs}ms`, threshold));
      const { from, complete, ...got } = d.service.churn;
      assert.equal(complete, true, `seed ${seed}`);
      assert.equal(Date.parse(from), w.now - windowMs, `seed ${seed}`);
      assert.deepEqual(got, recompute(script, w.now - windowMs, w.now, threshold), `seed ${seed}`);
    }
  });

  it('clips a window longer than the history to where it starts (complete false), and counts a Service scaled to zero as time without a ready endpoint', async () => {
    const w = new World({ services: [service('shop', 'web')], slices: [sliceOf(new Map([['10.4.0.1', true]]))] });
    w.now = w.history.startedAt + 10_000;
    w.cache.slices.upsert(slice('shop', 'web-abc', 'web', []));
    w.now += 5_000;
    const r = await w.run(Churn('1h', 2));
    const c = (r.data as any).service.churn;
    assert.equal(c.complete, false);
    assert.equal(Date.parse(c.from), w.history.startedAt);
    assert.equal(c.noReadySeconds, 5);
    assert.deepEqual([c.minReady, c.maxReady, c.endpointsRemoved], [0, 1, 1]);
    assert.equal((r.extensions as any)?.warnings, undefined, 'the gateway is younger than the window: nothing was dropped');
  });

  it('says HISTORY_TRUNCATED when retention dropped change sets inside the window', async () => {
    const w = new World({ services: [service('shop', 'web')], slices: [sliceOf(new Map([['10.4.0.1', true]]))] }, { maxSteps: 1 });
    w.now = w.history.startedAt + 1000;
    w.cache.slices.upsert(sliceOf(new Map([['10.4.0.1', false]])));
    w.now += 1000;
    w.cache.slices.upsert(sliceOf(new Map([['10.4.0.1', true]])));
    w.now += 1000;
    const r = await w.run(Churn('1m', 1));
    const c = (r.data as any).service.churn;
    assert.deepEqual([c.complete, c.changeSets, Date.parse(c.from)], [false, 1, w.history.startedAt + 1001]);
    assert.deepEqual((r.extensions as any).warnings.map((x: any) => x.code), ['HISTORY_TRUNCATED']);
  });

  it('ranks the Services of a namespace by change sets, leaves quiet ones out, and refuses a bad window', async () => {
    const w = new World({
      services: [service('shop', 'a'), service('shop', 'b'), service('shop', 'quiet'), service('other', 'c')],
      slices: [slice('shop', 'a-1', 'a', [endpoint('10.1.0.1')]), slice('shop', 'b-1', 'b', [endpoint('10.2.0.1')]), slice('shop', 'quiet-1', 'quiet', [endpoint('10.3.0.1')]), slice('other', 'c-1', 'c', [endpoint('10.9.0.1')])],
    });
    for (let i = 1; i <= 3; i++) {
      w.now += 1000;
      w.cache.slices.upsert(slice('shop', 'b-1', 'b', [endpoint('10.2.0.1', { ready: i % 2 === 0 })]));
    }
    w.now += 1000;
    w.cache.slices.upsert(slice('shop', 'a-1', 'a', [endpoint('10.1.0.1', { ready: false })]));
    w.cache.slices.upsert(slice('other', 'c-1', 'c', [endpoint('10.9.0.1', { ready: false })]));
    const d = await w.data(`{ churnRanking(namespace: "shop", window: "1m") { name changeSets readinessFlips flapping { address flips } } }`);
    assert.deepEqual(d.churnRanking, [
      { name: 'b', changeSets: 3, readinessFlips: 3, flapping: [{ address: '10.2.0.1', flips: 3 }] },
      { name: 'a', changeSets: 1, readinessFlips: 1, flapping: [] },
    ]);
    const all = await w.data(`{ churnRanking(window: "1m", first: 2) { namespace name } }`);
    // a and c tie (one change set, one flip): namespace/name order.
    assert.deepEqual(all.churnRanking.map((x: any) => `${x.namespace}/${x.name}`), ['shop/b', 'other/c']);
    for (const bad of ['0s', 'soon', '200h']) {
      const r = await w.run(`{ churnRanking(window: "${bad}") { name } }`);
      assert.equal(r.errors?.[0]?.extensions?.['code'], 'INVALID_ARGUMENT', bad);
    }
  });
});

