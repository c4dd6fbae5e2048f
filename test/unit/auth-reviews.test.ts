import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from '../../src/kube/client.ts';
import { AllNamespaces, AuthorizationUnavailableError, type Resource, type UserInfo, type Verb } from '../../src/auth/access.ts';
import {
  AuthenticationUnavailableError,
  SubjectAccessAuthorizer,
  SubjectAccessReviewPath,
  TokenAuthenticator,
  TokenReviewPath,
  type ReviewClient,
} from '../../src/auth/reviews.ts';
import { generateCluster, loadCluster } from '../../demo/src/generate.ts';
import { startSimServer, type SimServer } from '../../demo/src/server.ts';
import { DemoAudience, DemoTokens } from '../../demo/src/reviews.ts';
import { manualClock, recorder } from '../harness/auth-testing.ts';

const generated = generateCluster('demo', { seed: 3 });

function clientFor(url: string): ApiClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
  return new ApiClient(kc);
}

/** The demo cluster's server and a client of it, for the whole describe. */
function withSim(): { server: () => SimServer; client: () => ApiClient } {
  let server: SimServer | undefined;
  let client: ApiClient | undefined;
  before(async () => {
    server = await startSimServer({ cluster: loadCluster(generated) });
    client = clientFor(server.url);
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });
  return { server: () => server as SimServer, client: () => client as ApiClient };
}

/** The reviews of each kind the sim answered since `before`. */
function reviewsSince(server: SimServer): () => { tokenReviews: number; subjectAccessReviews: number } {
  const start = server.stats();
  return () => {
    const now = server.stats();
    return { tokenReviews: now.tokenReviews - start.tokenReviews, subjectAccessReviews: now.subjectAccessReviews - start.subjectAccessReviews };
  };
}

/** A client whose answers the test scripts; records every body it was sent. */
function scriptedClient(answer: (path: string, body: any) => Promise<unknown>): ReviewClient & { sent: { path: string; body: any }[] } {
  const sent: { path: string; body: any }[] = [];
  return {
    sent,
    postJSON: (path, body) => {
      sent.push({ path, body });
      return answer(path, body);
    },
  };
}

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function userOf(authn: TokenAuthenticator, token: string): Promise<UserInfo> {
  const r = await authn.authenticate(token);
  assert.ok(r.ok, `the demo token ${token} authenticates`);
  return r.user;
}

describe('demo cluster: TokenReview and SubjectAccessReview on the wire', () => {
  const sim = withSim();
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${sim.server().url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('answers a TokenReview for demo-shop with 201, the user, the audience and the spec echoed', async () => {
    const { status, body } = await post(TokenReviewPath, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: DemoTokens.shop } });
    assert.equal(status, 201);
    assert.deepEqual(body, {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { token: DemoTokens.shop },
      status: { authenticated: true, user: { username: 'demo-shop', uid: 'demo-shop-uid', groups: ['system:authenticated'] }, audiences: [DemoAudience] },
    });
  });

  const cases: { name: string; path: string; body: unknown; status: number; want: (body: any) => unknown; expected: unknown }[] = [
    { name: 'an unknown token: authenticated false with an error', path: TokenReviewPath, body: { spec: { token: 'nope' } }, status: 201, want: (b) => [b.status.authenticated, typeof b.status.error], expected: [undefined, 'string'] },
    { name: 'a demo token for another audience: authenticated false', path: TokenReviewPath, body: { spec: { token: DemoTokens.admin, audiences: ['other'] } }, status: 201, want: (b) => b.status.authenticated, expected: undefined },
    { name: 'an empty token: 400', path: TokenReviewPath, body: { spec: { token: '' } }, status: 400, want: (b) => b.reason, expected: 'BadRequest' },
    { name: 'demo-admin may list nodes', path: SubjectAccessReviewPath, body: { spec: { user: 'demo-admin', resourceAttributes: { verb: 'list', resource: 'nodes' } } }, status: 201, want: (b) => b.status, expected: { allowed: true, reason: 'demo: demo-admin may read everything' } },
    { name: 'demo-shop may watch pods in shop', path: SubjectAccessReviewPath, body: { spec: { user: 'demo-shop', resourceAttributes: { verb: 'watch', resource: 'pods', namespace: 'shop' } } }, status: 201, want: (b) => b.status.allowed, expected: true },
    { name: 'demo-shop may not list pods cluster-wide (no opinion: allowed false, no denied)', path: SubjectAccessReviewPath, body: { spec: { user: 'demo-shop', resourceAttributes: { verb: 'list', resource: 'pods' } } }, status: 201, want: (b) => b.status, expected: { allowed: false } },
    { name: 'demo-shop may not list nodes', path: SubjectAccessReviewPath, body: { spec: { user: 'demo-shop', resourceAttributes: { verb: 'list', resource: 'nodes', namespace: 'shop' } } }, status: 201, want: (b) => b.status.allowed, expected: false },
    { name: 'demo-admin may not delete pods', path: SubjectAccessReviewPath, body: { spec: { user: 'demo-admin', resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'shop' } } }, status: 201, want: (b) => b.status.allowed, expected: false },
    { name: 'neither user nor groups: 422', path: SubjectAccessReviewPath, body: { spec: { resourceAttributes: { verb: 'list', resource: 'pods' } } }, status: 422, want: (b) => b.reason, expected: 'Invalid' },
    { name: 'a POST elsewhere is still 405', path: '/api/v1/pods', body: {}, status: 405, want: (b) => b.reason, expected: 'MethodNotAllowed' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { status, body } = await post(c.path, c.body);
      assert.equal(status, c.status);
      assert.deepEqual(c.want(body), c.expected);
    });
  }
});

describe('TokenAuthenticator on the demo cluster', () => {
  const sim = withSim();

  const cases: { name: string; token: string; want: unknown }[] = [
    { name: 'demo-admin authenticates as user demo-admin', token: DemoTokens.admin, want: { ok: true, username: 'demo-admin', groups: ['system:authenticated'] } },
    { name: 'demo-shop authenticates as user demo-shop', token: DemoTokens.shop, want: { ok: true, username: 'demo-shop', groups: ['system:authenticated'] } },
    { name: 'a garbage token is unauthenticated, with the server’s reason', token: 'garbage', want: { ok: false, reason: '[invalid bearer token, token lookup failed]' } },
    { name: 'an empty token is unauthenticated', token: '', want: { ok: false, reason: 'the token is empty' } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await new TokenAuthenticator({ client: sim.client() }).authenticate(c.token);
      assert.deepEqual(r.ok ? { ok: true, username: r.user.username, groups: r.user.groups } : r, c.want);
    });
  }

  it('the same token twice is one review; the answer is frozen and shared', async () => {
    const reviews = reviewsSince(sim.server());
    const seen = recorder();
    const authn = new TokenAuthenticator({ client: sim.client(), observer: seen });
    const first = await authn.authenticate(DemoTokens.admin);
    const second = await authn.authenticate(DemoTokens.admin);
    assert.equal(second, first);
    assert.ok(Object.isFrozen(first) && first.ok && Object.isFrozen(first.user) && Object.isFrozen(first.user.groups));
    assert.deepEqual(reviews(), { tokenReviews: 1, subjectAccessReviews: 0 });
    assert.deepEqual(seen.seen, ['authn allowed', 'authn allowed cached']);
  });

  it('concurrent calls with one token share one review', async () => {
    const reviews = reviewsSince(sim.server());
    const seen = recorder();
    const authn = new TokenAuthenticator({ client: sim.client(), observer: seen });
    const answers = await Promise.all([DemoTokens.shop, DemoTokens.shop, DemoTokens.shop, 'garbage', 'garbage'].map((t) => authn.authenticate(t)));
    assert.deepEqual(answers.map((a) => a.ok), [true, true, true, false, false]);
    assert.deepEqual(reviews(), { tokenReviews: 2, subjectAccessReviews: 0 });
    assert.deepEqual(seen.seen.sort(), ['authn allowed', 'authn allowed cached', 'authn allowed cached', 'authn denied', 'authn denied cached']);
  });

  const ttlCases: { name: string; token: string; ttl: { authenticatedTtlMs: number; unauthenticatedTtlMs: number }; advanceMs: number; reviews: number }[] = [
    { name: 'an authenticated answer is reused just before authenticatedTtlMs', token: DemoTokens.admin, ttl: { authenticatedTtlMs: 120_000, unauthenticatedTtlMs: 10_000 }, advanceMs: 119_999, reviews: 1 },
    { name: 'an authenticated answer is asked again at authenticatedTtlMs', token: DemoTokens.admin, ttl: { authenticatedTtlMs: 120_000, unauthenticatedTtlMs: 10_000 }, advanceMs: 120_000, reviews: 2 },
    { name: 'an unauthenticated answer is reused just before unauthenticatedTtlMs', token: 'garbage', ttl: { authenticatedTtlMs: 120_000, unauthenticatedTtlMs: 10_000 }, advanceMs: 9_999, reviews: 1 },
    { name: 'an unauthenticated answer is asked again at unauthenticatedTtlMs', token: 'garbage', ttl: { authenticatedTtlMs: 120_000, unauthenticatedTtlMs: 10_000 }, advanceMs: 10_000, reviews: 2 },
    { name: 'a TTL of 0 caches nothing', token: DemoTokens.admin, ttl: { authenticatedTtlMs: 0, unauthenticatedTtlMs: 0 }, advanceMs: 0, reviews: 2 },
  ];
  for (const c of ttlCases) {
    it(c.name, async () => {
      const reviews = reviewsSince(sim.server());
      const clock = manualClock();
      const authn = new TokenAuthenticator({ client: sim.client(), clock: clock.now, ...c.ttl });
      await authn.authenticate(c.token);
      clock.advance(c.advanceMs);
      await authn.authenticate(c.token);
      assert.equal(reviews().tokenReviews, c.reviews);
    });
  }

  it('keeps at most maxEntries tokens: the least recently used is asked again', async () => {
    const reviews = reviewsSince(sim.server());
    const authn = new TokenAuthenticator({ client: sim.client(), maxEntries: 2 });
    for (const t of ['a', 'b', 'a', 'c']) await authn.authenticate(t); // 'b' is the least recently used when 'c' comes
    assert.equal(reviews().tokenReviews, 3);
    await authn.authenticate('a');
    await authn.authenticate('c');
    assert.equal(reviews().tokenReviews, 3, 'a and c are still cached');
    await authn.authenticate('b');
    assert.equal(reviews().tokenReviews, 4, 'b was evicted');
  });

  it('with audiences: the sim’s audience authenticates, another one does not', async () => {
    const ok = await new TokenAuthenticator({ client: sim.client(), audiences: ['netgraph', DemoAudience] }).authenticate(DemoTokens.shop);
    assert.equal(ok.ok, true);
    const wrong = await new TokenAuthenticator({ client: sim.client(), audiences: ['netgraph'] }).authenticate(DemoTokens.shop);
    assert.deepEqual(wrong, { ok: false, reason: `[invalid bearer token, token audiences ["${DemoAudience}"] is invalid for the target audiences ["netgraph"]]` });
  });

  it('fails closed while the server refuses connections, caches nothing, and answers once it is back', async () => {
    const server = await startSimServer({ cluster: loadCluster(generated) });
    const client = clientFor(server.url);
    try {
      const seen = recorder();
      const authn = new TokenAuthenticator({ client, observer: seen });
      await server.setUnavailable(true, 'refuse');
      const error = await authn.authenticate(DemoTokens.admin).then(() => null, (e: unknown) => e);
      assert.ok(error instanceof AuthenticationUnavailableError, `expected AuthenticationUnavailableError, got ${error}`);
      assert.ok(error instanceof AuthorizationUnavailableError, 'one instanceof check fails every review closed');
      assert.match(error.message, /^TokenReview failed: .*ECONNREFUSED/);
      assert.ok(!error.message.includes(DemoTokens.admin));
      await server.setUnavailable(true, 'status');
      await server.setUnavailable(false);
      await server.setUnavailable(true, 'status');
      await assert.rejects(authn.authenticate(DemoTokens.admin), (e: Error) => e instanceof AuthenticationUnavailableError && /HTTP 503/.test(e.message));
      await server.setUnavailable(false);
      assert.equal((await authn.authenticate(DemoTokens.admin)).ok, true);
      assert.deepEqual(seen.seen, ['authn error', 'authn error', 'authn allowed']);
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('fails closed when the server does not answer within timeoutMs', async () => {
    const silent = await silentServer();
    const client = clientFor(silent.url);
    try {
      const t0 = Date.now();
      await assert.rejects(
        new TokenAuthenticator({ client, timeoutMs: 200 }).authenticate(DemoTokens.admin),
        (e: Error) => e instanceof AuthenticationUnavailableError && !e.message.includes(DemoTokens.admin),
      );
      assert.ok(Date.now() - t0 < 3_000, 'gave up near the timeout');
    } finally {
      client.close();
      await silent.stop();
    }
  });

  const scripted: { name: string; answer: (token: string) => Promise<unknown>; want: (r: unknown) => boolean }[] = [
    { name: 'a failure echoing the token', answer: (t) => Promise.reject(new Error(`POST /apis/authentication.k8s.io/v1/tokenreviews: HTTP 400: bad token ${t}`)), want: (e) => e instanceof AuthenticationUnavailableError },
    { name: 'a reason echoing the token', answer: (t) => Promise.resolve({ status: { authenticated: false, error: `token ${t} is not known` } }), want: (r) => (r as { ok: boolean }).ok === false },
    { name: 'an answer without a status', answer: () => Promise.resolve({ kind: 'Status' }), want: (e) => e instanceof AuthenticationUnavailableError },
    { name: 'an authenticated answer without a username', answer: () => Promise.resolve({ status: { authenticated: true, user: {} } }), want: (e) => e instanceof AuthenticationUnavailableError },
  ];
  for (const c of scripted) {
    it(`never puts the token in what it reports: ${c.name}`, async () => {
      const token = 'secret-token-0123456789';
      const authn = new TokenAuthenticator({ client: scriptedClient(() => c.answer(token)) });
      const r = await authn.authenticate(token).catch((e: unknown) => e);
      assert.ok(c.want(r), `unexpected answer ${String(r)}`);
      const text = r instanceof Error ? `${r.message} ${r.stack}` : JSON.stringify(r);
      assert.ok(!text.includes(token), `the token leaked: ${text}`);
    });
  }

  it('an authenticated answer whose audiences miss the configured ones is unauthenticated (audience-unaware server)', async () => {
    const client = scriptedClient(async () => ({ status: { authenticated: true, user: { username: 'u' } } }));
    const r = await new TokenAuthenticator({ client, audiences: ['netgraph'] }).authenticate('t');
    assert.deepEqual(r, { ok: false, reason: 'token audiences [] do not include any of ["netgraph"]' });
    assert.deepEqual(client.sent.map((s) => s.body), [{ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 't', audiences: ['netgraph'] } }]);
  });
});

describe('SubjectAccessAuthorizer on the demo cluster', () => {
  const sim = withSim();
  let admin: UserInfo;
  let shop: UserInfo;
  before(async () => {
    const authn = new TokenAuthenticator({ client: sim.client() });
    admin = await userOf(authn, DemoTokens.admin);
    shop = await userOf(authn, DemoTokens.shop);
  });

  const cases: { name: string; user: () => UserInfo; verb: Verb; resource: Resource; namespace: string; want: boolean }[] = [
    { name: 'demo-admin may list pods cluster-wide', user: () => admin, verb: 'list', resource: 'pods', namespace: AllNamespaces, want: true },
    { name: 'demo-admin may watch endpointslices in payments', user: () => admin, verb: 'watch', resource: 'endpointslices', namespace: 'payments', want: true },
    { name: 'demo-admin may list nodes', user: () => admin, verb: 'list', resource: 'nodes', namespace: AllNamespaces, want: true },
    { name: 'demo-shop may list services in shop', user: () => shop, verb: 'list', resource: 'services', namespace: 'shop', want: true },
    { name: 'demo-shop may watch endpointslices in shop', user: () => shop, verb: 'watch', resource: 'endpointslices', namespace: 'shop', want: true },
    { name: 'demo-shop may not list pods in payments', user: () => shop, verb: 'list', resource: 'pods', namespace: 'payments', want: false },
    { name: 'demo-shop may not list services cluster-wide', user: () => shop, verb: 'list', resource: 'services', namespace: AllNamespaces, want: false },
    { name: 'demo-shop may not list nodes, even asked from namespace shop', user: () => shop, verb: 'list', resource: 'nodes', namespace: 'shop', want: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const access = new SubjectAccessAuthorizer({ client: sim.client() }).accessFor(c.user());
      assert.equal(access.user, c.user());
      assert.equal(await access.allowed(c.verb, c.resource, c.namespace), c.want);
    });
  }

  it('asks cluster-wide first: a cluster-wide allow answers every namespace with one review', async () => {
    const reviews = reviewsSince(sim.server());
    const seen = recorder();
    const access = new SubjectAccessAuthorizer({ client: sim.client(), observer: seen }).accessFor(admin);
    for (const ns of ['shop', 'payments', 'default', AllNamespaces]) assert.equal(await access.allowed('list', 'pods', ns), true);
    assert.equal(reviews().subjectAccessReviews, 1);
    assert.deepEqual(seen.seen, ['authz allowed', 'authz allowed cached', 'authz allowed cached', 'authz allowed cached']);
  });

  it('a cluster-wide denial is cached; then each namespace is asked once', async () => {
    const reviews = reviewsSince(sim.server());
    const seen = recorder();
    const access = new SubjectAccessAuthorizer({ client: sim.client(), observer: seen }).accessFor(shop);
    assert.equal(await access.allowed('list', 'pods', 'shop'), true);
    assert.equal(await access.allowed('list', 'pods', 'shop'), true);
    assert.equal(await access.allowed('list', 'pods', 'payments'), false);
    assert.equal(reviews().subjectAccessReviews, 3);
    assert.deepEqual(seen.seen, [
      'authz denied', 'authz allowed', // shop: cluster-wide, then the namespace
      'authz denied cached', 'authz allowed cached',
      'authz denied cached', 'authz denied', // payments: the cluster-wide denial is reused
    ]);
  });

  it('sends the user’s name, uid, groups and extra with the resource’s group, and no namespace cluster-wide', async () => {
    const client = scriptedClient(async () => ({ status: { allowed: false } }));
    const user: UserInfo = { username: 'u', uid: 'u-1', groups: ['g1', 'g2'], extra: { scopes: ['a'] } };
    const access = new SubjectAccessAuthorizer({ client }).accessFor(user);
    await access.allowed('watch', 'endpointslices', 'ns-1');
    await access.allowed('list', 'nodes', 'ns-1');
    const spec = (resourceAttributes: object) => ({ user: 'u', uid: 'u-1', groups: ['g1', 'g2'], extra: { scopes: ['a'] }, resourceAttributes });
    assert.deepEqual(client.sent, [
      { path: SubjectAccessReviewPath, body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: spec({ verb: 'watch', group: 'discovery.k8s.io', resource: 'endpointslices' }) } },
      { path: SubjectAccessReviewPath, body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: spec({ verb: 'watch', group: 'discovery.k8s.io', resource: 'endpointslices', namespace: 'ns-1' }) } },
      { path: SubjectAccessReviewPath, body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: spec({ verb: 'list', group: '', resource: 'nodes' }) } },
    ]);
  });

  const identityCases: { name: string; other: (u: UserInfo) => UserInfo; reviews: number }[] = [
    { name: 'the same identity with groups in another order shares answers', other: (u) => ({ ...u, groups: [...u.groups].reverse() }), reviews: 1 },
    { name: 'another group is another identity', other: (u) => ({ ...u, groups: [...u.groups, 'extra-group'] }), reviews: 2 },
    { name: 'another uid is another identity', other: (u) => ({ ...u, uid: 'other' }), reviews: 2 },
    { name: 'other extra values are another identity', other: (u) => ({ ...u, extra: { 'authentication.kubernetes.io/credential-id': ['JTI=2'] } }), reviews: 2 },
  ];
  for (const c of identityCases) {
    it(c.name, async () => {
      const client = scriptedClient(async () => ({ status: { allowed: true } }));
      const authz = new SubjectAccessAuthorizer({ client });
      const user: UserInfo = { username: 'u', uid: 'u-1', groups: ['a', 'b'], extra: {} };
      await authz.accessFor(user).allowed('list', 'pods', AllNamespaces);
      await authz.accessFor(c.other(user)).allowed('list', 'pods', AllNamespaces);
      assert.equal(client.sent.length, c.reviews);
    });
  }

  const ttlCases: { name: string; user: () => UserInfo; advanceMs: number; reviews: number }[] = [
    { name: 'an allowed answer is reused just before allowedTtlMs', user: () => admin, advanceMs: 299_999, reviews: 1 },
    { name: 'an allowed answer is asked again at allowedTtlMs', user: () => admin, advanceMs: 300_000, reviews: 2 },
    { name: 'a denied answer is reused just before deniedTtlMs', user: () => shop, advanceMs: 29_999, reviews: 1 },
    { name: 'a denied answer is asked again at deniedTtlMs', user: () => shop, advanceMs: 30_000, reviews: 2 },
  ];
  for (const c of ttlCases) {
    it(c.name, async () => {
      const reviews = reviewsSince(sim.server());
      const clock = manualClock();
      const access = new SubjectAccessAuthorizer({ client: sim.client(), clock: clock.now }).accessFor(c.user());
      await access.allowed('list', 'nodes', AllNamespaces);
      clock.advance(c.advanceMs);
      await access.allowed('list', 'nodes', AllNamespaces);
      assert.equal(reviews().subjectAccessReviews, c.reviews);
    });
  }

  it('concurrent identical questions share one review', async () => {
    const reviews = reviewsSince(sim.server());
    const access = new SubjectAccessAuthorizer({ client: sim.client() }).accessFor(shop);
    const answers = await Promise.all(Array.from({ length: 5 }, () => access.allowed('watch', 'pods', 'shop')));
    assert.deepEqual(answers, [true, true, true, true, true]);
    assert.equal(reviews().subjectAccessReviews, 2, 'one cluster-wide and one namespace review');
  });

  it('keeps at most maxEntries answers: the least recently used is asked again', async () => {
    const reviews = reviewsSince(sim.server());
    const authz = new SubjectAccessAuthorizer({ client: sim.client(), maxEntries: 2 });
    const ask = (resource: Resource) => authz.review(admin, 'list', resource, AllNamespaces);
    for (const r of ['pods', 'services', 'pods', 'nodes'] as const) await ask(r);
    assert.equal(reviews().subjectAccessReviews, 3);
    await ask('pods');
    await ask('nodes');
    assert.equal(reviews().subjectAccessReviews, 3, 'pods and nodes are still cached');
    await ask('services');
    assert.equal(reviews().subjectAccessReviews, 4, 'services was evicted');
  });

  it('fails closed while the server refuses connections, caches nothing, and answers once it is back', async () => {
    const server = await startSimServer({ cluster: loadCluster(generated) });
    const client = clientFor(server.url);
    try {
      const seen = recorder();
      const access = new SubjectAccessAuthorizer({ client, observer: seen }).accessFor(shop);
      await server.setUnavailable(true, 'refuse');
      await assert.rejects(access.allowed('list', 'pods', 'shop'), (e: Error) => e instanceof AuthorizationUnavailableError && /^SubjectAccessReview failed: .*ECONNREFUSED/.test(e.message));
      await server.setUnavailable(false);
      await server.setUnavailable(true, 'status');
      await assert.rejects(access.allowed('list', 'pods', 'shop'), (e: Error) => e instanceof AuthorizationUnavailableError && /HTTP 503/.test(e.message));
      await server.setUnavailable(false);
      assert.equal(await access.allowed('list', 'pods', 'shop'), true);
      assert.deepEqual(seen.seen, ['authz error', 'authz error', 'authz denied', 'authz allowed']);
    } finally {
      client.close();
      await server.stop();
    }
  });

  it('fails closed when the server does not answer within timeoutMs', async () => {
    const silent = await silentServer();
    const client = clientFor(silent.url);
    try {
      await assert.rejects(new SubjectAccessAuthorizer({ client, timeoutMs: 200 }).accessFor(admin).allowed('list', 'pods', 'shop'), AuthorizationUnavailableError);
    } finally {
      client.close();
      await silent.stop();
    }
  });

  it('an answer without a status fails closed', async () => {
    const access = new SubjectAccessAuthorizer({ client: scriptedClient(async () => ({})) }).accessFor(admin);
    await assert.rejects(access.allowed('list', 'pods', AllNamespaces), /expected an answer with a status/);
  });
});
