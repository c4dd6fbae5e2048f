/**
 * The gateway process on the real control plane: /metrics names what operators watch and the
 * numbers move with the cluster (cache sizes, watch events, HTTP requests, sockets,
 * subscription deliveries, relists after a forced 410); and the one shutdown path on SIGTERM
 * lets in-flight queries finish with 200, closes WebSockets with 1001 and exits 0 within the
 * grace, while a second signal exits at once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { Workloads } from '../harness/workload.ts';
import { GatewayProcess, queryData, subscribe, type Subscription } from '../harness/gateway-process.ts';
import { waitFor } from '../harness/wait.ts';

const node = 'sm-node-a';

describe('a running gateway: metrics, then SIGTERM', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.50');
  const ns = `sm-${randomBytes(3).toString('hex')}`;
  let gw: GatewayProcess;
  const subs: Subscription[] = [];

  before(async () => {
    await kube.ensureNamespace(ns);
    await kube.createNode(node, 'zone-a');
    await kube.createService({ namespace: ns, name: 'web', selector: { app: 'web' } });
    await work.scale(ns, 'web', 2, [node]);
    gw = await GatewayProcess.start(['--port=0', '--kubeconfig', cp.state.kubeconfigPath]);
    await waitFor('the cache to sync', 30_000, async () => (await queryData(gw.url, '{ cluster { ready } }')).cluster.ready);
  });
  after(async () => {
    for (const s of subs) await s.dispose();
    await gw?.kill();
    await kube.req('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
  });

  it('/metrics names cache sizes, watch events, sync state, HTTP requests, sockets and deliveries', async () => {
    const m = await scrape(gw.url);
    for (const kind of ['Service', 'EndpointSlice', 'Pod', 'Node']) {
      assert.ok(m.value('netgraph_cache_objects', { kind })! > 0, `netgraph_cache_objects{kind="${kind}"} > 0`);
      assert.ok(m.value('netgraph_watch_events_total', { kind }) !== undefined, `netgraph_watch_events_total{kind="${kind}"}`);
      assert.equal(m.value('netgraph_synced', { kind }), 1, `netgraph_synced{kind="${kind}"}`);
    }
    assert.ok(m.value('netgraph_http_requests_total', { route: 'graphql', status: '200' })! >= 1, 'the sync queries were counted');
    assert.equal(m.value('netgraph_websockets'), 0);
    assert.equal(m.value('netgraph_subscription_deliveries_total'), 0);
    for (const name of ['netgraph_relists_total', 'netgraph_watch_restarts_total', 'netgraph_http_request_duration_seconds', 'netgraph_slow_subscribers_dropped_total', 'netgraph_process_resident_memory_bytes', 'netgraph_nodejs_heap_size_used_bytes']) {
      assert.ok(m.declared(name), `${name} is declared`);
    }
  });

  it('the numbers move with the cluster: objects, watch events, sockets and subscription deliveries', async () => {
    const sub = subscribe(gw.wsUrl, `subscription { endpointChanges(namespace: "${ns}", name: "web") { type counts { ready } } }`);
    subs.push(sub);
    await sub.until('the SNAPSHOT', (rs) => rs.length >= 1);
    const before = await scrape(gw.url);
    assert.equal(before.value('netgraph_websockets'), 1);
    assert.equal(before.value('netgraph_subscriptions'), 1);

    await kube.createService({ namespace: ns, name: 'api', selector: { app: 'api' } });
    await work.scale(ns, 'web', 5, [node]);
    await sub.until('web with 5 ready endpoints', (rs) => rs.some((r) => r.endpointChanges.counts.ready === 5));
    let after = before;
    await waitFor('cache_objects to count 1 more Service and 3 more Pods, and watch_events 2 more per Pod', 30_000, async () => {
      after = await scrape(gw.url);
      return (
        after.value('netgraph_cache_objects', { kind: 'Service' }) === before.value('netgraph_cache_objects', { kind: 'Service' })! + 1 &&
        after.value('netgraph_cache_objects', { kind: 'Pod' }) === before.value('netgraph_cache_objects', { kind: 'Pod' })! + 3 &&
        // Each new pod is at least a create and a status patch.
        after.value('netgraph_watch_events_total', { kind: 'Pod' })! >= before.value('netgraph_watch_events_total', { kind: 'Pod' })! + 6
      );
    });
    assert.ok(after.value('netgraph_watch_events_total', { kind: 'Service' })! > before.value('netgraph_watch_events_total', { kind: 'Service' })!);
    assert.ok(after.value('netgraph_subscription_deliveries_total')! > before.value('netgraph_subscription_deliveries_total')!);
    assert.ok(after.value('netgraph_http_requests_total', { route: 'graphql', status: '200' })! >= before.value('netgraph_http_requests_total', { route: 'graphql', status: '200' })!);
    assert.ok(after.value('netgraph_http_requests_total', { route: '/metrics', status: '200' })! > before.value('netgraph_http_requests_total', { route: '/metrics', status: '200' })!);
  });

  it('a forced relist (etcd compacted while the API server was down) counts in netgraph_relists_total', async () => {
    const relists = (m: Metrics) => ['Service', 'EndpointSlice', 'Pod', 'Node'].reduce((a, kind) => a + (m.value('netgraph_relists_total', { kind }) ?? 0), 0);
    const before = relists(await scrape(gw.url));
    await cp.stopApiServer();
    await cp.compactEtcd();
    await cp.startApiServer();
    await work.scale(ns, 'web', 6, [node]);
    await waitFor('netgraph_relists_total to go up', 60_000, async () => relists(await scrape(gw.url)) > before);
    await waitFor('the cache to catch up after the relist', 30_000, async () => {
      const data = await queryData(gw.url, `{ cluster { ready } service(namespace: "${ns}", name: "web") { endpointCounts { ready } } }`);
      return data.cluster.ready && data.service.endpointCounts.ready === 6;
    });
  });

  it('SIGTERM: in-flight queries finish with 200, WebSockets close with 1001, new connections are refused, exit 0 within the grace', async () => {
    const query = `{ services(namespace: "${ns}", first: 10) { items { metadata { name } endpoints(first: 20) { items { address ready pod { metadata { name } node { metadata { name } } } } } } } }`;
    const inFlight = Array.from({ length: 5 }, () => startQuery(gw.url, query));
    // The server has read each request's headers (it answered 100 Continue) and waits for the body.
    await Promise.all(inFlight.map((q) => q.continued));
    const sub = subscribe(gw.wsUrl, `subscription { endpointChanges(namespace: "${ns}") { type } }`);
    subs.push(sub);
    await sub.until('the SNAPSHOTs', (rs) => rs.length >= 2);
    const open = subs.filter((s) => s.closeCodes.length === 0);
    assert.equal(open.length, 2);

    const t0 = Date.now();
    gw.signal('SIGTERM');
    await waitFor('every WebSocket to close', 10_000, () => open.every((s) => s.closeCodes.length > 0));
    assert.deepEqual(open.map((s) => s.closeCodes), [[1001], [1001]]);
    await waitFor('the port to refuse new connections', 10_000, async () => !(await canConnect(gw.url)));
    assert.ok(gw.running, 'still running while requests are in flight');

    for (const q of inFlight) q.sendBody();
    const answers = await Promise.all(inFlight.map((q) => q.response));
    for (const a of answers) {
      assert.equal(a.status, 200, a.body);
      const web = JSON.parse(a.body).data.services.items.find((s: any) => s.metadata.name === 'web');
      assert.equal(web.endpoints.items.length, 6);
    }
    const exit = await gw.exited;
    const ms = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(ms < 10_000, `exited ${ms} ms after SIGTERM`);
    assert.ok(gw.stderr.some((l) => l.includes('"msg":"stopped"')), 'logged the end of the shutdown path');
  });
});

describe('a second signal during the shutdown delay', () => {
  const cp = ControlPlane.attach();
  let gw: GatewayProcess;
  before(async () => {
    gw = await GatewayProcess.start(['--port=0', '--shutdown-delay-seconds=60', '--kubeconfig', cp.state.kubeconfigPath]);
    await waitFor('readyz 200', 30_000, async () => (await fetch(`${gw.url}/readyz`)).status === 200);
  });
  after(async () => {
    await gw?.kill();
  });

  it('first signal: unready (readyz 503) but alive (healthz 200); second signal: exits at once', async () => {
    gw.signal('SIGTERM');
    await gw.waitForLog(/unready, waiting for endpoints to update/);
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 503);
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
    const t0 = Date.now();
    gw.signal('SIGINT');
    const exit = await gw.exited;
    assert.deepEqual(exit, { code: 130, signal: null });
    assert.ok(Date.now() - t0 < 5_000, `exited ${Date.now() - t0} ms after the second signal`);
  });
});

// Private:

interface Metrics {
  /** The metric has a `# TYPE` line (a labelled counter has no sample until first counted). */
  declared(name: string): boolean;
  /** The sample of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

async function scrape(url: string): Promise<Metrics> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const samples = text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`metrics: expected "name{labels} value", got ${JSON.stringify(l)}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
  return {
    declared: (name) => text.includes(`\n# TYPE ${name} `),
    value: (name, labels = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value,
  };
}

/** A POST whose headers go out now (Expect: 100-continue) and whose body goes out on `sendBody()`. */
function startQuery(url: string, query: string): { continued: Promise<void>; sendBody(): void; response: Promise<{ status: number; body: string }> } {
  const body = JSON.stringify({ query });
  const req: ClientRequest = request(`${url}/graphql`, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
  });
  const continued = new Promise<void>((res) => req.once('continue', () => res()));
  // Resolves with status 0 and the error when the connection fails, so tests assert on it.
  const response = new Promise<{ status: number; body: string }>((res) => {
    req.on('response', (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (text += c));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: text }));
    });
    req.on('error', (err) => res({ status: 0, body: String(err) }));
  });
  req.flushHeaders();
  return { continued, sendBody: () => req.end(body), response };
}

async function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((res) => {
    const s = connect(Number(port), hostname, () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });
}
