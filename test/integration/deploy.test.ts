/**
 * deploy/ (issue "Production deployment") against the real control plane: the kustomize base
 * and the namespaced overlay apply server-side with the real kubectl and every object is
 * accepted as written; the Deployment's pod template passes its namespace's restricted Pod
 * Security level; and the gateway, run with nothing but a token of the ServiceAccount they
 * create and the arguments of their Deployment, serves queries and subscriptions within exactly
 * the permissions they grant. A ServiceAccount without RBAC stops the start with one line
 * naming what is missing.
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
import { GatewayProcess, RepoRoot, queryData, subscribe, type Subscription } from '../harness/gateway-process.ts';
import { waitFor } from '../harness/wait.ts';

const kubectlBin = resolve(import.meta.dirname, '../control-plane/bin/kubectl');
const node = 'deploy-node-a';
/** A namespace neither deployment is about; the namespaced gateway must not show it. */
const otherNs = 'deploy-other';

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

  before(async () => {
    assert.ok(existsSync(kubectlBin), `${kubectlBin} is built by test/control-plane/build.sh`);
    for (const ns of ['team-a', 'team-b', otherNs]) await kube.ensureNamespace(ns);
    await kube.createNode(node, 'zone-a');
    await kube.createService({ namespace: 'team-a', name: 'web', selector: { app: 'web' } });
    await kube.createService({ namespace: otherNs, name: 'hidden', selector: { app: 'hidden' } });
    await work.scale('team-a', 'web', 1, [node]);
    await work.scale(otherNs, 'hidden', 1, [node]);
  });
  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('overlays/namespaced (applied first: the ServiceAccount has only its Roles)', () => {
    let rendered: Obj[];

    it('renders Roles and RoleBindings in team-a and team-b, and no ClusterRole or ClusterRoleBinding', async () => {
      rendered = await render('deploy/overlays/namespaced');
      const kinds = rendered.map((o) => o.kind);
      assert.ok(!kinds.includes('ClusterRole') && !kinds.includes('ClusterRoleBinding'), `rendered kinds: ${kinds.join(', ')}`);
      assert.deepEqual(
        rendered.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding').map(idOf).sort(),
        ['Role team-a/netgraph-reader', 'Role team-b/netgraph-reader', 'RoleBinding team-a/netgraph-reader', 'RoleBinding team-b/netgraph-reader'],
      );
      const args = deploymentArgs(rendered);
      assert.ok(args.includes('--namespaces=team-a,team-b') && args.includes('--no-nodes'), `Deployment args: ${args.join(' ')}`);
    });

    it('applies server-side: every rendered object is accepted, none deleted', async () => {
      const applied = JSON.parse(await kubectl('apply', '--server-side', '-k', 'deploy/overlays/namespaced', '-o', 'json'));
      assert.deepEqual((applied.items as Obj[]).map(idOf).sort(), rendered.map(idOf).sort());
      assert.equal((await kube.list('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings')).items.filter((b) => b.metadata.name === 'netgraph-reader').length, 0);
    });

    it('with its ServiceAccount token and its Deployment args, the gateway serves team-a and shows nothing of other namespaces', async () => {
      const kubeconfig = await kubeconfigFor('netgraph', 'netgraph');
      const gw = await GatewayProcess.start([...deploymentArgs(rendered), '--kubeconfig', kubeconfig]);
      try {
        let data: any;
        await waitFor('team-a/web with a ready endpoint', 30_000, async () => {
          data = await queryData(
            gw.url,
            `{ cluster { ready } services { items { metadata { namespace name } } } pods { items { metadata { namespace } } }
               web: service(namespace: "team-a", name: "web") { hasReadyEndpoints }
               hidden: service(namespace: "${otherNs}", name: "hidden") { metadata { name } }
               nodes { totalCount } }`,
          );
          return data.cluster.ready && data.web?.hasReadyEndpoints === true;
        });
        assert.ok(data.services.items.some((s: any) => s.metadata.namespace === 'team-a' && s.metadata.name === 'web'));
        const namespaces = new Set([...data.services.items, ...data.pods.items].map((o: any) => o.metadata.namespace));
        assert.deepEqual([...namespaces].filter((ns) => ns !== 'team-a' && ns !== 'team-b'), [], 'only team-a and team-b');
        assert.equal(data.hidden, null);
        assert.equal(data.nodes.totalCount, 0, '--no-nodes');
      } finally {
        assert.deepEqual(await gw.stop(), { code: 0, signal: null });
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

    it('with only its ServiceAccount token and its Deployment args, the gateway serves services, pods and nodes, and a subscription', async () => {
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
          );
          return data.cluster.ready && data.web?.endpointCounts.ready === 1;
        });
        assert.deepEqual(data.web.pods.items, [{ metadata: { name: 'web-0' }, node: { metadata: { name: node }, zone: 'zone-a' } }]);
        assert.ok(data.hidden !== null, 'cluster-wide: other namespaces are served too');
        assert.ok(data.nodes.items.some((n: any) => n.metadata.name === node));

        sub = subscribe(gw.wsUrl, 'subscription { endpointChanges(namespace: "team-a", name: "web") { type added { address } counts { ready } } }');
        await sub.until('the SNAPSHOT', (rs) => rs.length >= 1);
        assert.equal(sub.results[0].endpointChanges.type, 'SNAPSHOT');
        assert.equal(sub.results[0].endpointChanges.counts.ready, 1);
        await work.scale('team-a', 'web', 2, [node]);
        await sub.until('a CHANGE adding web-1', (rs) => rs.some((r) => r.endpointChanges.type === 'CHANGE' && r.endpointChanges.counts.ready === 2));
        const change = sub.results.find((r) => r.endpointChanges.type === 'CHANGE' && r.endpointChanges.counts.ready === 2).endpointChanges;
        assert.deepEqual(change.added, [{ address: work.podsOf('team-a', 'web').get('web-1') }]);
      } finally {
        await sub?.dispose();
        assert.deepEqual(await gw.stop(), { code: 0, signal: null });
        assertNoTokenIn([...gw.stdout, ...gw.stderr]);
      }
    });
  });

  it('a ServiceAccount without RBAC: exit code 1 and one line naming each missing verb and resource', async () => {
    await kube.req('POST', '/api/v1/namespaces/netgraph/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-rbac' } });
    const r = await GatewayProcess.run(['--port=0', '--kubeconfig', await kubeconfigFor('netgraph', 'no-rbac')]);
    assert.equal(r.code, 1, r.stderr.join('\n'));
    assert.equal(r.stderr.length, 1, `exactly one line on stderr, got:\n${r.stderr.join('\n')}`);
    const line = r.stderr[0]!;
    assert.match(line, /missing RBAC permissions/);
    for (const verb of ['get', 'list', 'watch']) {
      for (const resource of ['services in all namespaces', 'pods in all namespaces', 'endpointslices.discovery.k8s.io in all namespaces', 'nodes (cluster-scoped)']) {
        assert.ok(line.includes(`cannot ${verb} ${resource}`), `names "${verb} ${resource}": ${line}`);
      }
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
