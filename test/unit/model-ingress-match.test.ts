/**
 * The Ingress matcher against the Ingress specification's own examples (the "Examples" table
 * of https://kubernetes.io/docs/concepts/services-networking/ingress/#examples, and its host
 * wildcard table), and the precedence the gateway documents in docs/routes.md. Ingresses are
 * built as API objects and ingested, so the records are the ones the cache holds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ingestIngress } from '../../src/kube/ingest.ts';
import type { IngressRecord } from '../../src/kube/routes.ts';
import { matchHost, matchIngress, matchPath, requestOfUrl } from '../../src/model/ingress-match.ts';

// Builders.

type PathSpec = { path?: string; pathType: string; service: string };
let created = 0;
function ingress(name: string, rules: { host?: string; paths: PathSpec[] }[], opts: { defaultService?: string; createdAt?: string; namespace?: string } = {}): IngressRecord {
  created++;
  return ingestIngress({
    metadata: { namespace: opts.namespace ?? 'shop', name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: opts.createdAt ?? `2025-01-01T00:00:${String(created % 60).padStart(2, '0')}Z` },
    spec: {
      ...(opts.defaultService ? { defaultBackend: { service: { name: opts.defaultService, port: { number: 80 } } } } : {}),
      rules: rules.map((r) => ({
        ...(r.host ? { host: r.host } : {}),
        http: { paths: r.paths.map((p) => ({ ...(p.path !== undefined ? { path: p.path } : {}), pathType: p.pathType, backend: { service: { name: p.service, port: { number: 80 } } } })) },
      })),
    },
  });
}

/** The Service a request reaches, or null. */
function serviceFor(ingresses: IngressRecord[], host: string, path: string): string | null {
  return matchIngress(ingresses, { host, path })?.backend.service?.name ?? null;
}

describe('Ingress path matching (the specification\'s examples table)', () => {
  // [rule path type, rule paths (each to the Service named after it), request path, the Service expected or null]
  const table: [string, string, string[], string, string | null][] = [
    ['Prefix "/" matches every path', 'Prefix', ['/'], '/anything/at/all', '/'],
    ['Exact "/foo" matches "/foo"', 'Exact', ['/foo'], '/foo', '/foo'],
    ['Exact "/foo" does not match "/bar"', 'Exact', ['/foo'], '/bar', null],
    ['Exact "/foo" does not match "/foo/"', 'Exact', ['/foo'], '/foo/', null],
    ['Exact "/foo/" does not match "/foo"', 'Exact', ['/foo/'], '/foo', null],
    ['Prefix "/foo" matches "/foo"', 'Prefix', ['/foo'], '/foo', '/foo'],
    ['Prefix "/foo" matches "/foo/"', 'Prefix', ['/foo'], '/foo/', '/foo'],
    ['Prefix "/foo/" matches "/foo" (trailing slash ignored)', 'Prefix', ['/foo/'], '/foo', '/foo/'],
    ['Prefix "/foo/" matches "/foo/"', 'Prefix', ['/foo/'], '/foo/', '/foo/'],
    ['Prefix "/aaa/bb" does not match "/aaa/bbb" (element-wise, not string prefix)', 'Prefix', ['/aaa/bb'], '/aaa/bbb', null],
    ['Prefix "/aaa/bbb" matches "/aaa/bbb"', 'Prefix', ['/aaa/bbb'], '/aaa/bbb', '/aaa/bbb'],
    ['Prefix "/aaa/bbb/" matches "/aaa/bbb" (ignores trailing slash)', 'Prefix', ['/aaa/bbb/'], '/aaa/bbb', '/aaa/bbb/'],
    ['Prefix "/aaa/bbb" matches "/aaa/bbb/" (matches trailing slash)', 'Prefix', ['/aaa/bbb'], '/aaa/bbb/', '/aaa/bbb'],
    ['Prefix "/aaa/bbb" matches "/aaa/bbb/ccc" (matches subpath)', 'Prefix', ['/aaa/bbb'], '/aaa/bbb/ccc', '/aaa/bbb'],
    ['Prefix "/aaa/bbb" does not match "/aaa/bbbxyz" (not a string prefix)', 'Prefix', ['/aaa/bbb'], '/aaa/bbbxyz', null],
    ['Prefix "/" and "/aaa": "/aaa/ccc" takes the longest, "/aaa"', 'Prefix', ['/', '/aaa'], '/aaa/ccc', '/aaa'],
    ['Prefix "/", "/aaa", "/aaa/bbb": "/aaa/bbb" takes "/aaa/bbb"', 'Prefix', ['/', '/aaa', '/aaa/bbb'], '/aaa/bbb', '/aaa/bbb'],
    ['Prefix "/", "/aaa", "/aaa/bbb": "/ccc" takes "/"', 'Prefix', ['/', '/aaa', '/aaa/bbb'], '/ccc', '/'],
    ['Prefix "/aaa" does not match "/ccc" (the default backend would)', 'Prefix', ['/aaa'], '/ccc', null],
    ['ImplementationSpecific is treated as Prefix: "/api" matches "/api/v1"', 'ImplementationSpecific', ['/api'], '/api/v1', '/api'],
    ['ImplementationSpecific is treated as Prefix: "/api" does not match "/apis"', 'ImplementationSpecific', ['/api'], '/apis', null],
    ['matching is case-sensitive: Prefix "/foo" does not match "/FOO"', 'Prefix', ['/foo'], '/FOO', null],
  ];
  for (const [title, pathType, paths, request, want] of table) {
    it(title, () => {
      const ing = ingress('t', [{ host: 'foo.bar.com', paths: paths.map((p) => ({ path: p, pathType, service: p })) }]);
      assert.equal(serviceFor([ing], 'foo.bar.com', request), want);
    });
  }

  it('Mixed: "/foo" as Prefix and as Exact, request "/foo": Exact wins', () => {
    const ing = ingress('t', [{ paths: [{ path: '/foo', pathType: 'Prefix', service: 'prefix' }, { path: '/foo', pathType: 'Exact', service: 'exact' }] }]);
    assert.equal(serviceFor([ing], 'any.host', '/foo'), 'exact');
    assert.equal(serviceFor([ing], 'any.host', '/foo/x'), 'prefix');
  });

  it('a path without a path field matches every path, as "/" does', () => {
    assert.equal(matchPath('Prefix', null, '/x/y'), true);
    assert.equal(matchPath('ImplementationSpecific', null, '/'), true);
  });
});

describe('Ingress host matching (the specification\'s wildcard table)', () => {
  // [rule host, request host, how it matches or null]
  const table: [string, string | null, string, string | null][] = [
    ['"*.foo.com" matches "bar.foo.com" (one label)', '*.foo.com', 'bar.foo.com', 'WILDCARD'],
    ['"*.foo.com" does not match "baz.bar.foo.com" (only one label)', '*.foo.com', 'baz.bar.foo.com', null],
    ['"*.foo.com" does not match "foo.com" (no label)', '*.foo.com', 'foo.com', null],
    ['"bar.foo.com" matches "bar.foo.com" exactly', 'bar.foo.com', 'bar.foo.com', 'EXACT'],
    ['"bar.foo.com" does not match "baz.foo.com"', 'bar.foo.com', 'baz.foo.com', null],
    ['host names are case-insensitive', 'Bar.Foo.com', 'bar.foo.com', 'EXACT'],
    ['a rule without a host matches every host', null, 'whatever.example', 'ANY'],
  ];
  for (const [title, rule, host, want] of table) it(title, () => assert.equal(matchHost(rule, host), want));
});

describe('Ingress precedence across rules and Ingresses', () => {
  it('an exact host wins over a wildcard, which wins over a rule without a host, whatever their paths', () => {
    const any = ingress('any', [{ paths: [{ path: '/cart/items', pathType: 'Prefix', service: 'any' }] }]);
    const wild = ingress('wild', [{ host: '*.example.com', paths: [{ path: '/cart', pathType: 'Prefix', service: 'wild' }] }]);
    const exact = ingress('exact', [{ host: 'shop.example.com', paths: [{ path: '/', pathType: 'Prefix', service: 'exact' }] }]);
    assert.equal(serviceFor([any, wild, exact], 'shop.example.com', '/cart/items'), 'exact');
    assert.equal(serviceFor([any, wild], 'shop.example.com', '/cart/items'), 'wild');
    assert.equal(serviceFor([any, wild], 'a.b.example.com', '/cart/items'), 'any');
  });

  it('the longest matching path wins across Ingresses of the same host', () => {
    const a = ingress('a', [{ host: 'shop.example.com', paths: [{ path: '/', pathType: 'Prefix', service: 'root' }] }]);
    const b = ingress('b', [{ host: 'shop.example.com', paths: [{ path: '/cart', pathType: 'Prefix', service: 'cart' }] }]);
    assert.equal(serviceFor([a, b], 'shop.example.com', '/cart/1'), 'cart');
    assert.equal(serviceFor([a, b], 'shop.example.com', '/carts'), 'root');
  });

  it('equal rules: the oldest Ingress wins, then namespace/name alphabetically', () => {
    const rule = (svc: string) => [{ host: 'shop.example.com', paths: [{ path: '/', pathType: 'Prefix', service: svc }] }];
    const newer = ingress('a-newer', rule('newer'), { createdAt: '2025-02-01T00:00:00Z' });
    const older = ingress('z-older', rule('older'), { createdAt: '2025-01-01T00:00:00Z' });
    assert.equal(serviceFor([newer, older], 'shop.example.com', '/'), 'older');
    const b = ingress('b', rule('b'), { createdAt: '2025-01-01T00:00:00Z' });
    const a = ingress('a', rule('a'), { createdAt: '2025-01-01T00:00:00Z', namespace: 'zz' });
    const a2 = ingress('a', rule('a-in-aa'), { createdAt: '2025-01-01T00:00:00Z', namespace: 'aa' });
    assert.equal(serviceFor([b, a, a2], 'shop.example.com', '/'), 'a-in-aa');
  });

  it('no rule matches: the default backend of the oldest Ingress that has one; without one, no match', () => {
    const rules = ingress('rules', [{ host: 'shop.example.com', paths: [{ path: '/cart', pathType: 'Exact', service: 'cart' }] }]);
    const fallback = ingress('fallback', [], { defaultService: 'default-http', createdAt: '2024-01-01T00:00:00Z' });
    const m = matchIngress([rules, fallback], { host: 'shop.example.com', path: '/other' });
    assert.equal(m?.hostMatch, 'DEFAULT_BACKEND');
    assert.equal(m?.backend.service?.name, 'default-http');
    assert.equal(m?.path, null);
    assert.equal(matchIngress([rules], { host: 'shop.example.com', path: '/other' }), null);
    assert.equal(matchIngress([], { host: 'shop.example.com', path: '/' }), null);
  });
});

describe('requestOfUrl', () => {
  it('reads host (lower-cased, without port), path (without query) and query, http by default', () => {
    const r = requestOfUrl('https://Shop.Example.com:8443/cart?x=1#top');
    assert.deepEqual([r.scheme, r.host, r.path, r.query.get('x')], ['https', 'shop.example.com', '/cart', '1']);
    const bare = requestOfUrl('shop.example.com');
    assert.deepEqual([bare.scheme, bare.host, bare.path, [...bare.query]], ['http', 'shop.example.com', '/', []]);
  });
  it('refuses what is not an http(s) URL, saying what was expected', () => {
    assert.throws(() => requestOfUrl('ftp://x/'), /url: expected the scheme http or https, got "ftp"/);
    assert.throws(() => requestOfUrl('http://'), /url: expected an http or https URL/);
  });
});
