import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { names, pod, service, smallCluster, World } from './graphql-fixtures.ts';

const world = smallCluster();

describe('GraphQL: a Service', () => {
  it('serves its spec in Kubernetes words: type, ClusterIPs, families, ports with targetPort as written', async () => {
    const d = await world.data(`{
      web: service(namespace: "shop", name: "web") {
        type clusterIP clusterIPs ipFamilies ipFamilyPolicy headless sessionAffinity internalTrafficPolicy publishNotReadyAddresses
        selector { key value } selectorString
        ports { name protocol port targetPort targetPortNumber targetPortName nodePort }
        metadata { namespace name labels { key value } label(key: "tier") annotation(key: "none") creationTimestamp resourceVersion }
      }
      lb: service(namespace: "shop", name: "web-lb") { type clusterIPs ipFamilies loadBalancerIngress { ip hostname } ports { port nodePort targetPort targetPortNumber } }
      db: service(namespace: "shop", name: "db") { clusterIP headless }
      ext: service(namespace: "shop", name: "ext") { type clusterIP clusterIPs externalName }
      manual: service(namespace: "shop", name: "manual") { selector { key } selectorString }
    }`);
    assert.deepEqual(d.web.ports, [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', targetPortNumber: null, targetPortName: 'http', nodePort: null },
      { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: '9090', targetPortNumber: 9090, targetPortName: null, nodePort: null },
    ]);
    assert.equal(d.web.type, 'ClusterIP');
    assert.deepEqual([d.web.clusterIP, d.web.clusterIPs, d.web.ipFamilies, d.web.ipFamilyPolicy, d.web.headless], ['10.96.0.10', ['10.96.0.10'], ['IPv4'], 'SingleStack', false]);
    assert.deepEqual([d.web.sessionAffinity, d.web.internalTrafficPolicy, d.web.publishNotReadyAddresses], ['None', 'Cluster', false]);
    assert.deepEqual(d.web.selector, [{ key: 'app', value: 'web' }]);
    assert.equal(d.web.selectorString, 'app=web');
    assert.deepEqual(d.web.metadata.labels, [{ key: 'tier', value: 'front' }]);
    assert.deepEqual([d.web.metadata.namespace, d.web.metadata.name, d.web.metadata.label, d.web.metadata.annotation], ['shop', 'web', 'front', null]);
    assert.equal(d.web.metadata.creationTimestamp, '2025-03-01T10:00:00Z');
    assert.deepEqual(d.lb, {
      type: 'LoadBalancer',
      clusterIPs: ['10.96.0.30', 'fd00::30'],
      ipFamilies: ['IPv4', 'IPv6'],
      loadBalancerIngress: [{ ip: '203.0.113.10', hostname: null }],
      ports: [{ port: 443, nodePort: 30443, targetPort: '8080', targetPortNumber: 8080 }],
    });
    assert.deepEqual(d.db, { clusterIP: 'None', headless: true });
    assert.deepEqual(d.ext, { type: 'ExternalName', clusterIP: null, clusterIPs: [], externalName: 'db.example.com' });
    assert.deepEqual(d.manual, { selector: null, selectorString: null });
  });

  it('reaches its slices, merged endpoints (counts, per zone), selected pods and the nodes its endpoints run on', async () => {
    const d = await world.data(`{
      service(namespace: "shop", name: "web") {
        slices { metadata { name } addressType managedBy serviceName }
        endpointCounts { total ready serving terminating }
        hasReadyEndpoints
        endpointsByZone { zone total ready serving terminating }
        endpoints { totalCount items { address ready serving terminating nodeName zone hints { forZones forNodes } targetRef { kind namespace name } ports { name port protocol } } }
        pods { totalCount edges { node { metadata { name } } } }
        nodes { totalCount edges { node { metadata { name } } } }
      }
    }`);
    const s = d.service;
    assert.deepEqual(s.slices, [{ metadata: { name: 'web-abc' }, addressType: 'IPv4', managedBy: 'endpointslice-controller.k8s.io', serviceName: 'web' }]);
    assert.deepEqual(s.endpointCounts, { total: 3, ready: 2, serving: 3, terminating: 1 });
    assert.equal(s.hasReadyEndpoints, true);
    assert.deepEqual(s.endpointsByZone, [
      { zone: 'zone-a', total: 2, ready: 1, serving: 2, terminating: 1 },
      { zone: 'zone-b', total: 1, ready: 1, serving: 1, terminating: 0 },
    ]);
    assert.deepEqual(
      s.endpoints.items.map((e: any) => `${e.address} ${e.ready ? 'R' : '-'}${e.serving ? 'S' : '-'}${e.terminating ? 'T' : '-'} ${e.nodeName} ${e.zone} ${e.targetRef.name}`),
      ['10.4.1.1 RS- node-a zone-a web-1', '10.4.2.17 RS- node-b zone-b web-2', '10.4.3.3 -ST node-c zone-a web-3'],
    );
    assert.deepEqual(s.endpoints.items[0].hints, { forZones: ['zone-a'], forNodes: [] });
    assert.equal(s.endpoints.items[2].hints, null);
    assert.deepEqual(s.endpoints.items[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }]);
    assert.deepEqual(names(s.pods), ['web-1', 'web-2', 'web-3', 'web-4'], 'selected pods, endpoints or not (web-4 is pending)');
    assert.deepEqual(names(s.nodes), ['node-a', 'node-b', 'node-c']);
  });

  it('has slices but no endpoints when its controller wrote an empty placeholder', async () => {
    const d = await world.data(`{ service(namespace: "shop", name: "empty") { slices { metadata { name } endpoints { addresses } } endpointCounts { total } hasReadyEndpoints endpointsByZone { zone } endpoints { totalCount } pods { totalCount } nodes { totalCount } } }`);
    assert.deepEqual(d.service, {
      slices: [{ metadata: { name: 'empty-p' }, endpoints: [] }],
      endpointCounts: { total: 0 },
      hasReadyEndpoints: false,
      endpointsByZone: [],
      endpoints: { totalCount: 0 },
      pods: { totalCount: 0 },
      nodes: { totalCount: 0 },
    });
  });

  it('selects no pods when selectorless, but still serves its mirrored endpoints', async () => {
    const d = await world.data(`{ service(namespace: "shop", name: "manual") { pods { totalCount } endpoints { items { address nodeName zone pod { metadata { name } } node { metadata { name } } } } slices { managedBy } } }`);
    assert.deepEqual(d.service, {
      pods: { totalCount: 0 },
      endpoints: { items: [{ address: '192.168.7.7', nodeName: null, zone: null, pod: null, node: null }] },
      slices: [{ managedBy: 'endpointslice-mirroring-controller.k8s.io' }],
    });
  });

  it('is null when not in the cache', async () => {
    const d = await world.data(`{ service(namespace: "shop", name: "nope") { type } pod(namespace: "shop", name: "nope") { phase } node(name: "nope") { ready } endpointSlice(namespace: "shop", name: "nope") { addressType } }`);
    assert.deepEqual(d, { service: null, pod: null, node: null, endpointSlice: null });
  });
});

describe('GraphQL: an Endpoint', () => {
  it('leads back to its Service, Pod, Node and slices', async () => {
    const d = await world.data(`{
      service(namespace: "shop", name: "web") {
        endpoints(first: 1) { items { address addressType addresses service { metadata { namespace name } } pod { metadata { name } podIP } node { metadata { name } zone } slices { metadata { name } } } }
      }
    }`);
    assert.deepEqual(d.service.endpoints.items, [
      {
        address: '10.4.1.1',
        addressType: 'IPv4',
        addresses: ['10.4.1.1'],
        service: { metadata: { namespace: 'shop', name: 'web' } },
        pod: { metadata: { name: 'web-1' }, podIP: '10.4.1.1' },
        node: { metadata: { name: 'node-a' }, zone: 'zone-a' },
        slices: [{ metadata: { name: 'web-abc' } }],
      },
    ]);
  });
});

describe('GraphQL: an EndpointSlice', () => {
  it('serves its endpoints as written (conditions with defaults) and leads to its Service, Pods and Nodes', async () => {
    const d = await world.data(`{
      endpointSlice(namespace: "shop", name: "web-abc") {
        metadata { name ownerReferences { kind name controller } }
        addressType managedBy serviceName service { metadata { name } }
        ports { name port protocol appProtocol }
        endpoints { addresses conditions { ready serving terminating } nodeName zone targetRef { kind name } pod { metadata { name } } node { metadata { name } } hints { forZones } }
      }
    }`);
    const s = d.endpointSlice;
    assert.deepEqual(s.metadata.ownerReferences, [{ kind: 'Service', name: 'web', controller: true }]);
    assert.equal(s.service.metadata.name, 'web');
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: null }, { name: 'metrics', port: 9090, protocol: 'TCP', appProtocol: null }]);
    assert.deepEqual(
      s.endpoints.map((e: any) => [e.addresses[0], e.conditions, e.pod.metadata.name, e.node.metadata.name]),
      [
        ['10.4.1.1', { ready: true, serving: true, terminating: false }, 'web-1', 'node-a'],
        ['10.4.2.17', { ready: true, serving: true, terminating: false }, 'web-2', 'node-b'],
        ['10.4.3.3', { ready: false, serving: true, terminating: true }, 'web-3', 'node-c'],
      ],
    );
  });
});

describe('GraphQL: a Pod', () => {
  it('serves placement, IPs, readiness, containers and its controller', async () => {
    const d = await world.data(`{
      web3: pod(namespace: "shop", name: "web-3") { phase podIP podIPs hostIP nodeName ready terminating owner { kind name controller } containers { name sidecar ports { name containerPort protocol } } metadata { deletionTimestamp } }
      web4: pod(namespace: "shop", name: "web-4") { phase podIP podIPs nodeName node { metadata { name } } zone ready }
    }`);
    assert.deepEqual(d.web3, {
      phase: 'Running',
      podIP: '10.4.3.3',
      podIPs: ['10.4.3.3'],
      hostIP: '10.0.0.1',
      nodeName: 'node-c',
      ready: false,
      terminating: true,
      owner: { kind: 'ReplicaSet', name: 'web-7d9f', controller: true },
      containers: [{ name: 'main', sidecar: false, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
      metadata: { deletionTimestamp: '2025-03-01T11:00:00Z' },
    });
    assert.deepEqual(d.web4, { phase: 'Pending', podIP: null, podIPs: [], nodeName: null, node: null, zone: null, ready: false });
  });

  it('leads to its Node, the Services that select it, and its endpoints with their Service', async () => {
    const d = await world.data(`{
      pod(namespace: "shop", name: "web-1") {
        node { metadata { name } } zone
        services { metadata { name } }
        endpoints { address ready service { metadata { name } } }
        servicePorts { service { metadata { name } } port { name port targetPort } podPort }
      }
    }`);
    assert.deepEqual(d.pod.node, { metadata: { name: 'node-a' } });
    assert.equal(d.pod.zone, 'zone-a');
    assert.deepEqual(d.pod.services.map((s: any) => s.metadata.name), ['web', 'web-lb']);
    assert.deepEqual(d.pod.endpoints, [
      { address: '10.4.1.1', ready: true, service: { metadata: { name: 'web' } } },
      { address: '10.4.1.1', ready: true, service: { metadata: { name: 'web-lb' } } },
    ]);
    assert.deepEqual(
      d.pod.servicePorts.map((p: any) => `${p.service.metadata.name}:${p.port.name}:${p.port.targetPort}→${p.podPort}`),
      ['web:http:http→8080', 'web:metrics:9090→9090', 'web-lb:http:8080→8080'],
    );
  });

  it('resolves a named targetPort per pod, to null when no container port of that name and protocol exists', async () => {
    const w = new World({
      services: [service('shop', 'api', { ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'grpc', port: 81, targetPort: 'grpc' }] })],
      pods: [
        pod('shop', 'api-1', { labels: { app: 'api' }, node: 'node-a', ips: ['10.4.1.9'], ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 9000, protocol: 'UDP' }] }),
      ],
    });
    const d = await w.data(`{ pod(namespace: "shop", name: "api-1") { servicePorts { port { name targetPort } podPort } } }`);
    assert.deepEqual(d.pod.servicePorts, [
      { port: { name: 'http', targetPort: 'http' }, podPort: 8080 },
      { port: { name: 'grpc', targetPort: 'grpc' }, podPort: null },
    ]);
  });

  it('has no Services, endpoints or service ports when no Service selects it', async () => {
    const d = await world.data(`{ pod(namespace: "kube-system", name: "node-exporter-a") { services { metadata { name } } endpoints { address } servicePorts { podPort } } }`);
    assert.deepEqual(d.pod, { services: [], endpoints: [], servicePorts: [] });
  });
});

describe('GraphQL: a Node', () => {
  it('serves readiness, addresses, topology, CIDRs and taints', async () => {
    const d = await world.data(`{ node(name: "node-c") { metadata { name namespace } ready addresses { type address } zone region unschedulable taints { key value effect } podCIDRs } }`);
    assert.deepEqual(d.node.metadata, { name: 'node-c', namespace: null });
    assert.deepEqual([d.node.ready, d.node.zone, d.node.region, d.node.unschedulable], [false, 'zone-a', 'region-1', true]);
    assert.deepEqual(d.node.addresses, [{ type: 'InternalIP', address: '10.0.0.3' }, { type: 'Hostname', address: 'node-c' }]);
    assert.deepEqual(d.node.taints, [{ key: 'node.kubernetes.io/unreachable', value: null, effect: 'NoExecute' }]);
    assert.equal(d.node.podCIDRs.length, 1);
  });

  it('leads to its pods, the endpoints on it (with their Service) and those Services', async () => {
    const d = await world.data(`{
      node(name: "node-a") {
        pods { totalCount edges { node { metadata { namespace name } } } }
        endpoints { totalCount items { address service { metadata { name } } } }
        services { totalCount edges { node { metadata { name } } } }
      }
    }`);
    assert.deepEqual(d.node.pods.edges.map((e: any) => `${e.node.metadata.namespace}/${e.node.metadata.name}`), ['kube-system/node-exporter-a', 'shop/db-0', 'shop/web-1']);
    assert.deepEqual(d.node.endpoints.items.map((e: any) => `${e.service.metadata.name} ${e.address}`), ['db 10.4.1.5', 'web 10.4.1.1', 'web-lb 10.4.1.1']);
    assert.deepEqual(names(d.node.services), ['db', 'web', 'web-lb']);
  });
});

describe('GraphQL: ip(address)', () => {
  const query = `query ($a: String!) { ip(address: $a) {
    address family
    pods { metadata { name } } endpoints { address service { metadata { name } } } services { metadata { name } } nodes { metadata { name } }
    holders { __typename ... on Pod { metadata { name } } ... on Endpoint { service { metadata { name } } } ... on Service { metadata { name } } ... on Node { metadata { name } } }
  } }`;
  const holders = (d: any) => d.ip.holders.map((h: any) => `${h.__typename}:${(h.metadata ?? h.service.metadata).name}`);

  it('finds a pod IP as the Pod and as an endpoint of every Service that routes to it', async () => {
    const d = await world.data(query, { a: '10.4.2.17' });
    assert.deepEqual(holders(d), ['Pod:web-2', 'Endpoint:web', 'Endpoint:web-lb']);
    assert.equal(d.ip.family, 'IPv4');
  });

  it('finds a ClusterIP as its Service', async () => {
    assert.deepEqual(holders(await world.data(query, { a: '10.96.0.10' })), ['Service:web']);
  });

  it('finds a hostNetwork pod and its Node under the same address', async () => {
    assert.deepEqual(holders(await world.data(query, { a: '10.0.0.1' })), ['Pod:node-exporter-a', 'Node:node-a']);
  });

  it('finds an IPv6 ClusterIP written in any IPv6 spelling, answering in canonical form', async () => {
    const d = await world.data(query, { a: 'FD00:0:0::30' });
    assert.equal(d.ip.address, 'fd00::30');
    assert.equal(d.ip.family, 'IPv6');
    assert.deepEqual(holders(d), ['Service:web-lb']);
  });

  it('answers an empty list for an address nothing has', async () => {
    const d = await world.data(query, { a: '10.99.99.99' });
    assert.deepEqual(d.ip, { address: '10.99.99.99', family: 'IPv4', pods: [], endpoints: [], services: [], nodes: [], holders: [] });
  });
});

describe('GraphQL: cluster', () => {
  it('reports sync state per kind, in kind order', async () => {
    const d = await world.data(`{ cluster { ready kinds { kind phase synced syncedAt lastEventAt lastEventAgeSeconds consecutiveFailures lastError } kind(kind: Pod) { kind } } }`);
    assert.equal(d.cluster.ready, true);
    assert.deepEqual(d.cluster.kinds.map((k: any) => k.kind), ['Service', 'EndpointSlice', 'Pod', 'Node', 'Ingress', 'IngressClass', 'GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant']);
    for (const k of d.cluster.kinds) {
      assert.equal(k.synced, true);
      assert.equal(k.consecutiveFailures, 0);
      assert.equal(k.lastError, null);
    }
    assert.deepEqual(d.cluster.kind, { kind: 'Pod' });
  });
});
