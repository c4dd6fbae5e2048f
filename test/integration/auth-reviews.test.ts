/**
 * Delegated authentication and authorization against the real API server: ServiceAccounts with
 * a namespace Role, a cluster-wide ClusterRoleBinding and nothing; their tokens from the
 * TokenRequest API. The gateway's reviews use the admin's credentials, as a deployed gateway
 * uses its own ServiceAccount's.
 *
 * Revocation is checked as docs/kubernetes.md ("Delegated authentication and authorization") says: a RoleBinding deleted, a Secret a token is
 * bound to deleted. Cache expiry runs on a clock the test advances, so "still cached" and
 * "asked again" are exact and nothing sleeps. A deleted RoleBinding is seen by the next
 * SubjectAccessReview; a deleted Secret is not seen by TokenReview for about 10 seconds, because
 * kube-apiserver itself caches successful token authentications for about 10 s (measured
 * here), so that wait has a 30 s deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from '../../src/kube/client.ts';
import { AllNamespaces, AuthorizationUnavailableError, type Resource, type UserInfo, type Verb } from '../../src/auth/access.ts';
import { AuthenticationUnavailableError, SubjectAccessAuthorizer, TokenAuthenticator } from '../../src/auth/reviews.ts';
import { ControlPlane, kubeconfigYaml } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { manualClock, recorder } from '../harness/auth-testing.ts';
import { waitFor } from '../harness/wait.ts';

const Ns = 'ar-team';
const OtherNs = 'ar-other';
const Audience = 'netgraph.example';
const ClusterRead = 'ar-cluster-read';
const Rbac = '/apis/rbac.authorization.k8s.io/v1';
/** The ServiceAccounts, by what they may do. */
const Sa = {
  viewer: 'ar-viewer', // Role in ar-team: list and watch services, pods, endpointslices
  cluster: 'ar-cluster', // ClusterRoleBinding: list and watch those and nodes everywhere
  none: 'ar-none', // nothing
  revoked: 'ar-revoked', // like viewer, until its RoleBinding is deleted
  bound: 'ar-bound', // a token bound to a Secret
} as const;
const ReadRules = [
  { apiGroups: [''], resources: ['services', 'pods'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];

function clientAt(server: string, caPem: string, token: string): ApiClient {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(server, caPem, token));
  return new ApiClient(kc);
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('delegated authentication and authorization on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  let client: ApiClient;
  const token: Record<keyof typeof Sa, string> = { viewer: '', cluster: '', none: '', revoked: '', bound: '' };
  const uid: Record<string, string> = {};
  const users: Record<string, UserInfo> = {};
  /** Every token issued here, to check none reaches a message. */
  const issued: string[] = [];
  const authn = () => new TokenAuthenticator({ client });
  const userOf = async (t: string): Promise<UserInfo> => {
    const r = await authn().authenticate(t);
    assert.ok(r.ok, `the token authenticates: ${r.ok ? '' : r.reason}`);
    return r.user;
  };
  const assertNoToken = (text: string) => {
    for (const t of issued) assert.ok(!text.includes(t), `a token leaked into: ${text.slice(0, 200)}`);
  };

  before(async () => {
    for (const ns of [Ns, OtherNs]) await kube.ensureNamespace(ns);
    for (const name of Object.values(Sa)) uid[name] = (await kube.createServiceAccount(Ns, name)).metadata.uid;
    await kube.createRole(Ns, 'ar-read', ReadRules);
    await kube.bindRole(Ns, 'ar-viewer-read', { kind: 'Role', name: 'ar-read' }, [{ namespace: Ns, name: Sa.viewer }]);
    await kube.bindRole(Ns, 'ar-revoked-read', { kind: 'Role', name: 'ar-read' }, [{ namespace: Ns, name: Sa.revoked }]);
    await kube.createRole(null, ClusterRead, [...ReadRules, { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }]);
    await kube.bindRole(null, ClusterRead, { kind: 'ClusterRole', name: ClusterRead }, [{ namespace: Ns, name: Sa.cluster }]);
    for (const k of ['viewer', 'cluster', 'none', 'revoked'] as const) token[k] = await kube.requestToken(Ns, Sa[k]);
    issued.push(...Object.values(token).filter((t) => t !== ''));
    client = clientAt(cp.state.apiServerUrl, cp.state.caPem, cp.state.adminToken);
    for (const k of ['viewer', 'cluster', 'none', 'revoked'] as const) users[k] = await userOf(token[k]);
  });
  after(async () => {
    client?.close();
    await kube.deleteIfPresent(`${Rbac}/clusterrolebindings/${ClusterRead}`);
    await kube.deleteIfPresent(`${Rbac}/clusterroles/${ClusterRead}`);
  });

  describe('TokenAuthenticator', () => {
    for (const k of ['viewer', 'cluster', 'none'] as const) {
      it(`a ${Sa[k]} token is system:serviceaccount:${Ns}:${Sa[k]}, with the ServiceAccount's uid and groups`, async () => {
        const r = await authn().authenticate(token[k]);
        assert.ok(r.ok);
        assert.equal(r.user.username, `system:serviceaccount:${Ns}:${Sa[k]}`);
        assert.equal(r.user.uid, uid[Sa[k]]);
        assert.deepEqual([...r.user.groups].sort(), ['system:authenticated', 'system:serviceaccounts', `system:serviceaccounts:${Ns}`]);
        assert.deepEqual(Object.keys(r.user.extra).sort(), ['authentication.kubernetes.io/credential-id']);
        assert.match(r.user.extra['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^JTI=/);
      });
    }

    it('the static admin token is user admin in group system:masters', async () => {
      const r = await authn().authenticate(cp.state.adminToken);
      assert.ok(r.ok);
      assert.equal(r.user.username, 'admin');
      assert.ok(r.user.groups.includes('system:masters'));
    });

    it('a token the API server never issued is unauthenticated, with the server’s reason', async () => {
      const forged = `${token.viewer.slice(0, -8)}AAAAAAAA`;
      const r = await authn().authenticate(forged);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.match(r.reason, /invalid bearer token/);
        assertNoToken(r.reason);
        assert.ok(!r.reason.includes(forged));
      }
    });

    it('the same token twice is one review', async () => {
      const seen = recorder();
      const a = new TokenAuthenticator({ client, observer: seen });
      await Promise.all([a.authenticate(token.viewer), a.authenticate(token.viewer)]);
      await a.authenticate(token.viewer);
      assert.deepEqual(seen.seen, ['authn allowed', 'authn allowed cached', 'authn allowed cached']);
    });

    const audienceCases: { name: string; tokenAudiences: string[] | undefined; want: string[] | undefined; ok: boolean }[] = [
      { name: 'a token for audience A, reviewed for A: authenticated', tokenAudiences: [Audience], want: [Audience], ok: true },
      { name: 'a token for audience A, reviewed for A and another: authenticated', tokenAudiences: [Audience], want: ['other.example', Audience], ok: true },
      { name: 'a token for audience A, reviewed for another audience: unauthenticated', tokenAudiences: [Audience], want: ['other.example'], ok: false },
      { name: 'a token for audience A, reviewed for the API server’s audiences: unauthenticated', tokenAudiences: [Audience], want: undefined, ok: false },
      { name: 'a token for the API server, reviewed for audience A: unauthenticated', tokenAudiences: undefined, want: [Audience], ok: false },
    ];
    for (const c of audienceCases) {
      it(c.name, async () => {
        const t = await kube.requestToken(Ns, Sa.viewer, c.tokenAudiences ? { audiences: c.tokenAudiences } : {});
        issued.push(t);
        const r = await new TokenAuthenticator({ client, ...(c.want ? { audiences: c.want } : {}) }).authenticate(t);
        assert.equal(r.ok, c.ok, r.ok ? 'authenticated' : r.reason);
        if (r.ok) assert.equal(r.user.username, `system:serviceaccount:${Ns}:${Sa.viewer}`);
        else assertNoToken(r.reason);
      });
    }

    it('the static admin token, reviewed for audience A: unauthenticated (the token file is not audience-aware)', async () => {
      const r = await new TokenAuthenticator({ client, audiences: [Audience] }).authenticate(cp.state.adminToken);
      assert.equal(r.ok, false);
    });

    it('a token bound to a Secret stops validating once the Secret is deleted and the authenticated TTL has passed', async () => {
      const secret = await kube.createSecret(Ns, 'ar-bound-secret');
      const t = await kube.requestToken(Ns, Sa.bound, { boundObjectRef: { kind: 'Secret', name: 'ar-bound-secret', uid: secret.metadata.uid } });
      issued.push(t);
      const clock = manualClock();
      const seen = recorder();
      const a = new TokenAuthenticator({ client, clock: clock.now, authenticatedTtlMs: 200, unauthenticatedTtlMs: 200, observer: seen });
      const before = await a.authenticate(t);
      assert.ok(before.ok);
      assert.equal(before.user.username, `system:serviceaccount:${Ns}:${Sa.bound}`);
      assert.deepEqual(before.user.extra['authentication.kubernetes.io/credential-id']?.length, 1);
      await kube.deleteIfPresent(`/api/v1/namespaces/${Ns}/secrets/ar-bound-secret`);
      assert.equal((await a.authenticate(t)).ok, true, 'within the TTL the cached answer stands');
      assert.deepEqual(seen.seen, ['authn allowed', 'authn allowed cached']);
      let reason = '';
      // kube-apiserver's own cache answers "authenticated" for up to 10 s after the deletion.
      await waitFor('the bound token to stop validating', 30_000, async () => {
        clock.advance(200);
        const r = await a.authenticate(t);
        if (!r.ok) reason = r.reason;
        return !r.ok;
      });
      assertNoToken(reason);
      assert.match(reason, /service account token has been invalidated/);
    });
  });

  describe('SubjectAccessAuthorizer', () => {
    const cases: { sa: 'viewer' | 'cluster' | 'none'; verb: Verb; resource: Resource; namespace: string; want: boolean }[] = [
      { sa: 'viewer', verb: 'list', resource: 'services', namespace: Ns, want: true },
      { sa: 'viewer', verb: 'watch', resource: 'endpointslices', namespace: Ns, want: true },
      { sa: 'viewer', verb: 'watch', resource: 'pods', namespace: Ns, want: true },
      { sa: 'viewer', verb: 'list', resource: 'services', namespace: OtherNs, want: false },
      { sa: 'viewer', verb: 'list', resource: 'services', namespace: AllNamespaces, want: false },
      { sa: 'viewer', verb: 'list', resource: 'nodes', namespace: Ns, want: false },
      { sa: 'cluster', verb: 'list', resource: 'services', namespace: OtherNs, want: true },
      { sa: 'cluster', verb: 'watch', resource: 'endpointslices', namespace: AllNamespaces, want: true },
      { sa: 'cluster', verb: 'list', resource: 'nodes', namespace: AllNamespaces, want: true },
      { sa: 'none', verb: 'list', resource: 'services', namespace: Ns, want: false },
      { sa: 'none', verb: 'list', resource: 'nodes', namespace: AllNamespaces, want: false },
    ];
    for (const c of cases) {
      const where = c.resource === 'nodes' ? '' : c.namespace === AllNamespaces ? ' cluster-wide' : ` in ${c.namespace}`;
      it(`${Sa[c.sa]} ${c.want ? 'may' : 'may not'} ${c.verb} ${c.resource}${where}`, async () => {
        const access = new SubjectAccessAuthorizer({ client }).accessFor(users[c.sa]!);
        assert.equal(await access.allowed(c.verb, c.resource, c.namespace), c.want);
      });
    }

    it('a ClusterRoleBinding answers every namespace with one review', async () => {
      const seen = recorder();
      const access = new SubjectAccessAuthorizer({ client, observer: seen }).accessFor(users.cluster!);
      for (const ns of [Ns, OtherNs, 'default']) assert.equal(await access.allowed('list', 'pods', ns), true);
      assert.deepEqual(seen.seen, ['authz allowed', 'authz allowed cached', 'authz allowed cached']);
    });

    it('a namespace Role: denied cluster-wide (cached), allowed in its namespace', async () => {
      const seen = recorder();
      const access = new SubjectAccessAuthorizer({ client, observer: seen }).accessFor(users.viewer!);
      assert.equal(await access.allowed('list', 'pods', Ns), true);
      assert.equal(await access.allowed('list', 'pods', OtherNs), false);
      assert.deepEqual(seen.seen, ['authz denied', 'authz allowed', 'authz denied cached', 'authz denied']);
    });

    it('deleting the RoleBinding flips allowed to denied once the allowed TTL has passed', async () => {
      const clock = manualClock();
      const seen = recorder();
      const access = new SubjectAccessAuthorizer({ client, clock: clock.now, allowedTtlMs: 200, deniedTtlMs: 200, observer: seen }).accessFor(users.revoked!);
      assert.equal(await access.allowed('list', 'services', Ns), true);
      await kube.deleteIfPresent(`${Rbac}/namespaces/${Ns}/rolebindings/ar-revoked-read`);
      clock.advance(199);
      assert.equal(await access.allowed('list', 'services', Ns), true, 'within the TTL the cached answer stands');
      assert.deepEqual(seen.seen.slice(-2), ['authz denied cached', 'authz allowed cached']);
      await waitFor('the revoked permission to be denied', 20_000, async () => {
        clock.advance(200);
        return !(await access.allowed('list', 'services', Ns));
      });
    });

    it('a gateway whose credentials may not create reviews fails closed (403 is not an answer)', async () => {
      const weak = clientAt(cp.state.apiServerUrl, cp.state.caPem, token.none);
      try {
        const a = await new TokenAuthenticator({ client: weak }).authenticate(token.viewer).catch((e: unknown) => e);
        assert.ok(a instanceof AuthenticationUnavailableError, `expected AuthenticationUnavailableError, got ${String(a)}`);
        assert.match(a.message, /HTTP 403/);
        assertNoToken(a.message);
        const z = await new SubjectAccessAuthorizer({ client: weak }).accessFor(users.viewer!).allowed('list', 'pods', Ns).catch((e: unknown) => e);
        assert.ok(z instanceof AuthorizationUnavailableError, `expected AuthorizationUnavailableError, got ${String(z)}`);
        assert.match(z.message, /HTTP 403/);
      } finally {
        weak.close();
      }
    });
  });

  it('an API server that is down fails both reviews closed, and the token appears in no message', async () => {
    const down = clientAt(`https://127.0.0.1:${await closedPort()}`, cp.state.caPem, cp.state.adminToken);
    try {
      const seen = recorder();
      const a = await new TokenAuthenticator({ client: down, observer: seen }).authenticate(token.viewer).catch((e: unknown) => e);
      assert.ok(a instanceof AuthenticationUnavailableError, `expected AuthenticationUnavailableError, got ${String(a)}`);
      assert.match(a.message, /ECONNREFUSED/);
      assertNoToken(`${a.message} ${a.stack}`);
      const z = await new SubjectAccessAuthorizer({ client: down, observer: seen }).accessFor(users.viewer!).allowed('list', 'pods', Ns).catch((e: unknown) => e);
      assert.ok(z instanceof AuthorizationUnavailableError, `expected AuthorizationUnavailableError, got ${String(z)}`);
      assert.deepEqual(seen.seen, ['authn error', 'authz error']);
    } finally {
      down.close();
    }
  });
});
