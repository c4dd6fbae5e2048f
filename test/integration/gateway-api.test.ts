/**
 * Gateway API on the real control plane, discovered live: the gateway starts on a cluster
 * without the Gateway API CRDs (cluster.kinds says not watched, route fields answer empty);
 * the real standard-channel CRDs of the Gateway API release pinned in
 * test/control-plane/gateway-api/go.mod (copied out of the Go module by
 * test/control-plane/fetch-gateway-api-crds.sh, with their validation, CEL rules, defaults and
 * status subresources) are then installed while it runs, and it starts watching them without a
 * restart, at the versions they serve. A gateway whose ServiceAccount may read only the four
 * core kinds warns once per routing kind and watches none of them. A GatewayClass, a Gateway,
 * HTTPRoutes (weighted, cross-namespace with and without a ReferenceGrant, a redirect), an
 * Ingress for the same host and route status are written through the API server; route fields
 * are compared with the API's objects as it defaulted them, and every trace with the answer
 * test/harness/route-oracle.ts computes from the API's objects and slices. The ReferenceGrant
 * CRD then stops serving v1, and the gateway reads it at v1beta1. Finally the CRDs
 * are deleted while it runs: it stops watching cleanly, the route fields answer empty again and
 * traces fall back to the Ingress.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { ControlPlane, kubeconfigYaml } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { queryData } from '../harness/graphql-http.ts';
import { Workloads } from '../harness/workload.ts';
import { waitFor } from '../harness/wait.ts';
import { actualTrace, expectedTrace, readApiObjects, readyPerZone, rounded, TraceQuery, traceVariables, type Request } from '../harness/route-oracle.ts';

const Infra = 'ga-infra';
const App = 'ga-app';
const Backend = 'ga-backend';
const Node = { name: 'ga-node-a', zone: 'ga-zone-a' };
const G = '/apis/gateway.networking.k8s.io';
const Crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const GatewayKinds = ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant'];
const Net = '/apis/networking.k8s.io/v1';
/** Filled by test/control-plane/fetch-gateway-api-crds.sh (test/run.sh runs it). */
const CrdDir = resolve(import.meta.dirname, '../control-plane/crds');
if (!existsSync(join(CrdDir, 'VERSION'))) throw new Error(`${CrdDir} is empty: run test/control-plane/fetch-gateway-api-crds.sh (npm test does)`);
const CrdVersion = readFileSync(join(CrdDir, 'VERSION'), 'utf8').trim();
/** controller-gen names each file GROUP_PLURAL.yaml for the CRD PLURAL.GROUP. */
const CrdNames = readdirSync(CrdDir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/^(.*)_(.*)\.yaml$/, '$2.$1')).sort();
const kubectlBin = resolve(import.meta.dirname, '../control-plane/bin/kubectl');

describe('Gateway API on the real control plane, discovered while the gateway runs', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.80');
  let gw: Gateway;
  let url: string;
  const kubectl = async (...args: string[]) => (await promisify(execFile)(kubectlBin, ['--kubeconfig', cp.state.kubeconfigPath, ...args])).stdout;

  const kinds = async () => (await queryData(url, '{ cluster { kinds { kind watched apiVersion synced } } }')).cluster.kinds.filter((k: any) => GatewayKinds.includes(k.kind));
  const readyOf = async (namespace: string, service: string) => readyPerZone(await kube.slicesOf(namespace, service), namespace, service).reduce((n, z) => n + z.ready, 0);
  /** Traces `req` until the gateway's answer equals the oracle's on the API's current objects, then asserts it. */
  const agree = async (req: Request) => {
    let raw: any;
    let got: any;
    let want: any;
    await waitFor(`trace ${req.url} to agree with the oracle`, 60_000, async () => {
      want = rounded(expectedTrace(await readApiObjects(kube), req));
      raw = (await queryData(url, TraceQuery, traceVariables(req))).trace;
      got = rounded(actualTrace(raw));
      return isDeepStrictEqual(got, want);
    }).catch(() => {});
    assert.deepEqual(got, want, `${req.url} ${req.method ?? 'GET'} ${JSON.stringify(req.headers ?? [])}: ${raw?.message}`);
    return raw;
  };

  before(async () => {
    for (const ns of [Infra, App, Backend]) await kube.ensureNamespace(ns);
    await kube.createNode(Node.name, Node.zone);
    await kube.createService({ namespace: App, name: 'web', selector: { app: 'web' } });
    await kube.createService({ namespace: App, name: 'web-canary', selector: { app: 'web-canary' } });
    await kube.createService({ namespace: Backend, name: 'api', selector: { app: 'api' } });
    await work.scale(App, 'web', 2, [Node.name]);
    await work.scale(App, 'web-canary', 1, [Node.name]);
    await work.scale(Backend, 'api', 1, [Node.name]);
    // Left over by an earlier run: start without the CRDs.
    await kube.deleteIfPresent(`${Net}/namespaces/${App}/ingresses/shop-ingress`);
    for (const name of CrdNames) await kube.deleteIfPresent(`${Crds}/${name}`);
    await waitFor('no Gateway API group served', 60_000, async () => {
      try {
        await kube.req('GET', G);
        return false;
      } catch (err: any) {
        return err.status === 404;
      }
    });
    const cfg = parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', '--no-explorer']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }), discoveryIntervalMs: 300 });
    await gw.synced();
    url = `${gw.url}/graphql`;
  });

  after(async () => {
    await gw?.stop();
    await kube.deleteIfPresent(`${Net}/namespaces/${App}/ingresses/shop-ingress`);
    for (const name of CrdNames) await kube.deleteIfPresent(`${Crds}/${name}`);
    await kube.deleteIfPresent('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/ga-core-reader');
    await kube.deleteIfPresent('/apis/rbac.authorization.k8s.io/v1/clusterroles/ga-core-reader');
  });

  it('without the CRDs: the gateway is ready, the kinds are not watched, route fields answer empty', async () => {
    const d = await queryData(url, `{ cluster { ready } gateways { metadata { name } } httpRoutes { metadata { name } } service(namespace: "${App}", name: "web") { httpRoutes { metadata { name } } } }`);
    assert.deepEqual(d, { cluster: { ready: true }, gateways: [], httpRoutes: [], service: { httpRoutes: [] } });
    assert.deepEqual(await kinds(), GatewayKinds.map((kind) => ({ kind, watched: false, apiVersion: null, synced: true })));
    assert.equal((await agree({ url: 'http://shop.ga.example/' })).status, 'NO_MATCH');
  });

  it('CRDs installed while it runs: watched without a restart, at the versions served', async () => {
    const applied = (await kubectl('apply', '--server-side', '-f', CrdDir, '-o', 'name')).trim().split('\n').map((l) => l.replace(/^customresourcedefinition\.apiextensions\.k8s\.io\//, '')).sort();
    assert.deepEqual(applied, CrdNames);
    assert.ok(CrdNames.length >= 5, CrdNames.join(' '));
    await waitFor('every CRD Established', 60_000, async () => {
      for (const name of CrdNames) {
        const got = await kube.req('GET', `${Crds}/${name}`);
        if (!(got.status?.conditions ?? []).some((x: any) => x.type === 'Established' && x.status === 'True')) return false;
      }
      return true;
    });
    // The release's own CRDs, not a stand-in: its bundle version and channel annotations.
    const httproutes = await kube.req('GET', `${Crds}/httproutes.gateway.networking.k8s.io`);
    assert.equal(httproutes.metadata.annotations['gateway.networking.k8s.io/bundle-version'], CrdVersion);
    assert.equal(httproutes.metadata.annotations['gateway.networking.k8s.io/channel'], 'standard');
    let got: any[] = [];
    await waitFor('the gateway to watch every Gateway API kind', 60_000, async () => {
      got = await kinds();
      return got.every((k) => k.watched && k.synced);
    });
    assert.deepEqual(got.map((k) => [k.kind, k.apiVersion]), [
      ['GatewayClass', 'gateway.networking.k8s.io/v1'],
      ['Gateway', 'gateway.networking.k8s.io/v1'],
      ['HTTPRoute', 'gateway.networking.k8s.io/v1'],
      ['GRPCRoute', 'gateway.networking.k8s.io/v1'],
      // The standard channel serves ReferenceGrant at v1 and v1beta1 (stored as v1beta1): v1 is read.
      ['ReferenceGrant', 'gateway.networking.k8s.io/v1'],
    ]);
    const grantVersions = (await kube.req('GET', `${Crds}/referencegrants.gateway.networking.k8s.io`)).spec.versions.filter((v: any) => v.served).map((v: any) => v.name).sort();
    assert.deepEqual(grantVersions, ['v1', 'v1beta1']);
  });

  it('a gateway that may not read the routing kinds: one warning line each, not watched, ready all the same', async () => {
    const sa = 'ga-core-reader';
    await kube.createServiceAccount(Infra, sa);
    await kube.createRole(null, sa, [
      { apiGroups: [''], resources: ['services', 'pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    ]);
    await kube.bindRole(null, sa, { kind: 'ClusterRole', name: sa }, [{ namespace: Infra, name: sa }]);
    const path = join(mkdtempSync(join(tmpdir(), 'netgraph-ga-')), 'kubeconfig');
    writeFileSync(path, kubeconfigYaml(cp.state.apiServerUrl, cp.state.caPem, await kube.requestToken(Infra, sa), sa), { mode: 0o600 });
    const lines: string[] = [];
    const cfg = parseConfig(['--kubeconfig', path, '--port', '0', '--no-explorer']) as Config;
    const restricted = await startGateway(cfg, { logger: createLogger({ level: 'warn', format: 'text', write: (l) => lines.push(l) }), discoveryIntervalMs: 300 });
    try {
      await restricted.synced();
      await waitFor('a warning for each Gateway API kind', 30_000, () => GatewayKinds.every((k) => lines.some((l) => l.includes(`${k} is served (gateway.networking.k8s.io/`))));
      const warned = lines.filter((l) => l.includes('not watched'));
      assert.equal(warned.length, 7, warned.join('\n'));
      assert.ok(warned.some((l) => l.includes('Ingress is not watched (its fields answer empty): cannot get ingresses.networking.k8s.io in all namespaces')), warned.join('\n'));
      assert.ok(warned.some((l) => l.includes('HTTPRoute is served (gateway.networking.k8s.io/v1) but not watched (its fields answer empty): cannot get httproutes.gateway.networking.k8s.io in all namespaces')), warned.join('\n'));
      assert.ok(warned.some((l) => l.includes('ReferenceGrant is served (gateway.networking.k8s.io/v1) but not watched')), warned.join('\n'));
      const d = await queryData(`${restricted.url}/graphql`, '{ cluster { ready kinds { kind watched } } httpRoutes { metadata { name } } }');
      assert.equal(d.cluster.ready, true);
      assert.deepEqual(d.cluster.kinds.filter((k: any) => k.watched).map((k: any) => k.kind), ['Service', 'EndpointSlice', 'Pod', 'Node']);
      assert.deepEqual(d.httpRoutes, []);
    } finally {
      await restricted.stop();
    }
  });

  it('routes: HTTPRoute and GRPCRoute fields as the API holds and defaults them, weights, the cross-namespace backend refused without a grant, status conditions', async () => {
    await kube.req('POST', `${G}/v1/gatewayclasses`, { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'ga-class' }, spec: { controllerName: 'example.com/ga' } });
    await kube.req('POST', `${G}/v1/namespaces/${Infra}/gateways`, {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'edge', namespace: Infra },
      spec: { gatewayClassName: 'ga-class', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', hostname: '*.ga.example', allowedRoutes: { namespaces: { from: 'All' } } }] },
    });
    const route = (name: string, spec: object) => kube.req('POST', `${G}/v1/namespaces/${App}/httproutes`, { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: App }, spec });
    await route('shop', {
      parentRefs: [{ name: 'edge', namespace: Infra }],
      hostnames: ['shop.ga.example'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80, weight: 3 }, { name: 'web-canary', port: 80, weight: 1 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-beta', value: 'yes' }] }], backendRefs: [{ name: 'api', namespace: Backend, port: 80 }] },
        { matches: [{ path: { type: 'Exact', value: '/old' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'new.ga.example', statusCode: 301 } }] },
        // No path and no weight: the API server defaults them (PathPrefix /, weight 1).
        { matches: [{ method: 'DELETE' }], backendRefs: [{ name: 'web-canary', port: 80 }] },
      ],
    });
    await kube.req('POST', `${G}/v1/namespaces/${App}/grpcroutes`, {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', metadata: { name: 'cart-grpc', namespace: App },
      spec: { parentRefs: [{ name: 'edge', namespace: Infra }], hostnames: ['grpc.ga.example'], rules: [{ matches: [{ method: { service: 'shop.Cart', method: 'Get' } }], backendRefs: [{ name: 'api', namespace: Backend, port: 80 }, { name: 'web', port: 80, weight: 0 }] }] },
    });
    await kube.req('PATCH', `${G}/v1/namespaces/${App}/httproutes/shop/status`, {
      status: { parents: [{ parentRef: { name: 'edge', namespace: Infra }, controllerName: 'example.com/ga', conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
        { type: 'ResolvedRefs', status: 'False', reason: 'RefNotPermitted', message: 'backend ga-backend/api not permitted', lastTransitionTime: '2025-01-01T00:00:00Z' },
      ] }] },
    }, 'application/merge-patch+json');

    let d: any;
    await waitFor('the route with its status', 30_000, async () => {
      d = await queryData(url, `{ httpRoutes(namespace: "${App}") { metadata { name } hostnames parentRefs { group kind namespace name }
        parents { controllerName accepted resolvedRefs conditions { type status reason } }
        gateways { metadata { name } gatewayClassName listeners { name hostname httpRoutes { metadata { name } } } }
        rules { matches { pathType pathValue method headers { type name value } } filters { type detail }
          backendRefs { namespace name port weight weightPercent permitted service { metadata { name } } endpointCounts { ready } } } }
        web: service(namespace: "${App}", name: "web") { httpRoutes { metadata { name } } } }`);
      return d.httpRoutes.length === 1 && d.httpRoutes[0].parents.length === 1 && d.httpRoutes[0].gateways.length === 1;
    }).catch((err) => {
      throw new Error(`${err.message}; last answer: ${JSON.stringify(d).slice(0, 1500)}`);
    });
    const r = d.httpRoutes[0];
    const api = await kube.req('GET', `${G}/v1/namespaces/${App}/httproutes/shop`);
    assert.deepEqual(r.hostnames, api.spec.hostnames);
    // The API server defaulted the parentRef's group and kind, the last rule's path and weight.
    assert.deepEqual(r.parentRefs, api.spec.parentRefs.map((p: any) => ({ group: p.group, kind: p.kind, namespace: p.namespace ?? App, name: p.name })));
    assert.deepEqual(r.parentRefs, [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: Infra, name: 'edge' }]);
    assert.deepEqual([api.spec.rules[3].matches[0].path, api.spec.rules[3].backendRefs[0].weight], [{ type: 'PathPrefix', value: '/' }, 1]);
    assert.deepEqual(r.parents, [{ controllerName: 'example.com/ga', accepted: true, resolvedRefs: false, conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted' }, { type: 'ResolvedRefs', status: 'False', reason: 'RefNotPermitted' },
    ] }]);
    assert.deepEqual(r.gateways, [{ metadata: { name: 'edge' }, gatewayClassName: 'ga-class', listeners: [{ name: 'http', hostname: '*.ga.example', httpRoutes: [{ metadata: { name: 'shop' } }] }] }]);
    assert.deepEqual(r.rules.map((x: any) => x.matches), api.spec.rules.map((x: any) => x.matches.map((m: any) => ({
      pathType: m.path.type, pathValue: m.path.value, method: m.method ?? null, headers: (m.headers ?? []).map((h: any) => ({ type: h.type ?? 'Exact', name: h.name, value: h.value })),
    }))));
    assert.deepEqual(r.rules[2].filters, [{ type: 'RequestRedirect', detail: 'hostname=new.ga.example, statusCode=301' }]);
    // Every backendRef as the API holds it; the share from its rule's weights; refused across namespaces without a grant.
    const wantRefs = async (rule: any) => {
      const total = (rule.backendRefs ?? []).reduce((n: number, b: any) => n + b.weight, 0);
      return Promise.all((rule.backendRefs ?? []).map(async (b: any) => ({
        namespace: b.namespace ?? App, name: b.name, port: b.port, weight: b.weight, weightPercent: total === 0 ? 0 : (b.weight * 100) / total,
        permitted: (b.namespace ?? App) === App, service: { metadata: { name: b.name } }, endpointCounts: { ready: await readyOf(b.namespace ?? App, b.name) },
      })));
    };
    assert.deepEqual(r.rules.map((x: any) => x.backendRefs), await Promise.all(api.spec.rules.map(wantRefs)));
    assert.deepEqual(r.rules[0].backendRefs.map((b: any) => [b.name, b.weight, b.weightPercent]), [['web', 3, 75], ['web-canary', 1, 25]]);
    assert.deepEqual(r.rules[1].backendRefs.map((b: any) => [b.namespace, b.name, b.permitted]), [[Backend, 'api', false]]);
    assert.deepEqual(d.web.httpRoutes, [{ metadata: { name: 'shop' } }]);

    // A GRPCRoute, as the API holds it.
    let g: any;
    await waitFor('the GRPCRoute', 30_000, async () => {
      g = await queryData(url, `{ grpcRoutes(namespace: "${App}") { metadata { name } hostnames parentRefs { group kind namespace name }
        backendRefs { group kind namespace name port weight weightPercent permitted } } web: service(namespace: "${App}", name: "web") { grpcRoutes { metadata { name } } } }`);
      return g.grpcRoutes.length === 1;
    });
    const gapi = await kube.req('GET', `${G}/v1/namespaces/${App}/grpcroutes/cart-grpc`);
    const grefs = gapi.spec.rules.flatMap((x: any) => x.backendRefs);
    const gtotal = grefs.reduce((n: number, b: any) => n + b.weight, 0);
    assert.deepEqual(g.grpcRoutes, [{
      metadata: { name: 'cart-grpc' }, hostnames: gapi.spec.hostnames,
      parentRefs: gapi.spec.parentRefs.map((p: any) => ({ group: p.group, kind: p.kind, namespace: p.namespace ?? App, name: p.name })),
      backendRefs: grefs.map((b: any) => ({ group: b.group, kind: b.kind, namespace: b.namespace ?? App, name: b.name, port: b.port, weight: b.weight, weightPercent: (b.weight * 100) / gtotal, permitted: (b.namespace ?? App) === App })),
    }]);
    assert.deepEqual(g.grpcRoutes[0].backendRefs.map((b: any) => [b.name, b.weight, b.weightPercent, b.permitted]), [['api', 1, 100, false], ['web', 0, 0, true]]);
    assert.deepEqual(g.web.grpcRoutes, [{ metadata: { name: 'cart-grpc' } }]);
  });

  it('every trace equals the oracle on the API objects: weights, header and method matches, exact over wildcard hostnames, a redirect, a backend refused until a ReferenceGrant allows it, the Ingress as the alternative', async () => {
    // An Ingress for the same host: the HTTPRoute wins, the Ingress is the alternative.
    await kube.req('POST', `${Net}/namespaces/${App}/ingresses`, {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop-ingress', namespace: App },
      spec: { rules: [{ host: 'shop.ga.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    });
    // A wildcard route: the exact hostname of `shop` outranks it even where its path is longer.
    await kube.req('POST', `${G}/v1/namespaces/${App}/httproutes`, {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'wild', namespace: App },
      spec: { parentRefs: [{ name: 'edge', namespace: Infra, sectionName: 'http' }], hostnames: ['*.ga.example'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/cart' } }], backendRefs: [{ name: 'web-canary', port: 80 }] }] },
    });
    let t: any;
    await waitFor('ready endpoints behind the weighted rule', 60_000, async () => {
      t = (await queryData(url, TraceQuery, traceVariables({ url: 'http://shop.ga.example/cart' }))).trace;
      return t.status === 'ROUTED' && t.match.backends.every((b: any) => b.backend.endpointsByZone.some((z: any) => z.ready > 0)) && t.alsoMatched !== null;
    });
    const cases: Request[] = [
      { url: 'http://shop.ga.example/cart' },
      { url: 'http://SHOP.ga.example:8080/cart?x=1', method: 'POST' },
      // Without the header, /api is the weighted rule; with it, the cross-namespace backend.
      { url: 'http://shop.ga.example/api' },
      { url: 'http://shop.ga.example/api/x', headers: [{ name: 'X-Beta', value: 'yes' }] },
      { url: 'http://shop.ga.example/api/x', headers: [{ name: 'x-beta', value: 'no' }] },
      { url: 'http://shop.ga.example/apix', headers: [{ name: 'x-beta', value: 'yes' }] },
      // Exact /old redirects; below it, the PathPrefix / rule.
      { url: 'http://shop.ga.example/old' },
      { url: 'http://shop.ga.example/old/' },
      // A method match outranks the same path without one.
      { url: 'http://shop.ga.example/cart', method: 'DELETE' },
      // The wildcard route: one label or more, not its own path's neighbours.
      { url: 'http://other.ga.example/cart/1' },
      { url: 'http://a.b.ga.example/cart' },
      { url: 'http://other.ga.example/carts' },
      // Outside the listener's hostname.
      { url: 'http://shop.other.example/' },
    ];
    const got = new Map<Request, any>();
    for (const c of cases) got.set(c, await agree(c));
    // The oracle and the gateway agree; pin what the spec says these cases are, so that both cannot be wrong together.
    assert.deepEqual(cases.map((c) => got.get(c).status), ['ROUTED', 'ROUTED', 'ROUTED', 'REF_NOT_PERMITTED', 'ROUTED', 'ROUTED', 'ROUTED', 'ROUTED', 'ROUTED', 'ROUTED', 'ROUTED', 'NO_MATCH', 'NO_MATCH']);
    assert.deepEqual(cases.map((c) => got.get(c).match && `${got.get(c).match.httpRoute.metadata.name} ${got.get(c).match.httpMatch.pathValue}`), [
      'shop /', 'shop /', 'shop /', 'shop /api', 'shop /', 'shop /', 'shop /old', 'shop /', 'shop /', 'wild /cart', 'wild /cart', null, null,
    ]);
    assert.equal(got.get(cases[8]!).match.httpMatch.method, 'DELETE');
    t = got.get(cases[0]!);
    assert.deepEqual([t.match.kind, t.match.httpRoute.metadata.name, t.match.gateway.metadata.name, t.match.listener, t.alsoMatched.kind], ['HTTPRoute', 'shop', 'edge', 'http', 'Ingress']);
    assert.deepEqual(t.match.backends.map((b: any) => [b.backend.serviceName, b.weightPercent, b.permitted]), [['web', 75, true], ['web-canary', 25, true]]);
    assert.deepEqual(got.get(cases[3]!).match.backends.map((b: any) => [b.namespace, b.backend.serviceName, b.permitted]), [[Backend, 'api', false]]);
    assert.deepEqual([got.get(cases[6]!).status, got.get(cases[6]!).message], ['ROUTED', 'HTTPRoute ga-app/shop (Gateway ga-infra/edge listener http, rule 3, Exact /old) redirects (hostname=new.ga.example, statusCode=301)']);
    assert.equal(got.get(cases[7]!).match.httpMatch.pathValue, '/');

    await kube.req('POST', `${G}/v1beta1/namespaces/${Backend}/referencegrants`, {
      apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'from-app', namespace: Backend },
      spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: App }], to: [{ group: '', kind: 'Service', name: 'api' }] },
    });
    await waitFor('the grant to allow the backend', 30_000, async () => {
      t = (await queryData(url, TraceQuery, traceVariables(cases[3]!))).trace;
      return t.status === 'ROUTED';
    });
    t = await agree(cases[3]!);
    assert.deepEqual(t.match.backends.map((b: any) => [b.backend.serviceName, b.permitted]), [['api', true]]);
    assert.ok(t.match.backends[0].backend.endpointsByZone.some((z: any) => z.ready > 0), JSON.stringify(t.match.backends));
    // Written at v1beta1, read at v1.
    const grants = await queryData(url, `{ referenceGrants(namespace: "${Backend}") { metadata { name } from { kind namespace } to { kind name } } }`);
    assert.deepEqual(grants.referenceGrants, [{ metadata: { name: 'from-app' }, from: [{ kind: 'HTTPRoute', namespace: App }], to: [{ kind: 'Service', name: 'api' }] }]);
  });

  it('a ReferenceGrant CRD that stops serving v1 (a cluster serving it at v1beta1 alone): read at v1beta1 without a restart, grants still honoured', async () => {
    const path = `${Crds}/referencegrants.gateway.networking.k8s.io`;
    const crd = await kube.req('GET', path);
    const v1 = crd.spec.versions.findIndex((v: any) => v.name === 'v1');
    assert.ok(v1 >= 0 && crd.spec.versions[v1].storage === false, JSON.stringify(crd.spec.versions.map((v: any) => [v.name, v.served, v.storage])));
    await kube.req('PATCH', path, [{ op: 'test', path: `/spec/versions/${v1}/name`, value: 'v1' }, { op: 'replace', path: `/spec/versions/${v1}/served`, value: false }], 'application/json-patch+json');
    let got: any[] = [];
    await waitFor('ReferenceGrant to be read at v1beta1', 60_000, async () => {
      got = await kinds();
      return got.some((k) => k.kind === 'ReferenceGrant' && k.apiVersion === 'gateway.networking.k8s.io/v1beta1' && k.watched && k.synced);
    });
    assert.deepEqual(got.map((k) => [k.kind, k.apiVersion]), [
      ['GatewayClass', 'gateway.networking.k8s.io/v1'],
      ['Gateway', 'gateway.networking.k8s.io/v1'],
      ['HTTPRoute', 'gateway.networking.k8s.io/v1'],
      ['GRPCRoute', 'gateway.networking.k8s.io/v1'],
      ['ReferenceGrant', 'gateway.networking.k8s.io/v1beta1'],
    ]);
    const grants = await queryData(url, `{ referenceGrants(namespace: "${Backend}") { metadata { name } } }`);
    assert.deepEqual(grants.referenceGrants, [{ metadata: { name: 'from-app' } }]);
    const t = await agree({ url: 'http://shop.ga.example/api/x', headers: [{ name: 'X-Beta', value: 'yes' }] });
    assert.deepEqual([t.status, t.match.backends.map((b: any) => b.permitted)], ['ROUTED', [true]]);
  });

  it('CRDs removed while it runs: watching stops cleanly, route fields answer empty, it stays ready', async () => {
    await kubectl('delete', '-f', CrdDir, '--wait=false');
    let got: any[] = [];
    await waitFor('the gateway to stop watching every Gateway API kind', 90_000, async () => {
      got = await kinds();
      return got.every((k) => !k.watched);
    });
    assert.deepEqual(got, GatewayKinds.map((kind) => ({ kind, watched: false, apiVersion: null, synced: true })));
    const d = await queryData(url, `{ cluster { ready } gateways { metadata { name } } httpRoutes { metadata { name } } referenceGrants { metadata { name } } web: service(namespace: "${App}", name: "web") { httpRoutes { metadata { name } } } }`);
    assert.deepEqual(d, { cluster: { ready: true }, gateways: [], httpRoutes: [], referenceGrants: [], web: { httpRoutes: [] } });
    // Only the Ingress is left to match, as the oracle says now that the API serves no Gateway API objects.
    const t = await agree({ url: 'http://shop.ga.example/cart' });
    assert.deepEqual([t.status, t.match.kind, t.match.ingress.metadata.name, t.alsoMatched], ['ROUTED', 'Ingress', 'shop-ingress', null]);
  });
});
