/**
 * The endpoint history on the real control plane (the real EndpointSlice controller writes the
 * slices; pods are made ready and unready by status patches, as a kubelet would): what a live
 * subscriber received equals what `Service.changes` answers over HTTP afterwards, change set
 * for change set and cursor for cursor, and `readySince` is the Pod's Ready condition time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { EndpointSubscriber } from '../harness/subscriber.ts';
import { queryData } from '../harness/graphql-http.ts';
import { waitFor } from '../harness/wait.ts';
import { Workloads } from '../harness/workload.ts';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const ns = 'hist';
const nodeName = 'hist-node-a';
const Fields = 'address ready serving terminating nodeName';

describe('endpoint history on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.71');
  let gw: Gateway;
  let sub: EndpointSubscriber;

  const gql = (query: string, variables?: Record<string, unknown>) => queryData(`${gw.url}/graphql`, query, variables);
  const held = () => sub.held(`${ns}/web`).map((e) => `${e.address}:${e.ready}`).sort().join(' ');

  before(async () => {
    await kube.ensureNamespace(ns);
    await kube.createNode(nodeName, 'hist-zone');
    await kube.createService({ namespace: ns, name: 'web', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    const cfg = parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', '--no-explorer']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }) });
    await gw.synced();
    await work.scale(ns, 'web', 3, [nodeName]);
    await waitFor('three ready endpoints', 60_000, async () => (await gql(`{ service(namespace: "${ns}", name: "web") { endpointCounts { ready } } }`)).service.endpointCounts.ready === 3);
  });

  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
    await sub?.stop();
    await gw?.stop();
  });

  /** A raw graphql-ws subscription collecting every `data` (and every error). */
  function stream(query: string) {
    const client = createClient({ url: gw.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    const out = { data: [] as any[], errors: [] as unknown[] };
    const dispose = client.subscribe({ query }, { next: (v) => (v.errors ? out.errors.push(v.errors) : out.data.push(v.data)), error: (e) => out.errors.push(e), complete: () => {} });
    cleanups.push(async () => {
      dispose();
      await client.dispose();
    });
    return out;
  }

  it('answers over HTTP the change sets, and the cursors, a live subscriber received across a burst of readiness flips and scaling', async () => {
    sub = new EndpointSubscriber(gw.url);
    sub.start({ ns, name: 'web' });
    await waitFor('the snapshot', 30_000, async () => sub.events.length > 0);
    const start = sub.events[0]!;
    assert.equal(start.type, 'SNAPSHOT');
    await work.setReady(ns, 'web', 'web-0', false);
    await work.setReady(ns, 'web', 'web-1', false);
    await work.setReady(ns, 'web', 'web-0', true);
    await work.scale(ns, 'web', 4, [nodeName]);
    await work.scale(ns, 'web', 2, [nodeName]);
    const ips = work.podsOf(ns, 'web');
    const expected = [...ips.entries()].map(([name, ip]) => `${ip}:${name !== 'web-1'}`).sort();
    await waitFor('the subscriber to hold web-0 ready, web-1 not ready, nothing else', 60_000, async () => held() === expected.join(' '));
    await gw.fanout.idle();
    assert.deepEqual(sub.errors, []);
    const live = sub.events.slice(1);
    assert.ok(live.length >= 4, `expected the burst to arrive as several change sets, got ${live.length}`);

    const d = await gql(
      `query($after: String) { service(namespace: "${ns}", name: "web") { changes(after: $after, order: OLDEST_FIRST, first: 100) {
        totalCount edges { cursor node { type namespace name cursor added { ${Fields} } removed { address } changed { before { ${Fields} } after { ${Fields} } } endpoints { ${Fields} } counts { total ready serving terminating } } }
      } } }`,
      { after: start.cursor },
    );
    const history = d.service.changes.edges.map((e: any) => {
      assert.equal(e.cursor, e.node.cursor);
      return e.node;
    });
    assert.deepEqual(history, live);

    // Newest first is the same history reversed.
    const newest = await gql(`query($after: String) { service(namespace: "${ns}", name: "web") { changes(after: $after, first: 1000) { edges { cursor } } } }`, { after: null });
    const cursors = newest.service.changes.edges.map((e: any) => e.cursor);
    assert.deepEqual(cursors.slice(0, live.length), live.map((s) => s.cursor).reverse());
  });

  it("answers readySince from the Pod's Ready condition lastTransitionTime, and inServiceSince as observed by the gateway", async () => {
    const d = await gql(`{ service(namespace: "${ns}", name: "web") { endpoints { items { address ready targetRef { name } readySince { at source exact } inServiceSince { at source exact } } } } }`);
    const items = d.service.endpoints.items;
    assert.equal(items.length, 2);
    for (const e of items) {
      const pod = await kube.req('GET', `/api/v1/namespaces/${ns}/pods/${e.targetRef.name}`);
      const cond = pod.status.conditions.find((c: any) => c.type === 'Ready');
      assert.equal(cond.status === 'True', e.ready, `${e.targetRef.name} agrees with its Pod`);
      assert.deepEqual(e.readySince, { at: cond.lastTransitionTime, source: 'POD_READY_CONDITION', exact: true }, e.targetRef.name);
      // Both pods were created after the gateway started: it saw them join.
      assert.equal(e.inServiceSince.source, 'OBSERVED');
      assert.equal(e.inServiceSince.exact, true);
      assert.ok(Date.parse(e.inServiceSince.at) >= gw.history.startedAt);
    }
  });

  it('fires serviceHealth once per threshold crossing of the change stream, across a burst of flips and a scale to zero, whose churn then shows the time without ready endpoints', async () => {
    const health = stream(`subscription { serviceHealth(namespace: "${ns}", name: "web", minReady: 2) { state previous ready total cause { cursor counts { ready } } } }`);
    const plain = new EndpointSubscriber(gw.url);
    cleanups.push(() => plain.stop());
    const calm = new EndpointSubscriber(gw.url);
    cleanups.push(() => calm.stop());
    plain.start({ ns, name: 'web' });
    calm.start({ ns, name: 'web', coalesce: '500ms' });
    await waitFor('the starts', 30_000, async () => health.data.length > 0 && plain.events.length > 0 && calm.events.length > 0);
    await work.scale(ns, 'web', 4, [nodeName]);
    await work.setReady(ns, 'web', 'web-1', true);
    for (let i = 0; i < 3; i++) {
      await work.setReady(ns, 'web', 'web-2', false);
      await work.setReady(ns, 'web', 'web-2', true);
    }
    await work.setReady(ns, 'web', 'web-0', false);
    await work.setReady(ns, 'web', 'web-1', false);
    await work.setReady(ns, 'web', 'web-3', false);
    await work.scale(ns, 'web', 0, [nodeName]);
    await waitFor('no endpoint left', 60_000, async () => plain.held(`${ns}/web`).length === 0);
    await waitFor('the coalesced stream to catch up', 30_000, async () => calm.held(`${ns}/web`).length === 0);
    await gw.fanout.idle();
    assert.deepEqual([health.errors, plain.errors, calm.errors], [[], [], []]);

    // The oracle: the states along the plain change stream, one event each time the state changes.
    const stateOf = (ready: number) => (ready === 0 ? 'NO_READY_ENDPOINTS' : ready < 2 ? 'DEGRADED' : 'HEALTHY');
    const expected: { state: string; cursor: string | null }[] = [{ state: stateOf(plain.events[0]!.counts.ready), cursor: null }];
    for (const cs of plain.events.slice(1)) {
      const state = stateOf(cs.counts.ready);
      if (state !== expected.at(-1)!.state) expected.push({ state, cursor: cs.cursor });
    }
    const got = health.data.map((d) => d.serviceHealth);
    assert.deepEqual(got.map((e) => ({ state: e.state, cursor: e.cause?.cursor ?? null })), expected);
    assert.ok(plain.events.length > got.length + 3, `a burst of ${plain.events.length} change sets, ${got.length} health events`);
    assert.equal(got.at(-1).state, 'NO_READY_ENDPOINTS');
    for (let i = 1; i < got.length; i++) assert.equal(got[i].previous, got[i - 1].state);

    // Coalesced: fewer sets, the same final state.
    assert.ok(calm.events.length < plain.events.length, `${calm.events.length} coalesced sets against ${plain.events.length}`);
    assert.deepEqual(calm.heldAll(), plain.heldAll());

    await new Promise((r) => setTimeout(r, 1200));
    const d = await gql(`{ service(namespace: "${ns}", name: "web") { churn(window: "10m") { from complete minReady maxReady noReadySeconds changeSets lastChange } changes(since: "10m") { totalCount } } }`);
    const churn = d.service.churn;
    // The gateway is younger than the window: the answer covers its life and says so.
    assert.equal(churn.complete, false);
    assert.equal(churn.from, new Date(gw.history.startedAt).toISOString());
    assert.equal(churn.minReady, 0);
    assert.ok(churn.maxReady >= 4, JSON.stringify(churn));
    assert.ok(churn.noReadySeconds >= 1.2, JSON.stringify(churn));
    assert.equal(churn.changeSets, d.service.changes.totalCount, 'every change set in the window is an endpoint change set');
  });
});
