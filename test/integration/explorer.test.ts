/**
 * The explorer as a person uses it: the gateway, started in-process on the real control plane,
 * serves GraphiQL at `/`; a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) opens it, runs the ready-made examples by pressing Run, sends the
 * Authorization header typed once with every request (queries, the schema fetch, the WebSocket's
 * connection_init), shows endpoint churn live as the cluster changes, and asks nothing of any
 * host but the gateway. `--no-explorer` turns the page off and leaves /graphql alone.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { ExplorerCSP } from '../../src/explorer/route.ts';
import examples from '../../src/explorer/examples.json' with { type: 'json' };
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { Workloads } from '../harness/workload.ts';
import { waitFor } from '../harness/wait.ts';

const ns = 'explorer';
const nodes = ['explorer-node-a', 'explorer-node-b'];
const zones = ['zone-a', 'zone-b'];
const token = 'Bearer explorer-test-token';
const artifacts = join(import.meta.dirname, '../../.artifacts');
const logger = createLogger({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'warn', format: 'text' });

/** Debian's chromium, installed by test/run.sh; flags that keep it from calling home. */
const ChromiumPath = '/usr/bin/chromium';
const ChromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// GraphiQL 4's DOM: the editors are CodeMirror 5, whose instance hangs off its element.
const RunButton = '.graphiql-execute-button';
const QueryEditor = '.graphiql-query-editor .CodeMirror';
const ToolEditor = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
const ResultEditor = '.result-window .CodeMirror';

const cp = ControlPlane.attach();
/** An in-process gateway on the control plane, as the admin; the environment left out. */
const gatewayFlags = (...more: string[]) => parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', ...more], {}) as Config;

describe('explorer in a real browser, on the real control plane', () => {
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.44');
  const web = work.podsOf(ns, 'web');
  let gateway: Gateway;
  let userDataDir: string;
  let context: BrowserContext;
  let page: Page;
  let launchMs = 0;
  /** Everything the browser asked for, in order. */
  const requests: { url: string; method: string; authorization: string | null; operationName: string | null }[] = [];
  const socketUrls: string[] = [];
  /** graphql-ws messages the page sent. */
  const sent: any[] = [];

  before(async () => {
    // The bundle from the sources under test (build.ts does nothing when it is fresh).
    execFileSync(process.execPath, [join(import.meta.dirname, '../../src/explorer/build.ts')], { stdio: 'inherit' });
    await kube.ensureNamespace(ns);
    for (const [i, n] of nodes.entries()) await kube.createNode(n, zones[i]!);
    await kube.createService({ namespace: ns, name: 'web', selector: { app: 'web' } });
    await work.scale(ns, 'web', 2, nodes);

    gateway = await startGateway(gatewayFlags(), { logger, env: {} });
    await gateway.synced();
    await waitFor(`${ns}/web to have 2 ready endpoints in the gateway`, 60_000, () => gateway.feed.get(`${ns}/web`)?.counts.ready === 2);

    userDataDir = mkdtempSync(join(tmpdir(), 'explorer-chromium-'));
    const t0 = Date.now();
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: ChromiumPath,
      args: ChromiumArgs,
      headless: true,
      viewport: { width: 1400, height: 900 },
    });
    launchMs = Date.now() - t0;
    context.on('request', (r) => {
      let operationName: string | null = null;
      try {
        operationName = JSON.parse(r.postData() ?? 'null')?.operationName ?? null;
      } catch {}
      requests.push({ url: r.url(), method: r.method(), authorization: r.headers().authorization ?? null, operationName });
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('websocket', (ws) => {
      socketUrls.push(ws.url());
      ws.on('framesent', (f) => sent.push(JSON.parse(String(f.payload))));
    });
  });

  after(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await gateway?.stop();
    await kube.req('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
    for (const n of nodes) await kube.req('DELETE', `/api/v1/nodes/${n}`).catch(() => {});
  });

  /** Replace the text of a CodeMirror editor as a user pasting would. */
  const typeInto = async (selector: string, text: string) => {
    await page.click(selector);
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(text);
  };
  // Runs in the page; `globalThis` because this file is typed without the DOM library.
  const editorText = (selector: string): Promise<string> =>
    page.evaluate((s) => (globalThis as any).document.querySelector(s)?.CodeMirror?.getValue() ?? '', selector);
  /** The result panel's JSON; null while it shows nothing (or not JSON yet). */
  const result = async (): Promise<any> => {
    try {
      return JSON.parse(await editorText(ResultEditor));
    } catch {
      return null;
    }
  };
  const openTab = (title: string) => page.click(`.graphiql-tab:has-text("${title}") button`);
  const waitForResult = async (description: string, check: (r: any) => boolean, timeoutMs = 30_000) => {
    await waitFor(description, timeoutMs, async () => {
      const r = await result();
      return r !== null && check(r);
    });
    return result();
  };

  it('serves the page with its CSP and opens one tab per example, titled by operation name', async (t) => {
    const t0 = Date.now();
    const response = await page.goto(`${gateway.url}/`);
    assert.equal(response?.status(), 200);
    assert.equal(response?.headers()['content-security-policy'], ExplorerCSP);
    await page.waitForSelector('.graphiql-tab');
    assert.deepEqual(await page.locator('.graphiql-tab').allInnerTexts(), examples.map((e) => e.name));
    assert.equal(await editorText(QueryEditor), examples[0]!.query);
    // The first tab shows its example's variables (GraphiQL 4 alone would leave them empty).
    await waitFor('the first tab\'s variables', 10_000, async () => JSON.parse((await editorText(ToolEditor)) || 'null')?.name === 'frontend');
    await waitFor('the schema fetch', 10_000, () => requests.some((r) => r.operationName === 'IntrospectionQuery'));
    t.diagnostic(`chromium launched in ${launchMs} ms; page ready (tabs, variables, schema) in ${Date.now() - t0} ms`);
  });

  it('runs the Service example on Run and shows the Service\'s endpoints, pods and nodes', async () => {
    await typeInto(ToolEditor, JSON.stringify({ namespace: ns, name: 'web' }, null, 2));
    await page.click(RunButton);
    const r = await waitForResult('the ServiceEndpoints result', (x) => x.data?.service?.metadata?.name === 'web');
    const service = r.data.service;
    assert.deepEqual(service.endpoints.items.map((e: any) => e.address), [...web.values()].sort());
    assert.ok(service.endpoints.items.every((e: any) => e.ready && zones.includes(e.zone)));
    assert.deepEqual(service.pods.items.map((p: any) => p.metadata.name), ['web-0', 'web-1']);
    assert.deepEqual(service.nodes.items.map((n: any) => `${n.metadata.name} ${n.zone}`), nodes.map((n, i) => `${n} ${zones[i]}`));
    assert.deepEqual(service.endpointCounts, { total: 2, ready: 2, serving: 2, terminating: 0 });
    // On screen, not only in the editor's model.
    assert.match(await page.locator('.result-window').innerText(), /"web"/);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'explorer.png') });
    assert.ok(statSync(join(artifacts, 'explorer.png')).size > 10_000);
  });

  it('sends the Authorization header typed once with queries and the schema fetch, and nothing for the empty placeholder', async () => {
    const introspections = () => requests.filter((r) => r.operationName === 'IntrospectionQuery');
    assert.equal(introspections()[0]!.authorization, null, 'the placeholder "Authorization": "" is not sent');
    const mark = requests.length;
    await page.click('button[data-name="headers"]');
    await typeInto(ToolEditor, JSON.stringify({ Authorization: token }, null, 2));
    // The schema is fetched again with the new headers once typing stops.
    await waitFor('a schema fetch with the Authorization header', 10_000, () =>
      requests.slice(mark).some((r) => r.operationName === 'IntrospectionQuery' && r.authorization === token),
    );
    await page.click(RunButton);
    await waitFor('the query with the Authorization header', 10_000, () => requests.slice(mark).some((r) => r.operationName === 'ServiceEndpoints'));
    const posts = requests.slice(mark).filter((r) => r.method === 'POST');
    assert.deepEqual(posts.map((r) => r.authorization), posts.map(() => token));
  });

  it('streams endpoint churn over the WebSocket: connection_init carries the header, scale-up and a pod going unready appear on the page', async () => {
    await openTab('EndpointChurn');
    // Headers are one set for the page: the token typed in the first tab is here too.
    await page.click('button[data-name="headers"]');
    assert.deepEqual(JSON.parse(await editorText(ToolEditor)), { Authorization: token });
    await page.click('button[data-name="variables"]');
    await typeInto(ToolEditor, JSON.stringify({ namespace: ns, name: 'web' }, null, 2));
    await page.click(RunButton);

    const snapshot = await waitForResult('the SNAPSHOT', (x) => x.data?.endpointChanges?.type === 'SNAPSHOT');
    assert.deepEqual(snapshot.data.endpointChanges.added.map((e: any) => e.address), [...web.values()].sort());
    const inits = sent.filter((m) => m.type === 'connection_init');
    assert.equal(inits.length, 1);
    assert.deepEqual(inits[0].payload, { Authorization: token });
    assert.ok(sent.some((m) => m.type === 'subscribe' && m.payload.operationName === 'EndpointChurn'));

    await work.scale(ns, 'web', 3, nodes);
    const added = web.get('web-2')!;
    const up = await waitForResult('the scale-up CHANGE', (x) => x.data?.endpointChanges?.type === 'CHANGE' && x.data.endpointChanges.counts.total === 3, 60_000);
    assert.deepEqual(up.data.endpointChanges.added.map((e: any) => [e.address, e.ready]), [[added, true]]);
    assert.match(await page.locator('.result-window').innerText(), new RegExp(`"${added.replaceAll('.', '\\.')}"`));

    await work.setReady(ns, 'web', 'web-0', false);
    const gone = web.get('web-0')!;
    const down = await waitForResult('the CHANGE of web-0 going unready', (x) => x.data?.endpointChanges?.counts?.ready === 2 && x.data.endpointChanges.changed.length > 0, 60_000);
    assert.deepEqual(down.data.endpointChanges.changed.map((c: any) => [c.before.address, c.before.ready, c.after.ready]), [[gone, true, false]]);
    assert.deepEqual(down.data.endpointChanges.counts, { total: 3, ready: 2, serving: 2, terminating: 0 });
    await page.screenshot({ path: join(artifacts, 'explorer-subscription.png') });

    // Stop ends the operation and the (lazy) WebSocket closes.
    await page.click(RunButton);
    await waitFor('the subscription to complete', 10_000, () => sent.some((m) => m.type === 'complete'));
  });

  it('asked nothing of any host but the gateway', () => {
    const gatewayHost = new URL(gateway.url).host;
    assert.ok(requests.length >= 5 && socketUrls.length >= 1);
    // data: URLs (the empty icon, inline fonts) never leave the browser.
    const network = requests.map((r) => r.url).filter((u) => !u.startsWith('data:'));
    assert.deepEqual(network.filter((u) => new URL(u).host !== gatewayHost || !/^https?:$/.test(new URL(u).protocol)), []);
    assert.deepEqual(socketUrls.filter((u) => u !== `ws://${gatewayHost}/graphql`), []);
  });
});

describe('--no-explorer', () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway(gatewayFlags('--no-explorer'), { logger, env: {} });
  });
  after(() => gateway?.stop());

  it('answers 404 at / and for the bundle, and never the page at /graphql', async () => {
    for (const path of ['/', '/explorer/explorer.js', '/explorer/explorer.css']) {
      const res = await fetch(`${gateway.url}${path}`, { headers: { accept: 'text/html' } });
      await res.arrayBuffer();
      assert.equal(res.status, 404, path);
    }
    const res = await fetch(`${gateway.url}/graphql`, { headers: { accept: 'text/html' } });
    await res.arrayBuffer();
    assert.doesNotMatch(res.headers.get('content-type') ?? '', /text\/html/);
  });

  it('still answers GraphQL at /graphql', async () => {
    await gateway.synced();
    const res = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ service(namespace: "default", name: "kubernetes") { metadata { name } } }' }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { data: { service: { metadata: { name: 'kubernetes' } } } });
  });
});
