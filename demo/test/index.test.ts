import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimCluster } from '../src/index.ts';
import { openWatch } from './testing.ts';
import { waitFor } from '../../test/harness/wait.ts';

describe('startSimCluster', () => {
  it('serves a churning demo cluster that a list-then-watch client follows, and stops cleanly', async () => {
    const sim = await startSimCluster({ seed: 5, churn: { eventsPerSecond: 500 } });
    try {
      const list = (await (await fetch(`${sim.url}/api/v1/pods?limit=500`)).json()) as { metadata: { resourceVersion: string }; items: unknown[] };
      assert.ok(list.items.length > 100);
      const watch = await openWatch(`${sim.url}/api/v1/pods?watch=1&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true`);
      try {
        const events = await watch.until((e) => e.type === 'MODIFIED' || e.type === 'ADDED' || e.type === 'DELETED');
        assert.ok(Number(events.at(-1)?.object.metadata.resourceVersion) > Number(list.metadata.resourceVersion));
      } finally {
        watch.close();
      }
      await waitFor('the watch closed', 5_000, () => sim.server.openWatches === 0);
    } finally {
      await sim.stop();
    }
    assert.equal(sim.churn?.running, false);
    await assert.rejects(fetch(`${sim.url}/readyz`));
  });
});
