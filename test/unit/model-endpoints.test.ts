import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  belongsToService,
  countEndpoints,
  endpointsEqual,
  mergeServiceEndpoints,
  readyForRouting,
  sliceServiceKey,
  slicesOwnedBy,
} from '../../src/model/endpoints.ts';
import type { MergedEndpoint, ServiceEndpoints } from '../../src/model/endpoints.ts';
import type { EndpointSliceRecord, SliceEndpoint } from '../../src/kube/records.ts';
import { ep, port, slice } from './slice-builders.ts';
import { ingest } from '../../src/kube/ingest.ts';
import { PackedSlice } from '../../src/kube/slice-pack.ts';

// Builders: test/unit/slice-builders.ts.

const terminating = { ready: false, serving: true, terminating: true };
const notReady = { ready: false, serving: false, terminating: false };

/** One line per endpoint: address, conditions (R ready, S serving, T terminating), ports, slices. */
function line(e: MergedEndpoint): string {
  const flags = `${e.ready ? 'R' : '-'}${e.serving ? 'S' : '-'}${e.terminating ? 'T' : '-'}`;
  const ports = e.ports.map((p) => `${p.name}/${p.protocol}:${p.port}`).join(',');
  return `${e.address} ${flags} ${ports || '<no ports>'} ${e.slices.join(',')}`;
}

function lines(se: ServiceEndpoints): string[] {
  return se.endpoints.map(line);
}

/** Every field of a merged endpoint, read as a reader does (several are getters), as a plain object. */
function served(e: MergedEndpoint): Record<keyof MergedEndpoint, unknown> {
  const { address, addresses, addressType, ready, serving, terminating, hostname, nodeName, zone, hintsForZones, hintsForNodes, targetRef, ports, slices } = e;
  return { address, addresses, addressType, ready, serving, terminating, hostname, nodeName, zone, hintsForZones, hintsForNodes, targetRef, ports, slices };
}

describe('mergeServiceEndpoints', () => {
  const cases: { name: string; slices: EndpointSliceRecord[]; want: string[]; wantSlices?: string[] }[] = [
    { name: 'no slices: no endpoints and no slices', slices: [], want: [], wantSlices: [] },
    {
      name: 'placeholder slice: the Service has slices but zero endpoints',
      slices: [slice('web-abc', { ports: [], endpoints: [] })],
      want: [],
      wantSlices: ['web-abc'],
    },
    {
      name: '1 slice, 1 port',
      slices: [slice('web-a', { endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] })],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a', '10.0.0.2 RS- http/TCP:8080 web-a'],
      wantSlices: ['web-a'],
    },
    {
      name: '2 overlapping slices, same port: the union, deduplicated by IP:port',
      slices: [
        slice('web-a', { endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] }),
        slice('web-b', { endpoints: [ep('10.0.0.2'), ep('10.0.0.3')] }),
      ],
      want: [
        '10.0.0.1 RS- http/TCP:8080 web-a',
        '10.0.0.2 RS- http/TCP:8080 web-a,web-b',
        '10.0.0.3 RS- http/TCP:8080 web-b',
      ],
      wantSlices: ['web-a', 'web-b'],
    },
    {
      name: 'endpoint moving between slices: listed once, with both slices',
      slices: [
        slice('web-b', { endpoints: [ep('10.0.0.9')] }),
        slice('web-a', { endpoints: [ep('10.0.0.1'), ep('10.0.0.9')] }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a', '10.0.0.9 RS- http/TCP:8080 web-a,web-b'],
    },
    {
      name: 'terminating duplicate in the first slice: the copy that is not terminating wins',
      slices: [
        slice('web-a', { endpoints: [ep('10.0.0.1', { conditions: terminating })] }),
        slice('web-b', { endpoints: [ep('10.0.0.1')] }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a,web-b'],
    },
    {
      name: 'terminating duplicate in the second slice: the copy that is not terminating wins',
      slices: [
        slice('web-a', { endpoints: [ep('10.0.0.1')] }),
        slice('web-b', { endpoints: [ep('10.0.0.1', { conditions: terminating })] }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a,web-b'],
    },
    {
      name: 'not-ready duplicate that is not terminating beats a terminating one',
      slices: [
        slice('web-a', { endpoints: [ep('10.0.0.1', { conditions: terminating })] }),
        slice('web-b', { endpoints: [ep('10.0.0.1', { conditions: notReady })] }),
      ],
      want: ['10.0.0.1 --- http/TCP:8080 web-a,web-b'],
    },
    {
      name: 'terminating in every slice: stays terminating',
      slices: [
        slice('web-a', { endpoints: [ep('10.0.0.1', { conditions: terminating })] }),
        slice('web-b', { endpoints: [ep('10.0.0.1', { conditions: terminating })] }),
      ],
      want: ['10.0.0.1 -ST http/TCP:8080 web-a,web-b'],
    },
    {
      name: 'dual-stack: IPv4 and IPv6 slices both contribute, one entry per address',
      slices: [
        slice('web-v4', { endpoints: [ep('10.0.0.1')] }),
        slice('web-v6', { addressType: 'IPv6', endpoints: [ep('fd00::1')] }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080 web-v4', 'fd00::1 RS- http/TCP:8080 web-v6'],
    },
    {
      name: 'named port resolving differently per pod: each endpoint carries its own slice’s port',
      slices: [
        slice('web-a', { ports: [port('http', 8080)], endpoints: [ep('10.0.0.1')] }),
        slice('web-b', { ports: [port('http', 9090)], endpoints: [ep('10.0.0.2')] }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a', '10.0.0.2 RS- http/TCP:9090 web-b'],
    },
    {
      name: 'same address under one port name with two numbers: both kept, sorted by port',
      slices: [
        slice('web-b', { ports: [port('http', 9090)], endpoints: [ep('10.0.0.1')] }),
        slice('web-a', { ports: [port('http', 8080)], endpoints: [ep('10.0.0.1')] }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080,http/TCP:9090 web-a,web-b'],
    },
    {
      name: 'FQDN slice: address strings as sent, not normalized',
      slices: [slice('ext', { addressType: 'FQDN', endpoints: [ep('Backend.Example.com')] })],
      want: ['Backend.Example.com RS- http/TCP:8080 ext'],
    },
    {
      name: 'port 0 and null port ("all ports") are skipped',
      slices: [slice('web-a', { ports: [port('zero', 0), port('all', null), port('metrics', 9090)], endpoints: [ep('10.0.0.1')] })],
      want: ['10.0.0.1 RS- metrics/TCP:9090 web-a'],
    },
    {
      name: 'only unusable ports: the endpoint is listed without ports',
      slices: [slice('web-a', { ports: [port('zero', 0)], endpoints: [ep('10.0.0.1')] })],
      want: ['10.0.0.1 RS- <no ports> web-a'],
    },
    {
      name: 'headless Service without ports: endpoints listed without ports',
      slices: [slice('web-a', { ports: [], endpoints: [ep('10.0.0.1')] })],
      want: ['10.0.0.1 RS- <no ports> web-a'],
    },
    {
      name: 'condition defaults: missing ready and serving are true, missing terminating is false',
      slices: [
        slice('web-a', {
          endpoints: [
            ep('10.0.0.1', { conditions: { ready: null, serving: null, terminating: null } }),
            ep('10.0.0.2', { conditions: { ready: false, serving: null, terminating: null } }),
            ep('10.0.0.3', { conditions: { ready: null, serving: false, terminating: true } }),
          ],
        }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a', '10.0.0.2 -S- http/TCP:8080 web-a', '10.0.0.3 R-T http/TCP:8080 web-a'],
    },
    {
      name: 'endpoint without addresses is skipped',
      slices: [slice('web-a', { endpoints: [ep('10.0.0.1', { addresses: [] }), ep('10.0.0.2')] })],
      want: ['10.0.0.2 RS- http/TCP:8080 web-a'],
    },
    {
      name: 'only addresses[0] carries meaning',
      slices: [slice('web-a', { endpoints: [ep('10.0.0.1', { addresses: ['10.0.0.1', '10.0.0.7'] })] })],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a'],
    },
    {
      name: 'same address twice in one slice: listed once',
      slices: [slice('web-a', { endpoints: [ep('10.0.0.1'), ep('10.0.0.1')] })],
      want: ['10.0.0.1 RS- http/TCP:8080 web-a'],
    },
    {
      name: 'several ports: sorted by (name, protocol, port), unnamed first',
      slices: [
        slice('web-a', {
          ports: [port('metrics', 9090), port('dns', 53, 'UDP'), port('dns', 53, 'TCP'), port('', 80)],
          endpoints: [ep('10.0.0.1')],
        }),
      ],
      want: ['10.0.0.1 RS- /TCP:80,dns/TCP:53,dns/UDP:53,metrics/TCP:9090 web-a'],
    },
    {
      name: 'ports of different slices: union per (name, protocol)',
      slices: [
        slice('web-a', { ports: [port('http', 8080)], endpoints: [ep('10.0.0.1')] }),
        slice('web-b', { ports: [port('metrics', 9090)], endpoints: [ep('10.0.0.1')] }),
      ],
      want: ['10.0.0.1 RS- http/TCP:8080,metrics/TCP:9090 web-a,web-b'],
    },
    {
      name: 'output sorted by address in numeric order (IPv4, then IPv6), whatever the input order',
      slices: [
        slice('web-b', { endpoints: [ep('10.0.0.10'), ep('10.0.0.2'), ep('9.0.0.1')] }),
        slice('web-a', { endpoints: [ep('fd00::10'), ep('fd00::9'), ep('10.0.0.1')] }),
      ],
      want: [
        '9.0.0.1 RS- http/TCP:8080 web-b',
        '10.0.0.1 RS- http/TCP:8080 web-a',
        '10.0.0.2 RS- http/TCP:8080 web-b',
        '10.0.0.10 RS- http/TCP:8080 web-b',
        'fd00::9 RS- http/TCP:8080 web-a',
        'fd00::10 RS- http/TCP:8080 web-a',
      ],
      wantSlices: ['web-a', 'web-b'],
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const got = mergeServiceEndpoints(c.slices);
      assert.deepEqual(lines(got), c.want);
      if (c.wantSlices !== undefined) assert.deepEqual(got.slices, c.wantSlices);
    });
  }

  it('copies endpoint fields as sent, hints sorted, addressType from the slice', () => {
    const ref = { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'u0' };
    const got = mergeServiceEndpoints([
      slice('web-v6', {
        addressType: 'IPv6',
        ports: [port('http', 8080, 'TCP', 'kubernetes.io/h2c')],
        endpoints: [
          ep('fd00::1', {
            hostname: 'web-0',
            nodeName: 'node-b',
            zone: 'zone-b',
            hintsForZones: ['zone-c', 'zone-b'],
            hintsForNodes: ['node-c', 'node-b'],
            targetRef: ref,
          }),
        ],
      }),
    ]);
    assert.deepEqual(got.endpoints.map(served), [
      {
        address: 'fd00::1',
        addresses: ['fd00::1'],
        addressType: 'IPv6',
        ready: true,
        serving: true,
        terminating: false,
        hostname: 'web-0',
        nodeName: 'node-b',
        zone: 'zone-b',
        hintsForZones: ['zone-b', 'zone-c'],
        hintsForNodes: ['node-b', 'node-c'],
        targetRef: ref,
        ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }],
        slices: ['web-v6'],
      },
    ]);
  });

  it('same endpoint in two slices, neither terminating: fields from the slice whose name sorts first', () => {
    const got = mergeServiceEndpoints([
      slice('web-b', { endpoints: [ep('10.0.0.1', { nodeName: 'node-b', conditions: notReady })] }),
      slice('web-a', { endpoints: [ep('10.0.0.1', { nodeName: 'node-a' })] }),
    ]);
    assert.deepEqual(
      got.endpoints.map((e) => [e.nodeName, e.ready]),
      [['node-a', true]],
    );
  });

  it('counts ready, serving, terminating and total by address', () => {
    const got = mergeServiceEndpoints([
      slice('web-a', {
        endpoints: [ep('10.0.0.1'), ep('10.0.0.2', { conditions: terminating }), ep('10.0.0.3', { conditions: notReady })],
      }),
      slice('web-v6', { addressType: 'IPv6', endpoints: [ep('fd00::1')] }),
    ]);
    assert.deepEqual(got.counts, { total: 4, ready: 2, serving: 3, terminating: 1 });
    assert.deepEqual(countEndpoints([]), { total: 0, ready: 0, serving: 0, terminating: 0 });
  });

  it('returns frozen values all the way down', () => {
    const got = mergeServiceEndpoints([
      slice('web-a', { endpoints: [ep('10.0.0.1', { hintsForZones: ['zone-a'] })] }),
    ]);
    const e = got.endpoints[0]!;
    for (const value of [got, got.endpoints, got.slices, got.counts, e, e.ports, e.ports[0], e.slices, e.hintsForZones, e.hintsForNodes]) {
      assert.ok(Object.isFrozen(value));
    }
  });

  it('endpoints of one slice share its ports and slice-name lists, across merges too; an endpoint in two slices gets its own', () => {
    const ports = [port('metrics', 9090), port('http', 8080), port('all', null)];
    const a = slice('web-a', { ports, endpoints: [ep('10.0.0.1'), ep('10.0.0.2'), ep('10.0.0.3')] });
    const b = slice('web-b', { ports: [port('grpc', 9000)], endpoints: [ep('10.0.0.3')] });
    const got = mergeServiceEndpoints([a, b]);
    const [one, two, three] = got.endpoints;
    assert.deepEqual(one!.ports, [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: null }, { name: 'metrics', port: 9090, protocol: 'TCP', appProtocol: null }]);
    assert.equal(one!.ports, two!.ports);
    assert.equal(one!.slices, two!.slices);
    assert.deepEqual(one!.slices, ['web-a']);
    assert.deepEqual([three!.ports.map((p) => p.name), three!.slices], [['grpc', 'http', 'metrics'], ['web-a', 'web-b']]);
    // Another merge of a slice with the same ports list (interned at ingest) reuses the same list.
    const again = mergeServiceEndpoints([slice('web-c', { ports, endpoints: [ep('10.0.0.9')] })]);
    assert.equal(again.endpoints[0]!.ports, one!.ports);
  });

  it('hints: a frozen list of one is kept as it is, a longer one is sorted into a copy', () => {
    const one = Object.freeze(['zone-b']);
    const two = Object.freeze(['zone-b', 'zone-a']);
    const got = mergeServiceEndpoints([slice('web-a', { endpoints: [ep('10.0.0.1', { hintsForZones: one, hintsForNodes: two })] })]);
    const e = got.endpoints[0]!;
    assert.equal(e.hintsForZones, one);
    assert.deepEqual(e.hintsForNodes, ['zone-a', 'zone-b']);
    assert.deepEqual(two, ['zone-b', 'zone-a']);
  });

  it('addresses and targetRef read back as the slice sent them: one address or several; a Pod in the namespace, in another, a non-Pod ref, none; from hand-built and ingested slices', () => {
    const sent: SliceEndpoint[] = [
      ep('10.0.0.1'),
      ep('10.0.0.2', { addresses: ['10.0.0.2', '10.0.0.12'] }),
      ep('10.0.0.3', { targetRef: { kind: 'Pod', namespace: 'other', name: 'web-3', uid: 'u3' } }),
      ep('10.0.0.4', { targetRef: { kind: 'Node', namespace: '', name: 'node-a', uid: 'u4' } }),
      ep('10.0.0.5', { targetRef: null }),
    ];
    const want = sent.map((e) => [e.addresses[0], e.addresses, e.targetRef]);
    const api = {
      metadata: { namespace: 'default', name: 'web-a', uid: 'uid-web-a', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: sent.map((e) => ({ addresses: e.addresses, conditions: e.conditions, nodeName: e.nodeName, zone: e.zone, ...(e.targetRef === null ? {} : { targetRef: e.targetRef }) })),
    };
    for (const s of [slice('web-a', { endpoints: sent }), ingest('EndpointSlice', api)]) {
      const got = mergeServiceEndpoints([s]).endpoints;
      assert.deepEqual(got.map((e) => [e.address, e.addresses, e.targetRef]), want);
      // Frozen where the record's own values are (ingested records are; the hand-built ones are not).
      if (s instanceof PackedSlice) assert.ok(got.every((e) => Object.isFrozen(e.addresses) && (e.targetRef === null || Object.isFrozen(e.targetRef))));
      // The same on every read, and the served fields agree with sameEndpoint across two merges.
      assert.deepEqual(got.map(served), mergeServiceEndpoints([s]).endpoints.map(served));
      assert.ok(endpointsEqual(mergeServiceEndpoints([s]), mergeServiceEndpoints([s])));
    }
  });

  it('keeps no array and no object of its own for a one-address endpoint of a Pod in the Service\'s namespace (addresses and targetRef are built on read)', () => {
    const got = mergeServiceEndpoints([
      ingest('EndpointSlice', {
        metadata: { namespace: 'default', name: 'web-a', uid: 'uid-web-a', labels: { 'kubernetes.io/service-name': 'web' } },
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [
          { addresses: ['10.0.0.1'], nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u1' } },
          { addresses: ['10.0.0.2', '10.0.0.12'], nodeName: 'node-a', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-2', uid: 'u2' } },
        ],
      }),
    ]);
    const [one, two] = got.endpoints;
    const own = (e: MergedEndpoint) => Object.getOwnPropertyNames(e).map((k) => (e as unknown as Record<string, unknown>)[k]);
    const shared = new Set<unknown>([one!.ports, one!.slices, one!.hintsForZones, one!.hintsForNodes]);
    assert.deepEqual(own(one!).filter((v) => v !== null && typeof v === 'object' && !shared.has(v)), []);
    assert.ok(!Object.hasOwn(one!, 'addresses') && !Object.hasOwn(one!, 'targetRef'));
    assert.notEqual(one!.addresses, one!.addresses);
    // Several addresses: the slice's own array, the only object of its own.
    assert.deepEqual(own(two!).filter((v) => v !== null && typeof v === 'object' && !shared.has(v)), [['10.0.0.2', '10.0.0.12']]);
    assert.equal(two!.addresses, two!.addresses);
  });

  it('does not reorder or change its input', () => {
    const input = [slice('web-b', { endpoints: [ep('10.0.0.2')] }), slice('web-a', { endpoints: [ep('10.0.0.1')] })];
    const copy = structuredClone(input);
    mergeServiceEndpoints(input);
    assert.deepEqual(input, copy);
  });
});

describe('belongsToService', () => {
  const cases: { name: string; slice: EndpointSliceRecord; want: boolean }[] = [
    { name: 'labelled for the Service, same namespace: attached', slice: slice('web-a'), want: true },
    { name: 'without the kubernetes.io/service-name label: not attached', slice: slice('web-a', { service: null }), want: false },
    { name: 'labelled for another Service: not attached', slice: slice('api-a', { service: 'api' }), want: false },
    { name: 'same Service name in another namespace: not attached', slice: slice('web-a', { namespace: 'prod' }), want: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(belongsToService(c.slice, 'default', 'web'), c.want);
    });
  }

  it('slice without the service-name label is not attached: its endpoints are not merged', () => {
    const all = [
      slice('web-a', { endpoints: [ep('10.0.0.1')] }),
      slice('stray', { service: null, endpoints: [ep('10.0.0.2')] }),
      slice('api-a', { service: 'api', endpoints: [ep('10.0.0.3')] }),
    ];
    const got = mergeServiceEndpoints(all.filter(slicesOwnedBy('default', 'web')));
    assert.deepEqual(lines(got), ['10.0.0.1 RS- http/TCP:8080 web-a']);
    assert.deepEqual(got.slices, ['web-a']);
  });

  it('sliceServiceKey: namespace/service, or null without the label', () => {
    assert.equal(sliceServiceKey(slice('web-a')), 'default/web');
    assert.equal(sliceServiceKey(slice('stray', { service: null })), null);
  });
});

describe('readyForRouting', () => {
  const cases: { name: string; endpoints: SliceEndpoint[]; port?: { name: string; protocol: string }; want: string[] }[] = [
    {
      name: 'some ready: only the ready ones',
      endpoints: [ep('10.0.0.1'), ep('10.0.0.2', { conditions: terminating }), ep('10.0.0.3', { conditions: notReady })],
      want: ['10.0.0.1'],
    },
    {
      name: 'none ready: the serving and terminating ones',
      endpoints: [
        ep('10.0.0.1', { conditions: terminating }),
        ep('10.0.0.2', { conditions: { ready: false, serving: false, terminating: true } }),
        ep('10.0.0.3', { conditions: notReady }),
      ],
      want: ['10.0.0.1'],
    },
    { name: 'none ready or serving: none', endpoints: [ep('10.0.0.1', { conditions: notReady })], want: [] },
    { name: 'for a port the endpoints do not serve: none', endpoints: [ep('10.0.0.1')], port: { name: 'http', protocol: 'UDP' }, want: [] },
    { name: 'for a port they serve: the ready ones', endpoints: [ep('10.0.0.1')], port: { name: 'http', protocol: 'TCP' }, want: ['10.0.0.1'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = readyForRouting(mergeServiceEndpoints([slice('web-a', { endpoints: c.endpoints })]), c.port);
      assert.deepEqual(
        got.map((e) => e.address),
        c.want,
      );
      assert.ok(Object.isFrozen(got));
    });
  }
});

describe('endpointsEqual', () => {
  const base = mergeServiceEndpoints([slice('web-a', { endpoints: [ep('10.0.0.1'), ep('10.0.0.2')] })]);
  const cases: { name: string; a: ServiceEndpoints | null; b: ServiceEndpoints | null; want: boolean }[] = [
    { name: 'a view equals itself', a: base, b: base, want: true },
    {
      name: 'same endpoints built again: equal',
      a: base,
      b: mergeServiceEndpoints([slice('web-a', { endpoints: [ep('10.0.0.2'), ep('10.0.0.1')] })]),
      want: true,
    },
    {
      name: 'endpoint moved to another slice: equal',
      a: base,
      b: mergeServiceEndpoints([slice('web-a', { endpoints: [ep('10.0.0.1')] }), slice('web-b', { endpoints: [ep('10.0.0.2')] })]),
      want: true,
    },
    {
      name: 'one endpoint terminating: not equal',
      a: base,
      b: mergeServiceEndpoints([slice('web-a', { endpoints: [ep('10.0.0.1'), ep('10.0.0.2', { conditions: terminating })] })]),
      want: false,
    },
    { name: 'one endpoint fewer: not equal', a: base, b: mergeServiceEndpoints([slice('web-a', { endpoints: [ep('10.0.0.1')] })]), want: false },
    { name: 'null and a placeholder: equal (no endpoints either way)', a: null, b: mergeServiceEndpoints([slice('web-a')]), want: true },
    { name: 'null and endpoints: not equal', a: null, b: base, want: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(endpointsEqual(c.a, c.b), c.want);
      assert.equal(endpointsEqual(c.b, c.a), c.want);
    });
  }
});
