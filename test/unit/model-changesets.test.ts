/**
 * The change-set builder, as a property: for random before/after states of a Service (its
 * labels and its merged endpoints) and random filters (namespace, name, label selector, node,
 * zone), the change set's delta applied to what a subscriber held (the filtered before) gives
 * exactly the filtered after, which is also the set's own `endpoints` and `counts`; and a chain
 * of such sets coalesced into one does the same from the first state to the last. Seeded: a
 * failure prints the seed (set CHANGESET_SEED to replay it).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeServiceEndpoints, type MergedEndpoint } from '../../src/model/endpoints.ts';
import { parseSelector, matches } from '../../src/model/selector.ts';
import { Rng } from '../../demo/src/random.ts';
import { compareAddresses } from '../../src/model/address.ts';
import { changeSetBetween, coalesce, type EndpointChangeSet, type EndpointFilter, type ServiceState } from '../../src/model/changesets.ts';
import { ep, slice } from './slice-builders.ts';

const Nodes = ['node-a', 'node-b', 'node-c'];
const Zones = ['zone-a', 'zone-b', null];
const Selectors = ['tier=back', 'tier in (back,front)', 'tier!=front', '!tier', 'tier', 'tier=back,app=web', 'app notin (web)'];
const Key = 'default/web';

function randomState(rng: Rng): ServiceState {
  const labels = rng.chance(0.15)
    ? null
    : Object.fromEntries([...(rng.chance(0.7) ? [['tier', rng.pick(['back', 'front', 'edge'])]] : []), ...(rng.chance(0.5) ? [['app', rng.pick(['web', 'db'])]] : [])]);
  if (rng.chance(0.15)) return { labels, view: null };
  const slices = Array.from({ length: rng.range(1, 3) }, (_, s) =>
    slice(`web-${s}`, {
      endpoints: Array.from({ length: rng.int(6) }, () =>
        ep(`10.0.0.${rng.int(12)}`, {
          nodeName: rng.chance(0.1) ? null : rng.pick(Nodes),
          zone: rng.pick(Zones),
          conditions: { ready: rng.chance(0.7), terminating: rng.chance(0.2) },
        }),
      ),
    }),
  );
  return { labels, view: mergeServiceEndpoints(slices) };
}

function randomFilter(rng: Rng): EndpointFilter {
  return {
    namespace: rng.pick([null, 'default', 'other']),
    name: rng.pick([null, null, 'web', 'api']),
    selector: rng.chance(0.6) ? parseSelector(rng.pick(Selectors)) : null,
    node: rng.chance(0.4) ? rng.pick(Nodes) : null,
    zone: rng.chance(0.4) ? rng.pick(Zones.filter((z) => z !== null)) : null,
  };
}

/** The oracle, written apart from the builder: what a subscriber with `f` should hold, by address. */
function filtered(f: EndpointFilter, s: ServiceState): Map<string, MergedEndpoint> {
  const inScope =
    (f.namespace === null || f.namespace === 'default') &&
    (f.name === null || f.name === 'web') &&
    (f.selector === null || (s.labels !== null && matches(f.selector, s.labels)));
  const out = new Map<string, MergedEndpoint>();
  if (!inScope || s.view === null) return out;
  for (const e of s.view.endpoints) if ((f.node === null || e.nodeName === f.node) && (f.zone === null || e.zone === f.zone)) out.set(e.address, e);
  return out;
}

/** Apply a change set as a client does (RESYNC and SNAPSHOT replace), checking each entry against what is held. */
function apply(held: Map<string, MergedEndpoint>, cs: EndpointChangeSet): Map<string, MergedEndpoint> {
  if (cs.type !== 'CHANGE') return new Map(cs.endpoints.map((e) => [e.address, e]));
  const next = new Map(held);
  for (const r of cs.removed) {
    assert.ok(next.has(r.address), `removed ${r.address}, which was not held`);
    next.delete(r.address);
  }
  for (const a of cs.added) {
    assert.ok(!next.has(a.address), `added ${a.address}, which was held`);
    next.set(a.address, a);
  }
  for (const c of cs.changed) {
    assert.deepEqual(sorted([next.get(c.before.address)!]), sorted([c.before]), `changed.before of ${c.before.address} is what was held`);
    next.set(c.after.address, c.after);
  }
  return next;
}

/** Sorted by address, without `slices` (provenance, not a served field: a move between slices is no change). */
function sorted(m: Map<string, MergedEndpoint> | readonly MergedEndpoint[]): Omit<MergedEndpoint, 'slices'>[] {
  return [...m.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)).map(({ slices: _s, ...e }) => e);
}

/** The set is self-consistent: its delta lists are sorted, its counts are over its endpoints. */
function checkShape(cs: EndpointChangeSet): void {
  for (const list of [cs.added, cs.removed, cs.endpoints]) assert.deepEqual(list.map((e) => e.address), [...list.map((e) => e.address)].sort(compareAddresses));
  assert.deepEqual(cs.counts, {
    total: cs.endpoints.length,
    ready: cs.endpoints.filter((e) => e.ready).length,
    serving: cs.endpoints.filter((e) => e.serving).length,
    terminating: cs.endpoints.filter((e) => e.terminating).length,
  });
}

const seed = Number(process.env['CHANGESET_SEED'] ?? Date.now() % 1_000_000);
const Iterations = 5_000;

function withSeed(fn: (rng: Rng, i: number) => void): void {
  const rng = new Rng(seed);
  for (let i = 0; i < Iterations; i++) {
    try {
      fn(rng, i);
    } catch (err) {
      throw new Error(`seed ${seed} (replay with CHANGESET_SEED=${seed}), iteration ${i}: ${(err as Error).message}`, { cause: err });
    }
  }
}

describe('endpoint change sets across the filter boundary (property, seeded)', () => {
  it(`the delta applied to the filtered before equals the filtered after, and the set's own endpoints (${Iterations} random steps)`, () => {
    let crossings = 0;
    withSeed((rng) => {
      const f = randomFilter(rng);
      const before = randomState(rng);
      // Half the steps change one side only, as the gateway's steps do (labels or endpoints).
      const roll = rng.int(3);
      const next = randomState(rng);
      const after = roll === 0 ? { labels: before.labels, view: next.view } : roll === 1 ? { labels: next.labels, view: before.view } : next;
      const type = rng.chance(0.1) ? 'RESYNC' : 'CHANGE';
      const cs = changeSetBetween(f, Key, before, after, 7, 0, type);
      const want = filtered(f, after);
      const held = filtered(f, before);
      if (cs === null) {
        assert.deepEqual(sorted(held), sorted(want), 'no set only when the filtered view did not change');
        return;
      }
      if (held.size > 0 && want.size === 0) crossings++;
      checkShape(cs);
      assert.deepEqual(sorted(cs.endpoints), sorted(want), "the set's endpoints are the filtered after");
      // A RESYNC's delta is the difference too (its endpoints replace what is held either way).
      assert.deepEqual(sorted(apply(held, { ...cs, type: 'CHANGE' })), sorted(want), 'the delta applied to the filtered before');
    });
    assert.ok(crossings > 50, `the generator moves Services out of scope often enough (${crossings})`);
  });

  it(`a chain of change sets coalesced into one takes the filtered first state to the filtered last (${Iterations / 5} chains)`, () => {
    withSeed((rng, i) => {
      if (i % 5 !== 0) return;
      const f = randomFilter(rng);
      const states = Array.from({ length: rng.range(2, 6) }, () => randomState(rng));
      const sets: EndpointChangeSet[] = [];
      let held = filtered(f, states[0]!);
      for (let s = 1; s < states.length; s++) {
        const cs = changeSetBetween(f, Key, states[s - 1]!, states[s]!, s, s);
        if (cs) {
          sets.push(cs);
          held = apply(held, cs);
        }
      }
      assert.deepEqual(sorted(held), sorted(filtered(f, states.at(-1)!)), 'the chain applied one by one');
      if (sets.length === 0) return;
      const one = coalesce(sets);
      const want = sorted(filtered(f, states.at(-1)!));
      if (one === null) {
        assert.deepEqual(sorted(filtered(f, states[0]!)), want);
        return;
      }
      checkShape(one);
      assert.deepEqual(sorted(one.endpoints), want);
      assert.deepEqual(sorted(apply(filtered(f, states[0]!), { ...one, type: 'CHANGE' })), want);
    });
  });
});
