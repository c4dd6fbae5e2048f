/**
 * Every example a newcomer is shown answers something on a fresh demo cluster: each top-level
 * operation of every ```graphql block in README.md, and every explorer example
 * (src/explorer/examples.json) with its variables, run against the gateway as users start it
 * (`node src/main.ts --demo`). Queries go over HTTP, subscriptions over WebSocket (the first
 * message). An answer fails on any error, any warning, a null root field, a root field with
 * nothing in it (no non-empty list and no positive number anywhere below it), or an empty
 * connection at or directly under a root field.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, print, type OperationDefinitionNode } from 'graphql';
import { GatewayProcess, RepoRoot, postGraphQL } from '../harness/gateway-process.ts';
import { firstMessage } from '../harness/subscriber.ts';
import { waitFor } from '../harness/wait.ts';
import examples from '../../src/explorer/examples.json' with { type: 'json' };

interface Example {
  readonly where: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly subscription: boolean;
}

/** Each top-level operation of each ```graphql block of the README, printed alone. */
function readmeExamples(): Example[] {
  const readme = readFileSync(join(RepoRoot, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```graphql\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks.flatMap((block, b) =>
    parse(block).definitions.map((d, i) => {
      assert.equal(d.kind, Kind.OPERATION_DEFINITION, `README graphql block ${b + 1} holds only operations`);
      const op = d as OperationDefinitionNode;
      return { where: `README block ${b + 1}, operation ${i + 1}`, query: print(op), subscription: op.operation === 'subscription' };
    }),
  );
}

const explorerExamples: Example[] = examples.map((e) => ({
  where: `explorer ${e.name}`,
  query: e.query,
  variables: e.variables,
  subscription: /^subscription\b/m.test(e.query),
}));

/** Why `data` is an empty answer, or null when it answers something. */
function emptiness(data: Record<string, unknown> | null | undefined): string | null {
  if (!data) return 'no data';
  for (const [field, value] of Object.entries(data)) {
    if (value === null || value === undefined) return `${field} is null`;
    if (!hasSomething(value)) return `${field} holds no item and no positive count`;
    const conns = [[field, value], ...Object.entries(value as object).map(([k, v]) => [`${field}.${k}`, v])] as [string, unknown][];
    for (const [path, v] of conns) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
      const c = v as { items?: unknown[]; edges?: unknown[]; totalCount?: number };
      if ((c.items && c.items.length === 0) || (c.edges && c.edges.length === 0) || c.totalCount === 0) return `${path} is an empty connection`;
    }
  }
  return null;
}

function hasSomething(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'number') return v > 0;
  if (v !== null && typeof v === 'object') return Object.values(v).some(hasSomething);
  return false;
}

describe('every README and explorer example answers something on a fresh demo cluster', () => {
  let gw: GatewayProcess;
  const all = [...readmeExamples(), ...explorerExamples];

  before(async () => {
    gw = await GatewayProcess.start(['--demo', '--port', '0', '--no-explorer', '--log-format', 'json']);
    await waitFor('the demo gateway to be ready', 30_000, async () => (await fetch(`${gw.url}/readyz`)).status === 200);
  });
  after(async () => {
    await gw?.stop();
  });

  it('finds at least 5 README operations, a subscription among them, and every explorer example', () => {
    assert.ok(all.filter((e) => e.where.startsWith('README')).length >= 5, all.map((e) => e.where).join(', '));
    assert.ok(all.some((e) => e.where.startsWith('README') && e.subscription));
    assert.equal(explorerExamples.length, examples.length);
  });

  for (const example of all) {
    it(`${example.where} answers without error, warning or empty answer`, async () => {
      let body: any;
      if (example.subscription) {
        const m = await firstMessage(gw.url, { query: example.query, variables: example.variables ?? null });
        assert.equal(m.type, 'next', JSON.stringify(m.payload).slice(0, 500));
        body = m.payload;
      } else {
        const r = await postGraphQL(gw.url, example.query, example.variables);
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
        body = r.body;
      }
      assert.deepEqual(body.errors ?? [], []);
      assert.deepEqual(body.extensions?.warnings ?? [], []);
      assert.equal(emptiness(body.data), null, `${emptiness(body.data)}: ${JSON.stringify(body.data).slice(0, 300)}`);
    });
  }

  it('/readyz gives the kinds\' times in RFC 3339, as cluster.kinds does', async () => {
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as any;
    const r = await postGraphQL(gw.url, '{ cluster { kinds { kind syncedAt } } }');
    const rfc3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
    assert.equal(ready.kinds.length, r.body.data.cluster.kinds.length);
    for (const k of ready.kinds) {
      // Every kind the demo serves is watched and synced; a time is RFC 3339 wherever there is one.
      assert.match(k.syncedAt, rfc3339, k.kind);
      if (k.lastEventAt !== null) assert.match(k.lastEventAt, rfc3339, k.kind);
    }
    for (const core of ['Service', 'EndpointSlice', 'Pod', 'Node']) assert.match(ready.kinds.find((k: any) => k.kind === core).lastEventAt, rfc3339, core);
    assert.deepEqual(ready.kinds.map((k: any) => ({ kind: k.kind, syncedAt: k.syncedAt })), r.body.data.cluster.kinds);
  });

  it('the emptiness check itself fails an example that names something the demo does not have', async () => {
    const r = await postGraphQL(gw.url, '{ ip(address: "10.4.2.17") { holders { __typename } } service(namespace: "shop", name: "recommendations") { ports { port } endpoints { totalCount } } }');
    assert.equal(emptiness({ ip: r.body.data.ip }), 'ip holds no item and no positive count');
    assert.equal(emptiness({ service: r.body.data.service }), 'service.endpoints is an empty connection');
  });
});
