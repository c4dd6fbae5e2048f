import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { endpoint, pod, service, slice, TableAccess, World } from './graphql-fixtures.ts';
import { parseDuration } from '../../src/model/text.ts';
import { CursorKind, stepOfSortKey } from '../../src/model/changesets.ts';
import { decodeCursor, encodeCursor } from '../../src/model/cursor.ts';

const T0 = Date.parse('2025-03-01T12:00:00Z');

/** shop/web with web-1 (a Pod whose Ready condition says since when) and a bare address without a Pod. */
function world(history = {}) {
  const web1 = pod('shop', 'web-1', { node: 'node-a', ips: ['10.4.1.1'], readySince: '2025-03-01T11:00:00Z' });
  const w = new World(
    {
      services: [service('shop', 'web', { labels: { app: 'web' } })],
      pods: [web1],
      slices: [slice('shop', 'web-abc', 'web', [endpoint('10.4.1.1', { pod: web1 }), endpoint('10.4.9.9')])],
    },
    history,
  );
  w.now = T0;
  return { w, web1 };
}

/** Replace the Service's one slice with `endpoints` at time `at`. */
function step(w: World, at: number, endpoints: ReturnType<typeof endpoint>[]): void {
  w.now = at;
  w.cache.slices.upsert(slice('shop', 'web-abc', 'web', endpoints));
}

const Since = `readySince { at source exact } inServiceSince { at source exact }`;

describe('History: since when', () => {
  it('answers the Pod Ready condition time for an endpoint of a Pod in the cache, and a listed (not exact) observed time otherwise', async () => {
    const { w } = world();
    const d = await w.data(`{ service(namespace: "shop", name: "web") { endpoints { items { address ${Since} } } } }`);
    const [a, b] = d.service.endpoints.items;
    assert.deepEqual(a.readySince, { at: '2025-03-01T11:00:00Z', source: 'POD_READY_CONDITION', exact: true });
    // Listed at the gateway's start: it has held at least since then.
    const start = new Date(w.history.startedAt).toISOString();
    assert.deepEqual(a.inServiceSince, { at: start, source: 'OBSERVED', exact: false });
    assert.deepEqual(b.readySince, { at: start, source: 'OBSERVED', exact: false });
  });

  it('answers the observed time of a readiness flip, exact, when the endpoint has no Pod or the Pod disagrees with the slice', async () => {
    const { w, web1 } = world();
    const flip = T0 + 60_000;
    // The slice says web-1 is not ready, the cached Pod still says Ready: the slice wins, observed.
    step(w, flip, [endpoint('10.4.1.1', { pod: web1, ready: false }), endpoint('10.4.9.9', { ready: false })]);
    const d = await w.data(`{ service(namespace: "shop", name: "web") { endpoints { items { address ready ${Since} } } } }`);
    for (const e of d.service.endpoints.items) {
      assert.equal(e.ready, false);
      assert.deepEqual(e.readySince, { at: new Date(flip).toISOString(), source: 'OBSERVED', exact: true });
      assert.equal(e.inServiceSince.exact, false, 'in the Service since the start, not since the flip');
    }
  });

  it('answers the observed time an endpoint entered the Service, exact, for one added after the start', async () => {
    const { w, web1 } = world();
    const added = T0 + 5_000;
    step(w, added, [endpoint('10.4.1.1', { pod: web1 }), endpoint('10.4.7.7'), endpoint('10.4.9.9')]);
    const d = await w.data(`{ service(namespace: "shop", name: "web") { endpoints(node: null) { items { address ${Since} } } } }`);
    const e = d.service.endpoints.items.find((x: any) => x.address === '10.4.7.7');
    assert.deepEqual(e.inServiceSince, { at: new Date(added).toISOString(), source: 'OBSERVED', exact: true });
  });
});

const Changes = (args: string) => `{ service(namespace: "shop", name: "web") { changes${args ? `(${args})` : ''} { totalCount retainedSince pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { type cursor at added { address } removed { address } changed { after { address ready } } } } } } }`;

describe('History: Service.changes', () => {
  it('lists the change sets newest first by default and oldest first when asked, with the change sets\' own cursors', async () => {
    const { w, web1 } = world();
    step(w, T0 + 1000, [endpoint('10.4.1.1', { pod: web1 })]);
    step(w, T0 + 2000, [endpoint('10.4.1.1', { pod: web1, ready: false })]);
    step(w, T0 + 3000, [endpoint('10.4.1.1', { pod: web1 }), endpoint('10.4.2.2')]);
    const newest = (await w.data(Changes(''))).service.changes;
    assert.equal(newest.totalCount, 3);
    assert.deepEqual(newest.edges.map((e: any) => e.node.at), [3000, 2000, 1000].map((d) => new Date(T0 + d).toISOString()));
    assert.deepEqual(newest.edges.map((e: any) => e.node.added.map((a: any) => a.address)), [['10.4.2.2'], [], []]);
    assert.deepEqual(newest.edges[2].node.removed, [{ address: '10.4.9.9' }]);
    assert.deepEqual(newest.edges[1].node.changed, [{ after: { address: '10.4.1.1', ready: false } }]);
    for (const e of newest.edges) assert.equal(e.cursor, e.node.cursor);
    const oldest = (await w.data(Changes('order: OLDEST_FIRST, first: 2'))).service.changes;
    assert.deepEqual(oldest.edges.map((e: any) => e.cursor), newest.edges.slice().reverse().slice(0, 2).map((e: any) => e.cursor));
    assert.equal(oldest.pageInfo.hasNextPage, true);
    const rest = (await w.data(Changes(`order: OLDEST_FIRST, after: "${oldest.pageInfo.endCursor}"`))).service.changes;
    assert.deepEqual(rest.edges.map((e: any) => e.cursor), [newest.edges[0].cursor]);
    assert.equal(rest.pageInfo.hasPreviousPage, true);
    // Newest first, `after` pages towards older sets.
    const older = (await w.data(Changes(`first: 1, after: "${newest.edges[0].cursor}"`))).service.changes;
    assert.deepEqual(older.edges.map((e: any) => e.cursor), [newest.edges[1].cursor]);
  });

  it('refuses a cursor of another run of the gateway (a restart, another replica) with INVALID_CURSOR instead of paging from the step with its ordinal', async () => {
    const { w, web1 } = world();
    step(w, T0 + 1000, [endpoint('10.4.1.1', { pod: web1 })]);
    step(w, T0 + 2000, [endpoint('10.4.1.1', { pod: web1, ready: false })]);
    const newest = (await w.data(Changes(''))).service.changes;
    const ordinal = stepOfSortKey(decodeCursor(CursorKind, newest.edges[0].cursor));
    assert.equal(typeof ordinal, 'number');
    for (const sortKey of [`AAAAAAAA.${ordinal}`, String(ordinal)]) {
      const other = await w.run(Changes(`after: "${encodeCursor(CursorKind, sortKey)}"`));
      assert.equal(other.errors?.[0]?.extensions?.['code'], 'INVALID_CURSOR', sortKey);
      assert.match(other.errors![0]!.message, /^after: expected a cursor from this run of the gateway, got one from another run /);
    }
    const garbled = await w.run(Changes(`after: "${encodeCursor(CursorKind, '../etc')}"`));
    assert.equal(garbled.errors?.[0]?.extensions?.['code'], 'INVALID_CURSOR');
    const own = (await w.data(Changes(`after: "${newest.edges[0].cursor}"`))).service.changes;
    assert.equal(own.edges.length, 1, 'this run\'s cursor still pages');
  });

  it('takes `since` as an RFC 3339 time or a duration back from now; a bad one is INVALID_ARGUMENT', async () => {
    const { w, web1 } = world();
    step(w, T0 + 1000, [endpoint('10.4.1.1', { pod: web1 })]);
    step(w, T0 + 120_000, [endpoint('10.4.1.1', { pod: web1, ready: false })]);
    const iso = (await w.data(Changes(`since: "${new Date(T0 + 1000).toISOString()}"`))).service.changes;
    assert.equal(iso.totalCount, 2, 'since is inclusive');
    const ago = (await w.data(Changes(`since: "1m"`))).service.changes;
    assert.equal(ago.totalCount, 1);
    const local = await w.run(Changes(`since: "2025-03-01T12:00:00"`));
    assert.equal(local.errors?.[0]?.extensions?.['code'], 'INVALID_ARGUMENT', 'a time without an offset is not RFC 3339');
    const offset = (await w.data(Changes(`since: "2025-03-01T13:00:01+01:00"`))).service.changes;
    assert.equal(offset.totalCount, 2, 'an offset is honoured');
    const bad = await w.run(Changes(`since: "yesterday"`));
    assert.equal(bad.errors?.[0]?.extensions?.['code'], 'INVALID_ARGUMENT');
    assert.match(bad.errors![0]!.message, /^since: expected an RFC 3339 time .* got "yesterday"$/);
  });

  it('keeps at most --history-max change sets: a query reaching before them says where retention starts (HISTORY_TRUNCATED)', async () => {
    const { w, web1 } = world({ maxSteps: 2 });
    step(w, T0 + 1000, [endpoint('10.4.1.1', { pod: web1 })]);
    step(w, T0 + 2000, [endpoint('10.4.1.1', { pod: web1, ready: false })]);
    step(w, T0 + 3000, [endpoint('10.4.1.1', { pod: web1 })]);
    const all = await w.run(Changes(`since: "${new Date(T0).toISOString()}"`));
    const c = (all.data as any).service.changes;
    assert.equal(c.totalCount, 2);
    // The set at T0+1000 was dropped: complete only from just after it.
    assert.equal(c.retainedSince, new Date(T0 + 1001).toISOString());
    assert.deepEqual((all.extensions as any)?.warnings?.map((x: any) => x.code), ['HISTORY_TRUNCATED']);
    // Exactly at the boundary: complete, no warning; one millisecond before it: truncated.
    const at = await w.run(Changes(`since: "${new Date(T0 + 1001).toISOString()}"`));
    assert.equal((at.extensions as any)?.warnings, undefined);
    assert.equal((at.data as any).service.changes.totalCount, 2);
    const before = await w.run(Changes(`since: "${new Date(T0 + 1000).toISOString()}"`));
    assert.deepEqual((before.extensions as any)?.warnings?.map((x: any) => x.code), ['HISTORY_TRUNCATED']);
  });

  it('keeps change sets for --history-window: older ones are dropped as time passes; a query from before the gateway started says where the history starts, without a warning (nothing was dropped)', async () => {
    const { w, web1 } = world({ windowMs: 60_000 });
    const early = await w.run(Changes(`since: "${new Date(T0 - 1).toISOString()}"`));
    assert.equal((early.extensions as any)?.warnings, undefined);
    assert.equal((early.data as any).service.changes.retainedSince, new Date(w.history.startedAt).toISOString());
    step(w, T0 + 1000, [endpoint('10.4.1.1', { pod: web1 })]);
    step(w, T0 + 30_000, [endpoint('10.4.1.1', { pod: web1, ready: false })]);
    w.now = T0 + 61_000; // exactly one window after the first: kept
    assert.equal((await w.data(Changes(''))).service.changes.totalCount, 2);
    w.now = T0 + 61_001; // beyond it: dropped
    const c = (await w.data(Changes(''))).service.changes;
    assert.equal(c.totalCount, 1);
    assert.equal(c.retainedSince, new Date(T0 + 1001).toISOString());
    const dropped = await w.run(Changes(`since: "${new Date(T0 + 1000).toISOString()}"`));
    assert.deepEqual((dropped.extensions as any)?.warnings?.map((x: any) => x.code), ['HISTORY_TRUNCATED']);
  });

  it('shows a relist as RESYNC carrying the difference across it, not as individual changes', async () => {
    const { w, web1 } = world();
    w.now = T0 + 1000;
    w.cache.slices.replace([slice('shop', 'web-abc', 'web', [endpoint('10.4.1.1', { pod: web1 })])]);
    const c = (await w.data(Changes(''))).service.changes;
    assert.equal(c.totalCount, 1);
    assert.equal(c.edges[0].node.type, 'RESYNC');
    assert.deepEqual(c.edges[0].node.removed, [{ address: '10.4.9.9' }]);
  });

  it('Query.changes covers a namespace and a label selector, a Service relabelled out of it as a CHANGE removing everything', async () => {
    const { w } = world();
    w.now = T0 + 1000;
    w.cache.services.upsert(service('shop', 'web', { labels: { app: 'other' } }));
    const d = await w.data(`{ changes(namespace: "shop", labelSelector: "app=web") { totalCount items { type name removed { address } endpoints { address } } } }`);
    assert.deepEqual(d.changes.items, [{ type: 'CHANGE', name: 'web', removed: [{ address: '10.4.1.1' }, { address: '10.4.9.9' }], endpoints: [] }]);
    const other = await w.data(`{ changes(namespace: "kube-system") { totalCount } }`);
    assert.equal(other.changes.totalCount, 0);
    const bad = await w.run(`{ changes(labelSelector: "app in (") { totalCount } }`);
    assert.equal(bad.errors?.[0]?.extensions?.['code'], 'INVALID_SELECTOR');
  });
});

describe('Durations', () => {
  it('parses Go-style durations and refuses anything else', () => {
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('250ms'), 250);
    for (const bad of ['', '5', 'm', '5 m', '-5m', '5d']) assert.equal(parseDuration(bad), null, bad);
  });
});

describe('Services below a readiness threshold', () => {
  it('lists Services with fewer ready endpoints than readyBelow, or a ready fraction below readyFractionBelow, ExternalName left out', async () => {
    const w = new World({
      services: [service('shop', 'full'), service('shop', 'half'), service('shop', 'none'), service('shop', 'noslices'), service('shop', 'ext', { type: 'ExternalName' })],
      slices: [
        slice('shop', 'full-1', 'full', [endpoint('10.1.0.1'), endpoint('10.1.0.2')]),
        slice('shop', 'half-1', 'half', [endpoint('10.2.0.1'), endpoint('10.2.0.2', { ready: false })]),
        slice('shop', 'none-1', 'none', [endpoint('10.3.0.1', { ready: false })]),
      ],
    });
    const names = async (args: string) => (await w.data(`{ services(namespace: "shop", ${args}) { items { metadata { name } } } }`)).services.items.map((s: any) => s.metadata.name);
    assert.deepEqual(await names('readyBelow: 2'), ['half', 'none', 'noslices']);
    assert.deepEqual(await names('readyBelow: 1'), ['none', 'noslices']);
    assert.deepEqual(await names('readyFractionBelow: 0.5'), ['none', 'noslices']);
    assert.deepEqual(await names('readyFractionBelow: 0.51'), ['half', 'none', 'noslices']);
    assert.deepEqual(await names('readyBelow: 2, readyFractionBelow: 0.5'), ['none', 'noslices']);
    const bad = await w.run(`{ services(readyFractionBelow: 1.5) { totalCount } }`);
    assert.equal(bad.errors?.[0]?.extensions?.['code'], 'INVALID_ARGUMENT');
  });
});

describe('History: who may see it', () => {
  it('answers history questions only where the caller may list EndpointSlices: FORBIDDEN (the field null) elsewhere, the rest still answered', async () => {
    const { w } = world();
    w.access = new TableAccess('alice', [
      ['list', 'services', 'shop'],
      ['list', 'endpointslices', 'shop'],
      ['list', 'services', 'kube-system'],
    ]);
    const ok = await w.run(`{ changes(namespace: "shop") { totalCount } churnRanking(namespace: "shop", window: "1h") { name } service(namespace: "shop", name: "web") { changes { totalCount } churn { changeSets } } }`);
    assert.deepEqual(ok.errors ?? [], []);
    const denied = await w.run(`{ changes { totalCount } churnRanking(window: "1h") { name } shop: changes(namespace: "shop") { totalCount } }`);
    assert.deepEqual((denied.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.['code']]), [
      ['changes', 'FORBIDDEN'],
      ['churnRanking', 'FORBIDDEN'],
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(denied.data)), { changes: null, churnRanking: null, shop: { totalCount: 0 } });
    // Services visible, their EndpointSlices not: the Service answers, its history is null.
    w.cache.services.upsert(service('kube-system', 'dns'));
    const hidden = await w.run(`{ service(namespace: "kube-system", name: "dns") { metadata { name } changes { totalCount } churn { changeSets } } }`);
    assert.deepEqual(JSON.parse(JSON.stringify(hidden.data)), { service: { metadata: { name: 'dns' }, changes: null, churn: null } });
    assert.deepEqual((hidden.errors ?? []).map((e) => e.extensions?.['code']), ['FORBIDDEN', 'FORBIDDEN']);
  });
});
