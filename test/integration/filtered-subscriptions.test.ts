/**
 * Filtered subscriptions on the real control plane (the real EndpointSlice and mirroring
 * controllers write the slices): streams of every filter kind are opened before a burst that
 * moves objects across each filter's boundary in both directions and by every cause (object
 * labels, Service labels, a Node's zone label, an endpoint's nodeName in place, creations and
 * deletions inside and outside), with a second subscriber starting and a third resuming by
 * cursor while writes are in flight. Each stream must fold, by the client rules it documents,
 * to exactly the filtered state the API server reports (for Pods, Nodes and Services: the API
 * server's own label-selector list), holding nothing outside its filter.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { EndpointSliceRecord } from '../../src/kube/records.ts';
import { createLogger } from '../../src/log.ts';
import { mergeServiceEndpoints } from '../../src/model/endpoints.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { EndpointSubscriber, ObjectStream, type EndpointView } from '../harness/subscriber.ts';
import { waitFor } from '../harness/wait.ts';

const ns = 'filt';
const ZoneLabel = 'topology.kubernetes.io/zone';
const node = (x: string) => `filt-node-${x}`;
const zone = (x: string) => `filt-zone-${x}`;

describe('filtered subscriptions across their filter boundary, on the real control plane', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  let gw: Gateway;
  let nextIp = 1;
  const ips = new Map<string, string>();

  const patch = (path: string, body: unknown) => kube.req('PATCH', path, body, 'application/merge-patch+json');
  const relabelService = (name: string, labels: Record<string, string | null>) => patch(`/api/v1/namespaces/${ns}/services/${name}`, { metadata: { labels } });
  const relabelPod = (name: string, labels: Record<string, string | null>) => patch(`/api/v1/namespaces/${ns}/pods/${name}`, { metadata: { labels } });
  const moveNode = (name: string, z: string) => patch(`/api/v1/nodes/${name}`, { metadata: { labels: { [ZoneLabel]: z } } });
  const addPod = async (name: string, labels: Record<string, string>, on: string, ready = true, ip = `10.61.0.${nextIp++}`) => {
    await kube.createPod({ namespace: ns, name, labels, nodeName: on });
    await kube.setPodReady(ns, name, [ip], ready);
    ips.set(name, ip);
  };
  const setReady = (name: string, ready: boolean) => kube.setPodReady(ns, name, [ips.get(name)!], ready);
  /** A hand-written Endpoints address of the selectorless Service `ext`, on `on` (mirrored into a slice). */
  const putExt = (addresses: [string, string][]) =>
    kube.putEndpoints(ns, 'ext', [{ addresses: addresses.map(([ip, on]) => ({ ip, nodeName: on })), ports: [{ name: 'http', port: 8080 }] }]);

  /** The oracle: Service key → endpoints, from the real slices of the namespace (merged as kube-proxy merges), filtered; empty Services left out. */
  async function apiEndpoints(keep: (e: { nodeName: string | null; zone: string | null }) => boolean, services: Set<string> | null): Promise<Record<string, EndpointView[]>> {
    const { items } = await kube.list(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`);
    const byService = new Map<string, EndpointSliceRecord[]>();
    for (const item of items) {
      const s = ingest('EndpointSlice', item) as EndpointSliceRecord;
      if (s.serviceName === null) continue;
      const list = byService.get(`${ns}/${s.serviceName}`) ?? [];
      list.push(s);
      byService.set(`${ns}/${s.serviceName}`, list);
    }
    const out: Record<string, EndpointView[]> = {};
    for (const key of [...byService.keys()].sort()) {
      if (services !== null && !services.has(key)) continue;
      const eps = mergeServiceEndpoints(byService.get(key)!)
        .endpoints.filter(keep)
        .map((e) => ({ address: e.address, ready: e.ready, serving: e.serving, terminating: e.terminating, nodeName: e.nodeName }));
      if (eps.length > 0) out[key] = eps;
    }
    return out;
  }

  /** `namespace/name@resourceVersion` of what the API server lists at `path` (its own label selector), sorted. */
  async function apiVersions(path: string): Promise<string[]> {
    const { items } = await kube.list(path);
    return items.map((o) => `${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  }

  async function converge(description: string, check: () => Promise<string | null>): Promise<void> {
    let last: string | null = null;
    try {
      await waitFor(description, 120_000, async () => (last = await check()) === null, 250);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n   ${last}`);
    }
  }

  const backSelector = 'tier=back';
  const endpointStreams: { name: string; sub: EndpointSubscriber; vars: { sel?: string; node?: string; zone?: string }; keep: (e: { nodeName: string | null; zone: string | null }) => boolean }[] = [];
  let pods: ObjectStream;
  let nodes: ObjectStream;
  let services: ObjectStream;
  let late: EndpointSubscriber;
  let resumed: EndpointSubscriber;

  before(async () => {
    await kube.ensureNamespace(ns);
    const cfg = parseConfig(['--kubeconfig', cp.state.kubeconfigPath, '--port', '0', '--no-explorer']) as Config;
    gw = await startGateway(cfg, { logger: createLogger({ level: 'error', format: 'text' }) });
    await gw.synced();
  });

  after(async () => {
    for (const s of endpointStreams) await s.sub.stop();
    await late?.stop();
    await resumed?.stop();
    await pods?.stop();
    await nodes?.stop();
    await services?.stop();
    await gw?.stop();
  });

  it('opens one stream per filter kind before anything exists', async () => {
    const specs = [
      { name: `endpointChanges(labelSelector: "${backSelector}")`, vars: { sel: backSelector }, keep: () => true },
      { name: `endpointChanges(node: "${node('b')}")`, vars: { node: node('b') }, keep: (e: { nodeName: string | null }) => e.nodeName === node('b') },
      { name: `endpointChanges(zone: "${zone('b')}")`, vars: { zone: zone('b') }, keep: (e: { zone: string | null }) => e.zone === zone('b') },
    ];
    for (const s of specs) {
      const sub = new EndpointSubscriber(gw.url);
      sub.start({ ns, ...s.vars });
      endpointStreams.push({ ...s, sub, keep: s.keep as never });
    }
    pods = new ObjectStream(gw.url, 'podChanges', `namespace: "${ns}", labelSelector: "role=edge"`);
    nodes = new ObjectStream(gw.url, 'nodeChanges', `zone: "${zone('b')}"`);
    services = new ObjectStream(gw.url, 'serviceChanges', `namespace: "${ns}", labelSelector: "${backSelector}"`);
    // Each stream is live once the gateway counts its subscriber.
    await waitFor('six subscribers', 30_000, () => gw.fanout.subscriberCount >= 6);
    assert.equal(gw.fanout.subscriberCount >= 6, true);
  });

  it('a burst moving objects across every boundary, both ways, by every cause: each stream folds to exactly the filtered truth', async () => {
    // Nodes: created inside and outside the zone filter.
    for (const x of ['a', 'b', 'c']) await kube.createNode(node(x), zone(x));
    // Services: api in the selector, web outside, ext (selectorless, hand-written Endpoints) inside.
    await kube.createService({ namespace: ns, name: 'api', selector: { app: 'api' }, labels: { tier: 'back' } });
    await kube.createService({ namespace: ns, name: 'web', selector: { app: 'web' }, labels: { tier: 'front' } });
    await kube.createService({ namespace: ns, name: 'ext', labels: { tier: 'back' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    // Pods: inside and outside the pod filter, on every node.
    for (const [i, x] of ['a', 'b', 'c'].entries()) {
      await addPod(`api-${i}`, { app: 'api', role: i === 0 ? 'edge' : 'core' }, node(x));
      await addPod(`web-${i}`, { app: 'web', role: i === 1 ? 'edge' : 'core' }, node(x));
    }
    await putExt([['10.61.9.1', node('a')], ['10.61.9.2', node('b')]]);

    // A subscriber starting while writes are in flight, and one that will resume by cursor.
    late = new EndpointSubscriber(gw.url);
    late.start({ ns, sel: backSelector });
    const first = endpointStreams[0]!.sub;
    await waitFor('the selector stream to see api', 60_000, () => (first.heldAll()[`${ns}/api`]?.length ?? 0) > 0);

    // Service labels: api leaves the selector, web enters it; db is created inside and deleted.
    await relabelService('api', { tier: 'front' });
    await setReady('api-1', false); // a change of a Service out of scope: not sent
    await relabelService('web', { tier: 'back' });
    await kube.createService({ namespace: ns, name: 'db', selector: { app: 'db' }, labels: { tier: 'back' } });
    await addPod('db-0', { app: 'db', role: 'edge' }, node('b'));

    // Resume: stop a copy of the selector stream now, resume it by cursor later.
    const paused = new EndpointSubscriber(gw.url);
    paused.start({ ns, sel: backSelector });
    await waitFor('the paused stream to catch up', 60_000, () => paused.events.length > 0 && paused.heldAll()[`${ns}/web`] !== undefined);
    const cursor = paused.lastCursor!;
    const held = new Map([...paused.state].map(([k, m]) => [k, new Map(m)]));
    await paused.stop();

    // Pod labels: out and in, and creations and deletions inside and outside the pod filter.
    await relabelPod('api-0', { role: 'core' });
    await relabelPod('web-0', { role: 'edge' });
    await addPod('web-3', { app: 'web', role: 'edge' }, node('c'));
    await addPod('web-4', { app: 'web', role: 'core' }, node('a'));
    await kube.deletePod(ns, 'web-1'); // inside the pod filter, on node b
    // Endpoint nodeName in place: ext's addresses swap nodes (a ↔ b).
    await putExt([['10.61.9.1', node('b')], ['10.61.9.2', node('a')]]);
    // A Node's zone: b leaves zone b, c enters it; a new node inside, one outside. A readiness
    // change per Service makes the controller rewrite its endpoints with the nodes' new zones.
    await moveNode(node('b'), zone('c'));
    await moveNode(node('c'), zone('b'));
    await kube.createNode(node('d'), zone('b'));
    await kube.createNode(node('e'), zone('a'));
    for (const p of ['api-2', 'web-2', 'db-0']) await setReady(p, false);
    resumed = new EndpointSubscriber(gw.url);
    for (const [k, m] of held) resumed.state.set(k, m);
    resumed.start({ ns, sel: backSelector, after: cursor });
    for (const p of ['api-2', 'web-2', 'db-0']) await setReady(p, true);
    // Back out of the selector and out of existence.
    await kube.deleteService(ns, 'db');
    await relabelService('ext', { tier: null });
    await relabelService('ext', { tier: 'back' });

    const inScope = async () => new Set((await kube.list(`/api/v1/namespaces/${ns}/services?labelSelector=${encodeURIComponent(backSelector)}`)).items.map((s) => `${ns}/${s.metadata.name}`));
    for (const s of [...endpointStreams, { name: 'late selector stream', sub: late, vars: { sel: backSelector }, keep: () => true }, { name: 'resumed selector stream', sub: resumed, vars: { sel: backSelector }, keep: () => true }]) {
      await converge(`${s.name} to fold to the filtered endpoints the API server has`, async () => {
        s.sub.throwIfErrors();
        const want = JSON.stringify(await apiEndpoints(s.keep, s.vars.sel ? await inScope() : null));
        const got = JSON.stringify(s.sub.heldAll());
        return want === got ? null : `held ${got}\n   API  ${want}`;
      });
    }
    for (const [stream, path] of [
      [pods, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent('role=edge')}`],
      [nodes, `/api/v1/nodes?labelSelector=${encodeURIComponent(`${ZoneLabel}=${zone('b')}`)}`],
      [services, `/api/v1/namespaces/${ns}/services?labelSelector=${encodeURIComponent(backSelector)}`],
    ] as const) {
      await converge(`the stream to hold what the API server lists at ${path}`, async () => {
        stream.throwIfErrors();
        const want = JSON.stringify(await apiVersions(path));
        const got = JSON.stringify(stream.heldVersions());
        return want === got ? null : `held ${got}\n   API  ${want}`;
      });
    }

    // Nothing outside a filter is held, and every boundary was crossed both ways.
    const [bySelector, byNode, byZone] = endpointStreams.map((s) => s.sub.heldAll());
    assert.deepEqual(Object.keys(bySelector!), [`${ns}/ext`, `${ns}/web`]);
    assert.ok(Object.values(byNode!).flat().every((e) => e.nodeName === node('b')));
    assert.ok(Object.values(byZone!).flat().every((e) => e.nodeName === node('c') || e.nodeName === node('d')), 'zone b now holds nodes c and d only');
    assert.ok([...pods.held.values()].every((p) => p.labels['role'] === 'edge'));
    assert.deepEqual([...nodes.held.keys()].sort(), [node('c'), node('d')]);
    assert.deepEqual([...services.held.keys()].sort(), [`${ns}/ext`, `${ns}/web`]);
    const sets = endpointStreams.map((s) => s.sub.events);
    const emptied = (events: typeof sets[number], key: string) => events.some((cs) => `${cs.namespace}/${cs.name}` === key && cs.removed.length > 0 && cs.endpoints.length === 0);
    assert.ok(emptied(sets[0]!, `${ns}/api`), 'api left the selector: one set emptied it');
    assert.ok(sets[1]!.some((cs) => cs.name === 'ext' && cs.removed.some((r) => r.address === '10.61.9.2')), 'ext 10.61.9.2 left node b in place: removed');
    assert.ok(sets[1]!.some((cs) => cs.name === 'ext' && cs.added.some((r) => r.address === '10.61.9.1')), 'ext 10.61.9.1 entered node b in place: added');
    const types = (stream: ObjectStream, key: string) => stream.events.filter((e) => e.key === key).map((e) => e.type);
    assert.deepEqual([types(pods, `${ns}/api-0`)[0], types(pods, `${ns}/api-0`).at(-1)], ['ADDED', 'DELETED'], 'api-0 relabelled out: DELETED');
    assert.equal(types(pods, `${ns}/web-0`)[0], 'ADDED', 'web-0 relabelled in: ADDED');
    assert.ok(nodes.events.some((e) => e.key === node('b') && e.type === 'DELETED'), 'node b moved out of the zone: DELETED');
    assert.deepEqual([types(services, `${ns}/api`)[0], types(services, `${ns}/api`).at(-1)], ['ADDED', 'DELETED'], 'api relabelled out: DELETED');
    assert.deepEqual(types(services, `${ns}/ext`).filter((t) => t !== 'MODIFIED'), ['ADDED', 'DELETED', 'ADDED'], 'ext relabelled out and in again');
    assert.ok(resumed.events.length > 0 && resumed.events.every((cs) => cs.type === 'CHANGE'), `resumed without a snapshot (${resumed.events.map((cs) => cs.type)})`);
  });
});
