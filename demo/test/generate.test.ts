import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clusterObjects, generateCluster, loadCluster, Presets } from '../src/generate.ts';
import type { EndpointSliceJson, NodeJson, PodJson, ServiceJson } from '../src/types.ts';
import { sliceDrift } from './testing.ts';

const demo = generateCluster('demo', { seed: 42 });

function slicesOf(name: string, namespace: string): EndpointSliceJson[] {
  return demo.endpointSlices.filter((s) => s.metadata.namespace === namespace && s.metadata.labels?.['kubernetes.io/service-name'] === name);
}

function service(namespace: string, name: string): ServiceJson {
  const found = demo.services.find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
  assert.ok(found, `service ${namespace}/${name} exists`);
  return found;
}

describe('generateCluster', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const again = generateCluster('demo', { seed: 42 });
    assert.equal(JSON.stringify([...clusterObjects(again)]), JSON.stringify([...clusterObjects(demo)]));
    const other = generateCluster('demo', { seed: 43 });
    assert.notEqual(JSON.stringify([...clusterObjects(other)]), JSON.stringify([...clusterObjects(demo)]));
  });

  it('has the demo shape: 4 namespaces, 9 nodes in 3 zones, 20 Services, about 150 pods', () => {
    assert.deepEqual(demo.namespaces.map((n) => n.metadata.name), ['default', 'kube-system', 'shop', 'payments']);
    assert.equal(demo.nodes.length, Presets.demo.nodes);
    assert.deepEqual([...new Set(demo.nodes.map((n) => n.metadata.labels?.['topology.kubernetes.io/zone']))].sort(), ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    assert.equal(demo.services.length, 20);
    assert.ok(demo.pods.length >= 140 && demo.pods.length <= 160, `pods: ${demo.pods.length}`);
  });

  it('numbers objects 1..revision, each resourceVersion and uid unique', () => {
    const objects = [...clusterObjects(demo)];
    const versions = objects.map((o) => Number(o.metadata.resourceVersion)).sort((a, b) => a - b);
    assert.deepEqual(versions, objects.map((_, i) => i + 1));
    assert.equal(demo.revision, objects.length);
    assert.equal(new Set(objects.map((o) => o.metadata.uid)).size, objects.length);
  });

  it('writes slices that match the pods, as the controller would from scratch', () => {
    assert.deepEqual(sliceDrift(loadCluster(demo)), []);
  });

  it('points every endpoint at a live pod: address, node and the node’s zone', () => {
    const pods = new Map(demo.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
    const nodes = new Map(demo.nodes.map((n) => [n.metadata.name, n]));
    let checked = 0;
    for (const slice of demo.endpointSlices) {
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.targetRef === undefined) continue;
        const pod = pods.get(`${endpoint.targetRef.namespace}/${endpoint.targetRef.name}`) as PodJson;
        assert.ok(pod, `target ${endpoint.targetRef.name} exists`);
        assert.equal(endpoint.targetRef.uid, pod.metadata.uid);
        assert.ok(pod.status.podIPs?.some((ip) => ip.ip === endpoint.addresses[0]));
        assert.equal(endpoint.nodeName, pod.spec.nodeName);
        const node = nodes.get(pod.spec.nodeName ?? '') as NodeJson;
        assert.equal(endpoint.zone, node.metadata.labels?.['topology.kubernetes.io/zone']);
        checked++;
      }
    }
    assert.ok(checked > 140, `checked ${checked} endpoints`);
  });

  it('splits a Service with more than 100 endpoints across slices of at most 100', () => {
    const slices = slicesOf('catalog', 'shop');
    const sizes = slices.map((s) => s.endpoints?.length ?? 0).sort((a, b) => b - a);
    assert.deepEqual(sizes, [100, Presets.demo.bigServiceReplicas - 100]);
    for (const slice of slices) {
      assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
      assert.deepEqual(slice.metadata.ownerReferences?.map((o) => o.name), ['catalog']);
      assert.ok(slice.endpoints?.every((e) => e.hints?.forZones?.[0]?.name === e.zone), 'PreferClose writes hints for the own zone');
    }
  });

  it('keeps one empty placeholder slice for a Service without endpoints (endpoints and ports null)', () => {
    const slices = slicesOf('recommendations', 'shop');
    assert.equal(slices.length, 1);
    assert.equal(slices[0]?.endpoints, null);
    assert.equal(slices[0]?.ports, null);
  });

  it('gives a dual-stack Service one slice per family, each with addresses of its family', () => {
    const slices = slicesOf('cart', 'shop');
    assert.deepEqual(slices.map((s) => s.addressType).sort(), ['IPv4', 'IPv6']);
    for (const slice of slices) {
      for (const endpoint of slice.endpoints ?? []) assert.equal(endpoint.addresses[0]?.includes(':'), slice.addressType === 'IPv6');
    }
    assert.deepEqual(service('shop', 'cart').spec.ipFamilies, ['IPv4', 'IPv6']);
  });

  it('mirrors a selectorless Service’s hand-written Endpoints: mirroring controller, only ready, no targetRef', () => {
    const svc = service('payments', 'legacy-billing');
    assert.equal(svc.spec.selector, undefined);
    const [slice, ...rest] = slicesOf('legacy-billing', 'payments');
    assert.equal(rest.length, 0);
    assert.equal(slice?.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslicemirroring-controller.k8s.io');
    assert.deepEqual(slice?.endpoints?.map((e) => [e.addresses[0], e.conditions, e.targetRef]), [
      ['192.168.50.10', { ready: true }, undefined],
      ['192.168.50.11', { ready: true }, undefined],
      ['192.168.50.12', { ready: false }, undefined],
    ]);
  });

  it('gives an ExternalName Service no slices and no cluster IP', () => {
    const svc = service('payments', 'fx-rates');
    assert.equal(svc.spec.type, 'ExternalName');
    assert.equal(svc.spec.clusterIP, undefined);
    assert.deepEqual(slicesOf('fx-rates', 'payments'), []);
  });

  it('marks a headless Service’s slices and publishes hostnames and not-ready addresses', () => {
    const svc = service('payments', 'ledger-db');
    assert.equal(svc.spec.clusterIP, 'None');
    assert.equal(svc.spec.publishNotReadyAddresses, true);
    const [slice] = slicesOf('ledger-db', 'payments');
    assert.equal(slice?.metadata.labels?.['service.kubernetes.io/headless'], '');
    assert.ok(slice?.endpoints?.every((e) => e.hostname === e.targetRef?.name));
  });

  it('resolves a named targetPort to a sidecar container’s port', () => {
    const [slice] = slicesOf('frontend', 'shop');
    assert.deepEqual(slice?.ports?.map((p) => [p.name, p.port]), [['http', 8080], ['https', 8443], ['metrics', 15090]]);
    // Two Services select the same pods.
    assert.equal(slicesOf('frontend-internal', 'shop')[0]?.endpoints?.length, slice?.endpoints?.length);
  });

  it('gives LoadBalancer Services an ingress and node ports', () => {
    const lbs = demo.services.filter((s) => s.spec.type === 'LoadBalancer');
    assert.ok(lbs.length >= 2);
    for (const lb of lbs) {
      assert.equal(lb.status.loadBalancer.ingress?.length, 1);
      assert.ok(lb.spec.ports?.every((p) => typeof p.nodePort === 'number'));
    }
    assert.ok(lbs.some((lb) => lb.status.loadBalancer.ingress?.[0]?.hostname !== undefined));
    assert.ok(lbs.some((lb) => lb.status.loadBalancer.ingress?.[0]?.ip !== undefined));
  });

  it('builds nodes with zone and region labels, dual-stack addresses and pod CIDRs, Ready, some taints', () => {
    for (const node of demo.nodes) {
      assert.equal(node.metadata.labels?.['topology.kubernetes.io/region'], 'eu-west-1');
      assert.deepEqual(node.status.addresses.map((a) => a.type), ['InternalIP', 'InternalIP', 'Hostname']);
      assert.equal(node.spec.podCIDRs?.length, 2);
      assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    }
    const taints = demo.nodes.flatMap((n) => n.spec.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
    assert.ok(taints.includes('node-role.kubernetes.io/control-plane:NoSchedule'));
    assert.ok(taints.length >= 2, `taints: ${taints.join(', ')}`);
    const noSchedule = new Set(demo.nodes.filter((n) => n.spec.taints?.some((t) => t.effect === 'NoSchedule')).map((n) => n.metadata.name));
    assert.ok(demo.pods.every((p) => !noSchedule.has(p.spec.nodeName ?? '')), 'no pod on a NoSchedule node');
  });

  it('builds running, ready pods owned by a ReplicaSet, with container ports and both pod IPs', () => {
    for (const pod of demo.pods) {
      assert.equal(pod.status.phase, 'Running');
      assert.equal(pod.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
      assert.equal(pod.metadata.ownerReferences?.[0]?.kind, 'ReplicaSet');
      assert.equal(pod.status.podIPs?.length, 2);
      assert.equal(pod.status.podIP, pod.status.podIPs?.[0]?.ip);
      assert.ok((pod.spec.containers[0]?.ports?.length ?? 0) > 0);
    }
    assert.equal(new Set(demo.pods.map((p) => p.status.podIP)).size, demo.pods.length, 'pod IPs are unique');
  });

  it('puts managedFields on a portion of objects only', () => {
    const withFields = demo.pods.filter((p) => p.metadata.managedFields !== undefined).length;
    assert.ok(withFields > 0 && withFields < demo.pods.length, `${withFields} of ${demo.pods.length}`);
  });

  it('rejects impossible shapes, naming the field and what arrived', () => {
    assert.throws(() => generateCluster({ ...Presets.demo, namespaces: 2 }), /namespaces: expected an integer >= 4, but got: 2/);
    assert.throws(() => generateCluster({ ...Presets.demo, services: 3 }), /services: expected an integer >= 11, but got: 3/);
  });
});
