/**
 * Per-caller identity end to end: the gateway runs as users run it (`node src/main.ts`) with
 * `--auth kubernetes`, short review TTLs and `--auth-audiences`, against the real control
 * plane through the fault proxy, and callers bring ServiceAccount tokens from the TokenRequest
 * API.
 *
 * Identities: a Role in one namespace, Roles in two, a cluster-wide ClusterRole with Nodes, a
 * cluster-wide ClusterRole without Nodes, and nothing. Every answer is compared with what the
 * API server itself lets that identity list, asked with the same token (the tokens carry both
 * the gateway's audience and the API server's): a cluster-wide list when it is allowed, else a
 * list per namespace, where 403 means nothing visible.
 *
 * Revocation is real: a deleted RoleBinding ends a live subscription with FORBIDDEN within the
 * allowed TTL; a deleted Secret that a token is bound to closes its socket with 4403 (within
 * 30 s: kube-apiserver caches successful token authentications for about 10 s). Then the
 * proxy cuts the API server off: a new token gets 503 AUTHENTICATION_UNAVAILABLE, a warm
 * caller whose decisions expired gets AUTHORIZATION_UNAVAILABLE, never an unfiltered answer.
 * Last, no token ever reached the gateway's logs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ControlPlane, kubeconfigYaml } from '../harness/control-plane.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { KubeApiError, KubeClient } from '../harness/kube-client.ts';
import { GatewayProcess } from '../harness/gateway-process.ts';
import { Workloads } from '../harness/workload.ts';
import { waitFor } from '../harness/wait.ts';

const A = 'ag-a';
const B = 'ag-b';
const C = 'ag-c';
/** Where the callers' ServiceAccounts live (no workloads). */
const Callers = 'ag-callers';
const NodeName = 'ag-node';
/** The audience the gateway requires (--auth-audiences). */
const Audience = 'netgraph.example';
/** The API server's own audience (its --service-account-issuer), so the oracle can list with the same tokens. */
const ApiAudience = 'https://kubernetes.default.svc.cluster.local';
const TokenTtlMs = 3_000;
const AllowedTtlMs = 500;
const DeniedTtlMs = 500;
const Rbac = '/apis/rbac.authorization.k8s.io/v1';
const ReadRules = [
  { apiGroups: [''], resources: ['services', 'pods'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];
const NodeRules = [{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }];
const ClusterRead = 'ag-cluster-read';
const NamespacesRead = 'ag-namespaces-read';

/** The ServiceAccounts (in `Callers`), by what they may do. */
const Sa = {
  one: 'ag-one', // Role in ag-a
  two: 'ag-two', // Roles in ag-a and ag-b
  cluster: 'ag-cluster', // ClusterRoleBinding: the namespaced kinds and Nodes, everywhere
  noNodes: 'ag-no-nodes', // ClusterRoleBinding: the namespaced kinds everywhere, no Nodes
  none: 'ag-none', // nothing
  revoked: 'ag-revoked', // Role in ag-a until its RoleBinding is deleted
  bound: 'ag-bound', // Role in ag-a; its token is bound to a Secret
} as const;
type Who = 'one' | 'two' | 'cluster' | 'noNodes' | 'none';
const Identities: readonly { who: Who; what: string }[] = [
  { who: 'one', what: `a Role in ${A}` },
  { who: 'two', what: `Roles in ${A} and ${B}` },
  { who: 'cluster', what: 'a ClusterRoleBinding with Nodes' },
  { who: 'noNodes', what: 'a ClusterRoleBinding without Nodes' },
  { who: 'none', what: 'no RBAC at all' },
];

const Kinds = {
  services: { path: (ns: string | null) => (ns ? `/api/v1/namespaces/${ns}/services` : '/api/v1/services') },
  pods: { path: (ns: string | null) => (ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods') },
  endpointSlices: { path: (ns: string | null) => (ns ? `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices` : '/apis/discovery.k8s.io/v1/endpointslices') },
} as const;
type Kind = keyof typeof Kinds;

const Meta = 'totalCount items { metadata { namespace name } }';
const EverythingQuery = `{
  services(first: 1000) { ${Meta} }
  pods(first: 1000) { ${Meta} }
  endpointSlices(first: 1000) { ${Meta} }
  servicesWithoutReadyEndpoints(first: 1000) { ${Meta} }
  nodes(first: 1000) { totalCount items { metadata { name } } }
  inA: services(namespace: "${A}") { totalCount }
  inB: services(namespace: "${B}") { totalCount }
  inC: services(namespace: "${C}") { totalCount }
}`;

interface HttpAnswer {
  status: number;
  headers: Headers;
  body: any;
}

const codesOf = (body: any): string[] => (body?.errors ?? []).map((e: any) => e.extensions?.code);
const keysOf = (conn: any): string[] => (conn?.items ?? []).map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`);
const byKey = (o: any) => `${o.metadata.namespace}/${o.metadata.name}`;
const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('per-caller identity through the gateway on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.52');
  const tmp = mkdtempSync(join(tmpdir(), 'netgraph-auth-'));
  let proxy: FaultProxy;
  let gw: GatewayProcess;
  const token: Record<Who | 'revoked', string> = { one: '', two: '', cluster: '', noNodes: '', none: '', revoked: '' };
  /** Every token and token-like string sent to the gateway, to check none reaches its logs. */
  const issued: string[] = [];
  const issue = async (sa: string, audiences: string[] | null = [Audience, ApiAudience], boundObjectRef?: { kind: 'Secret'; name: string; uid: string }): Promise<string> => {
    const t = await kube.requestToken(Callers, sa, { ...(audiences ? { audiences } : {}), ...(boundObjectRef ? { boundObjectRef } : {}) });
    issued.push(t);
    return t;
  };

  /** POST a query with `Authorization: Bearer token` (none when null). */
  const gql = async (t: string | null, query: string, variables?: Record<string, unknown>): Promise<HttpAnswer> => {
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(t !== null ? { authorization: `Bearer ${t}` } : {}) },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, body };
  };

  before(async () => {
    for (const ns of [A, B, C, Callers]) await kube.ensureNamespace(ns);
    await kube.createNode(NodeName, 'ag-zone');
    await kube.createService({ namespace: A, name: 'web', selector: { app: 'web' } });
    await kube.createService({ namespace: A, name: 'idle', selector: { app: 'idle' } });
    await kube.createService({ namespace: B, name: 'api', selector: { app: 'api' } });
    await kube.createService({ namespace: B, name: 'empty', selector: { app: 'nothing' } });
    await kube.createService({ namespace: C, name: 'db', selector: { app: 'db' } });
    await kube.createService({ namespace: C, name: 'ext', type: 'ExternalName', externalName: 'db.example.com' });
    await work.scale(A, 'web', 2, [NodeName]);
    await work.scale(A, 'idle', 1, [NodeName], false);
    await work.scale(B, 'api', 1, [NodeName]);
    await work.scale(C, 'db', 1, [NodeName]);

    for (const sa of Object.values(Sa)) await kube.createServiceAccount(Callers, sa);
    for (const ns of [A, B]) await kube.createRole(ns, 'ag-read', ReadRules);
    for (const sa of [Sa.one, Sa.two, Sa.revoked, Sa.bound]) await kube.bindRole(A, sa, { kind: 'Role', name: 'ag-read' }, [{ namespace: Callers, name: sa }]);
    await kube.bindRole(B, Sa.two, { kind: 'Role', name: 'ag-read' }, [{ namespace: Callers, name: Sa.two }]);
    await kube.createRole(null, ClusterRead, [...ReadRules, ...NodeRules]);
    await kube.bindRole(null, ClusterRead, { kind: 'ClusterRole', name: ClusterRead }, [{ namespace: Callers, name: Sa.cluster }]);
    await kube.createRole(null, NamespacesRead, ReadRules);
    await kube.bindRole(null, NamespacesRead, { kind: 'ClusterRole', name: NamespacesRead }, [{ namespace: Callers, name: Sa.noNodes }]);
    for (const who of ['one', 'two', 'cluster', 'noNodes', 'none', 'revoked'] as const) token[who] = await issue(Sa[who]);

    // The real EndpointSlice controller has written what the pods say.
    await waitFor('the EndpointSlice controller to write the slices', 60_000, async () => {
      const ready = async (ns: string, svc: string) => (await kube.slicesOf(ns, svc)).flatMap((s: any) => s.endpoints ?? []).map((e: any) => e.conditions?.ready !== false);
      const [web, idle, api, db] = await Promise.all([ready(A, 'web'), ready(A, 'idle'), ready(B, 'api'), ready(C, 'db')]);
      return web.filter(Boolean).length === 2 && idle.length === 1 && !idle[0] && api.filter(Boolean).length === 1 && db.filter(Boolean).length === 1;
    });

    proxy = await FaultProxy.start({ host: '127.0.0.1', port: Number(new URL(cp.state.apiServerUrl).port) });
    const kubeconfig = join(tmp, 'gateway.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(proxy.url, cp.state.caPem, cp.state.adminToken), { mode: 0o600 });
    gw = await GatewayProcess.start([
      '--kubeconfig', kubeconfig, '--host', '127.0.0.1', '--port', '0', '--no-explorer',
      '--auth', 'kubernetes', '--auth-audiences', Audience,
      '--auth-token-ttl-ms', String(TokenTtlMs), '--auth-allowed-ttl-ms', String(AllowedTtlMs), '--auth-denied-ttl-ms', String(DeniedTtlMs),
      '--log-level', 'debug', '--log-format', 'json',
    ]);
    await waitFor('the gateway to be ready', 30_000, async () => (await fetch(`${gw.url}/readyz`)).status === 200);
  });

  after(async () => {
    await gw?.kill();
    await proxy?.stop();
    rmSync(tmp, { recursive: true, force: true });
    for (const name of [ClusterRead, NamespacesRead]) {
      await kube.deleteIfPresent(`${Rbac}/clusterrolebindings/${name}`);
      await kube.deleteIfPresent(`${Rbac}/clusterroles/${name}`);
    }
  });

  // ─────────────── the oracle: what the API server lets the identity list, with its own token ───────────────

  interface ApiView {
    readonly items: Record<Kind, any[]>;
    /** Per kind, the namespaces listable (null: cluster-wide). */
    readonly scope: Record<Kind, ReadonlySet<string> | null>;
    /** Node names, or null when listing Nodes is forbidden. */
    readonly nodes: string[] | null;
  }

  const apiViewOf = async (t: string): Promise<ApiView> => {
    const as = new KubeClient(cp.state.apiServerUrl, cp.state.caPem, t);
    const tryList = async (path: string): Promise<any[] | null> => {
      try {
        return (await as.list(path)).items;
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 403) return null;
        throw err;
      }
    };
    const namespaces = (await kube.list('/api/v1/namespaces')).items.map((n) => n.metadata.name as string);
    const items = {} as Record<Kind, any[]>;
    const scope = {} as Record<Kind, ReadonlySet<string> | null>;
    for (const kind of Object.keys(Kinds) as Kind[]) {
      const all = await tryList(Kinds[kind].path(null));
      if (all !== null) {
        items[kind] = all;
        scope[kind] = null;
        continue;
      }
      const visible = new Set<string>();
      items[kind] = [];
      for (const ns of namespaces) {
        const got = await tryList(Kinds[kind].path(ns));
        if (got === null) continue;
        visible.add(ns);
        items[kind].push(...got);
      }
      scope[kind] = visible;
    }
    const nodes = await tryList('/api/v1/nodes');
    return { items, scope, nodes: nodes === null ? null : nodes.map((n) => n.metadata.name as string) };
  };
  const canList = (view: ApiView, kind: Kind, ns: string) => view.scope[kind] === null || view.scope[kind]!.has(ns);

  /** Services that are not ExternalName and have no ready endpoint in any of their (visible) slices. */
  const withoutReady = (view: ApiView): string[] => {
    const readyServices = new Set<string>();
    for (const s of view.items.endpointSlices) {
      const svc = s.metadata.labels?.['kubernetes.io/service-name'];
      if (svc && (s.endpoints ?? []).some((e: any) => e.conditions?.ready !== false)) readyServices.add(`${s.metadata.namespace}/${svc}`);
    }
    return view.items.services.filter((s) => s.spec.type !== 'ExternalName' && !readyServices.has(byKey(s))).map(byKey);
  };

  /** Everything that differs between the gateway's answer for `t` and the API's view for it. */
  const differences = async (t: string): Promise<string[]> => {
    const [view, got] = await Promise.all([apiViewOf(t), gql(t, EverythingQuery)]);
    const problems: string[] = [];
    if (got.status !== 200) return [`HTTP ${got.status}: ${JSON.stringify(got.body).slice(0, 300)}`];
    const d = got.body.data;
    const expectList = (field: string, want: string[]) => {
      const conn = d[field];
      if (conn === null) return void problems.push(`${field}: null`);
      const have = keysOf(conn);
      if (JSON.stringify(sorted(have)) !== JSON.stringify(sorted(want))) problems.push(`${field}: got ${JSON.stringify(sorted(have))}, API says ${JSON.stringify(sorted(want))}`);
      if (conn.totalCount !== want.length) problems.push(`${field}.totalCount: got ${conn.totalCount}, API says ${want.length}`);
    };
    expectList('services', view.items.services.map(byKey));
    expectList('pods', view.items.pods.map(byKey));
    expectList('endpointSlices', view.items.endpointSlices.map(byKey));
    expectList('servicesWithoutReadyEndpoints', withoutReady(view));
    const errors: any[] = got.body.errors ?? [];
    const forbiddenAt = new Set(errors.filter((e) => e.extensions?.code === 'FORBIDDEN').map((e) => e.path?.join('.')));
    const others = errors.filter((e) => e.extensions?.code !== 'FORBIDDEN');
    if (others.length > 0) problems.push(`unexpected errors: ${JSON.stringify(others).slice(0, 300)}`);
    if (view.nodes === null) {
      if (d.nodes !== null || !forbiddenAt.has('nodes')) problems.push(`nodes: expected null with FORBIDDEN, got ${JSON.stringify(d.nodes)}`);
    } else {
      const have = sorted((d.nodes?.items ?? []).map((n: any) => n.metadata.name));
      if (JSON.stringify(have) !== JSON.stringify(sorted(view.nodes)) || d.nodes?.totalCount !== view.nodes.length) problems.push(`nodes: got ${JSON.stringify(have)}, API says ${JSON.stringify(sorted(view.nodes))}`);
    }
    const named = [['inA', A], ['inB', B], ['inC', C]] as const;
    for (const [alias, ns] of named) {
      if (canList(view, 'services', ns)) {
        const want = view.items.services.filter((s) => s.metadata.namespace === ns).length;
        if (d[alias]?.totalCount !== want) problems.push(`services(namespace: ${ns}): got ${JSON.stringify(d[alias])}, API says ${want}`);
      } else if (d[alias] !== null || !forbiddenAt.has(alias)) {
        problems.push(`services(namespace: ${ns}): expected null with FORBIDDEN, got ${JSON.stringify(d[alias])}`);
      }
    }
    const wantForbidden = [...(view.nodes === null ? ['nodes'] : []), ...named.filter(([, ns]) => !canList(view, 'services', ns)).map(([alias]) => alias)];
    if (JSON.stringify(sorted(forbiddenAt)) !== JSON.stringify(sorted(wantForbidden))) problems.push(`FORBIDDEN at ${JSON.stringify(sorted(forbiddenAt))}, expected at ${JSON.stringify(sorted(wantForbidden))}`);
    return problems;
  };

  describe('HTTP: each identity sees exactly what the API server lets it list', () => {
    for (const { who, what } of Identities) {
      it(`${Sa[who]} (${what}): services, pods, endpointSlices, servicesWithoutReadyEndpoints, nodes and named namespaces`, async () => {
        let problems: string[] = [];
        try {
          await waitFor(`the gateway to answer ${Sa[who]} what the API lets it list`, 30_000, async () => {
            problems = await differences(token[who]);
            return problems.length === 0;
          }, 250);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n  ${problems.join('\n  ')}`);
        }
        // The view is not trivially everything or nothing.
        const view = await apiViewOf(token[who]);
        const namespaces = new Set(view.items.services.map((s) => s.metadata.namespace));
        const visible: Record<Who, string[]> = { one: [A], two: [A, B], cluster: [A, B, C], noNodes: [A, B, C], none: [] };
        const want = visible[who];
        for (const ns of [A, B, C]) assert.equal(namespaces.has(ns), want.includes(ns), `${Sa[who]} ${want.includes(ns) ? 'sees' : 'does not see'} ${ns}`);
        assert.equal(view.nodes !== null, who === 'cluster', 'only the ClusterRole with Nodes lists Nodes');
      });
    }

    it('ip(address) of a pod in a namespace the caller may not list has no holders; in one it may, the Pod and its endpoint', async () => {
      const ips: Record<string, string> = { [A]: work.podsOf(A, 'web').get('web-0')!, [B]: work.podsOf(B, 'api').get('api-0')!, [C]: work.podsOf(C, 'db').get('db-0')! };
      const query = `{ ${[A, B, C].map((ns, i) => `ip${i}: ip(address: "${ips[ns]}") { holders { __typename ... on Pod { metadata { namespace name } } ... on Endpoint { address } } }`).join(' ')} }`;
      for (const { who } of Identities) {
        const view = await apiViewOf(token[who]);
        const got = await gql(token[who], query);
        assert.equal(got.status, 200);
        assert.deepEqual(got.body.errors, undefined, `${Sa[who]}: ${JSON.stringify(got.body.errors)}`);
        [A, B, C].forEach((ns, i) => {
          const holders = got.body.data[`ip${i}`].holders;
          const pod = { [A]: 'web-0', [B]: 'api-0', [C]: 'db-0' }[ns]!;
          const want = canList(view, 'pods', ns) ? [{ __typename: 'Pod', metadata: { namespace: ns, name: pod } }, { __typename: 'Endpoint', address: ips[ns] }] : [];
          assert.deepEqual(holders, want, `${Sa[who]}: ip of ${ns}/${pod}`);
        });
      }
    });

    it('no token, a garbage token, a token for the API server but not the gateway’s audience: 401 UNAUTHENTICATED with WWW-Authenticate: Bearer', async () => {
      const garbage = `garbage-${randomBytes(24).toString('hex')}`;
      issued.push(garbage);
      const wrongAudience = await issue(Sa.cluster, null);
      // The API server itself accepts the wrong-audience token: it is refused for its audience only.
      assert.ok((await new KubeClient(cp.state.apiServerUrl, cp.state.caPem, wrongAudience).list(`/api/v1/namespaces/${A}/services`)).items.length > 0);
      for (const [what, t] of [['no token', null], ['a garbage token', garbage], ['a token without the audience', wrongAudience]] as const) {
        const got = await gql(t, '{ services { totalCount } }');
        assert.equal(got.status, 401, `${what}: HTTP ${got.status}`);
        assert.match(got.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${what}: WWW-Authenticate`);
        assert.deepEqual(codesOf(got.body), ['UNAUTHENTICATED'], what);
        assert.equal(got.body.data, undefined, `${what}: no data`);
        assert.ok(!JSON.stringify(got.body).includes(t ?? '\u0000'), `${what}: the token is not echoed`);
      }
      // A token for the gateway's audience only is the gateway's, though the API server refuses it.
      const gatewayOnly = await issue(Sa.cluster, [Audience]);
      await assert.rejects(new KubeClient(cp.state.apiServerUrl, cp.state.caPem, gatewayOnly).list('/api/v1/services'), (e) => e instanceof KubeApiError && e.status === 401);
      const ok = await gql(gatewayOnly, `{ services(namespace: "${C}") { totalCount } }`);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { data: { services: { totalCount: 2 } } });
    });
  });

  describe('WebSocket', () => {
    it('endpointChanges in a namespace the caller may watch: its SNAPSHOT (token in connection_init, or in the upgrade header)', async () => {
      for (const how of ['init', 'header'] as const) {
        const s = await RawSocket.connect(gw.wsUrl, how === 'init' ? { init: { Authorization: `Bearer ${token.one}` } } : { header: token.one });
        try {
          assert.ok(s.acked, `${how}: connection_ack, got close ${JSON.stringify(s.closed)}`);
          s.subscribe('1', `subscription { endpointChanges(namespace: "${A}", name: "web") { type name counts { total ready } } }`);
          const [first] = await s.next('1', 1);
          assert.deepEqual(first.payload, { data: { endpointChanges: { type: 'SNAPSHOT', name: 'web', counts: { total: 2, ready: 2 } } } });
        } finally {
          await s.close();
        }
      }
    });

    it('endpointChanges in a namespace the caller may not watch, or in every namespace without cluster-wide watch: FORBIDDEN; with it: snapshots', async () => {
      const s = await RawSocket.connect(gw.wsUrl, { init: { Authorization: `Bearer ${token.two}` } });
      const c = await RawSocket.connect(gw.wsUrl, { init: { Authorization: `Bearer ${token.cluster}` } });
      try {
        s.subscribe('c', `subscription { endpointChanges(namespace: "${C}") { type } }`);
        s.subscribe('all', 'subscription { endpointChanges { type } }');
        s.subscribe('b', `subscription { endpointChanges(namespace: "${B}") { type name } }`);
        for (const id of ['c', 'all']) {
          const end = await s.ended(id);
          assert.equal(end.type, 'error', `${id}: ${JSON.stringify(end)}`);
          assert.deepEqual(end.payload.map((e: any) => e.extensions?.code), ['FORBIDDEN'], id);
          assert.match(end.payload[0].message, /watch endpointslices\.discovery\.k8s\.io/);
        }
        const snapshots = await s.next('b', 2);
        assert.deepEqual(snapshots.map((m) => m.payload.data.endpointChanges).sort((x: any, y: any) => (x.name < y.name ? -1 : 1)), [
          { type: 'SNAPSHOT', name: 'api' }, { type: 'SNAPSHOT', name: 'empty' },
        ]);
        c.subscribe('all', 'subscription { endpointChanges { type namespace name } }');
        await c.until('snapshots of every namespace', () => new Set(c.of('all').filter((m) => m.type === 'next').map((m) => m.payload.data.endpointChanges.namespace)).size >= 3);
        assert.equal(s.closed, null);
      } finally {
        await s.close();
        await c.close();
      }
    });

    it('no token, or a garbage one: the socket is closed with 4403', async () => {
      for (const init of [undefined, { Authorization: `Bearer garbage-${randomBytes(16).toString('hex')}` }]) {
        if (init) issued.push(init.Authorization.slice('Bearer '.length));
        const s = await RawSocket.connect(gw.wsUrl, { init });
        await s.until('the close', () => s.closed !== null);
        assert.equal(s.acked, false);
        assert.equal(s.closed!.code, 4403);
      }
    });

    it('deleting the RoleBinding ends the live subscription with FORBIDDEN within the allowed TTL (plus margin)', async () => {
      const s = await RawSocket.connect(gw.wsUrl, { init: { Authorization: `Bearer ${token.revoked}` } });
      try {
        s.subscribe('1', `subscription { endpointChanges(namespace: "${A}", name: "web") { type } }`);
        await s.next('1', 1);
        const t0 = Date.now();
        await kube.deleteIfPresent(`${Rbac}/namespaces/${A}/rolebindings/${Sa.revoked}`);
        const margin = 3_000;
        const end = await s.ended('1', 2 * AllowedTtlMs + margin);
        const tookMs = Date.now() - t0;
        assert.equal(end.type, 'error', JSON.stringify(end));
        assert.deepEqual(end.payload.map((e: any) => e.extensions?.code), ['FORBIDDEN']);
        assert.ok(tookMs <= 2 * AllowedTtlMs + margin, `ended after ${tookMs} ms`);
        assert.equal(s.closed, null, 'the operation ends; the socket stays');
        // HTTP agrees once the allowed decision has expired.
        await waitFor('HTTP to refuse the revoked caller ag-a', 2 * AllowedTtlMs + margin, async () => codesOf((await gql(token.revoked, `{ services(namespace: "${A}") { totalCount } }`)).body).includes('FORBIDDEN'), 50);
      } finally {
        await s.close();
      }
    });

    it('deleting the Secret a token is bound to closes its socket with 4403 (within 30 s), and HTTP says 401', async () => {
      const secret = await kube.createSecret(Callers, 'ag-bound-secret');
      const bound = await issue(Sa.bound, [Audience, ApiAudience], { kind: 'Secret', name: 'ag-bound-secret', uid: secret.metadata.uid });
      const s = await RawSocket.connect(gw.wsUrl, { init: { Authorization: `Bearer ${bound}` } });
      try {
        assert.ok(s.acked);
        s.subscribe('1', `subscription { endpointChanges(namespace: "${A}", name: "web") { type } }`);
        await s.next('1', 1);
        const t0 = Date.now();
        await kube.deleteIfPresent(`/api/v1/namespaces/${Callers}/secrets/ag-bound-secret`);
        await s.until('the socket to close', () => s.closed !== null, 30_000);
        assert.equal(s.closed!.code, 4403, `closed with ${JSON.stringify(s.closed)} after ${Date.now() - t0} ms`);
        assert.match(s.closed!.reason, /no longer validates/);
        const got = await gql(bound, '{ services { totalCount } }');
        assert.equal(got.status, 401);
      } finally {
        await s.close();
      }
    });
  });

  describe('the API server unreachable: fail closed', () => {
    it('a new token gets 503 AUTHENTICATION_UNAVAILABLE (WebSocket: 1013); a warm caller whose decisions expired gets AUTHORIZATION_UNAVAILABLE, never an unfiltered answer; live subscriptions end', async () => {
      const query = `{ services(first: 1000) { ${Meta} } pods(first: 1000) { totalCount } }`;
      const warm = await issue(Sa.two);
      const fresh = await issue(Sa.one);
      const live = await RawSocket.connect(gw.wsUrl, { init: { Authorization: `Bearer ${token.cluster}` } });
      try {
        live.subscribe('1', `subscription { endpointChanges(namespace: "${A}", name: "web") { type } }`);
        await live.next('1', 1);
        const before = await gql(warm, query);
        assert.equal(before.status, 200);
        assert.equal(before.body.errors, undefined);
        assert.deepEqual(sorted(new Set(keysOf(before.body.data.services).map((k) => k.split('/')[0]!))), [A, B]);
        const tWarm = Date.now();

        proxy.set({ mode: 'refuse' });
        proxy.resetAll();

        const refused = await gql(fresh, query);
        assert.equal(refused.status, 503, JSON.stringify(refused.body));
        assert.deepEqual(codesOf(refused.body), ['AUTHENTICATION_UNAVAILABLE']);
        assert.equal(refused.body.data, undefined);
        // The same over WebSocket: 1013 (try again later), not 4403.
        const later = await RawSocket.connect(gw.wsUrl, { init: { Authorization: `Bearer ${fresh}` } });
        await later.until('the close', () => later.closed !== null);
        assert.equal(later.acked, false);
        assert.equal(later.closed!.code, 1013);

        // Decisions expire one by one: until then each field is the cached, filtered answer; after,
        // null with AUTHORIZATION_UNAVAILABLE. Never anything else, and never a 503 (the token's
        // review is still cached).
        const violations: string[] = [];
        let last: HttpAnswer | undefined;
        await waitFor('every field of the warm caller to fail closed', TokenTtlMs, async () => {
          const got = (last = await gql(warm, query));
          const at = `${Date.now() - tWarm} ms after the warm request`;
          if (got.status !== 200) {
            violations.push(`${at}: HTTP ${got.status} ${JSON.stringify(got.body).slice(0, 200)}`);
            return true;
          }
          for (const field of ['services', 'pods']) {
            const value = got.body.data?.[field];
            const errorsHere = (got.body.errors ?? []).filter((e: any) => e.path?.[0] === field);
            if (value === null) {
              if (errorsHere.length === 0 || errorsHere.some((e: any) => e.extensions?.code !== 'AUTHORIZATION_UNAVAILABLE')) violations.push(`${at}: ${field} null with ${JSON.stringify(errorsHere)}`);
            } else if (JSON.stringify(value) !== JSON.stringify(before.body.data[field]) || errorsHere.length > 0) {
              violations.push(`${at}: ${field} is ${JSON.stringify(value).slice(0, 200)}, not the cached answer`);
            }
          }
          return violations.length > 0 || (got.body.data?.services === null && got.body.data?.pods === null);
        }, 20);
        assert.deepEqual(violations, []);
        assert.deepEqual(last!.body.data, { services: null, pods: null }, 'never the unfiltered answer');
        // The live subscription is re-authorized, cannot be, and ends (the socket stays: its token could not be reviewed, not refused).
        const end = await live.ended('1', 2 * AllowedTtlMs + 3_000);
        assert.equal(end.type, 'error');
        assert.deepEqual(end.payload.map((e: any) => e.extensions?.code), ['AUTHORIZATION_UNAVAILABLE']);
        assert.equal(live.closed, null);
      } finally {
        proxy.set({ mode: 'pass' });
        await live.close();
      }
      // Back: nothing failed was cached.
      await waitFor('the new token to be served once the API server is back', 30_000, async () => (await gql(fresh, `{ services(namespace: "${A}") { totalCount } }`)).body?.data?.services?.totalCount === 2);
    });
  });

  it('no token reached the gateway’s logs', async () => {
    assert.deepEqual(await gw.stop(), { code: 0, signal: null });
    const lines = [...gw.stdout, ...gw.stderr];
    assert.ok(lines.some((l) => l.includes('request refused: unauthenticated')), 'the refusals were logged');
    assert.ok(issued.length >= 10);
    for (const t of issued) {
      const leaked = lines.find((l) => l.includes(t) || l.includes(t.slice(-24)));
      assert.equal(leaked, undefined, 'a token was logged');
    }
  });
});

/** A graphql-transport-ws client on a raw `ws` socket: every message and the close, for exact assertions. */
class RawSocket {
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | null = null;
  private readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d) => this.messages.push(JSON.parse(String(d))));
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
    ws.on('error', () => {});
  }

  /** Open, send connection_init (with `init` as payload), and wait for connection_ack or the close. */
  static async connect(url: string, opts: { header?: string; init?: Record<string, unknown> | undefined }): Promise<RawSocket> {
    const ws = new WebSocket(url, 'graphql-transport-ws', opts.header ? { headers: { authorization: `Bearer ${opts.header}` } } : {});
    const s = new RawSocket(ws);
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    ws.send(JSON.stringify({ type: 'connection_init', ...(opts.init ? { payload: opts.init } : {}) }));
    await waitFor('connection_ack or a close', 10_000, () => s.acked || s.closed !== null, 10);
    return s;
  }

  get acked(): boolean {
    return this.messages.some((m) => m.type === 'connection_ack');
  }

  subscribe(id: string, query: string): void {
    this.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
  }

  of(id: string): any[] {
    return this.messages.filter((m) => m.id === id);
  }

  until(description: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    return waitFor(description, timeoutMs, check, 10);
  }

  /** The first `n` `next` messages of `id`; fails if the operation ends or the socket closes first. */
  async next(id: string, n: number, timeoutMs = 10_000): Promise<any[]> {
    await this.until(`${n} next messages of ${id}`, () => {
      const ended = this.of(id).find((m) => m.type === 'error' || m.type === 'complete');
      if (ended) throw new Error(`operation ${id} ended: ${JSON.stringify(ended).slice(0, 300)}`);
      if (this.closed) throw new Error(`socket closed: ${JSON.stringify(this.closed)}`);
      return this.of(id).filter((m) => m.type === 'next').length >= n;
    }, timeoutMs);
    return this.of(id).filter((m) => m.type === 'next').slice(0, n);
  }

  /** The `error` or `complete` message that ends `id`. */
  async ended(id: string, timeoutMs = 10_000): Promise<any> {
    await this.until(`operation ${id} to end`, () => {
      if (this.closed) throw new Error(`socket closed: ${JSON.stringify(this.closed)}`);
      return this.of(id).some((m) => m.type === 'error' || m.type === 'complete');
    }, timeoutMs);
    return this.of(id).find((m) => m.type === 'error' || m.type === 'complete');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((res) => this.ws.once('close', () => res()));
    this.ws.close(1000);
    await done;
  }
}
