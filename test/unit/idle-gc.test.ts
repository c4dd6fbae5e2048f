/**
 * The idle collector: one major collection when the event loop was idle for a whole interval
 * and the young generation is larger than its threshold, none while busy or already small; and
 * on the real V8, the young generation grown by a burst of allocation shrinks back once idle.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapSpaceStatistics } from 'node:v8';
import { IdleCollector, type IdleProbe } from '../../src/server/idle-gc.ts';
import { waitFor } from '../harness/wait.ts';

/** A probe reporting the given utilization and young generation size, counting checks and collections. */
function probe(state: { utilization: number; youngBytes: number }): IdleProbe & { checks: number; collections: number } {
  const p = {
    checks: 0,
    collections: 0,
    utilization() {
      p.checks++;
      return state.utilization;
    },
    youngBytes: () => state.youngBytes,
    collect() {
      p.collections++;
    },
  };
  return p;
}

const MiB = 1024 * 1024;

describe('IdleCollector', () => {
  const cases = [
    { name: 'idle, young generation above the threshold: collects', utilization: 0.01, youngBytes: 64 * MiB, collects: true },
    { name: 'busy (utilization above 2 %): does not collect', utilization: 0.3, youngBytes: 64 * MiB, collects: false },
    { name: 'idle, young generation at the threshold or below: does not collect', utilization: 0, youngBytes: 8 * MiB, collects: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const p = probe(c);
      const idle = new IdleCollector({ intervalMs: 5, probe: p });
      idle.start();
      // start() takes the first reading; wait for three interval checks after it.
      await waitFor('three checks', 5_000, () => p.checks >= 4, 5);
      idle.stop();
      assert.equal(p.collections > 0, c.collects);
      assert.equal(idle.collected, p.collections);
    });
  }

  it('stop() ends the checks', async () => {
    const p = probe({ utilization: 0, youngBytes: 64 * MiB });
    const idle = new IdleCollector({ intervalMs: 5, probe: p });
    idle.start();
    await waitFor('a collection', 5_000, () => p.collections > 0, 5);
    idle.stop();
    const checks = p.checks;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.checks, checks);
  });

  it('on the real V8: a young generation grown by a burst of allocation is given back once idle', async () => {
    const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
    // A burst: many short-lived objects, some surviving a while, as a cold list or a load does.
    let keep: object[] = [];
    for (let i = 0; i < 3_000_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 200_000) keep = [];
    }
    keep = [];
    const grown = young();
    assert.ok(grown > 8 * MiB, `the burst grew the young generation past 8 MiB (got ${(grown / MiB).toFixed(1)} MiB)`);
    const idle = new IdleCollector({ intervalMs: 250 });
    idle.start();
    try {
      // V8's memory reducer shrinks it some seconds after the major collection.
      await waitFor('the young generation to shrink to 8 MiB or less', 60_000, () => young() <= 8 * MiB, 250);
    } finally {
      idle.stop();
    }
    assert.ok(idle.collected >= 1);
  });
});
