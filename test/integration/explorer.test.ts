/**
 * The explorer as a person uses it: the gateway, started in-process on the real control plane,
 * serves GraphiQL at `/`; a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) opens it, runs the ready-made examples by pressing Run, sends the
 * Authorization header typed once with every request (queries, the schema fetch, the WebSocket's
 * connection_init), shows endpoint churn live as the cluster changes, and asks nothing of any
 * host but the gateway. With `--demo --auth kubernetes` the page loads without a token and says
 * where it goes; the demo tokens typed in the headers editor then decide what queries, the schema
 * fetch and subscriptions see. `--no-explorer` turns the page off and leaves /graphql alone.
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
const HeadersTab = 'button[data-name="headers"]';

/** A Chromium with its one page, recording everything the page asks for and logs. */
interface Browser {
  context: BrowserContext;
  page: Page;
  userDataDir: string;
  launchMs: number;
  /** Everything the browser asked for, in order. */
  requests: { url: string; method: string; authorization: string | null; operationName: string | null }[];
  /** Every response status, by request URL and order. */
  responses: { url: string; status: number }[];
  socketUrls: string[];
  /** graphql-ws messages the page sent and received. */
  sent: any[];
  received: any[];
  /** Console errors and uncaught exceptions of the page. */
  consoleErrors: { text: string; url: string }[];
  pageErrors: string[];
}

async function launchBrowser(): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'explorer-chromium-'));
  const t0 = Date.now();
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: ChromiumPath,
    args: ChromiumArgs,
    headless: true,
    viewport: { width: 1400, height: 900 },
  });
  const b: Browser = {
    context,
    page: context.pages()[0] ?? (await context.newPage()),
    userDataDir,
    launchMs: Date.now() - t0,
    requests: [],
    responses: [],
    socketUrls: [],
    sent: [],
    received: [],
    consoleErrors: [],
    pageErrors: [],
  };
  context.on('request', (r) => {
    let operationName: string | null = null;
    try {
      operationName = JSON.parse(r.postData() ?? 'null')?.operationName ?? null;
    } catch {}
    b.requests.push({ url: r.url(), method: r.method(), authorization: r.headers().authorization ?? null, operationName });
  });
  context.on('response', (r) => b.responses.push({ url: r.url(), status: r.status() }));
  b.page.on('websocket', (ws) => {
    b.socketUrls.push(ws.url());
    ws.on('framesent', (f) => b.sent.push(JSON.parse(String(f.payload))));
    ws.on('framereceived', (f) => b.received.push(JSON.parse(String(f.payload))));
  });
  b.page.on('console', (m) => {
    if (m.type() === 'error') b.consoleErrors.push({ text: m.text(), url: m.location().url });
  });
  b.page.on('pageerror', (e) => b.pageErrors.push(String(e)));
  return b;
}

async function closeBrowser(b: Browser | undefined): Promise<void> {
  if (!b) return;
  await b.context.close();
  rmSync(b.userDataDir, { recursive: true, force: true });
}

/** What a person does in GraphiQL, and what the page shows; `page` is read at each call. */
function graphiql(page: () => Page) {
  /** Replace the text of a CodeMirror editor as a user pasting would. */
  const typeInto = async (selector: string, text: string) => {
    await page().click(selector);
    await page().keyboard.press('Control+A');
    await page().keyboard.insertText(text);
  };
  // Runs in the page; `globalThis` because this file is typed without the DOM library.
  const editorText = (selector: string): Promise<string> =>
    page().evaluate((s) => (globalThis as any).document.querySelector(s)?.CodeMirror?.getValue() ?? '', selector);
  /** The result panel's JSON; null while it shows nothing (or not JSON yet). */
  const result = async (): Promise<any> => {
    try {
      return JSON.parse(await editorText(ResultEditor));
    } catch {
      return null;
    }
  };
  const openTab = (title: string) => page().click(`.graphiql-tab:has-text("${title}") button`);
  const waitForResult = async (description: string, check: (r: any) => boolean, timeoutMs = 30_000) => {
    await waitFor(description, timeoutMs, async () => {
      const r = await result();
      return r !== null && check(r);
    });
    return result();
  };
  return { typeInto, editorText, result, openTab, waitForResult };
}

const cp = ControlPlane.attach();
/** An in-process gateway on the control plane, as the admin; the environment left out. */
const gatewayFlags = (...more: string[]) => parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', ...more], {}) as Config;

describe('explorer in a real browser, on the real control plane', () => {
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.44');
  const web = work.podsOf(ns, 'web');
  let gateway: Gateway;
  let browser: Browser;
  let page: Page;
  let requests: Browser['requests'];
  let socketUrls: Browser['socketUrls'];
  let sent: Browser['sent'];
  const { typeInto, editorText, openTab, waitForResult } = graphiql(() => page);

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
    browser = await launchBrowser();
    ({ page, requests, socketUrls, sent } = browser);
  });

  after(async () => {
    await closeBrowser(browser);
    await gateway?.stop();
    await kube.req('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
    for (const n of nodes) await kube.req('DELETE', `/api/v1/nodes/${n}`).catch(() => {});
  });

  it('serves the page with its CSP and opens one tab per example, titled by operation name', async (t) => {
    const t0 = Date.now();
    const response = await page.goto(`${gateway.url}/`);
    assert.equal(response?.status(), 200);
    assert.equal(response?.headers()['content-security-policy'], ExplorerCSP);
    await page.waitForSelector('.graphiql-tab');
    assert.deepEqual(await page.locator('.graphiql-tab').allInnerTexts(), examples.map((e) => e.name));
    assert.equal(await editorText(QueryEditor), examples[0]!.query);
    // The first tab shows its example's variables (GraphiQL 4 alone would leave them empty).
    await waitFor('the first tab\'s variables', 10_000, async () => JSON.parse((await editorText(ToolEditor)) || 'null')?.name === examples[0]!.variables?.['name']);
    await waitFor('the schema fetch', 10_000, () => requests.some((r) => r.operationName === 'IntrospectionQuery'));
    t.diagnostic(`chromium launched in ${browser.launchMs} ms; page ready (tabs, variables, schema) in ${Date.now() - t0} ms`);
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

describe('explorer with --auth kubernetes, on the demo cluster', () => {
  const shop = 'Bearer demo-shop';
  const admin = 'Bearer demo-admin';
  const servicesQuery = '{ services { totalCount items { metadata { namespace } } } }';
  const TokenNotice = '.graphiql-footer [role="status"]';
  let gateway: Gateway;
  let browser: Browser;
  let page: Page;
  const { typeInto, editorText, waitForResult } = graphiql(() => page);
  /**
   * Pastes `text` over the query of the open tab and presses Run at once: sooner than GraphiQL
   * parses the editor (100 ms after an edit), so what is sent must not carry the previous
   * query's operation name ("ServiceEndpoints") or, for a subscription, go over HTTP.
   */
  const run = async (description: string, text: string, check: (r: any) => boolean) => {
    await typeInto(QueryEditor, text);
    await page.click(RunButton);
    return waitForResult(description, check);
  };
  const typeHeaders = async (headers: object) => {
    await page.click(HeadersTab);
    await typeInto(ToolEditor, JSON.stringify(headers, null, 2));
  };
  /** The 401s the browser logs for the schema fetch without a token. */
  const isRefusedSchemaFetch = (e: { text: string; url: string }) => e.url === `${gateway.url}/graphql` && /status of 401 \(Unauthorized\)/.test(e.text);

  before(async () => {
    execFileSync(process.execPath, [join(import.meta.dirname, '../../src/explorer/build.ts')], { stdio: 'inherit' });
    gateway = await startGateway(parseConfig(['--demo', '--auth', 'kubernetes', '--port', '0'], {}) as Config, { logger, env: {} });
    await gateway.synced();
    browser = await launchBrowser();
    page = browser.page;
  });

  after(async () => {
    await closeBrowser(browser);
    await gateway?.stop();
  });

  it('loads the page without a token and says where the token goes; the 401 of the schema fetch is the only error', async () => {
    const response = await page.goto(`${gateway.url}/`);
    assert.equal(response?.status(), 200);
    await page.waitForSelector('.graphiql-tab');
    const notice = await page.waitForSelector(TokenNotice, { timeout: 10_000 });
    assert.equal(await notice.innerText(), 'This gateway needs a bearer token: set {"Authorization": "Bearer TOKEN"} in the Headers tab.');
    // The page and its bundle came without a token; only /graphql refused.
    const assets = browser.responses.filter((r) => !r.url.startsWith('data:') && new URL(r.url).pathname !== '/graphql');
    assert.deepEqual(assets.map((r) => `${new URL(r.url).pathname} ${r.status}`).sort(), ['/ 200', '/explorer/explorer.css 200', '/explorer/explorer.js 200']);
    const schemaFetches = browser.requests.filter((r) => r.operationName === 'IntrospectionQuery');
    assert.ok(schemaFetches.length >= 1 && schemaFetches.every((r) => r.authorization === null));
    assert.deepEqual(browser.responses.filter((r) => new URL(r.url).pathname === '/graphql').map((r) => r.status), schemaFetches.map(() => 401));
    // GraphiQL shows the gateway's answer in the result pane, next to the notice.
    assert.equal((await waitForResult('the refused schema fetch', (x) => x.errors !== undefined)).errors[0].extensions.code, 'UNAUTHENTICATED');
    assert.ok(browser.consoleErrors.length >= 1);
    assert.deepEqual(browser.consoleErrors.filter((e) => !isRefusedSchemaFetch(e)), []);
    assert.deepEqual(browser.pageErrors, []);
    await page.screenshot({ path: join(artifacts, 'explorer-no-token.png') });
  });

  it('with {"Authorization": "Bearer demo-shop"} typed in the Headers tab: the schema loads, the notice and the refusal go, the docs explorer works', async () => {
    const mark = browser.requests.length;
    await typeHeaders({ Authorization: shop });
    await waitFor('a schema fetch with the demo-shop token', 10_000, () =>
      browser.requests.slice(mark).some((r) => r.operationName === 'IntrospectionQuery' && r.authorization === shop),
    );
    await page.waitForSelector(TokenNotice, { state: 'detached', timeout: 10_000 });
    // The stale 401 no longer sits in the result pane once the schema has loaded.
    await waitFor('the result pane to drop the refused schema fetch', 10_000, async () => (await editorText(ResultEditor)) === '');
    await page.click('button[aria-label="Show Documentation Explorer"]');
    await page.click('.graphiql-doc-explorer a:has-text("Query")');
    await page.waitForSelector('.graphiql-doc-explorer-title:has-text("Query")');
    const docs = await page.locator('.graphiql-doc-explorer').innerText();
    for (const field of ['services', 'nodes', 'endpointSlices']) assert.match(docs, new RegExp(`\\b${field}\\b`));
  });

  it('demo-shop: services across the cluster are those of namespace shop only', async () => {
    const r = await run('the services result', servicesQuery, (x) => x.data?.services !== undefined);
    assert.equal(r.errors, undefined);
    const items = r.data.services.items;
    assert.ok(items.length > 0);
    assert.equal(r.data.services.totalCount, items.length);
    assert.deepEqual([...new Set(items.map((i: any) => i.metadata.namespace))], ['shop']);
    const posts = browser.requests.filter((x) => x.method === 'POST' && x.operationName !== 'IntrospectionQuery').slice(-1);
    assert.deepEqual(posts.map((x) => x.authorization), [shop]);
  });

  it('demo-shop: nodes shows FORBIDDEN in the result pane', async () => {
    const r = await run('the nodes result', '{ nodes { totalCount } }', (x) => x.errors !== undefined || x.data?.nodes !== undefined);
    assert.deepEqual(r.data, { nodes: null });
    assert.deepEqual(r.errors.map((e: any) => [e.path, e.extensions.code]), [[['nodes'], 'FORBIDDEN']]);
    assert.match(await page.locator('.result-window').innerText(), /"FORBIDDEN"/);
    // A refusal of a field is not a refusal of the token.
    assert.equal(await page.locator(TokenNotice).count(), 0);
  });

  it('demo-shop: a subscription gets its SNAPSHOT over the WebSocket the token opened', async () => {
    const subscription = 'subscription { endpointChanges(namespace: "shop") { type name } }';
    // The demo cluster churns: the pane may already show a CHANGE after the SNAPSHOTs.
    const shown = await run('an endpoint change set', subscription, (x) => typeof x.data?.endpointChanges?.name === 'string');
    assert.match(shown.data.endpointChanges.type, /^(SNAPSHOT|CHANGE)$/);
    const inits = browser.sent.filter((m) => m.type === 'connection_init');
    assert.deepEqual(inits.map((m) => m.payload), [{ Authorization: shop }]);
    assert.ok(browser.received.some((m) => m.type === 'connection_ack'));
    const changeSets = browser.received.filter((m) => m.type === 'next').map((m) => m.payload);
    assert.deepEqual(changeSets.filter((p) => p.errors !== undefined), []);
    assert.equal(changeSets[0].data.endpointChanges.type, 'SNAPSHOT');
    // Stop ends the operation.
    await page.click(RunButton);
    await waitFor('the subscription to complete', 10_000, () => browser.sent.some((m) => m.type === 'complete'));
  });

  it('demo-admin: the same services query sees more than shop', async () => {
    const mark = browser.requests.length;
    await typeHeaders({ Authorization: admin });
    await waitFor('a schema fetch with the demo-admin token', 10_000, () =>
      browser.requests.slice(mark).some((r) => r.operationName === 'IntrospectionQuery' && r.authorization === admin),
    );
    const r = await run('the services result as demo-admin', servicesQuery, (x) => x.data?.services?.items?.some((i: any) => i.metadata.namespace !== 'shop'));
    const namespaces = new Set(r.data.services.items.map((i: any) => i.metadata.namespace));
    assert.ok(namespaces.has('shop') && namespaces.size > 1, [...namespaces].join(' '));
    assert.equal(r.data.services.totalCount, r.data.services.items.length);
    const posts = browser.requests.slice(mark).filter((x) => x.method === 'POST');
    assert.deepEqual(posts.map((x) => x.authorization), posts.map(() => admin));
  });

  it('logged no error but the refused schema fetch, and asked nothing of any host but the gateway', () => {
    assert.deepEqual(browser.consoleErrors.filter((e) => !isRefusedSchemaFetch(e)), []);
    assert.deepEqual(browser.pageErrors, []);
    const gatewayHost = new URL(gateway.url).host;
    assert.ok(browser.socketUrls.length >= 1);
    const network = browser.requests.map((r) => r.url).filter((u) => !u.startsWith('data:'));
    assert.deepEqual(network.filter((u) => new URL(u).host !== gatewayHost || !/^https?:$/.test(new URL(u).protocol)), []);
    assert.deepEqual(browser.socketUrls.filter((u) => u !== `ws://${gatewayHost}/graphql`), []);
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
