/**
 * deploy/ (issue "Production deployment") against the real control plane: the kustomize base
 * and the namespaced overlay apply server-side with the real kubectl and every object is
 * accepted as written; the Deployment's pod template passes its namespace's restricted Pod
 * Security level; and the gateway, run with nothing but a token of the ServiceAccount they
 * create and the arguments of their Deployment (which ask for --auth=kubernetes), serves
 * queries and subscriptions within exactly the permissions they grant, to callers with their
 * own tokens and within what those callers may list; an anonymous caller gets 401. The
 * manifests grant the reviews that needs (create on TokenReviews and SubjectAccessReviews),
 * the namespaced overlay through its one small ClusterRole. A ServiceAccount without RBAC stops
 * the start with one line naming what is missing.
 *
 * Order matters: the overlay is applied first, while the netgraph ServiceAccount holds only its
 * Roles (the base then adds the ClusterRoleBinding to the same ServiceAccount).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadAllYaml } from '@kubernetes/client-node';
import { ControlPlane, kubeconfigYaml } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { Workloads } from '../harness/workload.ts';
import { GatewayProcess, RepoRoot, postGraphQL, queryData, subscribe, type Subscription } from '../harness/gateway-process.ts';
import { waitFor } from '../harness/wait.ts';

const kubectlBin = resolve(import.meta.dirname, '../control-plane/bin/kubectl');
const node = 'deploy-node-a';
/** A namespace neither deployment is about; the namespaced gateway must not show it. */
const otherNs = 'deploy-other';
/** Callers of the deployed gateway: one with a Role in team-a, one with cluster-wide read (Nodes too). */
const callerNs = 'team-a';
const teamCaller = 'deploy-caller';
const clusterCaller = 'deploy-cluster-caller';
const ReadRules = [
  { apiGroups: [''], resources: ['services', 'pods'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];
const Rbac = '/apis/rbac.authorization.k8s.io/v1';
const codesOf = (body: any): string[] => (body?.errors ?? []).map((e: any) => e.extensions?.code);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };
const idOf = (o: Obj) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`;

describe('deploy/ on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.40');
  const tmp = mkdtempSync(join(tmpdir(), 'netgraph-deploy-'));

  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await promisify(execFile)(kubectlBin, ['--kubeconfig', cp.state.kubeconfigPath, ...args], { cwd: RepoRoot, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };
  const render = async (dir: string): Promise<Obj[]> => loadAllYaml(await kubectl('kustomize', dir)) as Obj[];
  const issuedTokens: string[] = [];
  /** No token ever appears in what a gateway printed. */
  const assertNoTokenIn = (lines: readonly string[]) => {
    for (const t of issuedTokens) assert.ok(!lines.some((l) => l.includes(t) || l.includes(t.slice(-24))), 'a ServiceAccount token was logged');
  };
  /** A kubeconfig holding only a fresh token of the ServiceAccount (TokenRequest API). */
  const kubeconfigFor = async (namespace: string, serviceAccount: string): Promise<string> => {
    const tr = await kube.req('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    });
    const path = join(tmp, `${namespace}-${serviceAccount}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(cp.state.apiServerUrl, cp.state.caPem, tr.status.token, serviceAccount), { mode: 0o600 });
    issuedTokens.push(tr.status.token);
    return path;
  };
  /** The gateway container's args from a rendered Deployment, made to listen on loopback port 0 and stop at once. */
  const deploymentArgs = (objs: Obj[]): string[] => {
    const deployment = objs.find((o) => o.kind === 'Deployment')!;
    return [...deployment.spec.template.spec.containers[0].args, '--host=127.0.0.1', '--port=0', '--shutdown-delay-seconds=0'];
  };
  /** Caller tokens (TokenRequest API), filled in `before`. */
  const token = { team: '', cluster: '' };
  /** An anonymous query is refused with 401 and a Bearer challenge, before any GraphQL runs. */
  const assertAnonymousRefused = async (url: string) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ services { totalCount } }' }) });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    assert.deepEqual(codesOf(await res.json()), ['UNAUTHENTICATED']);
  };

  before(async () => {
    assert.ok(existsSync(kubectlBin), `${kubectlBin} is built by test/control-plane/build.sh`);
    for (const ns of ['team-a', 'team-b', otherNs]) await kube.ensureNamespace(ns);
    await kube.createNode(node, 'zone-a');
    await kube.createService({ namespace: 'team-a', name: 'web', selector: { app: 'web' } });
    await kube.createService({ namespace: otherNs, name: 'hidden', selector: { app: 'hidden' } });
    await work.scale('team-a', 'web', 1, [node]);
    await work.scale(otherNs, 'hidden', 1, [node]);
    await kube.createServiceAccount(callerNs, teamCaller);
    await kube.createRole(callerNs, teamCaller, ReadRules);
    await kube.bindRole(callerNs, teamCaller, { kind: 'Role', name: teamCaller }, [{ namespace: callerNs, name: teamCaller }]);
    await kube.createServiceAccount(callerNs, clusterCaller);
    await kube.createRole(null, clusterCaller, [...ReadRules, { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }]);
    await kube.bindRole(null, clusterCaller, { kind: 'ClusterRole', name: clusterCaller }, [{ namespace: callerNs, name: clusterCaller }]);
    token.team = await kube.requestToken(callerNs, teamCaller);
    token.cluster = await kube.requestToken(callerNs, clusterCaller);
    issuedTokens.push(token.team, token.cluster);
  });
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await kube.deleteIfPresent(`${Rbac}/clusterrolebindings/${clusterCaller}`);
    await kube.deleteIfPresent(`${Rbac}/clusterroles/${clusterCaller}`);
  });

  describe('overlays/namespaced (applied first: the ServiceAccount has only its Roles)', () => {
    let rendered: Obj[];

    it('renders Roles and RoleBindings in team-a and team-b, and one ClusterRole granting only the two review creates', async () => {
      rendered = await render('deploy/overlays/namespaced');
      assert.deepEqual(
        rendered.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding').map(idOf).sort(),
        ['Role team-a/netgraph-reader', 'Role team-b/netgraph-reader', 'RoleBinding team-a/netgraph-reader', 'RoleBinding team-b/netgraph-reader'],
      );
      assert.deepEqual(rendered.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding').map(idOf).sort(), [
        'ClusterRole -/netgraph-reviewer', 'ClusterRoleBinding -/netgraph-reviewer',
      ]);
      const role = rendered.find((o) => o.kind === 'ClusterRole')!;
      // loadAllYaml makes typed models; compare plain data.
      assert.deepEqual(JSON.parse(JSON.stringify(role.rules)), [
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ]);
      const binding = rendered.find((o) => o.kind === 'ClusterRoleBinding')!;
      assert.deepEqual(JSON.parse(JSON.stringify(binding.subjects)), [{ kind: 'ServiceAccount', name: 'netgraph', namespace: 'netgraph' }]);
      const args = deploymentArgs(rendered);
      assert.ok(args.includes('--namespaces=team-a,team-b') && args.includes('--no-nodes') && args.includes('--auth=kubernetes'), `Deployment args: ${args.join(' ')}`);
    });

    it('applies server-side: every rendered object is accepted, none deleted', async () => {
      const applied = JSON.parse(await kubectl('apply', '--server-side', '-k', 'deploy/overlays/namespaced', '-o', 'json'));
      assert.deepEqual((applied.items as Obj[]).map(idOf).sort(), rendered.map(idOf).sort());
      assert.equal((await kube.list('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings')).items.filter((b) => b.metadata.name === 'netgraph-reader').length, 0);
    });

    it('with its ServiceAccount token and its Deployment args (--auth=kubernetes), the gateway serves a team-a caller team-a only, and refuses an anonymous one', async () => {
      const kubeconfig = await kubeconfigFor('netgraph', 'netgraph');
      const gw = await GatewayProcess.start([...deploymentArgs(rendered), '--kubeconfig', kubeconfig]);
      try {
        let data: any;
        await waitFor('team-a/web with a ready endpoint', 30_000, async () => {
          data = await queryData(
            gw.url,
            `{ cluster { ready } services { items { metadata { namespace name } } } pods { items { metadata { namespace } } }
               web: service(namespace: "team-a", name: "web") { hasReadyEndpoints } }`,
            undefined,
            token.team,
          );
          return data.cluster.ready && data.web?.hasReadyEndpoints === true;
        });
        assert.ok(data.services.items.some((s: any) => s.metadata.namespace === 'team-a' && s.metadata.name === 'web'));
        const namespaces = new Set([...data.services.items, ...data.pods.items].map((o: any) => o.metadata.namespace));
        assert.deepEqual([...namespaces], ['team-a'], 'the caller may list team-a only');
        // Another namespace, and Nodes, are FORBIDDEN to this caller (the gateway has neither cached).
        const denied = await postGraphQL(gw.url, `{ hidden: service(namespace: "${otherNs}", name: "hidden") { metadata { name } } nodes { totalCount } }`, undefined, token.team);
        assert.equal(denied.status, 200);
        assert.deepEqual(denied.body.data, { hidden: null, nodes: null });
        assert.deepEqual(codesOf(denied.body), ['FORBIDDEN', 'FORBIDDEN']);
        await assertAnonymousRefused(gw.url);
        // The cluster-wide caller sees team-a and team-b, and nothing the gateway does not cache.
        const all = await queryData(gw.url, '{ services { items { metadata { namespace } } } nodes { totalCount } }', undefined, token.cluster);
        assert.deepEqual([...new Set(all.services.items.map((s: any) => s.metadata.namespace))].filter((ns) => ns !== 'team-a' && ns !== 'team-b'), []);
        assert.equal(all.nodes.totalCount, 0, '--no-nodes');
        // IngressClasses are cluster-scoped, which Roles cannot grant: one warning, not a failed start; Ingresses are watched.
        const warnings = gw.stderr.filter((l) => l.includes('is not watched'));
        assert.equal(warnings.length, 1, gw.stderr.join('\n'));
        assert.match(warnings[0]!, /IngressClass is not watched \(its fields answer empty\): cannot get ingressclasses\.networking\.k8s\.io \(cluster-scoped\); cannot list .*; cannot watch /);
        const kinds = await queryData(gw.url, '{ cluster { kinds { kind watched synced } } }', undefined, token.team);
        assert.deepEqual(kinds.cluster.kinds.filter((k: any) => k.kind.startsWith('Ingress')), [
          { kind: 'Ingress', watched: true, synced: true },
          { kind: 'IngressClass', watched: false, synced: true },
        ]);
      } finally {
        assert.deepEqual(await gw.stop(), { code: 0, signal: null });
        assertNoTokenIn([...gw.stdout, ...gw.stderr]);
      }
      // The Roles grant nothing cluster-wide: without --namespaces the same token stops the start.
      const r = await GatewayProcess.run(['--port=0', '--no-nodes', '--kubeconfig', kubeconfig]);
      assert.equal(r.code, 1, r.stderr.join('\n'));
      assert.equal(r.stderr.length, 1, r.stderr.join('\n'));
      assert.match(r.stderr[0]!, /cannot list services in all namespaces/);
    });
  });

  describe('base', () => {
    let rendered: Obj[];
    let live: Obj[];

    it('applies server-side: every object is accepted and reads back as written', async () => {
      rendered = await render('deploy/base');
      assert.deepEqual(rendered.map((o) => o.kind).sort(), [
        'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'HorizontalPodAutoscaler', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount',
      ]);
      const applied = JSON.parse(await kubectl('apply', '--server-side', '-k', 'deploy/base', '-o', 'json'));
      assert.deepEqual((applied.items as Obj[]).map(idOf).sort(), rendered.map(idOf).sort());
      // Read-only: every rule but the two review creates is get/list/watch, the routing kinds included.
      const rules = JSON.parse(JSON.stringify(rendered.find((o) => o.kind === 'ClusterRole')!.rules));
      assert.deepEqual(rules.filter((r: any) => r.verbs.join() !== 'create').map((r: any) => r.verbs.join()), ['get,list,watch', 'get,list,watch', 'get,list,watch', 'get,list,watch']);
      assert.deepEqual(rules.find((r: any) => r.apiGroups[0] === 'networking.k8s.io'), { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: ['get', 'list', 'watch'] });
      assert.deepEqual(rules.find((r: any) => r.apiGroups[0] === 'gateway.networking.k8s.io'), {
        apiGroups: ['gateway.networking.k8s.io'], resources: ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'referencegrants'], verbs: ['get', 'list', 'watch'],
      });
      live = JSON.parse(await kubectl('get', '-k', 'deploy/base', '-o', 'json')).items;
      assert.deepEqual(live.map(idOf).sort(), rendered.map(idOf).sort());
      for (const want of rendered) {
        const got = live.find((o) => idOf(o) === idOf(want))!;
        // What the manifests say survives as written (the server only adds defaults).
        const { metadata, ...rest } = want;
        assertSubset(rest, got, idOf(want));
        assertSubset(metadata.labels ?? {}, got.metadata.labels, `${idOf(want)} labels`);
        assert.equal(got.metadata.labels['app.kubernetes.io/component'], 'gateway', `${idOf(want)} carries the common labels`);
      }
    });

    it("the Deployment's pod template passes the namespace's restricted Pod Security level (and a weakened copy does not)", async () => {
      const template = live.find((o) => o.kind === 'Deployment')!.spec.template;
      const pod = (spec: any) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'psa-check', namespace: 'netgraph', labels: template.metadata.labels }, spec });
      await kube.req('POST', '/api/v1/namespaces/netgraph/pods?dryRun=All', pod(template.spec));
      const weakened = structuredClone(template.spec);
      weakened.containers[0].securityContext.allowPrivilegeEscalation = true;
      await assert.rejects(kube.req('POST', '/api/v1/namespaces/netgraph/pods?dryRun=All', pod(weakened)), /violates PodSecurity .*restricted.*allowPrivilegeEscalation/);
    });

    it('with only its ServiceAccount token and its Deployment args (--auth=kubernetes), the gateway serves each caller what it may list, and a subscription', async () => {
      const gw = await GatewayProcess.start([...deploymentArgs(rendered), '--kubeconfig', await kubeconfigFor('netgraph', 'netgraph')]);
      let sub: Subscription | undefined;
      try {
        let data: any;
        await waitFor('the cache to hold team-a/web and the node', 30_000, async () => {
          data = await queryData(
            gw.url,
            `{ cluster { ready }
               web: service(namespace: "team-a", name: "web") { endpointCounts { ready } pods { items { metadata { name } node { metadata { name } zone } } } }
               hidden: service(namespace: "${otherNs}", name: "hidden") { metadata { name } }
               nodes { items { metadata { name } } } }`,
            undefined,
            token.cluster,
          );
          return data.cluster.ready && data.web?.endpointCounts.ready === 1;
        });
        assert.deepEqual(data.web.pods.items, [{ metadata: { name: 'web-0' }, node: { metadata: { name: node }, zone: 'zone-a' } }]);
        assert.ok(data.hidden !== null, 'cluster-wide: other namespaces are served too');
        assert.ok(data.nodes.items.some((n: any) => n.metadata.name === node));
        // The team-a caller: team-a only; the hidden Service and Nodes are FORBIDDEN.
        const team = await postGraphQL(gw.url, `{ services { items { metadata { namespace } } } hidden: service(namespace: "${otherNs}", name: "hidden") { metadata { name } } nodes { totalCount } }`, undefined, token.team);
        assert.equal(team.status, 200);
        assert.deepEqual([...new Set(team.body.data.services.items.map((s: any) => s.metadata.namespace))], ['team-a']);
        assert.equal(team.body.data.hidden, null);
        assert.equal(team.body.data.nodes, null);
        assert.deepEqual(codesOf(team.body), ['FORBIDDEN', 'FORBIDDEN']);
        await assertAnonymousRefused(gw.url);

        sub = subscribe(gw.wsUrl, 'subscription { endpointChanges(namespace: "team-a", name: "web") { type added { address } counts { ready } } }', undefined, token.team);
        await sub.until('the SNAPSHOT', (rs) => rs.length >= 1);
        assert.equal(sub.results[0].endpointChanges.type, 'SNAPSHOT');
        assert.equal(sub.results[0].endpointChanges.counts.ready, 1);
        await work.scale('team-a', 'web', 2, [node]);
        await sub.until('a CHANGE adding web-1', (rs) => rs.some((r) => r.endpointChanges.type === 'CHANGE' && r.endpointChanges.counts.ready === 2));
        const change = sub.results.find((r) => r.endpointChanges.type === 'CHANGE' && r.endpointChanges.counts.ready === 2).endpointChanges;
        assert.deepEqual(change.added, [{ address: work.podsOf('team-a', 'web').get('web-1') }]);
        assert.deepEqual(gw.stderr.filter((l) => l.includes('is not watched')), [], 'the base grants every optional kind');
      } finally {
        await sub?.dispose();
        assert.deepEqual(await gw.stop(), { code: 0, signal: null });
        assertNoTokenIn([...gw.stdout, ...gw.stderr]);
      }
    });
  });

  it('a ServiceAccount without RBAC: exit code 1 and one line naming each missing verb and resource', async () => {
    await kube.req('POST', '/api/v1/namespaces/netgraph/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-rbac' } });
    const r = await GatewayProcess.run(['--port=0', '--auth=kubernetes', '--kubeconfig', await kubeconfigFor('netgraph', 'no-rbac')]);
    assert.equal(r.code, 1, r.stderr.join('\n'));
    assert.equal(r.stderr.length, 1, `exactly one line on stderr, got:\n${r.stderr.join('\n')}`);
    const line = r.stderr[0]!;
    assert.match(line, /missing RBAC permissions/);
    for (const verb of ['get', 'list', 'watch']) {
      for (const resource of ['services in all namespaces', 'pods in all namespaces', 'endpointslices.discovery.k8s.io in all namespaces', 'nodes (cluster-scoped)']) {
        assert.ok(line.includes(`cannot ${verb} ${resource}`), `names "${verb} ${resource}": ${line}`);
      }
    }
    // --auth=kubernetes needs the reviews too.
    for (const review of ['tokenreviews.authentication.k8s.io', 'subjectaccessreviews.authorization.k8s.io']) {
      assert.ok(line.includes(`cannot create ${review} (cluster-scoped)`), `names "create ${review}": ${line}`);
    }
  });
});

/** Every field of `want` is in `got` with an equal value (arrays element by element, same length). */
function assertSubset(want: unknown, got: unknown, path: string): void {
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    want.forEach((w, i) => assertSubset(w, (got as unknown[])[i], `${path}[${i}]`));
  } else if (want !== null && typeof want === 'object') {
    assert.ok(got !== null && typeof got === 'object', `${path}: expected an object, got ${JSON.stringify(got)}`);
    for (const [k, v] of Object.entries(want)) assertSubset(v, (got as Record<string, unknown>)[k], `${path}.${k}`);
  } else {
    assert.equal(got, want, path);
  }
}
