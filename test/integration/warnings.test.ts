/**
 * Empty answers that are not empty carry a warning (`extensions.warnings`, stable codes), over
 * HTTP and over WebSocket, so that a tool can tell "none" from "don't know":
 *
 * - KIND_NOT_SYNCED: the gateway runs as users run it against the real control plane through
 *   the fault proxy, cut off from the start; `services { totalCount }` answers 0 with the
 *   warning, and once the proxy lets the API server through and the kinds sync, the real count
 *   without it.
 * - NAMESPACE_NOT_WATCHED, KIND_NOT_WATCHED and NAMESPACES_HIDDEN: the demo cluster served with
 *   `--namespaces shop --no-nodes --auth kubernetes`, asked by its two tokens.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, kubeconfigYaml } from '../harness/control-plane.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { GatewayProcess, postGraphQL } from '../harness/gateway-process.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { firstMessage } from '../harness/subscriber.ts';
import { waitFor } from '../harness/wait.ts';

const codes = (body: any): string[] => (body?.extensions?.warnings ?? []).map((w: any) => w.code);

describe('KIND_NOT_SYNCED: a gateway whose API server is unreachable from the start', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const tmp = mkdtempSync(join(tmpdir(), 'netgraph-warn-'));
  const Namespace = 'warn-sync';
  let proxy: FaultProxy;
  let gw: GatewayProcess;

  before(async () => {
    await kube.ensureNamespace(Namespace);
    await kube.createService({ namespace: Namespace, name: 'web', selector: { app: 'web' } });
    proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(cp.state.apiServerUrl).port) });
    proxy.set({ mode: 'refuse' });
    const kubeconfig = join(tmp, 'gateway.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(proxy.url, cp.state.caPem, cp.state.adminToken), { mode: 0o600 });
    gw = await GatewayProcess.start(['--kubeconfig', kubeconfig, '--host', '127.0.0.1', '--port', '0', '--no-explorer', '--log-format', 'json']);
  });

  after(async () => {
    await gw?.kill();
    await proxy?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('answers services { totalCount } 0 with KIND_NOT_SYNCED naming Service, over HTTP and WebSocket', async () => {
    const query = `{ services(namespace: "${Namespace}") { totalCount } }`;
    const http = await postGraphQL(gw.url, query);
    assert.equal(http.status, 200);
    assert.deepEqual(http.body.data, { services: { totalCount: 0 } });
    assert.deepEqual(codes(http.body), ['KIND_NOT_SYNCED']);
    assert.equal(http.body.extensions.warnings[0].kind, 'Service');
    assert.match(http.body.extensions.warnings[0].message, /^Service: expected a synced watch, got one that has not listed yet/);
    const ws = await firstMessage(gw.url, { query });
    assert.equal(ws.type, 'next');
    assert.deepEqual(ws.payload, http.body);
  });

  it('warns about every kind an answer reads, once each, and not about the freshness report', async () => {
    const http = await postGraphQL(gw.url, '{ a: pods { totalCount } b: pods { totalCount } nodes { totalCount } cluster { ready } }');
    assert.deepEqual(codes(http.body), ['KIND_NOT_SYNCED', 'KIND_NOT_SYNCED']);
    assert.deepEqual(http.body.extensions.warnings.map((w: any) => w.kind).sort(), ['Node', 'Pod']);
    const report = await postGraphQL(gw.url, '{ cluster { ready kinds { kind synced objects } } }');
    assert.equal(report.body.extensions, undefined);
    assert.equal(report.body.data.cluster.ready, false);
  });

  it('once the API server is reachable and every kind synced, answers the real count without a warning', async () => {
    proxy.set({ mode: 'pass' });
    await waitFor('the gateway to be ready', 60_000, async () => (await fetch(`${gw.url}/readyz`)).status === 200);
    const http = await postGraphQL(gw.url, `{ services(namespace: "${Namespace}") { totalCount } }`);
    assert.deepEqual(http.body, { data: { services: { totalCount: 1 } } });
  });
});

describe('NAMESPACE_NOT_WATCHED, KIND_NOT_WATCHED, NAMESPACES_HIDDEN on the demo cluster', () => {
  let gw: GatewayProcess;
  const admin = { Authorization: 'Bearer demo-admin' };

  before(async () => {
    gw = await GatewayProcess.start(['--demo', '--namespaces', 'shop,payments', '--no-nodes', '--auth', 'kubernetes', '--port', '0', '--no-explorer', '--log-format', 'json']);
    await waitFor('the gateway to be ready', 30_000, async () => (await fetch(`${gw.url}/readyz`)).status === 200);
  });
  after(async () => {
    await gw?.stop();
  });

  it('a namespace outside --namespaces: 0 with NAMESPACE_NOT_WATCHED over HTTP and WebSocket; a watched one: no warning', async () => {
    const query = '{ pods(namespace: "default") { totalCount } service(namespace: "kube-system", name: "kube-dns") { metadata { name } } }';
    const http = await postGraphQL(gw.url, query, undefined, 'demo-admin');
    assert.deepEqual(http.body.data, { pods: { totalCount: 0 }, service: null });
    assert.deepEqual(codes(http.body), ['NAMESPACE_NOT_WATCHED', 'NAMESPACE_NOT_WATCHED']);
    assert.deepEqual(http.body.extensions.warnings.map((w: any) => w.namespace).sort(), ['default', 'kube-system']);
    assert.match(http.body.extensions.warnings[0].message, /^namespace: expected one of the watched namespaces \["payments","shop"\], got "(default|kube-system)"/);
    const ws = await firstMessage(gw.url, { query }, admin);
    assert.deepEqual(ws.payload, http.body);

    // Also where the list comes from a node's pods rather than a namespace's.
    const onNode = await postGraphQL(gw.url, '{ pods(namespace: "default", node: "worker-1") { totalCount } }', undefined, 'demo-admin');
    assert.deepEqual(codes(onNode.body), ['NAMESPACE_NOT_WATCHED']);

    const watched = await postGraphQL(gw.url, '{ pods(namespace: "shop") { totalCount } }', undefined, 'demo-admin');
    assert.ok(watched.body.data.pods.totalCount > 0);
    assert.equal(watched.body.extensions, undefined);

    // The history of an unwatched namespace is empty for the same reason, and says so.
    const history = await postGraphQL(gw.url, '{ changes(namespace: "default") { totalCount } churnRanking(namespace: "default", window: "1m") { name } }', undefined, 'demo-admin');
    assert.deepEqual(history.body.data, { changes: { totalCount: 0 }, churnRanking: [] });
    assert.deepEqual(codes(history.body), ['NAMESPACE_NOT_WATCHED']);
    const shop = await postGraphQL(gw.url, '{ changes(namespace: "shop") { totalCount } }', undefined, 'demo-admin');
    assert.ok(shop.body.data.changes.totalCount > 0);
    assert.equal(shop.body.extensions, undefined);
  });

  it('a subscription to a namespace outside --namespaces is an error NAMESPACE_NOT_WATCHED, not a silent stream', async () => {
    const m = await firstMessage(gw.url, { query: 'subscription { endpointChanges(namespace: "default") { type } }' }, admin);
    assert.equal(m.type, 'error');
    assert.equal(m.payload[0].extensions.code, 'NAMESPACE_NOT_WATCHED');
    assert.match(m.payload[0].message, /got "default"/);
    const ok = await firstMessage(gw.url, { query: 'subscription { endpointChanges(namespace: "shop", name: "catalog") { type counts { total } } }' }, admin);
    assert.equal(ok.type, 'next');
    assert.equal(ok.payload.data.endpointChanges.type, 'SNAPSHOT');
    assert.ok(ok.payload.data.endpointChanges.counts.total > 0);
    assert.equal(ok.payload.extensions, undefined);
  });

  it('Nodes without a Node watch (--no-nodes): KIND_NOT_WATCHED', async () => {
    const http = await postGraphQL(gw.url, '{ nodes { totalCount } }', undefined, 'demo-admin');
    assert.deepEqual(http.body.data, { nodes: { totalCount: 0 } });
    assert.deepEqual(codes(http.body), ['KIND_NOT_WATCHED']);
    assert.equal(http.body.extensions.warnings[0].kind, 'Node');
  });

  it('namespaces: the watched ones with counts, only those the caller may see; cluster says what is watched', async () => {
    const query = '{ namespaces { name services pods endpointSlices } cluster { watchedNamespaces watchesNodes } }';
    const all = await postGraphQL(gw.url, query, undefined, 'demo-admin');
    assert.deepEqual(all.body.data.namespaces.map((n: any) => n.name), ['payments', 'shop']);
    for (const n of all.body.data.namespaces) assert.ok(n.services > 0 && n.pods > 0 && n.endpointSlices > 0, JSON.stringify(n));
    assert.deepEqual(all.body.data.cluster, { watchedNamespaces: ['payments', 'shop'], watchesNodes: false });
    assert.equal(all.body.extensions, undefined);
    const shop = await postGraphQL(gw.url, query, undefined, 'demo-shop');
    assert.deepEqual(shop.body.data.namespaces, all.body.data.namespaces.filter((n: any) => n.name === 'shop'));
    assert.deepEqual(codes(shop.body), ['NAMESPACES_HIDDEN', 'NAMESPACES_HIDDEN', 'NAMESPACES_HIDDEN']);
  });

  it('a caller allowed only some namespaces gets NAMESPACES_HIDDEN on cluster-wide lists (without saying what was hidden); one allowed cluster-wide does not', async () => {
    const query = '{ services { totalCount items { metadata { namespace } } } }';
    const shop = await postGraphQL(gw.url, query, undefined, 'demo-shop');
    assert.ok(shop.body.data.services.totalCount > 0);
    assert.deepEqual([...new Set(shop.body.data.services.items.map((i: any) => i.metadata.namespace))], ['shop']);
    assert.deepEqual(shop.body.extensions.warnings, [
      {
        code: 'NAMESPACES_HIDDEN',
        resource: 'services',
        message: 'services: expected permission to list services cluster-wide, got it only in some namespaces: the answer covers those alone',
      },
    ]);
    const ws = await firstMessage(gw.url, { query }, { Authorization: 'Bearer demo-shop' });
    assert.deepEqual(ws.payload, shop.body);
    const all = await postGraphQL(gw.url, query, undefined, 'demo-admin');
    assert.deepEqual([...new Set(all.body.data.services.items.map((i: any) => i.metadata.namespace))], ['payments', 'shop']);
    assert.equal(all.body.extensions, undefined);
  });
});
