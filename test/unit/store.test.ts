/**
 * The indexed store: indexes follow adds, updates and deletes (one key per value, several, back
 * to one), unknown index names are refused, interned values are shared between records, and a
 * relist replaces the whole store, or one namespace of it, in one batch. EndpointSlice records keep
 * their endpoints packed: read back as sent, indexed from the packed form, shared parts shared,
 * a one-address endpoint's address and an implied Pod ref kept as bare strings.
 * Through the cache's ingest, slice endpoints and Pod records share the pod's name, uid and IP
 * strings whichever is listed first, and only for the same pod (same uid).
 * Every record has `metadata`, `meta` as the API serves it (namespace null for cluster-scoped
 * objects), through its prototype; Pods and Nodes have `ready` likewise.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SmallKeys, Store } from '../../src/kube/store.ts';
import { ingest } from '../../src/kube/ingest.ts';
import { derived, type Kind, type PodRecord } from '../../src/kube/records.ts';
import { PackedSlice, sliceAddresses, sliceNodeNames, slicePodNames, slicePodStrings } from '../../src/kube/slice-pack.ts';
import { ClusterCache } from '../../src/kube/cache.ts';

const pod = (name: string, ip: string, rv = '1', labels: Record<string, string> = { app: 'web', 'pod-template-hash': 'abc' }, namespace = 'd', uid = `u-${name}`) =>
  ingest('Pod', { metadata: { namespace, name, uid, resourceVersion: rv, labels }, spec: { nodeName: 'n1', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] }, status: { podIPs: [{ ip }] } });

describe('indexed store', () => {
  it('an indexed value held by one key, then two, then one again', () => {
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs });
    s.upsert(pod('a', '10.0.0.1'));
    assert.deepEqual(s.byIndex('ip', '10.0.0.1').map((p) => p.meta.name), ['a']);
    s.upsert(pod('b', '10.0.0.1'));
    assert.deepEqual(s.byIndex('ip', '10.0.0.1').map((p) => p.meta.name).sort(), ['a', 'b']);
    assert.equal(s.countByIndex('ip', '10.0.0.1'), 2);
    s.delete('d/a');
    assert.deepEqual(s.byIndex('ip', '10.0.0.1').map((p) => p.meta.name), ['b']);
    s.upsert(pod('b', '10.0.0.2', '2'));
    assert.deepEqual(s.byIndex('ip', '10.0.0.1'), []);
    assert.equal(s.countByIndex('ip', '10.0.0.1'), 0);
    assert.deepEqual([...s.indexValues('ip')], ['10.0.0.2']);
  });

  it(`an indexed value through every form (one key, a few, more than ${SmallKeys}, back down) answers as a recount of the records would`, () => {
    // Random adds, moves and deletes over 80 pods on 3 IPs: each IP's holders cross the array/Set bound both ways.
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs });
    const ips = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) >>> 16) % n;
    const peak = new Map<string, number>();
    let rv = 1;
    for (let step = 0; step < 3000; step++) {
      const name = `p${rand(2 * SmallKeys + 20)}`;
      if (rand(5) === 0) s.delete(`d/${name}`);
      else s.upsert(pod(name, ips[rand(step < 1500 ? 1 : 3)]!, String(rv++)));
      for (const ip of ips) {
        const want = [...s.list()].filter((p) => p.podIPs.includes(ip)).map((p) => p.meta.name).sort();
        assert.deepEqual(s.byIndex('ip', ip).map((p) => p.meta.name).sort(), want, `step ${step}, ${ip}`);
        assert.equal(s.countByIndex('ip', ip), want.length);
        assert.equal([...s.indexValues('ip')].includes(ip), want.length > 0);
        peak.set(ip, Math.max(peak.get(ip) ?? 0, want.length));
      }
    }
    assert.ok(peak.get('10.0.0.1')! > SmallKeys, `one IP held by more than ${SmallKeys} pods at some point (${peak.get('10.0.0.1')})`);
    s.replace([]);
    assert.deepEqual([...s.indexValues('ip')], []);
  });

  it('a large first list (sized from a sample) indexes every record, shared values and distinct ones alike', () => {
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs, node: (p) => (p.nodeName ? [p.nodeName] : []) });
    const pods = Array.from({ length: 3000 }, (_, i) => pod(`p${i}`, `10.1.${i >> 8}.${i & 255}`));
    s.replace(pods);
    assert.equal(s.countByIndex('node', 'n1'), 3000);
    assert.equal([...s.indexValues('ip')].length, 3000);
    for (let i = 0; i < 3000; i += 7) assert.deepEqual(s.byIndex('ip', `10.1.${i >> 8}.${i & 255}`).map((p) => p.meta.name), [`p${i}`]);
  });

  it('refuses an unknown index name with the names it has', () => {
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs });
    assert.throws(() => s.byIndex('node', 'x'), /expected one of the index names \["ip"\], got "node"/);
  });

  it('an update with the same resourceVersion publishes nothing', () => {
    const s = new Store<PodRecord>();
    const seen: string[] = [];
    s.subscribe((b) => seen.push(...b.events.map((e) => e.type)));
    s.upsert(pod('a', '10.0.0.1'));
    s.upsert(pod('a', '10.0.0.1'));
    s.upsert(pod('a', '10.0.0.1', '2'));
    assert.deepEqual(seen, ['ADDED', 'MODIFIED']);
  });

  it('records are frozen, and what pods of one template repeat is shared between them', () => {
    const a = pod('a', '10.0.0.1');
    const b = pod('b', '10.0.0.2');
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.meta.labels) && Object.isFrozen(a.containers[0]!.ports));
    assert.equal(a.meta.labels, b.meta.labels);
    assert.equal(a.containers, b.containers);
    assert.equal(a.nodeName, b.nodeName);
    assert.deepEqual(pod('c', '10.0.0.3', '1', { app: 'other' }).meta.labels, { app: 'other' }, 'other labels are not handed a shared copy of the first');
  });
});

describe('replace (a relist)', () => {
  /** Each event as "TYPE key oldUid→newUid". */
  const described = (events: readonly { type: string; key: string; old?: PodRecord | null; new?: PodRecord | null }[]) =>
    events.map((e) => `${e.type} ${e.key} ${e.old?.meta.uid ?? '-'}→${e.new?.meta.uid ?? '-'}`);

  it('one batch: vanished objects are deleted, a changed UID is a delete plus an add, an unchanged resourceVersion is no event', () => {
    const s = new Store<PodRecord>();
    s.replace([pod('a', '10.0.0.1', '1', undefined, 'd', '1'), pod('b', '10.0.0.2', '1', undefined, 'd', '2'), pod('c', '10.0.0.3', '1', undefined, 'd', '3')]);
    const batches: number[] = [];
    s.subscribe((b) => batches.push(b.events.length));
    const batch = s.replace([pod('a', '10.0.0.1', '1', undefined, 'd', '1'), pod('b', '10.0.0.2', '2', undefined, 'd', '9')]);
    assert.deepEqual(described(batch.events), ['DELETED d/b 2→-', 'ADDED d/b -→9', 'DELETED d/c 3→-']);
    assert.equal(batch.relist, true);
    assert.deepEqual(batches, [3], 'published once');
    assert.deepEqual([...s.keys()].sort(), ['d/a', 'd/b']);
  });

  it('with a namespace, replaces that namespace only: objects of other namespaces stay, with no event', () => {
    const s = new Store<PodRecord>({ ip: (p) => p.podIPs });
    s.replace([pod('a', '10.0.0.1', '1', undefined, 'shop'), pod('b', '10.0.0.2', '1', undefined, 'shop'), pod('a', '10.0.1.1', '1', undefined, 'pay'), pod('z', '10.0.1.2', '1', undefined, 'pay')]);
    const batch = s.replace([pod('a', '10.0.0.1', '2', undefined, 'shop')], 'shop');
    assert.deepEqual(described(batch.events), ['MODIFIED shop/a u-a→u-a', 'DELETED shop/b u-b→-']);
    assert.deepEqual([...s.keys()].sort(), ['pay/a', 'pay/z', 'shop/a']);
    assert.deepEqual(s.byIndex('ip', '10.0.1.2').map((p) => `${p.meta.namespace}/${p.meta.name}`), ['pay/z'], 'indexes of the other namespace are kept');
    assert.deepEqual(s.byIndex('ip', '10.0.0.2'), []);
  });

  it('without a namespace, an empty relist empties the whole store', () => {
    const s = new Store<PodRecord>();
    s.replace([pod('a', '10.0.0.1', '1', undefined, 'shop'), pod('a', '10.0.1.1', '1', undefined, 'pay')]);
    assert.deepEqual(described(s.replace([]).events), ['DELETED shop/a u-a→-', 'DELETED pay/a u-a→-']);
    assert.equal(s.size, 0);
  });
});

describe('EndpointSlice records (packed endpoints)', () => {
  const apiSlice = {
    metadata: { namespace: 'shop', name: 'web-abc', uid: 'u-s', resourceVersion: '5', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', zone: 'z1', targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1' } },
      { addresses: ['10.0.0.2', '10.0.0.9'], conditions: { ready: false }, hostname: 'h2', nodeName: 'n1', zone: 'z1', hints: { forZones: [{ name: 'z1' }], forNodes: [{ name: 'n1' }] }, targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-2', uid: 'u2' } },
      { addresses: ['10.0.0.3'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', zone: 'z1', targetRef: { kind: 'Node', name: 'n1', uid: 'u3' } },
      { addresses: ['10.0.0.1'], conditions: {}, nodeName: 'n2' },
    ],
  };

  it('reads back every endpoint field as sent, frozen, the same on every read', () => {
    const s = ingest('EndpointSlice', apiSlice);
    const eps = s.endpoints;
    assert.deepEqual(eps, [
      { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, hostname: null, nodeName: 'n1', zone: 'z1', hintsForZones: [], hintsForNodes: [], targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1' } },
      { addresses: ['10.0.0.2', '10.0.0.9'], conditions: { ready: false, serving: null, terminating: null }, hostname: 'h2', nodeName: 'n1', zone: 'z1', hintsForZones: ['z1'], hintsForNodes: ['n1'], targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-2', uid: 'u2' } },
      { addresses: ['10.0.0.3'], conditions: { ready: true, serving: true, terminating: false }, hostname: null, nodeName: 'n1', zone: 'z1', hintsForZones: [], hintsForNodes: [], targetRef: { kind: 'Node', namespace: '', name: 'n1', uid: 'u3' } },
      { addresses: ['10.0.0.1'], conditions: { ready: null, serving: null, terminating: null }, hostname: null, nodeName: 'n2', zone: null, hintsForZones: [], hintsForNodes: [], targetRef: null },
    ]);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(eps) && eps.every((e) => Object.isFrozen(e) && Object.isFrozen(e.addresses) && Object.isFrozen(e.conditions) && (e.targetRef === null || Object.isFrozen(e.targetRef))));
    // An array of several addresses and a ref not implied are the record's own, not copies per read.
    assert.equal(s.endpoints[1]!.addresses, eps[1]!.addresses);
    assert.equal(s.endpoints[2]!.targetRef, eps[2]!.targetRef);
    assert.deepEqual(s.endpoints, eps);
    assert.deepEqual([s.serviceName, s.addressType, s.ports], ['web', 'IPv4', [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: null }]]);
  });

  it('indexes by address, node and pod name from the packed endpoints, each value once', () => {
    const s = new Store({ address: sliceAddresses, node: sliceNodeNames, pod: slicePodNames });
    s.upsert(ingest('EndpointSlice', apiSlice));
    // Index values come in no particular order.
    assert.deepEqual([...s.indexValues('address')].sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.9']);
    assert.deepEqual([...s.indexValues('node')].sort(), ['n1', 'n2']);
    // A Node targetRef is not a pod.
    assert.deepEqual([...s.indexValues('pod')].sort(), ['web-1', 'web-2']);
    // The same index functions read hand-built records (plain endpoint arrays) alike.
    const plain = { ...ingest('EndpointSlice', apiSlice), meta: { ...ingest('EndpointSlice', apiSlice).meta, name: 'web-plain' }, endpoints: ingest('EndpointSlice', apiSlice).endpoints };
    assert.deepEqual([sliceAddresses(plain), sliceNodeNames(plain), slicePodNames(plain)], [['10.0.0.1', '10.0.0.2', '10.0.0.9', '10.0.0.3'], ['n1', 'n2'], ['web-1', 'web-2']]);
    s.delete('shop/web-abc');
    assert.deepEqual([[...s.indexValues('address')], [...s.indexValues('node')], [...s.indexValues('pod')]], [[], [], []]);
  });

  it('endpoints on one node in one state share one object for their other fields', () => {
    const a = ingest('EndpointSlice', apiSlice);
    const b = ingest('EndpointSlice', { ...apiSlice, metadata: { ...apiSlice.metadata, name: 'web-def' } });
    assert.equal((a as PackedSlice).cells[3], (b as PackedSlice).cells[11]);
  });

  it('reads back every endpoint form as sent: one address, several, none; a Pod ref in the namespace, in another, a non-Pod ref, none', () => {
    const ref = (kind: string, namespace: string | undefined, name: string, uid: string) => ({ kind, ...(namespace === undefined ? {} : { namespace }), name, uid });
    const sent = [
      { addresses: ['10.0.0.1'], targetRef: ref('Pod', 'shop', 'web-1', 'u1') },
      { addresses: ['10.0.0.2', '10.0.0.9', '10.0.0.10'], targetRef: ref('Pod', 'shop', 'web-2', 'u2') },
      { addresses: [], targetRef: ref('Pod', 'shop', 'web-3', 'u3') },
      { addresses: ['10.0.0.4'], targetRef: ref('Pod', 'other', 'web-4', 'u4') },
      { addresses: ['10.0.0.5'], targetRef: ref('Pod', undefined, 'web-5', 'u5') },
      { addresses: ['10.0.0.6'], targetRef: ref('VirtualMachineInstance', 'shop', 'vm-6', 'u6') },
      { addresses: ['10.0.0.7'] },
      { addresses: ['10.0.0.8', '10.0.0.18'] },
    ];
    const s = ingest('EndpointSlice', { ...apiSlice, endpoints: sent.map((e) => ({ ...e, conditions: { ready: true }, nodeName: 'n1' })) });
    assert.deepEqual(
      s.endpoints.map((e) => [e.addresses, e.targetRef]),
      sent.map((e) => [e.addresses, e.targetRef === undefined ? null : { namespace: '', ...e.targetRef }]),
    );
    assert.deepEqual(sliceAddresses(s), ['10.0.0.1', '10.0.0.2', '10.0.0.9', '10.0.0.10', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.8', '10.0.0.18']);
    assert.deepEqual(slicePodNames(s), ['web-1', 'web-2', 'web-3', 'web-4', 'web-5']);
  });

  it('keeps no array and no object of its own for a one-address endpoint of a Pod in the slice\'s namespace: the cells are the bare strings', () => {
    const s = ingest('EndpointSlice', apiSlice) as PackedSlice;
    // Endpoint 0: one address, Pod shop/web-1.
    assert.deepEqual(s.cells.slice(0, 3), ['10.0.0.1', 'web-1', 'u1']);
    // Endpoint 1: two addresses (an array), Pod shop/web-2 (its name and uid).
    assert.ok(Array.isArray(s.cells[4]) && Object.isFrozen(s.cells[4]));
    assert.deepEqual(s.cells.slice(5, 7), ['web-2', 'u2']);
    // Endpoint 2: a Node ref is kept as its (frozen) object, the uid cell empty.
    assert.deepEqual([s.cells[8], s.cells[9], s.cells[10]], ['10.0.0.3', { kind: 'Node', namespace: '', name: 'n1', uid: 'u3' }, null]);
    assert.ok(Object.isFrozen(s.cells[9]));
    // Endpoint 3: no ref.
    assert.deepEqual([s.cells[12], s.cells[13], s.cells[14]], ['10.0.0.1', null, null]);
    assert.equal(s.cells.length, 16);
    // What a Pod listed later shares: the cells' own strings (an implied ref only in the slice's namespace).
    assert.deepEqual(slicePodStrings(s, 'shop', 'web-1', 'u1'), { meta: { name: 'web-1', uid: 'u1' }, podIPs: '10.0.0.1' });
    assert.equal(slicePodStrings(s, 'shop', 'web-2', 'u2')!.podIPs, s.cells[4]);
    assert.deepEqual([slicePodStrings(s, 'other', 'web-1', 'u1'), slicePodStrings(s, 'shop', 'web-1', 'u-other')], [null, null]);
  });

  it('endpoints on one node that differ in any one field keep their own values (only equal ones are shared)', () => {
    const base = { conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1', zone: 'z1' };
    type Variant = { conditions: object; nodeName: string; zone: string; hostname?: string; hints?: { forZones?: { name: string }[]; forNodes?: { name: string }[] } };
    const variants: Variant[] = [
      base,
      { ...base, conditions: { ready: false, serving: true, terminating: false } },
      { ...base, conditions: { ready: true, serving: false, terminating: false } },
      { ...base, conditions: { ready: true, serving: true, terminating: true } },
      { ...base, hostname: 'h1' },
      { ...base, zone: 'z2' },
      { ...base, hints: { forZones: [{ name: 'z1' }] } },
      { ...base, hints: { forNodes: [{ name: 'n1' }] } },
      { ...base, hints: { forZones: [{ name: 'z1' }, { name: 'z2' }] } },
      base,
    ];
    const sent = variants.map((v, i) => ({ ...v, addresses: [`10.9.0.${i}`] }));
    const eps = ingest('EndpointSlice', { ...apiSlice, metadata: { ...apiSlice.metadata, name: 'web-variants' }, endpoints: sent }).endpoints;
    const fields = (e: { conditions: object; hostname: string | null; nodeName: string | null; zone: string | null; hintsForZones: readonly string[]; hintsForNodes: readonly string[] }) =>
      JSON.stringify([e.conditions, e.hostname, e.nodeName, e.zone, e.hintsForZones, e.hintsForNodes]);
    const want = sent.map((v) =>
      JSON.stringify([v.conditions, v.hostname ?? null, v.nodeName, v.zone, v.hints?.forZones?.map((z) => z.name) ?? [], v.hints?.forNodes?.map((n) => n.name) ?? []]),
    );
    assert.deepEqual(eps.map(fields), want);
    assert.equal(new Set(eps.map(fields)).size, variants.length - 1);
  });
});

describe('ClusterCache.ingestOf: slice endpoints and Pod records share the pod strings the cache holds', () => {
  const apiPod = (name: string, uid: string, ips: string[], rv = '1') => ({
    metadata: { namespace: 'shop', name, uid, resourceVersion: rv },
    spec: { nodeName: 'n1', containers: [{ name: 'app' }] },
    status: { phase: 'Running', podIPs: ips.map((ip) => ({ ip })), conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const apiSlice = (endpoints: { name: string; uid: string; ip: string }[]) => ({
    metadata: { namespace: 'shop', name: 'web-abc', uid: 'u-s', resourceVersion: '5', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: true }, nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'shop', name: e.name, uid: e.uid } })),
  });

  it('a slice listed after its Pods takes their IP strings (an endpoint of one address keeps the string alone, of several the Pod\'s array when it lists the same)', () => {
    const cache = new ClusterCache({ client: null });
    cache.pods.upsert(cache.ingestOf('Pod')(apiPod('web-1', 'u1', ['10.0.0.1'])));
    cache.pods.upsert(cache.ingestOf('Pod')(apiPod('web-2', 'u2', ['10.0.0.2', 'fd00::2'])));
    cache.pods.upsert(cache.ingestOf('Pod')(apiPod('web-3', 'u3', ['10.0.0.3', 'fd00::3'])));
    const api = apiSlice([{ name: 'web-1', uid: 'u1', ip: '10.0.0.1' }, { name: 'web-2', uid: 'u2', ip: '10.0.0.2' }, { name: 'web-3', uid: 'u3', ip: '10.0.0.3' }]);
    api.endpoints[2]!.addresses = ['10.0.0.3', 'fd00::3'];
    const slice = cache.ingestOf('EndpointSlice')(api) as PackedSlice;
    const [one, two, three] = slice.endpoints;
    assert.deepEqual([one!.addresses, two!.addresses, three!.addresses], [['10.0.0.1'], ['10.0.0.2'], ['10.0.0.3', 'fd00::3']]);
    assert.deepEqual([slice.cells[0], slice.cells[4]], ['10.0.0.1', '10.0.0.2']);
    assert.equal(three!.addresses, cache.pods.get('shop/web-3')!.podIPs);
    assert.deepEqual(one!.targetRef, { kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1' });
    assert.ok(Object.isFrozen(two!.addresses) && Object.isFrozen(three!.addresses));
  });

  it('a Pod listed after its slice takes the endpoint\'s address strings (its array when the endpoint has several), and an updated Pod keeps its previous record\'s array', () => {
    const cache = new ClusterCache({ client: null });
    const api = apiSlice([{ name: 'web-1', uid: 'u1', ip: '10.0.0.1' }, { name: 'web-2', uid: 'u2', ip: '10.0.0.2' }]);
    api.endpoints[1]!.addresses = ['10.0.0.2', 'fd00::2'];
    cache.slices.upsert(cache.ingestOf('EndpointSlice')(api));
    const pod = cache.ingestOf('Pod')(apiPod('web-1', 'u1', ['10.0.0.1', 'fd00::1']));
    assert.deepEqual([pod.meta.name, pod.meta.uid, pod.podIPs], ['web-1', 'u1', ['10.0.0.1', 'fd00::1']]);
    assert.ok(Object.isFrozen(pod.podIPs));
    const two = cache.ingestOf('Pod')(apiPod('web-2', 'u2', ['10.0.0.2', 'fd00::2']));
    assert.equal(two.podIPs, cache.slices.get('shop/web-abc')!.endpoints[1]!.addresses);
    cache.pods.upsert(pod);
    const updated = cache.ingestOf('Pod')(apiPod('web-1', 'u1', ['10.0.0.1', 'fd00::1'], '2'));
    assert.equal(updated.podIPs, pod.podIPs);
    assert.ok(Object.isFrozen(updated) && Object.isFrozen(updated.meta));
  });

  it('shares nothing with a Pod of another uid (recreated under the same name) or another IP', () => {
    const cache = new ClusterCache({ client: null });
    cache.pods.upsert(cache.ingestOf('Pod')(apiPod('web-1', 'u-old', ['10.0.0.1'])));
    cache.pods.upsert(cache.ingestOf('Pod')(apiPod('web-2', 'u2', ['10.0.0.7'])));
    const slice = cache.ingestOf('EndpointSlice')(apiSlice([{ name: 'web-1', uid: 'u1', ip: '10.0.0.1' }, { name: 'web-2', uid: 'u2', ip: '10.0.0.2' }]));
    const [one, two] = slice.endpoints;
    assert.notEqual(one!.addresses, cache.pods.get('shop/web-1')!.podIPs);
    assert.deepEqual([one!.addresses, one!.targetRef!.uid], [['10.0.0.1'], 'u1']);
    assert.deepEqual(two!.addresses, ['10.0.0.2']);
    const recreated = cache.ingestOf('Pod')(apiPod('web-1', 'u-new', ['10.0.0.1']));
    assert.notEqual(recreated.podIPs, cache.pods.get('shop/web-1')!.podIPs);
    assert.deepEqual([recreated.meta.uid, recreated.podIPs], ['u-new', ['10.0.0.1']]);
  });
});

describe('records', () => {
  const meta = (namespace: string | null, name: string) => ({ ...(namespace ? { namespace } : {}), name, uid: `u-${name}`, resourceVersion: '7', labels: { app: name } });
  const objects: readonly [Kind, object][] = [
    ['Service', { metadata: meta('shop', 'web'), spec: { ports: [{ port: 80 }] } }],
    ['EndpointSlice', { metadata: meta('shop', 'web-abc'), addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }] }],
    ['Pod', { metadata: meta('shop', 'web-1'), spec: { nodeName: 'n1' }, status: { phase: 'Running' } }],
    ['Node', { metadata: meta(null, 'n1') }],
    ['Ingress', { metadata: meta('shop', 'web'), spec: {} }],
    ['IngressClass', { metadata: meta(null, 'nginx'), spec: { controller: 'k8s.io/ingress-nginx' } }],
    ['GatewayClass', { metadata: meta(null, 'eg'), spec: { controllerName: 'example.com/eg' } }],
    ['Gateway', { metadata: meta('infra', 'edge'), spec: { gatewayClassName: 'eg', listeners: [] } }],
    ['HTTPRoute', { metadata: meta('shop', 'web'), spec: {} }],
    ['GRPCRoute', { metadata: meta('shop', 'grpc'), spec: {} }],
    ['ReferenceGrant', { metadata: meta('shop', 'grant'), spec: { from: [], to: [] } }],
  ];
  for (const [kind, object] of objects) {
    const clusterScoped = !('namespace' in (object as { metadata: object }).metadata);
    it(`${kind}: metadata is ${clusterScoped ? 'meta with namespace null, kept on the record' : 'meta itself, read through the prototype'} (keys and JSON as before), frozen`, () => {
      const r = ingest(kind, object);
      if (clusterScoped) {
        assert.equal(r.meta.namespace, '');
        assert.deepEqual(r.metadata, { ...r.meta, namespace: null });
        // Made once, kept on the record, frozen like it.
        assert.ok(r.metadata === r.metadata && Object.isFrozen(r.metadata));
      } else {
        assert.equal(r.metadata, r.meta);
      }
      assert.equal(Object.hasOwn(r, 'metadata'), clusterScoped);
      assert.equal(Object.keys(r).includes('metadata'), false);
      assert.equal(JSON.stringify(r).includes('"metadata"'), false);
      assert.ok(Object.isFrozen(r));
    });
  }

  it("Pods and Nodes: ready is true only when the Ready condition's status is True (readyStatus keeps false and unknown apart)", () => {
    const status = (s?: string) => ({ status: { conditions: s === undefined ? [] : [{ type: 'Ready', status: s }] } });
    const cases: readonly [string | undefined, boolean | null, boolean][] = [['True', true, true], ['False', false, false], ['Unknown', null, false], [undefined, null, false]];
    for (const [given, readyStatus, ready] of cases) {
      for (const r of [ingest('Pod', { metadata: meta('shop', 'web-1'), ...status(given) }), ingest('Node', { metadata: meta(null, 'n1'), ...status(given) })]) {
        assert.deepEqual([r.readyStatus, r.ready, Object.hasOwn(r, 'ready')], [readyStatus, ready, false], `${r.kind} with Ready ${given}`);
      }
    }
  });

  it('a record derived from another keeps its getters (a spread alone drops them)', () => {
    const r = ingest('Pod', { metadata: meta('shop', 'web-1'), status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const spread = { ...r, meta: { ...r.meta, resourceVersion: '8' } };
    assert.deepEqual([(spread as { metadata?: unknown }).metadata, (spread as { ready?: unknown }).ready], [undefined, undefined]);
    const d = derived(r, { meta: { ...r.meta, resourceVersion: '8' } });
    assert.deepEqual([d.metadata.resourceVersion, d.metadata === d.meta, d.ready, r.meta.resourceVersion], ['8', true, true, '7']);
    const n = ingest('Node', { metadata: meta(null, 'n1') });
    const dn = derived(n, { meta: { ...n.meta, resourceVersion: '8' } });
    assert.deepEqual([dn.metadata.resourceVersion, dn.metadata.namespace, dn.meta.namespace, n.metadata.resourceVersion], ['8', null, '', '7']);
  });
});
