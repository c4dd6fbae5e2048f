/**
 * Routes on the real control plane: Ingresses and an IngressClass written through the API
 * server after the gateway has started, pods made ready so that the real EndpointSlice
 * controller writes slices, a LoadBalancer Service and an Ingress given status addresses
 * through their status subresources. Every Ingress field is compared with the API's own
 * objects; Service → Ingresses and Pod → hostnames with relations computed here from the API's
 * Ingresses and slices; every trace with the answer of test/harness/route-oracle.ts, computed
 * from the Ingresses, Services and EndpointSlices read back from the API server (the route,
 * path, status and ready endpoints per zone), plus the statuses the Ingress specification gives.
 * Then the rules are edited and an Ingress deleted, and the answers follow.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { queryData } from '../harness/graphql-http.ts';
import { Workloads } from '../harness/workload.ts';
import { EndpointSubscriber } from '../harness/subscriber.ts';
import { waitFor } from '../harness/wait.ts';
import { actualTrace, expectedTrace, readApiObjects, readyPerZone, rounded, TraceQuery, traceVariables, type ZoneReady } from '../harness/route-oracle.ts';

const Ns = 'rt-shop';
const Nodes = [{ name: 'rt-node-a', zone: 'rt-zone-a' }, { name: 'rt-node-b', zone: 'rt-zone-b' }];
const Net = '/apis/networking.k8s.io/v1';

const backend = (name: string, port: number | string) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
const prefix = (path: string, service: string, port: number | string = 'http') => ({ path, pathType: 'Prefix', backend: backend(service, port) });

describe('routes on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const work = new Workloads(kube, '10.70');
  let gw: Gateway;
  let url: string;

  const putIngress = async (name: string, spec: object) => {
    const body = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: Ns }, spec };
    try {
      const cur = await kube.req('GET', `${Net}/namespaces/${Ns}/ingresses/${name}`);
      await kube.req('PUT', `${Net}/namespaces/${Ns}/ingresses/${name}`, { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } });
    } catch (err: any) {
      if (err.status !== 404) throw err;
      await kube.req('POST', `${Net}/namespaces/${Ns}/ingresses`, body);
    }
  };

  /** Ready endpoints per zone of a Service, from the API's slices, sorted by zone. */
  const readyByZone = async (service: string): Promise<ZoneReady[]> => readyPerZone(await kube.slicesOf(Ns, service), Ns, service);

  before(async () => {
    await kube.ensureNamespace(Ns);
    for (const n of Nodes) await kube.createNode(n.name, n.zone);
    await kube.createService({ namespace: Ns, name: 'web', selector: { app: 'web' } });
    await kube.createService({ namespace: Ns, name: 'api', selector: { app: 'api' }, ports: [{ name: 'grpc', port: 9090, targetPort: 'http' }] });
    await kube.createService({ namespace: Ns, name: 'empty', selector: { app: 'nothing' } });
    await kube.createService({ namespace: Ns, name: 'edge', selector: { app: 'web' }, type: 'LoadBalancer' });
    await work.scale(Ns, 'web', 3, Nodes.map((n) => n.name));
    await work.scale(Ns, 'api', 2, [Nodes[1]!.name]);
    await work.setReady(Ns, 'web', 'web-2', false);
    // web-2 was made ready when created, then unready: the EndpointSlice controller may still list
    // it ready for a moment. The specs below compare the gateway with the API's slices and then
    // read those slices against the intended state, so start from that state.
    await waitFor('the EndpointSlice controller to list web-2 not ready', 30_000, async () =>
      isDeepStrictEqual(await readyByZone('web'), [{ zone: 'rt-zone-a', ready: 1 }, { zone: 'rt-zone-b', ready: 1 }]),
    );
    const cfg = parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', '--no-explorer']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }) });
    await gw.synced();
    url = `${gw.url}/graphql`;
    // Written after the gateway started: the watches, not the first list, bring them in.
    await kube.req('POST', `${Net}/ingressclasses`, {
      apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass',
      metadata: { name: 'rt-nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'k8s.io/ingress-nginx' },
    });
    await putIngress('storefront', {
      tls: [{ hosts: ['shop.rt.example'], secretName: 'shop-tls' }],
      rules: [
        { host: 'shop.rt.example', http: { paths: [prefix('/', 'web'), { path: '/cart', pathType: 'Exact', backend: backend('web', 80) }, prefix('/api', 'api', 'grpc'), prefix('/admin', 'empty', 80)] } },
      ],
    });
    await putIngress('wild', { ingressClassName: 'rt-nginx', rules: [{ host: '*.rt.example', http: { paths: [prefix('/', 'api', 9090)] } }] });
    await kube.req('PATCH', `/api/v1/namespaces/${Ns}/services/edge/status`, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } }, 'application/merge-patch+json');
    await kube.req('PATCH', `${Net}/namespaces/${Ns}/ingresses/storefront/status`, { status: { loadBalancer: { ingress: [{ hostname: 'lb.rt.example' }] } } }, 'application/merge-patch+json');
  });

  after(async () => {
    await gw?.stop();
    await kube.deleteIfPresent(`${Net}/ingressclasses/rt-nginx`);
  });

  it('Ingress and IngressClass are watched and synced', async () => {
    const d = await queryData(url, '{ cluster { ready kinds { kind watched synced } } }');
    assert.equal(d.cluster.ready, true);
    assert.deepEqual(d.cluster.kinds.filter((k: any) => k.kind.startsWith('Ingress')), [
      { kind: 'Ingress', watched: true, synced: true },
      { kind: 'IngressClass', watched: true, synced: true },
    ]);
  });

  it('every Ingress field equals the API object; status addresses of the Ingress and the LoadBalancer Service', async () => {
    const query = `{ ingresses(namespace: "${Ns}") { items {
      metadata { name uid resourceVersion } ingressClassName ingressClass { metadata { name } controller isDefault }
      loadBalancerIngress { ip hostname } tls { hosts secretName }
      rules { host paths { path pathType backend { serviceName servicePort } } } } }
      edge: service(namespace: "${Ns}", name: "edge") { type loadBalancerIngress { ip hostname } } }`;
    let d: any;
    let want: any;
    await waitFor('the gateway to serve the Ingresses as the API holds them, status included', 30_000, async () => {
      d = await queryData(url, query);
      const api = (await kube.list(`${Net}/namespaces/${Ns}/ingresses`)).items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      want = api.map((i) => ({
        metadata: { name: i.metadata.name, uid: i.metadata.uid, resourceVersion: i.metadata.resourceVersion },
        ingressClassName: i.spec.ingressClassName ?? null,
        // Named, or the default class when it names none.
        ingressClass: { metadata: { name: 'rt-nginx' }, controller: 'k8s.io/ingress-nginx', isDefault: true },
        loadBalancerIngress: (i.status?.loadBalancer?.ingress ?? []).map((l: any) => ({ ip: l.ip ?? null, hostname: l.hostname ?? null })),
        tls: (i.spec.tls ?? []).map((t: any) => ({ hosts: t.hosts, secretName: t.secretName })),
        rules: i.spec.rules.map((r: any) => ({
          host: r.host ?? null,
          paths: r.http.paths.map((p: any) => ({ path: p.path, pathType: p.pathType, backend: { serviceName: p.backend.service.name, servicePort: String(p.backend.service.port.number ?? p.backend.service.port.name) } })),
        })),
      }));
      return isDeepStrictEqual(d.ingresses.items, want) && d.edge.loadBalancerIngress.length === 1;
    });
    assert.deepEqual(d.ingresses.items, want);
    assert.deepEqual(d.ingresses.items[0].loadBalancerIngress, [{ ip: null, hostname: 'lb.rt.example' }]);
    assert.deepEqual(d.edge, { type: 'LoadBalancer', loadBalancerIngress: [{ ip: '203.0.113.7', hostname: null }] });
  });

  it('Service → Ingresses and Pod → hostnames equal the relations computed from the API', async () => {
    const api = (await kube.list(`${Net}/namespaces/${Ns}/ingresses`)).items;
    const services = ['api', 'edge', 'empty', 'web'];
    const wantIngresses = Object.fromEntries(services.map((s) => [s, api.filter((i) => i.spec.rules.some((r: any) => r.http.paths.some((p: any) => p.backend.service?.name === s))).map((i) => i.metadata.name).sort()]));
    const pods = [...work.podsOf(Ns, 'web').keys(), ...work.podsOf(Ns, 'api').keys()].sort();
    const wantHosts: Record<string, string[]> = {};
    for (const pod of pods) {
      const hosts = new Set<string>();
      for (const s of services) {
        const isEndpoint = (await kube.slicesOf(Ns, s)).some((sl: any) => (sl.endpoints ?? []).some((e: any) => e.targetRef?.name === pod));
        if (!isEndpoint) continue;
        for (const i of api) for (const r of i.spec.rules) if (r.http.paths.some((p: any) => p.backend.service?.name === s)) hosts.add(r.host ?? '*');
      }
      wantHosts[pod] = [...hosts].sort();
    }
    let d: any;
    await waitFor('relations to match the API', 30_000, async () => {
      d = await queryData(url, `{ services(namespace: "${Ns}") { items { metadata { name } ingresses { metadata { name } } } } pods(namespace: "${Ns}") { items { metadata { name } hostnames } } }`);
      return isDeepStrictEqual(Object.fromEntries(d.services.items.map((s: any) => [s.metadata.name, s.ingresses.map((i: any) => i.metadata.name)])), wantIngresses)
        && isDeepStrictEqual(Object.fromEntries(d.pods.items.map((p: any) => [p.metadata.name, p.hostnames])), wantHosts);
    });
    assert.deepEqual(wantIngresses, { api: ['storefront', 'wild'], edge: [], empty: ['storefront'], web: ['storefront'] });
    assert.deepEqual(wantHosts['api-0'], ['*.rt.example', 'shop.rt.example']);
    assert.deepEqual(wantHosts['web-0'], ['shop.rt.example']);
  });

  /** [url, status, Ingress, matched path or null, Service or null] — read off the rules by the Ingress specification. */
  const table: [string, string, string | null, string | null, string | null][] = [
    ['https://shop.rt.example/', 'ROUTED', 'storefront', '/', 'web'],
    ['https://shop.rt.example/cart', 'ROUTED', 'storefront', '/cart', 'web'],
    ['https://shop.rt.example/cart/1', 'ROUTED', 'storefront', '/', 'web'],
    ['https://shop.rt.example/api/v1', 'ROUTED', 'storefront', '/api', 'api'],
    ['https://shop.rt.example/apis', 'ROUTED', 'storefront', '/', 'web'],
    ['https://shop.rt.example/admin', 'NO_READY_ENDPOINTS', 'storefront', '/admin', 'empty'],
    ['http://m.rt.example/x', 'ROUTED', 'wild', '/', 'api'],
    ['http://a.m.rt.example/x', 'NO_MATCH', null, null, null],
    ['http://rt.example/', 'NO_MATCH', null, null, null],
  ];

  it('every trace equals the oracle on the API objects (route, path, status, ready endpoints per zone) and the route the rules give', async () => {
    for (const [u, status, ingress, path, service] of table) {
      let raw: any;
      let got: any;
      let want: any;
      await waitFor(`trace ${u} to agree with the oracle`, 30_000, async () => {
        want = rounded(expectedTrace(await readApiObjects(kube), { url: u }));
        raw = (await queryData(url, TraceQuery, traceVariables({ url: u }))).trace;
        got = rounded(actualTrace(raw));
        return isDeepStrictEqual(got, want);
      }).catch(() => {});
      assert.deepEqual(got, want, `${u}: ${raw?.message}`);
      // The oracle agrees with the gateway; the table keeps both honest.
      assert.deepEqual([got.status, got.match?.object ?? null, got.match?.path ?? null, got.match?.backends[0]!.service ?? null], [status, ingress && `${Ns}/${ingress}`, path, service], u);
    }
    // The web Service: web-0 (zone a) and web-1 (zone b) ready, web-2 not.
    assert.deepEqual(await readyByZone('web'), [{ zone: 'rt-zone-a', ready: 1 }, { zone: 'rt-zone-b', ready: 1 }]);
  });

  it('follows edits: a rule pointed elsewhere, a pod turned ready, an Ingress deleted', async () => {
    const trace = async (u: string) => (await queryData(url, `{ trace(url: "${u}") { status match { ingress { metadata { name } } backends { backend { serviceName endpointCounts { ready } } } } } }`)).trace;
    await putIngress('storefront', { rules: [{ host: 'shop.rt.example', http: { paths: [prefix('/', 'empty', 80)] } }] });
    await waitFor('/ to lead to the empty Service', 30_000, async () => (await trace('https://shop.rt.example/')).status === 'NO_READY_ENDPOINTS');
    await putIngress('storefront', { rules: [{ host: 'shop.rt.example', http: { paths: [prefix('/', 'web')] } }] });
    await work.setReady(Ns, 'web', 'web-2', true);
    await waitFor('web-2 ready: 3 ready endpoints', 60_000, async () => {
      const t = await trace('https://shop.rt.example/');
      return t.status === 'ROUTED' && t.match.backends[0].backend.endpointCounts.ready === 3;
    });
    await kube.req('DELETE', `${Net}/namespaces/${Ns}/ingresses/wild`);
    await waitFor('the wildcard host to match nothing', 30_000, async () => (await trace('http://m.rt.example/')).status === 'NO_MATCH');
    const d = await queryData(url, `{ service(namespace: "${Ns}", name: "api") { ingresses { metadata { name } } } }`);
    assert.deepEqual(d.service.ingresses, []);
  });

  it('a subscriber by hostname folds to exactly the endpoints of the Service the trace names, across an Ingress edit that moves the path to another Service', async () => {
    const host = 'move.rt.example';
    const u = `http://${host}/x/1`;
    /** The Service the API's Ingress sends /x to, and the endpoints the API's slices hold for it (ready missing means true). */
    const apiTruth = async () => {
      const ing = await kube.req('GET', `${Net}/namespaces/${Ns}/ingresses/mover`);
      const service: string = ing.spec.rules[0].http.paths.find((p: any) => p.path === '/x').backend.service.name;
      const eps = new Map<string, boolean>();
      for (const sl of await kube.slicesOf(Ns, service)) for (const e of sl.endpoints ?? []) eps.set(e.addresses[0], e.conditions?.ready !== false || eps.get(e.addresses[0]) === true);
      return { service, endpoints: [...eps].map(([address, ready]) => ({ address, ready })).sort((a, b) => (a.address < b.address ? -1 : 1)) };
    };
    const traced = async () => (await queryData(url, `{ trace(url: "${u}") { match { ingress { metadata { name } } backends { backend { serviceName } } } } }`)).trace.match;
    const folded = (sub: EndpointSubscriber) => Object.entries(sub.heldAll()).map(([key, eps]) => [key, eps.map((e) => ({ address: e.address, ready: e.ready }))]);
    const agree = async (sub: EndpointSubscriber, service: string) => {
      let truth = await apiTruth();
      let t: any;
      await waitFor(`the subscriber and the trace to follow ${u} to ${service}`, 60_000, async () => {
        sub.throwIfErrors();
        truth = await apiTruth();
        t = await traced();
        return truth.service === service && t?.backends[0].backend.serviceName === service && isDeepStrictEqual(folded(sub), [[`${Ns}/${service}`, truth.endpoints]]);
      });
      assert.equal(t.ingress.metadata.name, 'mover');
      assert.ok(truth.endpoints.length > 0, `${service} has endpoints`);
      assert.deepEqual(folded(sub), [[`${Ns}/${service}`, truth.endpoints]]);
    };
    await putIngress('mover', { rules: [{ host, http: { paths: [prefix('/x', 'api', 'grpc'), prefix('/', 'empty', 80)] } }] });
    await waitFor('the gateway to see the Ingress', 30_000, async () => (await traced())?.ingress.metadata.name === 'mover');
    const sub = new EndpointSubscriber(gw.url);
    try {
      sub.start({ host: 'Move.RT.example', path: '/x/1' });
      await agree(sub, 'api');
      const before = sub.events.length;
      await putIngress('mover', { rules: [{ host, http: { paths: [prefix('/x', 'web'), prefix('/', 'empty', 80)] } }] });
      await agree(sub, 'web');
      const moved = sub.events.slice(before);
      // The edit is one step: api emptied and web filled by CHANGE sets carrying one cursor.
      const emptied = moved.find((e) => e.name === 'api')!;
      const filled = moved.find((e) => e.name === 'web')!;
      assert.deepEqual([emptied.type, emptied.endpoints, emptied.added], ['CHANGE', [], []]);
      assert.equal(filled.type, 'CHANGE');
      assert.equal(filled.added.length, filled.endpoints.length);
      assert.equal(emptied.cursor, filled.cursor);
    } finally {
      await sub.stop();
      await kube.deleteIfPresent(`${Net}/namespaces/${Ns}/ingresses/mover`);
    }
  });
});
