/**
 * The Query API against the real control plane. The test builds a cluster (three namespaces,
 * five nodes in three zones, a Service with 120 pods that the real EndpointSlice controller
 * splits over several slices, a selectorless Service with hand-written v1 Endpoints that the real
 * mirroring controller mirrors, a headless Service, a RequireDualStack Service whose pods have an
 * IPv4 and an IPv6 IP, a NodePort, an ExternalName and a Service selecting nothing), starts the
 * gateway in-process, and asks it over real HTTP.
 *
 * Every check compares the gateway's answer with what fresh API reads say, computed here from
 * the raw API objects: joins (endpoint → pod/node/service, pod → services/endpoints/node,
 * node → pods/endpoints/services), counts and per-zone counts (an independent union of the
 * slices' endpoints by address with the API's condition defaults), selector matches (the API
 * server's own `?labelSelector=`), field filters, IP lookups and page walks. Only the merged
 * endpoint details themselves come from `mergeServiceEndpoints` over the API's slices. Each
 * round also checks that the controllers have caught up with the pods and the hand-written
 * Endpoints, so a round compares a settled cluster. Rounds repeat until every answer equals the
 * API (eventual consistency), after the build and after each kind of churn.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { EndpointSliceRecord } from '../../src/kube/records.ts';
import { compareAddresses } from '../../src/model/address.ts';
import { mergeServiceEndpoints, type MergedEndpoint, type ServiceEndpoints } from '../../src/model/endpoints.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient, type EndpointSubsetInput } from '../harness/kube-client.ts';
import { postGraphQL, queryData } from '../harness/graphql-http.ts';
import { waitFor } from '../harness/wait.ts';
import { bothPathsRecorder } from '../harness/execution-parity.ts';

const parity = bothPathsRecorder();

const Shop = 'qa-shop';
const Pay = 'qa-pay';
const Edge = 'qa-edge';
const Nodes = [
  { name: 'qa-node-a1', zone: 'qa-zone-a' },
  { name: 'qa-node-a2', zone: 'qa-zone-a' },
  { name: 'qa-node-b1', zone: 'qa-zone-b' },
  { name: 'qa-node-b2', zone: 'qa-zone-b' },
  { name: 'qa-node-c1', zone: 'qa-zone-c', labels: { 'qa-role': 'edge' } },
] as const;
const Zones = ['qa-zone-a', 'qa-zone-b', 'qa-zone-c'];
const ManagedByController = 'endpointslice-controller.k8s.io';
const ManagedByMirroring = 'endpointslicemirroring-controller.k8s.io';
const LabelZone = 'topology.kubernetes.io/zone';

const nodeOf = (i: number) => Nodes[i % Nodes.length]!.name;
const v4 = (block: number, i: number) => `10.60.${block}.${i + 1}`;
const v6 = (block: number, i: number) => `fd00:60::${block}:${(i + 1).toString(16)}`;

describe('Query API on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  let gw: Gateway;
  let url: string;
  let last: Round;
  const t0 = Date.now();

  const addPod = async (namespace: string, name: string, labels: Record<string, string>, nodeName: string, ips: string[] | null, ready = true) => {
    await kube.createPod({ namespace, name, labels, nodeName });
    if (ips) await kube.setPodReady(namespace, name, ips, ready);
  };
  const legacyEndpoints = (legacyUid: string, step: 'initial' | 'edited'): EndpointSubsetInput[] => {
    const legacy0 = { ip: v4(6, 0), nodeName: 'qa-node-a1', hostname: 'legacy-0', targetRef: { kind: 'Pod', namespace: Edge, name: 'legacy-0', uid: legacyUid } };
    return step === 'initial'
      ? [{ addresses: [legacy0, { ip: v4(7, 0) }], notReadyAddresses: [{ ip: v4(7, 1), nodeName: 'qa-node-b1' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }]
      : [{ addresses: [legacy0, { ip: v4(7, 2), nodeName: 'qa-node-c1' }], notReadyAddresses: [{ ip: v4(7, 0) }, { ip: v4(7, 1), nodeName: 'qa-node-b1' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }];
  };
  let legacyUid = '';

  /** Wait until a round finds nothing to report; fail with what the last round found. */
  const expectGatewayToEqualApi = async (step: string, timeoutMs = 45_000): Promise<Round> => {
    let round: Round | undefined;
    try {
      await waitFor(`the gateway to answer what the API says (${step})`, timeoutMs, async () => {
        round = await checkRound(url, kube);
        return round.problems.length === 0;
      }, 250);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n  ${(round?.problems ?? []).slice(0, 25).join('\n  ')}`);
    }
    return round!;
  };

  before(async () => {
    for (const ns of [Shop, Pay, Edge]) await kube.ensureNamespace(ns);
    await Promise.all(Nodes.map((n) => kube.createNode(n.name, n.zone, { labels: 'labels' in n ? n.labels : {} })));

    await kube.createService({ namespace: Shop, name: 'web', selector: { app: 'web' }, labels: { tier: 'front', team: 'web' } });
    await kube.createService({
      namespace: Shop, name: 'api', selector: { app: 'api', tier: 'backend' }, labels: { tier: 'backend', team: 'core' },
      ports: [{ name: 'grpc', port: 9090, targetPort: 8080 }, { name: 'http', port: 80, targetPort: 'http' }],
    });
    await kube.createService({ namespace: Shop, name: 'empty', selector: { app: 'nothing' }, labels: { team: 'web' } });
    await kube.createService({ namespace: Pay, name: 'ledger', selector: { app: 'ledger' }, clusterIP: 'None', labels: { tier: 'data', team: 'core' }, ports: [{ name: 'pg', port: 5432, targetPort: 5432 }] });
    await kube.createService({ namespace: Pay, name: 'dual', selector: { app: 'dual' }, ipFamilyPolicy: 'RequireDualStack', labels: { tier: 'front', stack: 'dual' } });
    await kube.createService({ namespace: Edge, name: 'legacy', labels: { team: 'edge' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    await kube.createService({ namespace: Edge, name: 'gw', type: 'NodePort', selector: { app: 'gw' }, labels: { tier: 'front', team: 'edge' } });
    await kube.createService({ namespace: Edge, name: 'ext', type: 'ExternalName', externalName: 'db.example.com' });

    const pods: (() => Promise<void>)[] = [];
    for (let i = 0; i < 120; i++) pods.push(() => addPod(Shop, `web-${i}`, { app: 'web', tier: 'front', track: i % 10 === 0 ? 'canary' : 'stable' }, nodeOf(i), [v4(1, i)]));
    for (let i = 0; i < 6; i++) pods.push(() => addPod(Shop, `api-${i}`, { app: 'api', tier: 'backend', track: i >= 4 ? 'canary' : 'stable' }, nodeOf(i + 1), [v4(2, i)], i !== 2));
    pods.push(() => addPod(Shop, 'api-front-0', { app: 'api', tier: 'front', track: 'stable' }, 'qa-node-c1', [v4(2, 99)]));
    pods.push(() => addPod(Shop, 'batch-0', { job: 'nightly' }, 'qa-node-a2', null)); // Pending: no IP, never ready
    for (let i = 0; i < 3; i++) pods.push(() => addPod(Pay, `ledger-${i}`, { app: 'ledger', tier: 'data' }, nodeOf(i + 2), [v4(3, i)]));
    for (let i = 0; i < 4; i++) pods.push(() => addPod(Pay, `dual-${i}`, { app: 'dual', tier: 'front' }, nodeOf(i), [v4(4, i), v6(4, i)], i !== 3));
    pods.push(() => addPod(Edge, 'gw-0', { app: 'gw', tier: 'front', track: 'stable' }, 'qa-node-c1', [v4(5, 0)]));
    pods.push(() => addPod(Edge, 'gw-1', { app: 'gw', tier: 'front', track: 'stable' }, 'qa-node-b1', [v4(5, 1)]));
    pods.push(() => addPod(Edge, 'legacy-0', { app: 'legacy' }, 'qa-node-a1', [v4(6, 0)]));
    await inParallel(pods, 8);
    legacyUid = (await kube.req('GET', `/api/v1/namespaces/${Edge}/pods/legacy-0`)).metadata.uid;
    await kube.putEndpoints(Edge, 'legacy', legacyEndpoints(legacyUid, 'initial'));

    const cfg = parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', '--no-explorer']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }) });
    await gw.synced();
    url = `${gw.url}/graphql`;
  });

  after(async () => {
    await gw?.stop();
    // api-0 is left terminating by a test; nothing else finishes its deletion without a kubelet.
    await kube.deletePod(Shop, 'api-0').catch(() => {});
    console.log(`query-api: ${((Date.now() - t0) / 1000).toFixed(1)} s in all, ${roundsRun} rounds`);
  });

  it('after the build, every query answers what fresh API reads say', async () => {
    last = await expectGatewayToEqualApi('after the build');
  });

  it('the cluster is what the controllers made of it, as the gateway tells', () => {
    const web = last.services.get(`${Shop}/web`);
    assert.ok(web.slices.length >= 2, `120 endpoints need 2 slices, got ${web.slices.length}`);
    assert.ok(web.slices.every((s: any) => s.managedBy === ManagedByController && s.addressType === 'IPv4' && s.endpoints.length <= 100));
    assert.deepEqual(web.endpointCounts, { total: 120, ready: 120, serving: 120, terminating: 0 });
    // web-i is on node i % 5: zones a and b hold 2 nodes each, zone c one.
    assert.deepEqual(web.endpointsByZone.map((z: any) => [z.zone, z.total]), [['qa-zone-a', 48], ['qa-zone-b', 48], ['qa-zone-c', 24]]);
    for (const e of web.endpoints.items) {
      assert.equal(e.zone, e.node.zone, `${e.address}: the slice's zone is its node's zone`);
      assert.equal(e.pod.nodeName, e.nodeName, `${e.address}: the endpoint's node is its pod's node`);
      assert.equal(e.targetRef.name, e.pod.metadata.name);
    }

    const legacy = last.services.get(`${Edge}/legacy`);
    assert.equal(legacy.selector, null);
    assert.deepEqual(legacy.slices.map((s: any) => [s.managedBy, s.addressType]), [[ManagedByMirroring, 'IPv4']]);
    assert.deepEqual(legacy.endpointCounts, { total: 3, ready: 2, serving: 3, terminating: 0 }, 'mirrored notReadyAddresses carry ready=false and no serving, which defaults to true');
    assert.equal(legacy.pods.totalCount, 0, 'a selectorless Service selects no pods');
    const legacy0 = legacy.endpoints.items.find((e: any) => e.address === v4(6, 0));
    assert.deepEqual([legacy0.pod?.metadata.name, legacy0.node?.metadata.name, legacy0.hostname], ['legacy-0', 'qa-node-a1', 'legacy-0']);

    const ledger = last.services.get(`${Pay}/ledger`);
    assert.deepEqual([ledger.headless, ledger.clusterIP, ledger.endpointCounts.ready], [true, 'None', 3]);

    const dual = last.services.get(`${Pay}/dual`);
    assert.deepEqual(dual.ipFamilies, ['IPv4', 'IPv6']);
    assert.deepEqual(dual.clusterIPs.map((ip: string) => isIP(ip)), [4, 6]);
    assert.deepEqual(dual.slices.map((s: any) => s.addressType).sort(), ['IPv4', 'IPv6']);
    assert.deepEqual(dual.endpointCounts, { total: 8, ready: 6, serving: 6, terminating: 0 });

    const empty = last.services.get(`${Shop}/empty`);
    assert.ok(empty.slices.length >= 1 && empty.endpointCounts.total === 0 && !empty.hasReadyEndpoints, 'an empty placeholder slice: has slices, no endpoints');
    const ext = last.services.get(`${Edge}/ext`);
    assert.deepEqual([ext.type, ext.clusterIP, ext.slices.length, ext.externalName], ['ExternalName', null, 0, 'db.example.com']);

    const dual0 = last.pods.get(`${Pay}/dual-0`);
    assert.deepEqual(dual0.endpoints.map((e: any) => e.address), [v4(4, 0), v6(4, 0)], 'a dual-stack pod is an endpoint once per family');
    const api0 = last.pods.get(`${Shop}/api-0`);
    assert.deepEqual(api0.servicePorts.map((p: any) => [p.port.name, p.podPort]), [['grpc', 8080], ['http', 8080]]);
    assert.ok(last.ipsChecked >= 10 && last.listsChecked >= 50 && last.pagesWalked >= 40, `checked ${last.ipsChecked} IPs, ${last.listsChecked} lists, ${last.pagesWalked} pages`);
  });

  it('scale up to 135 and down to 90: every query follows', async () => {
    const up: (() => Promise<void>)[] = [];
    for (let i = 120; i < 135; i++) up.push(() => addPod(Shop, `web-${i}`, { app: 'web', tier: 'front', track: 'stable' }, nodeOf(i), [v4(1, i)]));
    await inParallel(up, 8);
    await inParallel(Array.from({ length: 45 }, (_, j) => () => kube.deletePod(Shop, `web-${90 + j}`)), 8);
    last = await expectGatewayToEqualApi('after scaling');
    assert.deepEqual(last.services.get(`${Shop}/web`).endpointCounts, { total: 90, ready: 90, serving: 90, terminating: 0 });
  });

  it('pods turned unready and ready: conditions, counts and ready filters follow', async () => {
    await kube.setPodReady(Shop, 'api-1', [v4(2, 1)], false);
    await kube.setPodReady(Shop, 'api-2', [v4(2, 2)], true);
    await kube.setPodReady(Shop, 'web-3', [v4(1, 3)], false);
    await kube.setPodReady(Pay, 'dual-0', [v4(4, 0), v6(4, 0)], false);
    await kube.setPodReady(Pay, 'dual-3', [v4(4, 3), v6(4, 3)], true);
    last = await expectGatewayToEqualApi('after readiness changes');
    assert.deepEqual(last.services.get(`${Shop}/web`).endpointCounts, { total: 90, ready: 89, serving: 89, terminating: 0 });
    assert.deepEqual(last.services.get(`${Pay}/dual`).endpointCounts, { total: 8, ready: 6, serving: 6, terminating: 0 });
    assert.equal(last.pods.get(`${Shop}/web-3`).ready, false);
  });

  it('pods deleted, one left terminating: endpoints go, the terminating one stays serving', async () => {
    await kube.deletePod(Pay, 'ledger-1');
    await kube.deletePod(Edge, 'gw-1');
    await kube.deletePod(Shop, 'api-0', 300); // no kubelet confirms: it stays terminating
    last = await expectGatewayToEqualApi('after deletions');
    assert.equal(last.pods.get(`${Pay}/ledger-1`), undefined);
    const api = last.services.get(`${Shop}/api`);
    const api0 = api.endpoints.items.find((e: any) => e.address === v4(2, 0));
    assert.deepEqual([api0.ready, api0.serving, api0.terminating], [false, true, true]);
    assert.equal(last.pods.get(`${Shop}/api-0`).terminating, true);
  });

  it('selector changed and a pod relabelled: selected pods, pod → services and endpoints follow', async () => {
    await kube.req('PATCH', `/api/v1/namespaces/${Shop}/services/api`, { spec: { selector: { tier: null, track: 'stable' } } }, 'application/merge-patch+json');
    await kube.req('PATCH', `/api/v1/namespaces/${Shop}/pods/web-5`, { metadata: { labels: { app: 'web-retired' } } }, 'application/merge-patch+json');
    last = await expectGatewayToEqualApi('after the selector change');
    const api = last.services.get(`${Shop}/api`);
    assert.equal(api.selectorString, 'app=api,track=stable');
    assert.deepEqual(api.pods.items.map((p: any) => p.metadata.name), ['api-0', 'api-1', 'api-2', 'api-3', 'api-front-0']);
    assert.deepEqual(last.pods.get(`${Shop}/web-5`).services, []);
    assert.equal(last.services.get(`${Shop}/web`).endpointCounts.total, 89);
  });

  it('hand-written Endpoints edited: the mirrored slice and every query follow', async () => {
    await kube.putEndpoints(Edge, 'legacy', legacyEndpoints(legacyUid, 'edited'));
    last = await expectGatewayToEqualApi('after editing the Endpoints');
    assert.deepEqual(last.services.get(`${Edge}/legacy`).endpointCounts, { total: 4, ready: 2, serving: 4, terminating: 0 });
  });

  it('bad inputs over HTTP get coded errors, other fields still answer, and the server keeps serving', async () => {
    const cases: [string, string, string][] = [
      ['unbalanced label selector', '{ pods(labelSelector: "app in (web") { totalCount } }', 'INVALID_SELECTOR'],
      ['not an IP', '{ ip(address: "10.60.1.256") { address } }', 'INVALID_ARGUMENT'],
      ['a CIDR is not an IP', '{ ip(address: "10.60.0.0/16") { address } }', 'INVALID_ARGUMENT'],
      ['page too large', '{ pods(first: 5000) { totalCount } }', 'PAGE_SIZE_EXCEEDED'],
      ['negative page', '{ nodes(first: -1) { totalCount } }', 'INVALID_ARGUMENT'],
      ['not a cursor', '{ services(after: "garbage") { totalCount } }', 'INVALID_CURSOR'],
      ['bad namespace', '{ service(namespace: "Not_A_Namespace", name: "web") { type } }', 'INVALID_ARGUMENT'],
      ['does not parse', '{ pods( { totalCount } }', 'GRAPHQL_PARSE_FAILED'],
      ['no such field', '{ pods { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['too deep (13 levels)', `{ service(namespace: "${Shop}", name: "web") { ${'endpoints(first: 1) { items { pod { endpoints { service { '.repeat(2)}metadata { name }${' } } } } }'.repeat(2)} } }`, 'QUERY_TOO_DEEP'],
      ['too costly', '{ pods(first: 1000) { items { services { endpoints(first: 1000) { items { address } } } } } }', 'QUERY_TOO_COSTLY'],
      ['too many tokens', `{ ${'cluster { ready } '.repeat(1300)}}`, 'TOO_MANY_TOKENS'],
      ['too many aliases', `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: cluster { ready }`).join(' ')} }`, 'TOO_MANY_ALIASES'],
    ];
    for (const [what, query, code] of cases) {
      const r = await postGraphQL(url, query);
      assert.deepEqual(r.errors.map((e) => e.extensions?.code), [code], `${what}: ${JSON.stringify(r.errors)}`);
      assert.match(r.errors[0]!.message, /expected|Syntax Error|Cannot query field/, `${what}: the message says what was expected`);
    }
    const vars = await postGraphQL(url, 'query Q($n: Int) { pods(first: $n) { totalCount } }', { n: 'many' });
    assert.deepEqual(vars.errors.map((e) => e.extensions?.code), ['BAD_USER_INPUT']);
    // A pod cursor is no service cursor.
    const page = await queryData(url, '{ pods(first: 1) { pageInfo { endCursor } } }');
    const foreign = await postGraphQL(url, 'query Q($a: String) { services(after: $a) { totalCount } }', { a: page.pods.pageInfo.endCursor });
    assert.deepEqual(foreign.errors.map((e) => e.extensions?.code), ['INVALID_CURSOR']);
    // One bad (nullable) field does not spoil the others.
    const mixed = await postGraphQL(url, `{ ok: service(namespace: "${Shop}", name: "web") { endpointCounts { total } } bad: pod(namespace: "${Shop}", name: "Web_0") { podIP } }`);
    assert.deepEqual(mixed.errors.map((e) => [e.extensions?.code, e.path]), [['INVALID_ARGUMENT', ['bad']]]);
    assert.deepEqual(mixed.data, { ok: { endpointCounts: { total: 89 } }, bad: null });

    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();
    await expectGatewayToEqualApi('after the bad inputs', 20_000);
  });

  // Compiled execution (src/graphql/pipeline.ts) against graphql-js for this spec's queries: every
  // query above also ran through graphql-js on the same context (test/harness/execution-parity.ts).
  it('answered every query above with the same JSON compiled and with graphql-js', () => {
    assert.deepEqual(parity.mismatches, []);
    assert.ok(parity.executed >= 100, `expected at least 100 executed queries, got ${parity.executed}`);
    assert.deepEqual(parity.notCompiled, []);
  });
});

// ───────────────────────────── one round: ask everything, compare with the API ─────────────────────────────

let roundsRun = 0;

/** What one round found, and the gateway's answers for named assertions. */
interface Round {
  readonly problems: string[];
  /** `namespace/name` → Service as the gateway answered it (the detail query). */
  readonly services: Map<string, any>;
  /** `namespace/name` → Pod as the gateway answered it (walked page by page). */
  readonly pods: Map<string, any>;
  ipsChecked: number;
  listsChecked: number;
  pagesWalked: number;
}

/** The API's state, read fresh, and what the test derives from it. */
interface Api {
  readonly services: any[];
  readonly slices: any[];
  readonly pods: any[];
  readonly nodes: any[];
  /** v1 Endpoints of the selectorless Service's namespace. */
  readonly endpoints: any[];
  readonly service: Map<string, any>;
  readonly pod: Map<string, any>;
  readonly node: Map<string, any>;
  readonly slice: Map<string, any>;
  /** Service key → its slices (label kubernetes.io/service-name), sorted by name. */
  readonly slicesOf: Map<string, any[]>;
  /** Service key → mergeServiceEndpoints over its ingested slices. */
  readonly merged: Map<string, ServiceEndpoints>;
  /** Keys of objects of `path` matching `selector`, as the API server itself selects them. */
  select(path: string, selector: string): Promise<Set<string>>;
}

async function readApi(kube: KubeClient): Promise<Api> {
  const [services, slices, pods, nodes, endpoints] = await Promise.all([
    kube.list('/api/v1/services'),
    kube.list('/apis/discovery.k8s.io/v1/endpointslices'),
    kube.list('/api/v1/pods'),
    kube.list('/api/v1/nodes'),
    kube.list(`/api/v1/namespaces/${Edge}/endpoints`),
  ]).then((lists) => lists.map((l) => l.items.sort(byObjectKey)));
  const slicesOf = new Map<string, any[]>();
  for (const s of slices!) {
    const svc = s.metadata.labels?.['kubernetes.io/service-name'];
    if (svc === undefined) continue;
    const k = `${s.metadata.namespace}/${svc}`;
    slicesOf.set(k, [...(slicesOf.get(k) ?? []), s]);
  }
  const merged = new Map<string, ServiceEndpoints>();
  for (const [k, list] of slicesOf) merged.set(k, mergeServiceEndpoints(list.map((s) => ingest('EndpointSlice', s) as EndpointSliceRecord)));
  const selected = new Map<string, Promise<Set<string>>>();
  return {
    services: services!, slices: slices!, pods: pods!, nodes: nodes!, endpoints: endpoints!,
    service: byKeyMap(services!), pod: byKeyMap(pods!), node: byKeyMap(nodes!), slice: byKeyMap(slices!),
    slicesOf, merged,
    select(path, selector) {
      const k = `${path}?${selector}`;
      let p = selected.get(k);
      if (!p) {
        p = kube.list(`${path}?labelSelector=${encodeURIComponent(selector)}`).then((l) => new Set(l.items.map(keyOf)));
        selected.set(k, p);
      }
      return p;
    },
  };
}

async function checkRound(url: string, kube: KubeClient): Promise<Round> {
  roundsRun++;
  const api = await readApi(kube);
  const round: Round = { problems: [], services: new Map(), pods: new Map(), ipsChecked: 0, listsChecked: 0, pagesWalked: 0 };
  round.problems.push(...controllersLag(api));
  const compare = (label: string, got: unknown, want: unknown) => {
    const d = firstDifference(got, want, label);
    if (d !== null) round.problems.push(d);
  };
  const guarded = (label: string, check: () => Promise<void>) => async () => {
    try {
      await check();
    } catch (err) {
      round.problems.push(`${label}: ${(err as Error).message}`);
    }
  };
  const checks: (() => Promise<void>)[] = [
    guarded('cluster', async () => compare('cluster', syncView(await queryData(url, ClusterQuery)), expectCluster(api))),
    ...api.services.map((svc) => guarded(`service ${keyOf(svc)}`, async () => {
      const got = (await queryData(url, ServiceQuery, { ns: svc.metadata.namespace, name: svc.metadata.name })).service;
      if (got) round.services.set(keyOf(svc), got);
      compare(`service(${keyOf(svc)})`, got, expectService(api, svc));
    })),
    ...api.nodes.map((node) => guarded(`node ${node.metadata.name}`, async () => {
      compare(`node(${node.metadata.name})`, (await queryData(url, NodeQuery, { name: node.metadata.name })).node, expectNode(api, node));
    })),
    guarded('pods walked with details', async () => {
      const walked = await walk(url, 'pods(first: 60)', PodsWalkQuery, {}, (d) => d.pods, (p) => `${p.metadata.namespace}/${p.metadata.name}`);
      round.pagesWalked += walked.pages;
      round.problems.push(...walked.problems);
      for (const p of walked.nodes) round.pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
      compare('pods walk order', walked.keys, api.pods.map(keyOf));
      for (const p of api.pods) compare(`pod(${keyOf(p)})`, round.pods.get(keyOf(p)), expectPod(api, p));
    }),
    guarded('slices by key', async () => {
      const mine = api.slices.filter((s) => [Shop, Pay, Edge].includes(s.metadata.namespace));
      const q = `{ ${mine.map((s, i) => `s${i}: endpointSlice(namespace: "${s.metadata.namespace}", name: "${s.metadata.name}") { ...SL }`).join(' ')}
        missing: endpointSlice(namespace: "${Shop}", name: "no-such-slice") { ...SL } } ${SliceFragment}`;
      const got = await queryData(url, q);
      mine.forEach((s, i) => compare(`endpointSlice(${keyOf(s)})`, got[`s${i}`], expectSlice(api, s)));
      compare('endpointSlice(missing)', got.missing, null);
    }),
    guarded('lookups by key', async () => {
      const got = await queryData(url, `{
        pod(namespace: "${Pay}", name: "dual-0") { metadata { uid } podIPs }
        nopod: pod(namespace: "${Pay}", name: "no-such-pod") { podIP }
        nosvc: service(namespace: "${Shop}", name: "no-such-service") { type }
        nonode: node(name: "no-such-node") { zone } }`);
      const dual0 = api.pod.get(`${Pay}/dual-0`);
      compare('pod(dual-0)', got.pod, dual0 ? { metadata: { uid: dual0.metadata.uid }, podIPs: podIPsOf(dual0) } : null);
      compare('absent objects', [got.nopod, got.nosvc, got.nonode], [null, null, null]);
    }),
    guarded('IP lookups', async () => {
      const addresses = ipsToAsk(api);
      round.ipsChecked = addresses.length;
      const q = `{ ${addresses.map((a, i) => `a${i}: ip(address: "${a.asked}") { ...IP }`).join(' ')} } ${IPFragment}`;
      const got = await queryData(url, q);
      addresses.forEach((a, i) => compare(`ip(${a.asked})`, got[`a${i}`], expectIP(api, a.canonical)));
    }),
    ...chunks(listCases(), 12).map((cases, n) => guarded(`lists ${n}`, async () => {
      const q = `{ ${cases.map((c, i) => `c${i}: ${c.field} { totalCount pageInfo { hasNextPage } items { metadata { namespace name } } }`).join('\n')} }`;
      const got = await queryData(url, q);
      for (const [i, c] of cases.entries()) {
        const want = (await c.want(api)).map(keyOf);
        const conn = got[`c${i}`];
        compare(c.field, { totalCount: conn.totalCount, keys: conn.items.map((m: any) => keyOf(m)), hasNextPage: conn.pageInfo.hasNextPage }, { totalCount: want.length, keys: want, hasNextPage: false });
        round.listsChecked++;
      }
    })),
    ...walkCases().map((c) => guarded(`walk ${c.label}`, async () => {
      const walked = await walk(url, c.label, c.query, c.vars ?? {}, c.pick, c.keyOf);
      round.pagesWalked += walked.pages;
      round.problems.push(...walked.problems);
      compare(`walk ${c.label}`, walked.keys, c.want(api));
    })),
  ];
  await inParallel(checks, 4);
  return round;
}

/**
 * The controllers have caught up: every selector Service's slices hold exactly the IPs (of the
 * Service's families) of the pods it selects, with the controller's conditions (serving = pod
 * Ready, terminating = deletionTimestamp, ready = serving and not terminating), zones from the
 * nodes; the mirrored slice holds exactly the hand-written Endpoints.
 */
function controllersLag(api: Api): string[] {
  const out: string[] = [];
  for (const svc of api.services) {
    const ns = svc.metadata.namespace;
    if (![Shop, Pay, Edge].includes(ns) || svc.spec.type === 'ExternalName') continue;
    const k = keyOf(svc);
    const want = new Map<string, { ready: boolean; serving: boolean; terminating: boolean; zone: string | null }>();
    const selector = selectorOf(svc);
    if (selector) {
      const families = new Set<number>((svc.spec.ipFamilies ?? ['IPv4']).map((f: string) => (f === 'IPv6' ? 6 : 4)));
      for (const pod of api.pods) {
        const node = api.node.get(pod.spec.nodeName ?? '');
        if (!selects(svc, pod) || !node || ['Succeeded', 'Failed'].includes(pod.status?.phase)) continue;
        const terminating = Boolean(pod.metadata.deletionTimestamp);
        const serving = podReady(pod);
        for (const ip of podIPsOf(pod)) {
          if (families.has(isIP(ip))) want.set(ip, { ready: serving && !terminating, serving, terminating, zone: nodeZone(node) });
        }
      }
      if ((api.slicesOf.get(k) ?? []).length === 0) out.push(`controller: ${k} has no slice yet (not even a placeholder)`);
    } else {
      const eps = api.endpoints.find((e) => keyOf(e) === k);
      for (const subset of eps?.subsets ?? []) {
        for (const a of subset.addresses ?? []) want.set(a.ip, { ready: true, serving: true, terminating: false, zone: null });
        for (const a of subset.notReadyAddresses ?? []) want.set(a.ip, { ready: false, serving: true, terminating: false, zone: null });
      }
    }
    const got = new Map([...chosenCopies(api.slicesOf.get(k) ?? [])].map(([a, c]) => [a, { ready: c.ready, serving: c.serving, terminating: c.terminating, zone: c.zone }]));
    const d = firstDifference(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()), `controller: slices of ${k} vs its pods/Endpoints`);
    if (d !== null) out.push(d);
  }
  return out;
}

// ───────────────────────────── queries ─────────────────────────────

const ClusterQuery = `{ cluster {
  ready
  kinds { kind phase synced syncedAt lastEventAt lastEventAgeSeconds consecutiveFailures lastError objects }
  pod: kind(kind: Pod) { kind synced objects } } }`;

const EndpointFragment = `fragment EP on Endpoint {
  address addresses addressType ready serving terminating hostname nodeName zone
  hints { forZones forNodes }
  targetRef { kind namespace name uid }
  ports { name port protocol appProtocol }
  service { metadata { namespace name } }
  pod { metadata { namespace name uid } nodeName }
  node { metadata { name } zone }
  slices { metadata { name } } }`;

const ServiceQuery = `query Service($ns: String!, $name: String!) { service(namespace: $ns, name: $name) {
  metadata { namespace name uid labels { key value } }
  type clusterIP clusterIPs ipFamilies ipFamilyPolicy headless externalName publishNotReadyAddresses
  externalTrafficPolicy internalTrafficPolicy sessionAffinity
  selector { key value } selectorString
  ports { name protocol port targetPort targetPortNumber targetPortName nodePort }
  slices { metadata { name } managedBy addressType serviceName ports { name port protocol }
    endpoints { addresses conditions { ready serving terminating } nodeName zone targetRef { kind name } } }
  endpointCounts { total ready serving terminating }
  hasReadyEndpoints
  endpointsByZone { zone total ready serving terminating }
  endpoints(first: 200) { totalCount pageInfo { hasNextPage } items { ...EP } }
  readyEndpoints: endpoints(ready: true, first: 200) { totalCount }
  zoneB: endpoints(zone: "qa-zone-b", serving: true, first: 200) { totalCount }
  pods(first: 200) { totalCount items { metadata { namespace name } } }
  nodes { totalCount items { metadata { name } } } } } ${EndpointFragment}`;

const NodeQuery = `query Node($name: String!) { node(name: $name) {
  metadata { name labels { key value } }
  ready zone region unschedulable addresses { type address }
  pods(first: 300) { totalCount items { metadata { namespace name } } }
  endpoints(first: 300) { totalCount items { address ready service { metadata { namespace name } } pod { metadata { name } } } }
  readyEndpoints: endpoints(ready: true, first: 300) { totalCount }
  services { totalCount items { metadata { namespace name } } } } }`;

const PodFields = `
  metadata { namespace name uid labels { key value } deletionTimestamp }
  phase podIP podIPs hostIP nodeName ready terminating zone
  node { metadata { name } }
  services { metadata { namespace name } }
  endpoints { address ready serving terminating service { metadata { namespace name } } }
  servicePorts { service { metadata { namespace name } } port { name port } podPort }`;

const PodsWalkQuery = `query Pods($after: String) { pods(first: 60, after: $after) { ${connection(PodFields)} } }`;

const SliceFragment = `fragment SL on EndpointSlice {
  metadata { namespace name } addressType managedBy serviceName
  service { metadata { namespace name } }
  endpoints { addresses pod { metadata { name } } node { metadata { name } } } }`;

const IPFragment = `fragment IP on IPAddress {
  address family
  pods { metadata { namespace name } }
  endpoints { address service { metadata { namespace name } } }
  services { metadata { namespace name } }
  nodes { metadata { name } }
  holders { __typename
    ... on Pod { metadata { namespace name } }
    ... on Endpoint { address service { metadata { namespace name } } }
    ... on Service { metadata { namespace name } }
    ... on Node { metadata { name } } } }`;

function connection(fields: string): string {
  return `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${fields} } } items { ${fields} }`;
}

// ───────────────────────────── the oracle: expected answers from raw API objects ─────────────────────────────

function expectCluster(api: Api): unknown {
  const objects = { Service: api.services.length, EndpointSlice: api.slices.length, Pod: api.pods.length, Node: api.nodes.length };
  return {
    ready: true,
    kinds: (['Service', 'EndpointSlice', 'Pod', 'Node'] as const).map((kind) => ({
      kind, phase: 'watching', synced: true, syncedAt: 'RFC 3339', lastEventAt: 'RFC 3339', lastEventAgeSeconds: 'seconds', consecutiveFailures: 0, lastError: null, objects: objects[kind],
    })),
    pod: { kind: 'Pod', synced: true, objects: objects.Pod },
  };
}

/**
 * The cluster answer with times replaced by their shape (they are not the API's to say), for
 * the four core kinds this test builds (the routing kinds are checked in routes.test.ts and
 * gateway-api.test.ts).
 */
function syncView(data: any): unknown {
  const c = data.cluster;
  const time = (t: unknown) => (typeof t === 'string' && !Number.isNaN(Date.parse(t)) ? 'RFC 3339' : t);
  return {
    ...c,
    kinds: c.kinds.filter((k: any) => ['Service', 'EndpointSlice', 'Pod', 'Node'].includes(k.kind)).map((k: any) => ({
      ...k, syncedAt: time(k.syncedAt), lastEventAt: time(k.lastEventAt),
      lastEventAgeSeconds: typeof k.lastEventAgeSeconds === 'number' && k.lastEventAgeSeconds >= 0 ? 'seconds' : k.lastEventAgeSeconds,
    })),
  };
}

function expectService(api: Api, svc: any): unknown {
  const { namespace, name } = svc.metadata;
  const spec = svc.spec ?? {};
  const k = `${namespace}/${name}`;
  const slices = api.slicesOf.get(k) ?? [];
  const endpoints = api.merged.get(k)?.endpoints ?? [];
  const copies = chosenCopies(slices);
  const selector = selectorOf(svc);
  const nodes = uniqueSorted(endpoints.flatMap((e) => (e.nodeName !== null && api.node.has(e.nodeName) ? [e.nodeName] : [])));
  const pods = selector ? api.pods.filter((p) => selects(svc, p)) : [];
  const counts = countCopies([...copies.values()]);
  return {
    metadata: { namespace, name, uid: svc.metadata.uid, labels: keyValues(svc.metadata.labels) },
    type: spec.type ?? 'ClusterIP',
    clusterIP: spec.clusterIP ?? null,
    clusterIPs: spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []),
    ipFamilies: spec.ipFamilies ?? [],
    ipFamilyPolicy: spec.ipFamilyPolicy ?? null,
    headless: spec.clusterIP === 'None',
    externalName: spec.externalName ?? null,
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
    externalTrafficPolicy: spec.externalTrafficPolicy ?? null,
    internalTrafficPolicy: spec.internalTrafficPolicy ?? null,
    sessionAffinity: spec.sessionAffinity ?? null,
    selector: selector ? keyValues(selector) : null,
    selectorString: selector ? keyValues(selector).map((p) => `${p.key}=${p.value}`).join(',') : null,
    ports: (spec.ports ?? []).map((p: any) => ({
      name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port,
      targetPort: String(p.targetPort ?? p.port),
      targetPortNumber: typeof p.targetPort === 'string' ? null : (p.targetPort ?? p.port),
      targetPortName: typeof p.targetPort === 'string' ? p.targetPort : null,
      nodePort: p.nodePort ?? null,
    })),
    slices: slices.map((s) => ({
      metadata: { name: s.metadata.name },
      managedBy: s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] ?? null,
      addressType: s.addressType,
      serviceName: s.metadata.labels?.['kubernetes.io/service-name'] ?? null,
      ports: (s.ports ?? []).map((p: any) => ({ name: p.name ?? '', port: p.port ?? null, protocol: p.protocol ?? 'TCP' })),
      endpoints: (s.endpoints ?? []).map((e: any) => ({
        addresses: e.addresses ?? [],
        conditions: conditionsOf(e),
        nodeName: e.nodeName ?? null,
        zone: e.zone ?? null,
        targetRef: e.targetRef ? { kind: e.targetRef.kind ?? '', name: e.targetRef.name ?? '' } : null,
      })),
    })),
    endpointCounts: counts,
    hasReadyEndpoints: counts.ready > 0,
    endpointsByZone: countByZone(copies),
    endpoints: { totalCount: endpoints.length, pageInfo: { hasNextPage: false }, items: endpoints.map((e) => expectEndpoint(api, namespace, name, e)) },
    readyEndpoints: { totalCount: [...copies.values()].filter((c) => c.ready).length },
    zoneB: { totalCount: [...copies.values()].filter((c) => c.zone === 'qa-zone-b' && c.serving).length },
    pods: { totalCount: pods.length, items: pods.map(metaRef) },
    nodes: { totalCount: nodes.length, items: nodes.map((n) => ({ metadata: { name: n } })) },
  };
}

/** A merged endpoint as the Endpoint fragment shows it; the joins read the raw objects. */
function expectEndpoint(api: Api, namespace: string, serviceName: string, e: MergedEndpoint): unknown {
  const ref = e.targetRef;
  const pod = ref?.kind === 'Pod' ? api.pod.get(`${ref.namespace || namespace}/${ref.name}`) : undefined;
  const node = e.nodeName === null ? undefined : api.node.get(e.nodeName);
  return {
    address: e.address, addresses: [...e.addresses], addressType: e.addressType,
    ready: e.ready, serving: e.serving, terminating: e.terminating,
    hostname: e.hostname, nodeName: e.nodeName, zone: e.zone,
    hints: e.hintsForZones.length === 0 && e.hintsForNodes.length === 0 ? null : { forZones: [...e.hintsForZones], forNodes: [...e.hintsForNodes] },
    targetRef: ref ? { kind: ref.kind, namespace: ref.namespace, name: ref.name, uid: ref.uid } : null,
    ports: e.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, appProtocol: p.appProtocol })),
    service: serviceRef(api, namespace, serviceName),
    pod: pod ? { metadata: { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid }, nodeName: pod.spec.nodeName ?? null } : null,
    node: node ? { metadata: { name: node.metadata.name }, zone: nodeZone(node) } : null,
    slices: e.slices.filter((s) => api.slice.has(`${namespace}/${s}`)).map((s) => ({ metadata: { name: s } })),
  };
}

function expectPod(api: Api, p: any): unknown {
  const { namespace, name } = p.metadata;
  const ips = podIPsOf(p);
  const node = p.spec.nodeName ? api.node.get(p.spec.nodeName) : undefined;
  const services = api.services.filter((s) => selects(s, p));
  const endpoints: { svc: [string, string]; e: MergedEndpoint }[] = [];
  for (const [k, view] of api.merged) {
    const [sns, sname] = splitKey(k);
    for (const e of view.endpoints) {
      if (e.targetRef?.kind === 'Pod' && e.targetRef.name === name && (e.targetRef.namespace || sns) === namespace) endpoints.push({ svc: [sns, sname], e });
    }
  }
  endpoints.sort((a, b) => cmp(a.svc[0], b.svc[0]) || cmp(a.svc[1], b.svc[1]) || compareAddresses(a.e.address, b.e.address));
  return {
    metadata: { namespace, name, uid: p.metadata.uid, labels: keyValues(p.metadata.labels), deletionTimestamp: p.metadata.deletionTimestamp ?? null },
    phase: p.status?.phase ?? null,
    podIP: ips[0] ?? null,
    podIPs: ips,
    hostIP: p.status?.hostIP ?? null,
    nodeName: p.spec.nodeName ?? null,
    ready: podReady(p),
    terminating: Boolean(p.metadata.deletionTimestamp),
    zone: node ? nodeZone(node) : null,
    node: node ? { metadata: { name: node.metadata.name } } : null,
    services: services.map(metaRef),
    endpoints: endpoints.map(({ svc: [sns, sname], e }) => ({ address: e.address, ready: e.ready, serving: e.serving, terminating: e.terminating, service: serviceRef(api, sns, sname) })),
    servicePorts: services.flatMap((s) => (s.spec.ports ?? []).map((port: any) => ({ service: metaRef(s), port: { name: port.name ?? '', port: port.port }, podPort: podPortOf(port, p) }))),
  };
}

function expectNode(api: Api, node: any): unknown {
  const name = node.metadata.name;
  const pods = api.pods.filter((p) => p.spec.nodeName === name);
  const endpoints: { ns: string; svc: string; e: MergedEndpoint }[] = [];
  for (const [k, view] of api.merged) {
    const [ns, svc] = splitKey(k);
    for (const e of view.endpoints) if (e.nodeName === name) endpoints.push({ ns, svc, e });
  }
  endpoints.sort((a, b) => cmp(a.ns, b.ns) || cmp(a.svc, b.svc) || compareAddresses(a.e.address, b.e.address));
  const services = uniqueSorted(endpoints.map((x) => `${x.ns}\0${x.svc}`)).map((k) => k.replace('\0', '/')).filter((k) => api.service.has(k));
  return {
    metadata: { name, labels: keyValues(node.metadata.labels) },
    ready: (node.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
    zone: nodeZone(node),
    region: node.metadata.labels?.['topology.kubernetes.io/region'] ?? null,
    unschedulable: node.spec?.unschedulable === true,
    addresses: (node.status?.addresses ?? []).map((a: any) => ({ type: a.type ?? '', address: a.address })),
    pods: { totalCount: pods.length, items: pods.map(metaRef) },
    endpoints: {
      totalCount: endpoints.length,
      items: endpoints.map(({ ns, svc, e }) => {
        const pod = e.targetRef?.kind === 'Pod' ? api.pod.get(`${e.targetRef.namespace || ns}/${e.targetRef.name}`) : undefined;
        return { address: e.address, ready: e.ready, service: serviceRef(api, ns, svc), pod: pod ? { metadata: { name: pod.metadata.name } } : null };
      }),
    },
    readyEndpoints: { totalCount: endpoints.filter((x) => x.e.ready).length },
    services: { totalCount: services.length, items: services.map((k) => metaRef(api.service.get(k))) },
  };
}

function expectSlice(api: Api, s: any): unknown {
  const ns = s.metadata.namespace;
  const serviceName = s.metadata.labels?.['kubernetes.io/service-name'] ?? null;
  return {
    metadata: { namespace: ns, name: s.metadata.name },
    addressType: s.addressType,
    managedBy: s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] ?? null,
    serviceName,
    service: serviceName === null ? null : serviceRef(api, ns, serviceName),
    endpoints: (s.endpoints ?? []).map((e: any) => {
      const pod = e.targetRef?.kind === 'Pod' ? api.pod.get(`${e.targetRef.namespace || ns}/${e.targetRef.name}`) : undefined;
      const node = e.nodeName ? api.node.get(e.nodeName) : undefined;
      return { addresses: e.addresses ?? [], pod: pod ? { metadata: { name: pod.metadata.name } } : null, node: node ? { metadata: { name: node.metadata.name } } : null };
    }),
  };
}

/** Addresses to look up: pod IPs of both families, endpoint-only addresses, clusterIPs of both families, a node's, and one nobody holds. */
function ipsToAsk(api: Api): { asked: string; canonical: string }[] {
  const out: string[] = [];
  const pod = (k: string) => api.pod.get(k);
  const firstWeb = api.pods.find((p) => p.metadata.namespace === Shop && p.metadata.labels?.app === 'web');
  for (const p of [firstWeb, pod(`${Pay}/dual-0`), pod(`${Pay}/ledger-0`), pod(`${Edge}/legacy-0`)]) if (p) out.push(...podIPsOf(p));
  for (const k of [`${Pay}/dual`, `${Shop}/api`]) out.push(...(api.service.get(k)?.spec.clusterIPs ?? []));
  for (const e of api.endpoints) for (const s of e.subsets ?? []) for (const a of [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]) out.push(a.ip);
  const node = api.node.get('qa-node-a1');
  const internal = node?.status?.addresses?.find((a: any) => a.type === 'InternalIP')?.address;
  if (internal) out.push(internal);
  out.push('10.60.250.250', 'fd00:60::dead');
  // IPv6 asked in a non-canonical spelling (upper case, zeros written out): found all the same.
  return uniqueSorted(out).map((ip) => ({ asked: isIP(ip) === 6 ? spelledOut(ip) : ip, canonical: ip }));
}

function expectIP(api: Api, address: string): unknown {
  const pods = api.pods.filter((p) => podIPsOf(p).includes(address)).map(metaRef);
  const endpoints: unknown[] = [];
  for (const [k, view] of api.merged) {
    const [ns, svc] = splitKey(k);
    for (const e of view.endpoints) if (e.address === address) endpoints.push({ address, service: serviceRef(api, ns, svc) });
  }
  const services = api.services.filter((s) => (s.spec.clusterIPs ?? []).includes(address)).map(metaRef);
  const nodes = api.nodes.filter((n) => (n.status?.addresses ?? []).some((a: any) => a.address === address)).map((n) => ({ metadata: { name: n.metadata.name } }));
  return {
    address,
    family: isIP(address) === 6 ? 'IPv6' : 'IPv4',
    pods, endpoints, services, nodes,
    holders: [
      ...pods.map((p) => ({ __typename: 'Pod', ...p })),
      ...endpoints.map((e) => ({ __typename: 'Endpoint', ...(e as object) })),
      ...services.map((s) => ({ __typename: 'Service', ...s })),
      ...nodes.map((n) => ({ __typename: 'Node', ...n })),
    ],
  };
}

interface ListCase {
  /** The field with its arguments, as asked. */
  readonly field: string;
  /** The raw API objects that answer it, in connection order. */
  want(api: Api): Promise<any[]> | any[];
}

/** Lists filtered by namespace, label selector (the API server selects) and field filters (computed here). */
function listCases(): ListCase[] {
  const S = '/api/v1/services';
  const P = '/api/v1/pods';
  const N = '/api/v1/nodes';
  const E = '/apis/discovery.k8s.io/v1/endpointslices';
  const sel = (path: string, all: (api: Api) => any[], selector: string, keep: (api: Api, o: any) => boolean = () => true) => async (api: Api) => {
    const chosen = await api.select(path, selector);
    return all(api).filter((o) => chosen.has(keyOf(o)) && keep(api, o));
  };
  const svcs = (api: Api) => api.services;
  const pods = (api: Api) => api.pods;
  const nodes = (api: Api) => api.nodes;
  const slices = (api: Api) => api.slices;
  const ready = (api: Api, s: any) => countCopies([...chosenCopies(api.slicesOf.get(keyOf(s)) ?? []).values()]).ready > 0;
  const podZone = (api: Api, p: any) => {
    const node = p.spec.nodeName ? api.node.get(p.spec.nodeName) : undefined;
    return node ? nodeZone(node) : null;
  };
  const managedBy = (s: any) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] ?? null;
  const cases: ListCase[] = [
    { field: 'services(first: 500)', want: svcs },
    ...[Shop, Pay, Edge].map((ns) => ({ field: `services(namespace: "${ns}", first: 500)`, want: (api: Api) => api.services.filter((s) => s.metadata.namespace === ns) })),
    ...['tier=front', 'team!=core', 'tier in (front,data)', 'team notin (web,edge)', 'stack', '!team', 'tier=front,team'].map((s) => ({
      field: `services(labelSelector: ${JSON.stringify(s)}, first: 500)`, want: sel(S, svcs, s),
    })),
    ...['ClusterIP', 'NodePort', 'ExternalName'].map((t) => ({ field: `services(type: ${t}, first: 500)`, want: (api: Api) => api.services.filter((s) => (s.spec.type ?? 'ClusterIP') === t) })),
    { field: 'services(headless: true, first: 500)', want: (api) => api.services.filter((s) => s.spec.clusterIP === 'None') },
    { field: 'services(hasReadyEndpoints: true, first: 500)', want: (api) => api.services.filter((s) => ready(api, s)) },
    { field: 'services(hasReadyEndpoints: false, first: 500)', want: (api) => api.services.filter((s) => !ready(api, s)) },
    { field: `services(namespace: "${Shop}", labelSelector: "team", hasReadyEndpoints: true, first: 500)`, want: sel(S, svcs, 'team', (api, s) => s.metadata.namespace === Shop && ready(api, s)) },
    { field: 'servicesWithoutReadyEndpoints(first: 500)', want: (api) => api.services.filter((s) => s.spec.type !== 'ExternalName' && !ready(api, s)) },
    { field: `servicesWithoutReadyEndpoints(namespace: "${Edge}", first: 500)`, want: (api) => api.services.filter((s) => s.metadata.namespace === Edge && s.spec.type !== 'ExternalName' && !ready(api, s)) },

    { field: 'pods(first: 500)', want: pods },
    { field: `pods(namespace: "${Pay}", first: 500)`, want: (api) => api.pods.filter((p) => p.metadata.namespace === Pay) },
    ...['app=web', 'app==api', 'app!=web', 'app in (api,ledger,dual)', 'app notin (web,api)', 'track', '!track', 'app=api,track=canary', 'tier in (backend,front),track!=canary', 'track in ()', 'track notin ()'].map((s) => ({
      field: `pods(labelSelector: ${JSON.stringify(s)}, first: 500)`, want: sel(P, pods, s),
    })),
    { field: `pods(namespace: "${Shop}", labelSelector: "!track", first: 500)`, want: sel(P, pods, '!track', (_, p) => p.metadata.namespace === Shop) },
    { field: 'pods(ready: true, first: 500)', want: (api) => api.pods.filter(podReady) },
    { field: 'pods(ready: false, first: 500)', want: (api) => api.pods.filter((p) => !podReady(p)) },
    { field: 'pods(phase: Pending, first: 500)', want: (api) => api.pods.filter((p) => p.status?.phase === 'Pending') },
    { field: 'pods(phase: Running, first: 500)', want: (api) => api.pods.filter((p) => p.status?.phase === 'Running') },
    { field: 'pods(node: "qa-node-c1", first: 500)', want: (api) => api.pods.filter((p) => p.spec.nodeName === 'qa-node-c1') },
    { field: `pods(node: "qa-node-a1", namespace: "${Pay}", first: 500)`, want: (api) => api.pods.filter((p) => p.spec.nodeName === 'qa-node-a1' && p.metadata.namespace === Pay) },
    ...Zones.map((z) => ({ field: `pods(zone: "${z}", first: 500)`, want: (api: Api) => api.pods.filter((p) => podZone(api, p) === z) })),
    {
      field: `pods(zone: "qa-zone-a", namespace: "${Shop}", ready: true, labelSelector: "track=canary", first: 500)`,
      want: sel(P, pods, 'track=canary', (api, p) => podZone(api, p) === 'qa-zone-a' && p.metadata.namespace === Shop && podReady(p)),
    },

    { field: 'nodes(first: 500)', want: nodes },
    ...Zones.map((z) => ({ field: `nodes(zone: "${z}", first: 500)`, want: (api: Api) => api.nodes.filter((n) => nodeZone(n) === z) })),
    { field: 'nodes(labelSelector: "qa-role=edge", first: 500)', want: sel(N, nodes, 'qa-role=edge') },
    { field: 'nodes(labelSelector: "!qa-role,topology.kubernetes.io/zone in (qa-zone-a,qa-zone-c)", first: 500)', want: sel(N, nodes, '!qa-role,topology.kubernetes.io/zone in (qa-zone-a,qa-zone-c)') },
    { field: 'nodes(ready: true, unschedulable: false, first: 500)', want: (api) => api.nodes.filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') && n.spec?.unschedulable !== true) },

    { field: 'endpointSlices(first: 500)', want: slices },
    { field: `endpointSlices(namespace: "${Edge}", first: 500)`, want: (api) => api.slices.filter((s) => s.metadata.namespace === Edge) },
    { field: `endpointSlices(managedBy: "${ManagedByMirroring}", first: 500)`, want: (api) => api.slices.filter((s) => managedBy(s) === ManagedByMirroring) },
    { field: 'endpointSlices(addressType: IPv6, first: 500)', want: (api) => api.slices.filter((s) => s.addressType === 'IPv6') },
    { field: `endpointSlices(namespace: "${Pay}", addressType: IPv4, first: 500)`, want: (api) => api.slices.filter((s) => s.metadata.namespace === Pay && s.addressType === 'IPv4') },
    { field: 'endpointSlices(labelSelector: "kubernetes.io/service-name=web", first: 500)', want: sel(E, slices, 'kubernetes.io/service-name=web') },
    { field: `endpointSlices(labelSelector: "endpointslice.kubernetes.io/managed-by notin (${ManagedByController})", first: 500)`, want: sel(E, slices, `endpointslice.kubernetes.io/managed-by notin (${ManagedByController})`) },
  ];
  return cases;
}

interface WalkCase {
  readonly label: string;
  /** Takes `$after`. */
  readonly query: string;
  readonly vars?: Record<string, unknown>;
  pick(data: any): any;
  keyOf(node: any): string;
  /** Every key, in connection order. */
  want(api: Api): string[];
}

/** Connections walked page by page with small pages: each item exactly once, in stable order. */
function walkCases(): WalkCase[] {
  const meta = 'metadata { namespace name }';
  const objectKey = (n: any) => keyOf(n);
  return [
    { label: 'services(first: 2)', query: `query W($after: String) { services(first: 2, after: $after) { ${connection(meta)} } }`, pick: (d) => d.services, keyOf: objectKey, want: (api) => api.services.map(keyOf) },
    { label: 'nodes(first: 2)', query: `query W($after: String) { nodes(first: 2, after: $after) { ${connection(meta)} } }`, pick: (d) => d.nodes, keyOf: objectKey, want: (api) => api.nodes.map(keyOf) },
    { label: 'endpointSlices(first: 3)', query: `query W($after: String) { endpointSlices(first: 3, after: $after) { ${connection(meta)} } }`, pick: (d) => d.endpointSlices, keyOf: objectKey, want: (api) => api.slices.map(keyOf) },
    {
      label: `pods(namespace: ${Shop}, labelSelector: "app=web", first: 13)`,
      query: `query W($after: String) { pods(namespace: "${Shop}", labelSelector: "app=web", first: 13, after: $after) { ${connection(meta)} } }`,
      pick: (d) => d.pods, keyOf: objectKey,
      want: (api) => api.pods.filter((p) => p.metadata.namespace === Shop && p.metadata.labels?.app === 'web').map(keyOf),
    },
    {
      label: 'servicesWithoutReadyEndpoints(first: 1)',
      query: `query W($after: String) { servicesWithoutReadyEndpoints(first: 1, after: $after) { ${connection(meta)} } }`,
      pick: (d) => d.servicesWithoutReadyEndpoints, keyOf: objectKey,
      want: (api) => api.services.filter((s) => s.spec.type !== 'ExternalName' && countCopies([...chosenCopies(api.slicesOf.get(keyOf(s)) ?? []).values()]).ready === 0).map(keyOf),
    },
    {
      label: 'web endpoints(first: 17)',
      query: `query W($after: String) { service(namespace: "${Shop}", name: "web") { endpoints(first: 17, after: $after) { ${connection('address')} } } }`,
      pick: (d) => d.service?.endpoints, keyOf: (e) => e.address,
      want: (api) => [...chosenCopies(api.slicesOf.get(`${Shop}/web`) ?? []).keys()].sort(compareAddresses),
    },
    {
      label: 'web pods(first: 11)',
      query: `query W($after: String) { service(namespace: "${Shop}", name: "web") { pods(first: 11, after: $after) { ${connection(meta)} } } }`,
      pick: (d) => d.service?.pods, keyOf: objectKey,
      want: (api) => api.pods.filter((p) => selects(api.service.get(`${Shop}/web`), p)).map(keyOf),
    },
    {
      label: 'qa-node-a1 endpoints(first: 9)',
      query: `query W($after: String) { node(name: "qa-node-a1") { endpoints(first: 9, after: $after) { ${connection('address service { metadata { namespace name } }')} } } }`,
      pick: (d) => d.node?.endpoints, keyOf: (e) => `${e.service ? keyOf(e.service) : '?'} ${e.address}`,
      want: (api) => {
        const out: [string, string, string][] = [];
        for (const [k, view] of api.merged) for (const e of view.endpoints) if (e.nodeName === 'qa-node-a1') out.push([...splitKey(k), e.address]);
        return out.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]) || compareAddresses(a[2], b[2])).map(([ns, s, a]) => `${ns}/${s} ${a}`);
      },
    },
  ];
}

/**
 * Walk a connection from the first page to the last, following `endCursor`, and check each
 * page: at most `first` items, edges and items agree, cursors and hasPreviousPage as documented,
 * totalCount the same on every page and equal to what was walked, no item twice.
 */
async function walk(url: string, label: string, query: string, vars: Record<string, unknown>, pick: (d: any) => any, keyOfNode: (n: any) => string) {
  const first = Number(/first: (\d+), after: \$after/.exec(query)?.[1]);
  if (!Number.isInteger(first)) throw new Error(`walk ${label}: expected "first: N, after: $after" in the query, got ${query.slice(0, 80)}`);
  const problems: string[] = [];
  const keys: string[] = [];
  const nodes: any[] = [];
  let after: string | null = null;
  let total: number | null = null;
  let pages = 0;
  for (;;) {
    const c = pick(await queryData(url, query, { ...vars, after }));
    if (!c) {
      problems.push(`${label}: the connection is null`);
      break;
    }
    pages++;
    const at = `${label} page ${pages}`;
    total ??= c.totalCount;
    if (c.totalCount !== total) problems.push(`${at}: totalCount ${c.totalCount}, was ${total} on page 1`);
    if (c.edges.length > first) problems.push(`${at}: ${c.edges.length} edges, asked for ${first}`);
    if (!isDeepStrictEqual(c.edges.map((e: any) => e.node), c.items)) problems.push(`${at}: edges and items differ`);
    if (c.pageInfo.hasPreviousPage !== (after !== null)) problems.push(`${at}: hasPreviousPage ${c.pageInfo.hasPreviousPage}`);
    const cursors = [c.edges[0]?.cursor ?? null, c.edges.at(-1)?.cursor ?? null];
    if (!isDeepStrictEqual([c.pageInfo.startCursor, c.pageInfo.endCursor], cursors)) problems.push(`${at}: start/end cursors are not the first and last edges' cursors`);
    keys.push(...c.items.map(keyOfNode));
    nodes.push(...c.items);
    if (!c.pageInfo.hasNextPage) break;
    if (c.edges.length === 0 || pages > 400) {
      problems.push(`${at}: hasNextPage on an empty page, or no end`);
      break;
    }
    after = c.pageInfo.endCursor;
  }
  if (total !== null && keys.length !== total) problems.push(`${label}: walked ${keys.length} items, totalCount says ${total}`);
  if (new Set(keys).size !== keys.length) problems.push(`${label}: an item came twice`);
  return { keys, nodes, pages, problems };
}

// ───────────────────────────── raw-object helpers ─────────────────────────────

/** One address of a Service as its slices say it: the copy that is not terminating wins, then slice name order. */
interface Copy {
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly zone: string | null;
}

/** Independent of src/: the union of raw slices by `addresses[0]`, conditions defaulted as the API documents. */
function chosenCopies(slices: readonly any[]): Map<string, Copy> {
  const out = new Map<string, Copy>();
  for (const s of [...slices].sort(byObjectKey)) {
    for (const e of s.endpoints ?? []) {
      const address = e.addresses?.[0];
      if (address === undefined) continue;
      const copy = { ...conditionsOf(e), zone: e.zone ?? null };
      const prev = out.get(address);
      if (!prev || (prev.terminating && !copy.terminating)) out.set(address, copy);
    }
  }
  return out;
}

function conditionsOf(e: any): { ready: boolean; serving: boolean; terminating: boolean } {
  const c = e.conditions ?? {};
  return { ready: c.ready ?? true, serving: c.serving ?? true, terminating: c.terminating ?? false };
}

function countCopies(copies: readonly Copy[]): { total: number; ready: number; serving: number; terminating: number } {
  return {
    total: copies.length,
    ready: copies.filter((c) => c.ready).length,
    serving: copies.filter((c) => c.serving).length,
    terminating: copies.filter((c) => c.terminating).length,
  };
}

/** Per zone, sorted by zone, endpoints without a zone last. */
function countByZone(copies: Map<string, Copy>): unknown[] {
  const zones = new Map<string | null, Copy[]>();
  for (const c of copies.values()) zones.set(c.zone, [...(zones.get(c.zone) ?? []), c]);
  return [...zones.keys()]
    .sort((a, b) => (a === null ? 1 : b === null ? -1 : cmp(a, b)))
    .map((zone) => ({ zone, ...countCopies(zones.get(zone)!) }));
}

function selectorOf(svc: any): Record<string, string> | null {
  const s = svc.spec?.selector;
  return s && Object.keys(s).length > 0 ? s : null;
}

/** A Service's equality selector selects the pod: same namespace, every pair present. */
function selects(svc: any, pod: any): boolean {
  const s = selectorOf(svc);
  if (!s || svc.metadata.namespace !== pod.metadata.namespace) return false;
  return Object.entries(s).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

function podIPsOf(p: any): string[] {
  const ips = (p.status?.podIPs ?? []).map((x: any) => x.ip);
  return ips.length > 0 ? ips : p.status?.podIP ? [p.status.podIP] : [];
}

function podReady(p: any): boolean {
  return (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function nodeZone(n: any): string | null {
  return n.metadata.labels?.[LabelZone] ?? null;
}

/** The pod port a Service port's targetPort lands on: a number as is, a name by the pod's container ports (sidecars included). */
function podPortOf(port: any, pod: any): number | null {
  const tp = port.targetPort ?? port.port;
  if (typeof tp === 'number') return tp;
  const containers = [...(pod.spec.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always'), ...(pod.spec.containers ?? [])];
  for (const c of containers) {
    for (const cp of c.ports ?? []) if (cp.name === tp && (cp.protocol ?? 'TCP') === (port.protocol ?? 'TCP')) return cp.containerPort;
  }
  return null;
}

function serviceRef(api: Api, namespace: string, name: string): unknown {
  return api.service.has(`${namespace}/${name}`) ? { metadata: { namespace, name } } : null;
}

function metaRef(o: any): { metadata: { namespace: string; name: string } } {
  return { metadata: { namespace: o.metadata.namespace, name: o.metadata.name } };
}

function keyValues(m: Record<string, string> | undefined): { key: string; value: string }[] {
  return Object.entries(m ?? {}).sort(([a], [b]) => cmp(a, b)).map(([key, value]) => ({ key, value }));
}

function keyOf(o: any): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

function byKeyMap(objects: any[]): Map<string, any> {
  return new Map(objects.map((o) => [keyOf(o), o]));
}

/** (namespace, name) in code-unit order: the gateway's documented list order. */
function byObjectKey(a: any, b: any): number {
  return cmp(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || cmp(a.metadata.name, b.metadata.name);
}

function splitKey(k: string): [string, string] {
  const slash = k.indexOf('/');
  return [k.slice(0, slash), k.slice(slash + 1)];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueSorted(xs: string[]): string[] {
  return [...new Set(xs)].sort(cmp);
}

/** An IPv6 address written out in full and upper case, e.g. FD00:0060:0000:...:0001. */
function spelledOut(ip: string): string {
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0').toUpperCase()).join(':');
}

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** Run tasks with at most `limit` in flight. */
async function inParallel(tasks: (() => Promise<unknown>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

/** The first place where `got` and `want` differ, as "path: got X, API says Y"; null when equal. */
function firstDifference(got: unknown, want: unknown, path: string): string | null {
  if (isDeepStrictEqual(got, want)) return null;
  if (Array.isArray(got) && Array.isArray(want)) {
    for (let i = 0; i < Math.min(got.length, want.length); i++) {
      const d = firstDifference(got[i], want[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return `${path}: ${got.length} items, API says ${want.length} (first extra: ${show(got.length > want.length ? got[want.length] : want[got.length])})`;
  }
  if (got && want && typeof got === 'object' && typeof want === 'object') {
    for (const k of new Set([...Object.keys(got), ...Object.keys(want)])) {
      const d = firstDifference((got as any)[k], (want as any)[k], `${path}.${k}`);
      if (d !== null) return d;
    }
  }
  return `${path}: got ${show(got)}, API says ${show(want)}`;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}
