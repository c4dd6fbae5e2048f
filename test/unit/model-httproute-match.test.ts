/**
 * The HTTPRoute matcher against the Gateway API specification's rules (HTTPRouteSpec.hostnames,
 * HTTPRouteRule.matches and the precedence documented on HTTPRouteRule), listener attachment,
 * ReferenceGrant and weights. Objects are built as API objects and ingested.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ingestGateway, ingestHTTPRoute, ingestReferenceGrant, type GatewayRecord, type HTTPRouteRecord } from '../../src/kube/gateway-api.ts';
import { hostMatches, matchHTTPRoute, referencePermitted, weightPercents, type HTTPRequest } from '../../src/model/httproute-match.ts';

const gw = (listeners: object[], namespace = 'infra', name = 'gw'): GatewayRecord =>
  ingestGateway({ metadata: { namespace, name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { gatewayClassName: 'c', listeners } });
const listener = (o: object = {}) => ({ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } }, ...o });
let n = 0;
const route = (name: string, spec: { hostnames?: string[]; rules?: object[]; parentRefs?: object[] }, o: { namespace?: string; createdAt?: string } = {}): HTTPRouteRecord =>
  ingestHTTPRoute({
    metadata: { namespace: o.namespace ?? 'app', name, uid: `uid-${name}-${++n}`, resourceVersion: '1', creationTimestamp: o.createdAt ?? '2025-01-01T00:00:00Z' },
    spec: { parentRefs: spec.parentRefs ?? [{ name: 'gw', namespace: 'infra' }], hostnames: spec.hostnames, rules: spec.rules },
  });
const rule = (backend: string, ...matches: object[]) => ({ matches, backendRefs: [{ name: backend, port: 80 }] });
const req = (url: string, o: { method?: string; headers?: Record<string, string> } = {}): HTTPRequest => {
  const u = new URL(url);
  return { host: u.hostname, path: u.pathname, method: o.method ?? 'GET', headers: new Map(Object.entries(o.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])), query: u.searchParams };
};
const served = (routes: HTTPRouteRecord[], r: HTTPRequest, gateway = gw([listener()])) =>
  matchHTTPRoute(routes, new Map([[`${gateway.meta.namespace}/${gateway.meta.name}`, gateway]]), r)?.rule.backendRefs[0]?.name ?? null;

describe('HTTPRoute hostnames', () => {
  const table: [string, string, string, boolean][] = [
    ['an exact hostname matches itself', 'foo.example.com', 'foo.example.com', true],
    ['"*.example.com" matches one label', '*.example.com', 'foo.example.com', true],
    ['"*.example.com" matches several labels (suffix match)', '*.example.com', 'foo.test.example.com', true],
    ['"*.example.com" does not match "example.com"', '*.example.com', 'example.com', false],
    ['exact hostnames are not prefixes', 'foo.example.com', 'bar.foo.example.com', false],
  ];
  for (const [title, pattern, host, want] of table) it(title, () => assert.equal(hostMatches(pattern, host), want));

  it('the route with the most specific matching hostname wins: exact over wildcard, longer wildcard over shorter', () => {
    const routes = [
      route('wild', { hostnames: ['*.example.com'], rules: [rule('wild')] }),
      route('wilder', { hostnames: ['*.test.example.com'], rules: [rule('wilder')] }),
      route('exact', { hostnames: ['foo.test.example.com'], rules: [rule('exact')] }),
      route('none', { rules: [rule('none')] }),
    ];
    assert.equal(served(routes, req('http://foo.test.example.com/')), 'exact');
    assert.equal(served(routes, req('http://bar.test.example.com/')), 'wilder');
    assert.equal(served(routes, req('http://bar.example.com/')), 'wild');
    assert.equal(served(routes, req('http://other.org/')), 'none');
  });

  it('a listener hostname narrows what reaches the routes', () => {
    const g = gw([listener({ hostname: '*.shop.example' })]);
    assert.equal(served([route('r', { rules: [rule('r')] })], req('http://a.shop.example/'), g), 'r');
    assert.equal(served([route('r', { rules: [rule('r')] })], req('http://a.other.example/'), g), null);
  });
});

describe('HTTPRoute match precedence (HTTPRouteRule)', () => {
  it('"Exact" path match wins over any PathPrefix', () => {
    const r = route('r', { rules: [rule('prefix', { path: { type: 'PathPrefix', value: '/foo' } }), rule('exact', { path: { type: 'Exact', value: '/foo' } })] });
    assert.equal(served([r], req('http://h/foo')), 'exact');
    assert.equal(served([r], req('http://h/foo/bar')), 'prefix');
  });
  it('"PathPrefix" with the largest number of characters wins', () => {
    const r = route('r', { rules: [rule('short', { path: { type: 'PathPrefix', value: '/' } }), rule('long', { path: { type: 'PathPrefix', value: '/foo/bar' } })] });
    assert.equal(served([r], req('http://h/foo/bar/baz')), 'long');
    assert.equal(served([r], req('http://h/foo/barbaz')), 'short', 'PathPrefix is element-wise');
  });
  it('then a method match', () => {
    const r = route('r', { rules: [rule('any', { path: { type: 'PathPrefix', value: '/' } }), rule('post', { path: { type: 'PathPrefix', value: '/' }, method: 'POST' })] });
    assert.equal(served([r], req('http://h/x', { method: 'POST' })), 'post');
    assert.equal(served([r], req('http://h/x')), 'any');
  });
  it('then the largest number of header matches (names case-insensitive, values exact or regular expressions)', () => {
    const r = route('r', {
      rules: [
        rule('one', { headers: [{ name: 'env', value: 'canary' }] }),
        rule('two', { headers: [{ name: 'env', value: 'canary' }, { name: 'X-User', type: 'RegularExpression', value: 'a.*' }] }),
        rule('none', {}),
      ],
    });
    assert.equal(served([r], req('http://h/', { headers: { Env: 'canary', 'x-user': 'alice' } })), 'two');
    assert.equal(served([r], req('http://h/', { headers: { env: 'canary', 'x-user': 'bob' } })), 'one');
    assert.equal(served([r], req('http://h/', { headers: { env: 'prod' } })), 'none');
  });
  it('then the largest number of query param matches', () => {
    const r = route('r', { rules: [rule('q', { queryParams: [{ name: 'v', value: '2' }] }), rule('plain', {})] });
    assert.equal(served([r], req('http://h/?v=2')), 'q');
    assert.equal(served([r], req('http://h/?v=3')), 'plain');
  });
  it('ties across routes: the oldest route, then namespace/name alphabetically; within a route, the first rule', () => {
    const older = route('z', { rules: [rule('older')] }, { createdAt: '2024-01-01T00:00:00Z' });
    const newer = route('a', { rules: [rule('newer')] }, { createdAt: '2025-01-01T00:00:00Z' });
    assert.equal(served([newer, older], req('http://h/')), 'older');
    const b = route('b', { rules: [rule('b')] });
    const a = route('a', { rules: [rule('a-first'), rule('a-second')] });
    assert.equal(served([b, a], req('http://h/')), 'a-first');
  });
  it('a rule without matches matches every path (PathPrefix "/")', () => {
    assert.equal(served([route('r', { rules: [{ backendRefs: [{ name: 'all', port: 80 }] }] })], req('http://h/any/thing')), 'all');
  });
});

describe('HTTPRoute attachment', () => {
  it('allowedRoutes Same admits routes of the Gateway namespace only; sectionName picks a listener', () => {
    const g = gw([listener({ name: 'same', allowedRoutes: { namespaces: { from: 'Same' } } })]);
    assert.equal(served([route('r', { rules: [rule('r')] }, { namespace: 'app' })], req('http://h/'), g), null);
    assert.equal(served([route('r', { rules: [rule('r')] }, { namespace: 'infra' })], req('http://h/'), g), 'r');
    const named = route('r', { parentRefs: [{ name: 'gw', namespace: 'infra', sectionName: 'other' }], rules: [rule('r')] });
    assert.equal(served([named], req('http://h/')), null);
  });
  it('a parentRef to a Gateway that does not exist attaches nothing', () => {
    assert.equal(served([route('r', { parentRefs: [{ name: 'missing' }], rules: [rule('r')] })], req('http://h/')), null);
  });
});

describe('ReferenceGrant and weights', () => {
  const grant = ingestReferenceGrant({
    metadata: { namespace: 'backend', name: 'allow-app', uid: 'g', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'app' }], to: [{ group: '', kind: 'Service', name: 'api' }] },
  });
  it('same namespace needs no grant; another namespace needs one naming the route kind, namespace and Service', () => {
    assert.equal(referencePermitted([], 'HTTPRoute', 'app', 'app', 'web'), true);
    assert.equal(referencePermitted([], 'HTTPRoute', 'app', 'backend', 'api'), false);
    assert.equal(referencePermitted([grant], 'HTTPRoute', 'app', 'backend', 'api'), true);
    assert.equal(referencePermitted([grant], 'HTTPRoute', 'app', 'backend', 'db'), false, 'the grant names api only');
    assert.equal(referencePermitted([grant], 'HTTPRoute', 'other', 'backend', 'api'), false, 'from another namespace');
    assert.equal(referencePermitted([grant], 'GRPCRoute', 'app', 'backend', 'api'), false, 'from another kind');
  });
  it('weights are shares of their rule: 3 and 1 are 75% and 25%; all zero is 0%', () => {
    assert.deepEqual(weightPercents([3, 1]), [75, 25]);
    assert.deepEqual(weightPercents([1]), [100]);
    assert.deepEqual(weightPercents([0, 0]), [0, 0]);
  });
});

describe('HTTPRoute regular expressions run in linear time', () => {
  it('patterns with nested repetition answer at once for values built to make a backtracking engine run for ever', async () => {
    // A backtracking engine needs about 2^n steps to refuse these values: n = 5,000 would never
    // finish. The matches run in a worker so that a regression fails here after 20 s instead of
    // hanging the run (a synchronous loop cannot be interrupted in this thread).
    const hostile = 'a'.repeat(5_000) + '!';
    const cases: [string, string][] = [['(a+)+', hostile], ['(a|aa)*', hostile], ['/(a*)*b', `/${hostile}`], ['(a+)+', 'aaaa'], ['(a|aa)*', 'aaa'], ['/(a*)*b', '/aaab']];
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       import(workerData.module).then(({ regexFull }) => parentPort.postMessage(workerData.cases.map(([p, v]) => regexFull(p, v))));`,
      { eval: true, workerData: { module: new URL('../../src/model/regex.ts', import.meta.url).href, cases } },
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      const answers = await Promise.race([
        new Promise<boolean[]>((resolve, reject) => worker.once('message', resolve).once('error', reject)),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the matches did not finish within 20 s: backtracking')), 20_000))),
      ]);
      assert.deepEqual(answers, [false, false, false, true, true, true]);
    } finally {
      clearTimeout(timer);
      await worker.terminate();
    }
  });
  it('a route rule whose pattern the linear-time engine cannot run (backreference, lookahead) matches nothing, like an invalid one; others match', () => {
    const r = route('r', {
      rules: [
        rule('backref', { headers: [{ name: 'x', type: 'RegularExpression', value: '(a)\\1' }] }),
        rule('lookahead', { headers: [{ name: 'y', type: 'RegularExpression', value: 'a(?=b)b' }] }),
        rule('invalid', { headers: [{ name: 'z', type: 'RegularExpression', value: '(' }] }),
        rule('nested', { headers: [{ name: 'w', type: 'RegularExpression', value: '(a+)+' }] }),
        rule('none', {}),
      ],
    });
    assert.equal(served([r], req('http://h/', { headers: { x: 'aa' } })), 'none');
    assert.equal(served([r], req('http://h/', { headers: { y: 'ab' } })), 'none');
    assert.equal(served([r], req('http://h/', { headers: { z: '(' } })), 'none');
    assert.equal(served([r], req('http://h/', { headers: { w: 'aaaa' } })), 'nested');
  });
});
