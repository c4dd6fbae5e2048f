import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileEndpointSlices } from '../src/endpointslices.ts';
import type { ReconcileInput, SliceChanges } from '../src/endpointslices.ts';
import type { EndpointConditionsJson, EndpointSliceJson, NodeJson, PodJson, ServiceJson } from '../src/types.ts';

// Builders with sane defaults.

function aNode(name: string, zone = 'zone-a'): NodeJson {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', labels: { 'topology.kubernetes.io/zone': zone } },
    spec: {},
    status: { capacity: {}, allocatable: {}, conditions: [], addresses: [] },
  };
}

const nodes = new Map([['n1', aNode('n1', 'zone-a')], ['n2', aNode('n2', 'zone-b')]]);

interface PodOptions {
  ready?: boolean;
  terminating?: boolean;
  ip?: string | null;
  node?: string;
  httpPort?: number;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  labels?: Record<string, string>;
}

function aPod(name: string, o: PodOptions = {}): PodJson {
  const ip = o.ip === undefined ? `10.0.0.${Number(name.replace(/\D/g, '') || '1') % 250 + 2}` : o.ip;
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: o.labels ?? { app: 'web' },
      ...(o.terminating ? { deletionTimestamp: '2025-01-01T00:00:30Z' } : {}),
    },
    spec: { nodeName: o.node ?? 'n1', containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: o.httpPort ?? 8080, protocol: 'TCP' }] }] },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: (o.ready ?? true) ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: '2025-01-01T00:00:00Z' }],
      ...(ip === null ? {} : { podIP: ip, podIPs: [{ ip }] }),
    },
  };
}

function aService(o: Partial<ServiceJson['spec']> = {}): ServiceJson {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: { name: 'web', namespace: 'ns', uid: 'uid-web', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', labels: { team: 'a' } },
    spec: { type: 'ClusterIP', selector: { app: 'web' }, clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' }], ...o },
    status: { loadBalancer: {} },
  };
}

function reconcile(input: Partial<ReconcileInput> & { pods: PodJson[] }): SliceChanges {
  return reconcileEndpointSlices({ service: aService(), existing: [], getNode: (n) => nodes.get(n), ...input });
}

/** Gives created slices names, as the API server's generateName would. */
function named(changes: SliceChanges): EndpointSliceJson[] {
  return changes.create.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `web-${i}`, uid: `slice-${i}` } }));
}

function conditionsOf(changes: SliceChanges): EndpointConditionsJson[] {
  return changes.create.flatMap((s) => (s.endpoints ?? []).map((e) => e.conditions));
}

describe('reconcileEndpointSlices', () => {
  describe('endpoint conditions follow the controller', () => {
    const cases: [string, PodOptions, Partial<ServiceJson['spec']>, EndpointConditionsJson][] = [
      ['ready pod', { ready: true }, {}, { ready: true, serving: true, terminating: false }],
      ['not-ready pod', { ready: false }, {}, { ready: false, serving: false, terminating: false }],
      ['terminating, still ready pod', { ready: true, terminating: true }, {}, { ready: false, serving: true, terminating: true }],
      ['terminating, not-ready pod', { ready: false, terminating: true }, {}, { ready: false, serving: false, terminating: true }],
      ['not-ready pod, publishNotReadyAddresses', { ready: false }, { publishNotReadyAddresses: true }, { ready: true, serving: false, terminating: false }],
      ['terminating pod, publishNotReadyAddresses', { ready: true, terminating: true }, { publishNotReadyAddresses: true }, { ready: true, serving: true, terminating: true }],
    ];
    for (const [name, pod, spec, want] of cases) {
      it(name, () => {
        assert.deepEqual(conditionsOf(reconcile({ service: aService(spec), pods: [aPod('p1', pod)] })), [want]);
      });
    }
  });

  it('writes address, nodeName, zone and targetRef; service labels plus the reserved ones', () => {
    const changes = reconcile({ pods: [aPod('p1', { node: 'n2' })], triggerTime: '2025-01-01T00:00:01Z' });
    const [slice] = changes.create;
    assert.deepEqual(slice?.endpoints, [{
      addresses: ['10.0.0.3'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace: 'ns', name: 'p1', uid: 'uid-p1' },
      nodeName: 'n2',
      zone: 'zone-b',
    }]);
    assert.deepEqual(slice?.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
    assert.deepEqual(slice?.metadata.labels, { team: 'a', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    assert.equal(slice?.metadata.generateName, 'web-');
    assert.equal(slice?.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'], '2025-01-01T00:00:01Z');
    assert.deepEqual(slice?.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }]);
  });

  it('leaves out pods without an IP, terminal pods and pods on a missing node: a placeholder remains', () => {
    const changes = reconcile({
      pods: [aPod('p1', { ip: null, phase: 'Pending' }), aPod('p2', { phase: 'Succeeded' }), aPod('p3', { node: 'gone' })],
    });
    assert.equal(changes.create.length, 1);
    assert.equal(changes.create[0]?.endpoints, null);
    assert.equal(changes.create[0]?.ports, null);
  });

  it('puts pods whose named port resolves to different numbers in different slices', () => {
    const changes = reconcile({ pods: [aPod('p1', { httpPort: 8080 }), aPod('p2', { httpPort: 8081 }), aPod('p3', { httpPort: 8080 })] });
    const bySize = changes.create.map((s) => [s.ports?.[0]?.port, s.endpoints?.length]).sort();
    assert.deepEqual(bySize, [[8080, 2], [8081, 1]]);
  });

  it('splits 250 endpoints into slices of 100, 100 and 50', () => {
    const pods = Array.from({ length: 250 }, (_, i) => aPod(`p${i}`, { ip: `10.1.${i >> 8}.${i & 255}` }));
    assert.deepEqual(reconcile({ pods }).create.map((s) => s.endpoints?.length), [100, 100, 50]);
  });

  it('gives a dual-stack Service a slice per family', () => {
    const pod = { ...aPod('p1'), status: { ...aPod('p1').status, podIPs: [{ ip: '10.0.0.3' }, { ip: 'fd00::3' }] } };
    const changes = reconcile({ service: aService({ ipFamilies: ['IPv4', 'IPv6'] }), pods: [pod] });
    assert.deepEqual(changes.create.map((s) => [s.addressType, s.endpoints?.[0]?.addresses]), [['IPv4', ['10.0.0.3']], ['IPv6', ['fd00::3']]]);
  });

  it('writes nothing for a selectorless Service and deletes the slices of an ExternalName one', () => {
    const existing = named(reconcile({ pods: [aPod('p1')] }));
    const { selector: _selector, ...selectorless } = aService().spec;
    assert.deepEqual(reconcileEndpointSlices({ service: { ...aService(), spec: selectorless }, pods: [], existing, getNode: () => undefined }), { create: [], update: [], delete: [] });
    const externalName = aService({ type: 'ExternalName', externalName: 'example.com' });
    assert.deepEqual(reconcileEndpointSlices({ service: externalName, pods: [], existing, getNode: () => undefined }).delete, existing);
  });

  describe('incremental changes update slices in place', () => {
    const pods = Array.from({ length: 120 }, (_, i) => aPod(`p${i}`, { ip: `10.1.0.${i + 2}` }));
    const existing = named(reconcile({ pods }));

    it('no change: nothing to do', () => {
      assert.deepEqual(reconcile({ pods, existing }), { create: [], update: [], delete: [] });
    });

    it('one pod turns not ready: only its slice is updated', () => {
      const changed = pods.map((p, i) => (i === 110 ? aPod('p110', { ip: '10.1.0.112', ready: false }) : p));
      const changes = reconcile({ pods: changed, existing });
      assert.deepEqual(changes.create, []);
      assert.deepEqual(changes.delete, []);
      assert.deepEqual(changes.update.map((s) => s.metadata.name), ['web-1']);
      assert.equal(changes.update[0]?.metadata.generation, 2);
      assert.deepEqual(changes.update[0]?.endpoints?.find((e) => e.targetRef?.name === 'p110')?.conditions, { ready: false, serving: false, terminating: false });
    });

    it('a new pod fills the slice being updated before a new slice is made', () => {
      const changed = [...pods.filter((p) => p.metadata.name !== 'p5'), aPod('p200', { ip: '10.1.1.200' })];
      const changes = reconcile({ pods: changed, existing });
      assert.deepEqual(changes.create, []);
      assert.deepEqual(changes.update.map((s) => [s.metadata.name, s.endpoints?.length]), [['web-0', 100]]);
    });

    it('all pods gone: a slice is kept (recycled) as the empty placeholder, the rest deleted', () => {
      const changes = reconcile({ pods: [], existing });
      assert.deepEqual(changes.create, []);
      assert.equal(changes.update.length, 1);
      assert.equal(changes.update[0]?.endpoints, null);
      assert.equal(changes.delete.length, 1);
    });

    it('a Service that gains endpoints reuses its placeholder’s name', () => {
      const placeholder = named(reconcile({ pods: [] }));
      const changes = reconcile({ pods: [aPod('p1')], existing: placeholder });
      assert.deepEqual(changes.create, []);
      assert.deepEqual(changes.delete, []);
      assert.deepEqual(changes.update.map((s) => [s.metadata.name, s.endpoints?.length]), [['web-0', 1]]);
    });

    it('the placeholder of a Service still without endpoints is kept as is', () => {
      const placeholder = named(reconcile({ pods: [] }));
      assert.deepEqual(reconcile({ pods: [], existing: placeholder }), { create: [], update: [], delete: [] });
    });
  });
});
