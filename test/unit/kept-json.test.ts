/**
 * List pages parsed keeping only what ingest reads (src/kube/kept-json.ts, the masks in
 * src/kube/ingest-fields.ts), against JSON.parse as the reference: the items equal JSON.parse's
 * pruned by the mask, ingest makes equal records from both for every core kind, malformed and
 * truncated bodies throw, and response bodies are read into reused buffers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { parseList, type Kept } from '../../src/kube/kept-json.ts';
import { IngestedFields } from '../../src/kube/ingest-fields.ts';
import { ingest } from '../../src/kube/ingest.ts';
import { ApiError, BodyBuffer, parseListBody, readBodyBytes } from '../../src/kube/client.ts';
import type { CoreKind } from '../../src/kube/records.ts';
import { generateCluster } from '../../demo/src/generate.ts';

/** The reference: a parsed value cut down to a mask (whole where the mask is `true` or the value is not an object). */
function prune(v: unknown, kept: Kept): unknown {
  if (kept === true || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((e) => prune(e, kept));
  const out: Record<string, unknown> = {};
  for (const [k, sub] of Object.entries(kept)) if (Object.hasOwn(v, k)) out[k] = prune((v as Record<string, unknown>)[k], sub);
  return out;
}

function page(items: readonly unknown[], metadata: object = { resourceVersion: '7' }): Buffer {
  return Buffer.from(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata, items }));
}

function itemsOf(bytes: Buffer, kept: Kept): unknown[] {
  const p = parseList(bytes, kept);
  assert.ok(p.items, 'items');
  return [...p.items];
}

/** One object per kind carrying every field its ingest function reads, and fields it drops. */
const EveryField: Record<CoreKind, object> = {
  Pod: {
    metadata: {
      name: 'web-1', generateName: 'web-', namespace: 'shop', uid: 'u1', resourceVersion: '12', creationTimestamp: '2026-01-01T00:00:00Z',
      deletionTimestamp: '2026-01-02T00:00:00Z', labels: { app: 'web' },
      annotations: { a: 'b', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'u0', controller: true, blockOwnerDeletion: true }],
      managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } } }],
    },
    spec: {
      nodeName: 'n1',
      initContainers: [
        { name: 'sidecar', restartPolicy: 'Always', image: 'x', ports: [{ name: 'm', containerPort: 9090, protocol: 'TCP' }] },
        { name: 'init', image: 'y', ports: [{ containerPort: 1 }] },
      ],
      containers: [{ name: 'app', image: 'z', ports: [{ name: 'http', containerPort: 8080 }], env: [{ name: 'A', value: 'b' }], resources: { limits: { cpu: '1' } } }],
      volumes: [{ name: 'v', emptyDir: {} }],
      tolerations: [{ key: 'k', operator: 'Exists' }],
    },
    status: {
      phase: 'Running', hostIP: '10.0.0.1', hostIPs: [{ ip: '10.0.0.1' }], podIP: '10.1.0.1', podIPs: [{ ip: '10.1.0.1' }, { ip: 'fd00::1' }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:01:00Z', lastProbeTime: null }],
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:30Z' } } }],
      qosClass: 'Burstable',
    },
  },
  Service: {
    metadata: { name: 'web', namespace: 'shop', uid: 'u2', resourceVersion: '3', labels: { app: 'web' }, managedFields: [{ manager: 'x' }] },
    spec: {
      type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:10::a'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080, appProtocol: 'http' }], selector: { app: 'web' },
      externalName: 'example.com', externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster', sessionAffinity: 'ClientIP',
      trafficDistribution: 'PreferClose', publishNotReadyAddresses: true, allocateLoadBalancerNodePorts: true, healthCheckNodePort: 31000,
    },
    status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { hostname: 'lb.example.com' }] }, conditions: [] },
  },
  EndpointSlice: {
    metadata: { name: 'web-abc', namespace: 'shop', uid: 'u3', resourceVersion: '4', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, managedFields: [{ manager: 'y' }] },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
    endpoints: [{
      addresses: ['10.1.0.1'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'h', nodeName: 'n1', zone: 'z1',
      targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1' }, hints: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'n1' }] },
      deprecatedTopology: { x: 'y' },
    }],
  },
  Node: {
    metadata: { name: 'n1', uid: 'u4', resourceVersion: '5', labels: { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r1' }, managedFields: [{ manager: 'kubelet' }] },
    spec: { podCIDR: '10.1.0.0/24', podCIDRs: ['10.1.0.0/24', 'fd00:1::/64'], unschedulable: true, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }], providerID: 'p' },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '192.168.0.1' }],
      images: [{ names: ['registry/app@sha256:0', 'registry/app:1'], sizeBytes: 1 }], nodeInfo: { kubeletVersion: 'v1.36.3' }, capacity: { cpu: '4' },
    },
  },
};

const Kinds: readonly CoreKind[] = ['Pod', 'Service', 'EndpointSlice', 'Node'];

describe('list pages keeping the fields ingest reads', () => {
  const demo = generateCluster('demo', { seed: 1 });
  const generated: Record<CoreKind, readonly object[]> = { Pod: demo.pods, Service: demo.services, EndpointSlice: demo.endpointSlices, Node: demo.nodes };

  for (const kind of Kinds) {
    it(`${kind}: ingest makes the same records from the kept fields as from JSON.parse (every field it reads, and the demo cluster's objects)`, () => {
      const objects = [EveryField[kind], ...generated[kind]];
      const bytes = page(objects);
      const kept = itemsOf(bytes, IngestedFields[kind]!);
      const full = JSON.parse(bytes.toString()).items as unknown[];
      assert.equal(kept.length, objects.length);
      for (const [i, item] of kept.entries()) assert.deepEqual(ingest(kind, item), ingest(kind, full[i]), `${kind} #${i}`);
    });

    it(`${kind}: the items are JSON.parse's cut down to the mask, and leave out what ingest drops`, () => {
      const bytes = page([EveryField[kind], ...generated[kind]]);
      const mask = IngestedFields[kind]!;
      assert.deepEqual(itemsOf(bytes, mask), prune(JSON.parse(bytes.toString()).items, mask));
      const first = itemsOf(bytes, mask)[0] as { metadata: Record<string, unknown> };
      assert.equal('managedFields' in first.metadata, false);
    });
  }

  it('escapes, non-ASCII text, numbers, white space and nesting read as JSON.parse reads them, kept or stepped over', () => {
    const mask: Kept = { a: true, s: true, n: { x: true }, list: { y: true }, name: true, 'ké': true };
    const item = {
      a: { deep: [1, [2, [3, { q: '"]}' }]]] },
      s: 'quote " backslash \\ tab \t newline \n unicode é ☃ 😀 \u0001',
      n: { x: -12.5e-3, skipped: '\\"', more: [[], {}, [[[]]]] },
      list: [{ y: true, z: null }, { y: false }, { z: 1 }, 7, 'text', null],
      junk: { '"': '}', '\\': ']', nested: [{ a: '{' }] },
      'ké': 'non-ASCII key',
      name: 'plain',
    };
    const compact = page([item, { a: null }, {}]);
    const pretty = Buffer.from(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [item, { a: null }, {}] }, null, 2));
    for (const bytes of [compact, pretty]) assert.deepEqual(itemsOf(bytes, mask), prune(JSON.parse(bytes.toString()).items, mask));
    // A key written with escapes names the same field.
    const escapedKey = Buffer.from('{"metadata":{"resourceVersion":"1"},"items":[{"n\\u0061me":"x","\\u0073":"y"}]}');
    assert.deepEqual(itemsOf(escapedKey, mask), [{ name: 'x', s: 'y' }]);
  });

  it('gives the page metadata, whether it comes before or after the items, and an empty list', () => {
    const before = parseList(Buffer.from('{"kind":"PodList","metadata":{"resourceVersion":"9","continue":"c"},"items":[{"a":1}]}'), { a: true });
    assert.deepEqual(before.metadata, { resourceVersion: '9', continue: 'c' });
    assert.deepEqual([...before.items!], [{ a: 1 }]);
    const after = parseList(Buffer.from('{"items":[{"a":1,"b":2}],"metadata":{"resourceVersion":"9"}}'), { a: true });
    assert.deepEqual(after.metadata, { resourceVersion: '9' });
    assert.deepEqual([...after.items!], [{ a: 1 }]);
    assert.deepEqual([...parseList(Buffer.from('{"metadata":{"resourceVersion":"1"},"items":[]}'), true).items!], []);
    assert.equal(parseList(Buffer.from('{"metadata":{"resourceVersion":"1"}}'), true).items, null);
  });

  it('malformed or truncated bodies throw, from the parse or from the iteration of the items', () => {
    const mask = IngestedFields.Pod!;
    const good = page([EveryField.Pod, EveryField.Pod]);
    const bad: Buffer[] = [
      Buffer.from(''),
      Buffer.from('not json'),
      Buffer.from('{"metadata":{"resourceVersion":"1"}'),
      Buffer.from('{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"a"}} {"x":1}]}'),
      Buffer.from('{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":tru}}]}'),
      Buffer.from('{"metadata":{"resourceVersion":"1"},"items":[]} trailing'),
      Buffer.from('{"metadata":{"resourceVersion":"1"},"items":[],"kind":}'),
    ];
    // Every cut of a real page: a truncated body never passes as a shorter list.
    for (let cut = 1; cut < good.length; cut += 97) bad.push(good.subarray(0, cut));
    for (const bytes of bad) {
      assert.throws(() => [...(parseList(bytes, mask).items ?? [])], SyntaxError, JSON.stringify(bytes.toString().slice(0, 60)));
    }
  });

  it('the client reports a body that is not a JSON list as an ApiError naming the path, from the items too', () => {
    assert.throws(() => parseListBody('/api/v1/pods?limit=500', Buffer.from('<html>'), true), (e: unknown) => e instanceof ApiError && e.failure === 'server' && e.message.includes('/api/v1/pods?limit=500'));
    const truncated = parseListBody('/api/v1/pods', Buffer.from('{"metadata":{"resourceVersion":"1"},"items":[{"a":1},{"a"'), { a: true });
    assert.throws(() => [...truncated.items!], (e: unknown) => e instanceof ApiError && e.failure === 'server' && e.message.includes('/api/v1/pods'));
  });
});

describe('response bodies read into a reused buffer', () => {
  /** A response body arriving in chunks (only what readBodyBytes reads of an IncomingMessage: iteration and destroy). */
  const body = (chunks: readonly string[]) => Readable.from(chunks.map((c) => Buffer.from(c))) as unknown as IncomingMessage;

  it('reads a body of many chunks whole, and the next body into the same memory', async () => {
    const into = new BodyBuffer();
    const big = Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(5000, 'x'));
    const first = await readBodyBytes(body(big), 1 << 20, into);
    assert.equal(first.toString(), big.join(''));
    const second = await readBodyBytes(body(['{"a":', '1}']), 1 << 20, into);
    assert.equal(second.toString(), '{"a":1}');
    assert.equal(second.buffer, first.buffer, 'the same memory, not a new buffer per body');
  });

  it('refuses a body over maxBytes', async () => {
    await assert.rejects(readBodyBytes(body(['x'.repeat(600), 'y'.repeat(600)]), 1000, new BodyBuffer()), (e: unknown) => e instanceof ApiError && /over 1000 bytes/.test(e.message));
  });
});
