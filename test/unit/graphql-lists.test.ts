import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { encodeCursor } from '../../src/model/cursor.ts';
import { endpoint, node, pod, service, slice, smallCluster, World } from './graphql-fixtures.ts';

const world = smallCluster();

/** `namespace/name` of every edge. */
function keys(connection: { edges: { node: { metadata: { namespace: string | null; name: string } } }[] }): string[] {
  return connection.edges.map((e) => (e.node.metadata.namespace ? `${e.node.metadata.namespace}/${e.node.metadata.name}` : e.node.metadata.name));
}

const page = `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { metadata { namespace name } } }`;

describe('GraphQL lists: services', () => {
  const cases: [string, string, string[]][] = [
    ['every namespace, sorted by namespace then name', '', ['kube-system/kube-dns', 'shop/db', 'shop/empty', 'shop/ext', 'shop/manual', 'shop/web', 'shop/web-lb']],
    ['one namespace', 'namespace: "kube-system"', ['kube-system/kube-dns']],
    ['by type', 'type: LoadBalancer', ['shop/web-lb']],
    ['headless only', 'headless: true', ['shop/db']],
    ['with ready endpoints', 'hasReadyEndpoints: true', ['kube-system/kube-dns', 'shop/db', 'shop/manual', 'shop/web', 'shop/web-lb']],
    ['without ready endpoints', 'hasReadyEndpoints: false', ['shop/empty', 'shop/ext']],
    ['by label selector (equality)', 'labelSelector: "tier=front"', ['shop/web', 'shop/web-lb']],
    ['by label selector (set, negation)', 'labelSelector: "tier in (front,back),tier!=back"', ['shop/web', 'shop/web-lb']],
    ['by label selector (does not exist)', 'namespace: "shop", labelSelector: "!tier"', ['shop/empty', 'shop/ext', 'shop/manual']],
    ['filters combined with AND', 'namespace: "shop", labelSelector: "tier", type: ClusterIP, hasReadyEndpoints: true', ['shop/db', 'shop/web']],
    ['nothing matches', 'namespace: "default"', []],
  ];
  for (const [name, args, want] of cases) {
    it(name, async () => {
      const d = await world.data(`{ services${args ? `(${args})` : ''} { ${page} } }`);
      assert.deepEqual(keys(d.services), want);
      assert.equal(d.services.totalCount, want.length);
    });
  }

  it('servicesWithoutReadyEndpoints leaves ExternalName Services out', async () => {
    const d = await world.data(`{ servicesWithoutReadyEndpoints { ${page} } }`);
    assert.deepEqual(keys(d.servicesWithoutReadyEndpoints), ['shop/empty']);
  });
});

describe('GraphQL lists: pods', () => {
  const cases: [string, string, string[]][] = [
    ['every namespace, sorted', '', ['kube-system/coredns-1', 'kube-system/node-exporter-a', 'shop/db-0', 'shop/web-1', 'shop/web-2', 'shop/web-3', 'shop/web-4']],
    ['ready', 'ready: true, namespace: "shop"', ['shop/db-0', 'shop/web-1', 'shop/web-2']],
    ['not ready', 'ready: false', ['shop/web-3', 'shop/web-4']],
    ['by phase', 'phase: Pending', ['shop/web-4']],
    ['by node (spec.nodeName)', 'node: "node-a"', ['kube-system/node-exporter-a', 'shop/db-0', 'shop/web-1']],
    ['by node and namespace', 'node: "node-a", namespace: "shop"', ['shop/db-0', 'shop/web-1']],
    ['by the zone of their node', 'zone: "zone-a"', ['kube-system/node-exporter-a', 'shop/db-0', 'shop/web-1', 'shop/web-3']],
    ['by label selector', 'labelSelector: "app in (web,db),app!=web"', ['shop/db-0']],
    ['by a zone nothing runs in', 'zone: "zone-z"', []],
  ];
  for (const [name, args, want] of cases) {
    it(name, async () => {
      const d = await world.data(`{ pods${args ? `(${args})` : ''} { ${page} } }`);
      assert.deepEqual(keys(d.pods), want);
    });
  }

  it('filters a Service\'s pods and a Node\'s pods the same way', async () => {
    const d = await world.data(`{
      service(namespace: "shop", name: "web") { ready: pods(ready: true) { ${page} } onC: pods(node: "node-c") { ${page} } pending: pods(phase: Pending) { ${page} } }
      node(name: "node-a") { pods(namespace: "shop", labelSelector: "app=web") { ${page} } }
    }`);
    assert.deepEqual(keys(d.service.ready), ['shop/web-1', 'shop/web-2']);
    assert.deepEqual(keys(d.service.onC), ['shop/web-3']);
    assert.deepEqual(keys(d.service.pending), ['shop/web-4']);
    assert.deepEqual(keys(d.node.pods), ['shop/web-1']);
  });
});

describe('GraphQL lists: nodes and endpointSlices', () => {
  const cases: [string, string, string, string[]][] = [
    ['nodes, sorted by name', 'nodes', '', ['node-a', 'node-b', 'node-c']],
    ['nodes by zone', 'nodes', 'zone: "zone-a"', ['node-a', 'node-c']],
    ['nodes ready', 'nodes', 'ready: true', ['node-a', 'node-b']],
    ['nodes cordoned', 'nodes', 'unschedulable: true', ['node-c']],
    ['nodes by label selector', 'nodes', 'labelSelector: "topology.kubernetes.io/zone notin (zone-a)"', ['node-b']],
    ['slices, sorted', 'endpointSlices', 'namespace: "shop"', ['shop/db-x', 'shop/empty-p', 'shop/manual-1', 'shop/web-abc', 'shop/web-lb-v4']],
    ['slices by manager', 'endpointSlices', 'managedBy: "endpointslice-mirroring-controller.k8s.io"', ['shop/manual-1']],
    ['slices by label selector', 'endpointSlices', 'labelSelector: "kubernetes.io/service-name=web"', ['shop/web-abc']],
    ['slices by address type', 'endpointSlices', 'addressType: IPv6', []],
  ];
  for (const [name, field, args, want] of cases) {
    it(name, async () => {
      const d = await world.data(`{ ${field}${args ? `(${args})` : ''} { ${page} } }`);
      assert.deepEqual(keys(d[field]), want);
    });
  }
});

describe('GraphQL lists: endpoints of a Service and of a Node', () => {
  const cases: [string, string, string[]][] = [
    ['all, sorted by address', '', ['10.4.1.1', '10.4.2.17', '10.4.3.3']],
    ['ready', 'ready: true', ['10.4.1.1', '10.4.2.17']],
    ['not ready', 'ready: false', ['10.4.3.3']],
    ['serving and terminating', 'serving: true, terminating: true', ['10.4.3.3']],
    ['in a zone', 'zone: "zone-a"', ['10.4.1.1', '10.4.3.3']],
    ['on a node', 'node: "node-b"', ['10.4.2.17']],
    ['ready in a zone', 'ready: true, zone: "zone-a"', ['10.4.1.1']],
  ];
  for (const [name, args, want] of cases) {
    it(name, async () => {
      const d = await world.data(`{ service(namespace: "shop", name: "web") { endpoints${args ? `(${args})` : ''} { totalCount items { address } } } }`);
      assert.deepEqual(d.service.endpoints.items.map((e: any) => e.address), want);
      assert.equal(d.service.endpoints.totalCount, want.length);
    });
  }

  it('a Node\'s endpoints filter by readiness', async () => {
    const d = await world.data(`{ node(name: "node-c") { all: endpoints { items { address } } ready: endpoints(ready: true) { totalCount } } }`);
    assert.deepEqual(d.node.all.items, [{ address: '10.4.3.3' }]);
    assert.equal(d.node.ready.totalCount, 0);
  });
});

describe('GraphQL lists: pagination', () => {
  // 250 Services over three namespaces whose names sort differently as "namespace/name"
  // strings than as (namespace, name) pairs: "a" < "a-b", but "a-b/x" < "a/x".
  const namespaces = ['a', 'a-b', 'b'];
  const services = namespaces.flatMap((ns) => Array.from({ length: ns === 'b' ? 50 : 100 }, (_, i) => service(ns, `svc-${String(i).padStart(3, '0')}`)));
  const big = new World({ services });
  const all = [...services].map((s) => `${s.meta.namespace}/${s.meta.name}`);

  it('pages in (namespace, name) order, with cursors that pick up where the last page ended', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const d: any = await big.data(`query ($after: String) { services(first: 70, after: $after) { ${page} } }`, { after });
      const c = d.services;
      assert.equal(c.totalCount, 250);
      assert.equal(c.pageInfo.hasPreviousPage, after !== null);
      assert.equal(c.pageInfo.startCursor, c.edges[0]?.cursor ?? null);
      assert.equal(c.pageInfo.endCursor, c.edges.at(-1)?.cursor ?? null);
      seen.push(...keys(c));
      pages++;
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    assert.equal(pages, 4);
    assert.deepEqual(seen, all, 'a before a-b before b, every service once');
  });

  it('uses 100 items when first is left out, and accepts up to 1000', async () => {
    const d = await big.data(`{ dflt: services { totalCount edges { cursor } pageInfo { hasNextPage } } max: services(first: 1000) { edges { cursor } pageInfo { hasNextPage } } }`);
    assert.equal(d.dflt.edges.length, 100);
    assert.equal(d.dflt.pageInfo.hasNextPage, true);
    assert.equal(d.max.edges.length, 250);
    assert.equal(d.max.pageInfo.hasNextPage, false);
  });

  it('answers only totalCount and no cursors for first: 0', async () => {
    const d = await big.data(`{ services(first: 0, namespace: "b") { ${page} } }`);
    assert.deepEqual(d.services, { totalCount: 50, pageInfo: { hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null }, edges: [] });
  });

  it('continues after a cursor whose item was deleted in between', async () => {
    const w = new World({ services: [service('a', 's1'), service('a', 's2'), service('a', 's3')] });
    const first = await w.data(`{ services(first: 2) { edges { cursor node { metadata { name } } } } }`);
    const cursor = first.services.edges[1].cursor;
    w.cache.services.delete('a/s2');
    const next = await w.data(`query ($c: String) { services(first: 2, after: $c) { ${page} } }`, { c: cursor });
    assert.deepEqual(keys(next.services), ['a/s3']);
    assert.equal(next.services.pageInfo.hasNextPage, false);
  });

  it('pages a Service\'s endpoints by address, and a Node\'s by Service then address', async () => {
    const pods = Array.from({ length: 5 }, (_, i) => pod('ns', `p-${i}`, { labels: { app: 'x' }, node: 'n1', ips: [`10.0.1.${i + 1}`] }));
    const w = new World({
      nodes: [node('n1')],
      pods,
      services: [service('ns', 'x', { selector: { app: 'x' } }), service('ns', 'y', { selector: { app: 'x' } })],
      slices: [slice('ns', 'x-1', 'x', pods.map((p) => endpoint(p.podIPs[0]!, { pod: p }))), slice('ns', 'y-1', 'y', pods.map((p) => endpoint(p.podIPs[0]!, { pod: p })))],
    });
    const one = await w.data(`{ service(namespace: "ns", name: "x") { endpoints(first: 2) { pageInfo { endCursor } } } }`);
    const two = await w.data(`query ($c: String) { service(namespace: "ns", name: "x") { endpoints(first: 2, after: $c) { items { address } pageInfo { hasPreviousPage } } } }`, {
      c: one.service.endpoints.pageInfo.endCursor,
    });
    assert.deepEqual(two.service.endpoints.items.map((e: any) => e.address), ['10.0.1.3', '10.0.1.4']);
    const n = await w.data(`{ node(name: "n1") { endpoints(first: 4) { totalCount pageInfo { endCursor } items { address service { metadata { name } } } } } }`);
    assert.equal(n.node.endpoints.totalCount, 10);
    const rest = await w.data(`query ($c: String) { node(name: "n1") { endpoints(after: $c) { items { address service { metadata { name } } } } } }`, { c: n.node.endpoints.pageInfo.endCursor });
    const line = (e: any) => `${e.service.metadata.name} ${e.address}`;
    assert.deepEqual([...n.node.endpoints.items, ...rest.node.endpoints.items].map(line), [
      ...pods.map((p) => `x ${p.podIPs[0]}`),
      ...pods.map((p) => `y ${p.podIPs[0]}`),
    ]);
  });

  it('encodes the same cursor for the same item, run after run', async () => {
    const d = await big.data(`{ services(first: 1) { edges { cursor } } }`);
    assert.equal(d.services.edges[0].cursor, encodeCursor('Service', 'a\0svc-000'));
  });
});
