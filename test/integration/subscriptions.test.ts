/**
 * Endpoint churn subscriptions against the real control plane, with graphql-ws's own client:
 * the subscriber folds the change sets it receives into the endpoints it holds, every change
 * set is checked against what it held (no gap, no duplicate), and after every step what it
 * holds equals the real EndpointSlices the API server has.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { ControlPlane, kubeconfigYaml } from '../harness/control-plane.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { Workloads } from '../harness/workload.ts';
import { EndpointSubscriber, type ChangeSetMsg, type EndpointView } from '../harness/subscriber.ts';
import { waitFor } from '../harness/wait.ts';
import { queryData } from '../harness/graphql-http.ts';

const ns = 'subs';
const key = `${ns}/web`;
const nodes = ['subs-node-a', 'subs-node-b'];

/** The oracle: the union of the real slices' endpoints by address, with the API's condition defaults. */
async function apiEndpoints(kube: KubeClient, service: string): Promise<Omit<EndpointView, 'nodeName'>[]> {
  const byAddress = new Map<string, Omit<EndpointView, 'nodeName'>>();
  for (const slice of await kube.slicesOf(ns, service)) {
    for (const e of slice.endpoints ?? []) {
      const c = e.conditions ?? {};
      const view = { address: e.addresses[0], ready: c.ready ?? true, serving: c.serving ?? true, terminating: c.terminating ?? false };
      const prev = byAddress.get(view.address);
      if (!prev || (prev.terminating && !view.terminating)) byAddress.set(view.address, view);
    }
  }
  return [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : 1));
}

describe('endpoint churn subscriptions on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.40');
  let proxy: FaultProxy;
  let gw: Gateway;
  let sub: EndpointSubscriber;

  /**
   * Wait until the real slices reach the step's expected state (`expect`), and what the
   * subscriber holds equals them; returns the change sets of this step.
   */
  const settle = async (service = 'web', since = 0, expect: (api: Omit<EndpointView, 'nodeName'>[]) => boolean = () => true): Promise<ChangeSetMsg[]> => {
    let last = '';
    try {
      await waitFor('the subscriber to hold what the API holds', 180_000, async () => {
        sub.throwIfErrors();
        const api = await apiEndpoints(kube, service);
        if (!expect(api)) {
          last = `API not there yet: ${JSON.stringify(api)}`;
          return false;
        }
        const want = JSON.stringify(api);
        const got = JSON.stringify(sub.held(key).map(({ nodeName: _n, ...e }) => e));
        last = `held ${got}\n   API ${want}`;
        return want === got;
      }, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n   ${last}`);
    }
    return sub.events.slice(since);
  };

  before(async () => {
    await kube.ensureNamespace(ns);
    for (const [i, n] of nodes.entries()) await kube.createNode(n, `zone-${'ab'[i]}`);
    await kube.createService({ namespace: ns, name: 'web', selector: { app: 'web' } });
    proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(cp.state.apiServerUrl).port) });
    const dir = mkdtempSync(join(tmpdir(), 'subs-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(proxy.url, cp.state.caPem, cp.state.adminToken));
    const cfg = parseConfig(['--kubeconfig', kubeconfig, '--port', '0', '--no-explorer']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }), reflector: { backoffMaxMs: 2_000 } });
    await gw.synced();
    sub = new EndpointSubscriber(gw.url);
  });

  after(async () => {
    await sub?.stop();
    await gw?.stop();
    await proxy?.stop();
  });

  it('starts with a SNAPSHOT of the Service (no endpoints yet)', async () => {
    sub.start({ ns, name: 'web' });
    await sub.waitForEvents(1);
    const [first] = sub.events;
    assert.equal(first!.type, 'SNAPSHOT');
    assert.equal(first!.name, 'web');
    assert.deepEqual(first!.counts, { total: 0, ready: 0, serving: 0, terminating: 0 });
  });

  it('scale from 0 to 5 ready pods: endpoints arrive as CHANGE sets, each address added once', async () => {
    const since = sub.events.length;
    await work.scale(ns, 'web', 5, nodes);
    const sets = await settle('web', since, (api) => api.filter((e) => e.ready).length === 5);
    assert.ok(sets.length > 0 && sets.every((s) => s.type === 'CHANGE'));
    const added = sets.flatMap((s) => s.added.map((a) => a.address)).sort();
    const ips = [...work.podsOf(ns, 'web').values()].sort();
    // A pod may appear not-ready first and then change to ready; it is added exactly once.
    assert.deepEqual(added, ips);
    assert.deepEqual(sets.flatMap((s) => s.removed), []);
    assert.deepEqual(sets.at(-1)!.counts, { total: 5, ready: 5, serving: 5, terminating: 0 });
  });

  it('pods marked unready and ready again arrive as changed endpoints with before and after', async () => {
    const since = sub.events.length;
    const ip1 = work.podsOf(ns, 'web').get('web-1')!;
    const ip3 = work.podsOf(ns, 'web').get('web-3')!;
    await work.setReady(ns, 'web', 'web-1', false);
    await work.setReady(ns, 'web', 'web-3', false);
    const sets = await settle('web', since, (api) => api.filter((e) => e.ready).length === 3);
    const changes = sets.flatMap((s) => s.changed);
    assert.deepEqual(
      changes.map((c) => [c.after.address, c.before.ready, c.after.ready, c.after.serving]).sort(),
      [[ip1, true, false, false], [ip3, true, false, false]].sort(),
    );
    assert.deepEqual(sets.flatMap((s) => [...s.added, ...s.removed]), []);
    assert.deepEqual(sets.at(-1)!.counts, { total: 5, ready: 3, serving: 3, terminating: 0 });

    const again = sub.events.length;
    await work.setReady(ns, 'web', 'web-1', true);
    await work.setReady(ns, 'web', 'web-3', true);
    const back = await settle('web', again, (api) => api.filter((e) => e.ready).length === 5);
    assert.deepEqual(back.flatMap((s) => s.changed.map((c) => c.after.address)).sort(), [ip1, ip3].sort());
    assert.deepEqual(back.at(-1)!.counts.ready, 5);
  });

  it('a deleted pod turns terminating, then disappears when its deletion completes', async () => {
    const since = sub.events.length;
    const ip = work.podsOf(ns, 'web').get('web-4')!;
    await kube.deletePod(ns, 'web-4', 30); // graceful: the API server keeps it, terminating, until the "kubelet" confirms
    await settle('web', since, (api) => api.some((e) => e.address === ip && e.terminating));
    const term = sub.held(key).find((e) => e.address === ip)!;
    assert.deepEqual([term.ready, term.serving, term.terminating], [false, true, true]);
    await kube.deletePod(ns, 'web-4', 0);
    work.podsOf(ns, 'web').delete('web-4');
    const sets = await settle('web', since, (api) => !api.some((e) => e.address === ip));
    const events = sets.flatMap((s) => [
      ...s.changed.filter((c) => c.after.address === ip).map((c) => `changed terminating=${c.after.terminating}`),
      ...s.removed.filter((r) => r.address === ip).map(() => 'removed'),
    ]);
    assert.deepEqual(events, ['changed terminating=true', 'removed']);
    assert.deepEqual(sets.at(-1)!.counts, { total: 4, ready: 4, serving: 4, terminating: 0 });
  });

  it("moving the Service's selector swaps its endpoints", async () => {
    await work.scale(ns, 'web2', 2, nodes);
    const since = sub.events.length;
    await kube.req('PATCH', `/api/v1/namespaces/${ns}/services/web`, { spec: { selector: { app: 'web2' } } }, 'application/merge-patch+json');
    const newIps = [...work.podsOf(ns, 'web2').values()].sort();
    const sets = await settle('web', since, (api) => api.map((e) => e.address).join() === newIps.join());
    const oldIps = [...work.podsOf(ns, 'web').values()].sort();
    assert.deepEqual(sets.flatMap((s) => s.added.map((a) => a.address)).sort(), newIps);
    assert.deepEqual(sets.flatMap((s) => s.removed.map((r) => r.address)).sort(), oldIps);
    assert.deepEqual(sub.held(key).map((e) => e.address), newIps);
  });

  it('kube-apiserver restarted and 410 forced while disconnected: the subscriber gets a RESYNC with the removals, then holds exactly what the API holds', async () => {
    const gone = work.podsOf(ns, 'web2').get('web2-1')!;
    proxy.set({ mode: 'refuse' });
    proxy.resetAll();
    await waitFor('the gateway to lose its watches', 30_000, () => gw.cache.health().every((h) => !h.watched || h.consecutiveFailures > 0));
    const since = sub.events.length;
    await kube.deletePod(ns, 'web2-1', 0);
    work.podsOf(ns, 'web2').delete('web2-1');
    await waitFor('the real controller to drop the deleted pod', 30_000, async () => !(await apiEndpoints(kube, 'web')).some((e) => e.address === gone));
    await cp.stopApiServer();
    await cp.compactEtcd();
    await cp.startApiServer();
    proxy.set({ mode: 'pass' });
    const sets = await settle('web', since, (api) => !api.some((e) => e.address === gone));
    const resync = sets.filter((s) => s.type === 'RESYNC');
    assert.ok(resync.length >= 1, `a RESYNC arrived (got ${sets.map((s) => s.type)})`);
    assert.ok(resync.some((s) => s.removed.some((r) => r.address === gone)), 'the RESYNC carries the removal');
    assert.ok(sets.every((s) => s.type !== 'SNAPSHOT'));
    // The history over HTTP shows the relist as the same RESYNC sets, cursor for cursor, no invented changes.
    await gw.fanout.idle();
    const history = await queryData(`${gw.url}/graphql`, `query($after: String) { service(namespace: "${ns}", name: "web") { changes(after: $after, order: OLDEST_FIRST, first: 100) { items { type cursor removed { address } } } } }`, {
      after: sub.events[since - 1]!.cursor,
    });
    assert.deepEqual(history.service.changes.items, sub.events.slice(since).map((s) => ({ type: s.type, cursor: s.cursor, removed: s.removed })));
  });

  it('a subscriber that reconnects with its last cursor gets exactly what it missed, without a snapshot', async () => {
    const cursor = sub.lastCursor!;
    const held = sub.held(key);
    await sub.stop();
    const ip = work.podsOf(ns, 'web2').get('web2-0')!;
    const before = gw.feed.position;
    await work.setReady(ns, 'web2', 'web2-0', false);
    await waitFor('the gateway to see the change', 30_000, () => gw.feed.position > before && gw.feed.get(key)?.endpoints.find((e) => e.address === ip)?.ready === false);

    sub = new EndpointSubscriber(gw.url);
    // Seed the new client with what the old one held: resuming continues from there.
    sub.state.set(key, new Map(held.map((e) => [e.address, e])));
    sub.start({ ns, name: 'web', after: cursor });
    await settle('web', 0, (api) => api.some((e) => e.address === ip && !e.ready));
    assert.ok(sub.events.length >= 1);
    assert.ok(sub.events.every((s) => s.type === 'CHANGE'), `resumed with ${sub.events.map((s) => s.type)}`);
    assert.ok(sub.events.some((s) => s.changed.some((c) => c.after.address === ip && c.after.ready === false)));
  });

  it('a cursor that is not ours is refused with INVALID_CURSOR, and other subscribers carry on', async () => {
    const bad = new EndpointSubscriber(gw.url);
    try {
      bad.start({ ns, name: 'web', after: 'not-a-cursor' });
      await waitFor('an error', 10_000, () => bad.errors.length > 0);
      assert.match(JSON.stringify(bad.errors), /INVALID_CURSOR/);
    } finally {
      await bad.stop();
    }
    const since = sub.events.length;
    await work.setReady(ns, 'web2', 'web2-0', true);
    const sets = await settle('web', since, (api) => api.every((e) => e.ready));
    assert.ok(sets.length >= 1);
  });
});
