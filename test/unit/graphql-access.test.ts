import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { OpenAccess, type Resource } from '../../src/auth/access.ts';
import { createContext } from '../../src/graphql/context.ts';
import { NamespaceAll } from '../../src/graphql/loaders.ts';
import { endpoint, node, pod, service, slice, smallCluster, TableAccess, World, type Permission } from './graphql-fixtures.ts';

/** `resources` listable in `namespace`. */
const inNamespace = (namespace: string, ...resources: Resource[]): Permission[] => resources.map((r) => ['list', r, namespace]);
const clusterWide = (...resources: Resource[]): Permission[] => resources.map((r) => ['list', r, '']);
const namespaced: Resource[] = ['services', 'endpointslices', 'pods'];

/** The callers, by what they may list. */
const callers = {
  'shop only': inNamespace('shop', ...namespaced),
  'shop, with nodes': [...inNamespace('shop', ...namespaced), ...clusterWide('nodes')],
  'two namespaces, no nodes': [...inNamespace('shop', ...namespaced), ...inNamespace('kube-system', ...namespaced)],
  'cluster-wide': clusterWide(...namespaced, 'nodes'),
  'no rights': [],
  'shop Services and slices': inNamespace('shop', 'services', 'endpointslices'),
  'shop Services only': inNamespace('shop', 'services'),
} satisfies Record<string, Permission[]>;
type Caller = keyof typeof callers;
const callerNames = Object.keys(callers) as Caller[];

/** An answer: `data` as plain JSON, and each error as "CODE path: message". */
interface Answer {
  readonly data: unknown;
  readonly errors?: readonly string[];
}

interface Case {
  /** What the caller asks, as a spec. */
  readonly name: string;
  readonly query: string;
  /** The answer per caller. */
  readonly want: Readonly<Record<Caller, Answer>>;
}

const forbidden = (path: string, resource: string, scope: string, user: Caller) => `FORBIDDEN ${path}: ${resource.split('.')[0]}: expected permission to list ${resource} ${scope}, got denied for user "${user}"`;
const noNodes = (path: string, user: Caller) => forbidden(path, 'nodes', 'cluster-wide', user);
/** The same answer for every caller but the ones listed. */
const every = (answer: Answer, except: Partial<Record<Caller, Answer>> = {}): Record<Caller, Answer> =>
  Object.fromEntries(callerNames.map((c) => [c, except[c] ?? answer])) as Record<Caller, Answer>;

const shopServices = ['shop/db', 'shop/empty', 'shop/ext', 'shop/manual', 'shop/web', 'shop/web-lb'];
const allServices = ['kube-system/kube-dns', ...shopServices];
const shopPods = ['shop/db-0', 'shop/web-1', 'shop/web-2', 'shop/web-3', 'shop/web-4'];
const allPods = ['kube-system/coredns-1', 'kube-system/node-exporter-a', ...shopPods];
const shopSlices = ['shop/db-x', 'shop/empty-p', 'shop/manual-1', 'shop/web-abc', 'shop/web-lb-v4'];
const allSlices = ['kube-system/kube-dns-q', ...shopSlices];
const list = (xs: string[]) => ({ totalCount: xs.length, items: xs.map((x) => ({ metadata: { namespace: x.split('/')[0], name: x.split('/')[1] } })) });

const WebEndpoints = { totalCount: 3, items: ['web-1', 'web-2', 'web-3'].map((name, i) => ({ address: ['10.4.1.1', '10.4.2.17', '10.4.3.3'][i], pod: { metadata: { name } } })) };
const WebWithNodes: Answer = {
  data: {
    service: {
      endpointCounts: { total: 3, ready: 2 },
      hasReadyEndpoints: true,
      endpointsByZone: [{ zone: 'zone-a', total: 2 }, { zone: 'zone-b', total: 1 }],
      slices: [{ metadata: { name: 'web-abc' } }],
      endpoints: WebEndpoints,
      pods: { totalCount: 4 },
      nodes: { totalCount: 3 },
    },
  },
};

const cases: Case[] = [
  {
    name: 'services: the namespaces it may list, nothing else, no error',
    query: `{ services { totalCount items { metadata { namespace name } } } }`,
    want: {
      'shop only': { data: { services: list(shopServices) } },
      'shop, with nodes': { data: { services: list(shopServices) } },
      'two namespaces, no nodes': { data: { services: list(allServices) } },
      'cluster-wide': { data: { services: list(allServices) } },
      'no rights': { data: { services: list([]) } },
      'shop Services and slices': { data: { services: list(shopServices) } },
      'shop Services only': { data: { services: list(shopServices) } },
    },
  },
  {
    name: 'pods: the namespaces it may list',
    query: `{ pods { totalCount items { metadata { namespace name } } } }`,
    want: every(
      { data: { pods: list(shopPods) } },
      {
        'two namespaces, no nodes': { data: { pods: list(allPods) } },
        'cluster-wide': { data: { pods: list(allPods) } },
        'no rights': { data: { pods: list([]) } },
        'shop Services and slices': { data: { pods: list([]) } },
        'shop Services only': { data: { pods: list([]) } },
      },
    ),
  },
  {
    name: 'endpointSlices: the namespaces it may list',
    query: `{ endpointSlices { totalCount items { metadata { namespace name } } } }`,
    want: every(
      { data: { endpointSlices: list(shopSlices) } },
      {
        'two namespaces, no nodes': { data: { endpointSlices: list(allSlices) } },
        'cluster-wide': { data: { endpointSlices: list(allSlices) } },
        'no rights': { data: { endpointSlices: list([]) } },
        'shop Services only': { data: { endpointSlices: list([]) } },
      },
    ),
  },
  {
    name: 'nodes: all or FORBIDDEN, and the rest of the answer still arrives',
    query: `{ nodes { totalCount } services(first: 0) { totalCount } }`,
    want: {
      'shop only': { data: { nodes: null, services: { totalCount: 6 } }, errors: [noNodes('nodes', 'shop only')] },
      'shop, with nodes': { data: { nodes: { totalCount: 3 }, services: { totalCount: 6 } } },
      'two namespaces, no nodes': { data: { nodes: null, services: { totalCount: 7 } }, errors: [noNodes('nodes', 'two namespaces, no nodes')] },
      'cluster-wide': { data: { nodes: { totalCount: 3 }, services: { totalCount: 7 } } },
      'no rights': { data: { nodes: null, services: { totalCount: 0 } }, errors: [noNodes('nodes', 'no rights')] },
      'shop Services and slices': { data: { nodes: null, services: { totalCount: 6 } }, errors: [noNodes('nodes', 'shop Services and slices')] },
      'shop Services only': { data: { nodes: null, services: { totalCount: 6 } }, errors: [noNodes('nodes', 'shop Services only')] },
    },
  },
  {
    name: 'node by name: FORBIDDEN without Nodes, absent or not; with Nodes its relations hold only visible namespaces',
    query: `{ node(name: "node-b") { pods { totalCount items { metadata { name } } } endpoints { items { address service { metadata { name } } } } services { items { metadata { name } } } } gone: node(name: "node-z") { ready } }`,
    want: every(
      { data: { node: null, gone: null }, errors: [] }, // filled below: two FORBIDDEN entries per caller without Nodes
      {
        'shop, with nodes': {
          data: {
            node: {
              pods: { totalCount: 1, items: [{ metadata: { name: 'web-2' } }] },
              endpoints: { items: [{ address: '10.4.2.17', service: { metadata: { name: 'web' } } }, { address: '10.4.2.17', service: { metadata: { name: 'web-lb' } } }] },
              services: { items: [{ metadata: { name: 'web' } }, { metadata: { name: 'web-lb' } }] },
            },
            gone: null,
          },
        },
        'cluster-wide': {
          data: {
            node: {
              pods: { totalCount: 2, items: [{ metadata: { name: 'coredns-1' } }, { metadata: { name: 'web-2' } }] },
              endpoints: {
                items: [
                  { address: '10.4.2.2', service: { metadata: { name: 'kube-dns' } } },
                  { address: '10.4.2.17', service: { metadata: { name: 'web' } } },
                  { address: '10.4.2.17', service: { metadata: { name: 'web-lb' } } },
                ],
              },
              services: { items: [{ metadata: { name: 'kube-dns' } }, { metadata: { name: 'web' } }, { metadata: { name: 'web-lb' } }] },
            },
            gone: null,
          },
        },
      },
    ),
  },
  {
    name: 'service by name: counts, zones, endpoints, pods and nodes over what it may see; FORBIDDEN when the namespace is not its',
    query: `{ service(namespace: "shop", name: "web") {
      endpointCounts { total ready } hasReadyEndpoints endpointsByZone { zone total }
      slices { metadata { name } }
      endpoints { totalCount items { address pod { metadata { name } } } }
      pods { totalCount }
      nodes { totalCount }
    } }`,
    want: every(
      {
        data: {
          service: {
            endpointCounts: { total: 3, ready: 2 },
            hasReadyEndpoints: true,
            endpointsByZone: [{ zone: 'zone-a', total: 2 }, { zone: 'zone-b', total: 1 }],
            slices: [{ metadata: { name: 'web-abc' } }],
            endpoints: WebEndpoints,
            pods: { totalCount: 4 },
            nodes: null,
          },
        },
      },
      {
        'cluster-wide': WebWithNodes,
        'shop, with nodes': WebWithNodes,
        'no rights': { data: { service: null }, errors: [forbidden('service', 'services', 'in namespace shop', 'no rights')] },
        'shop Services and slices': {
          data: {
            service: {
              endpointCounts: { total: 3, ready: 2 },
              hasReadyEndpoints: true,
              endpointsByZone: [{ zone: 'zone-a', total: 2 }, { zone: 'zone-b', total: 1 }],
              slices: [{ metadata: { name: 'web-abc' } }],
              // The endpoint → pod link is a Pod: hidden without Pods.
              endpoints: { totalCount: 3, items: ['10.4.1.1', '10.4.2.17', '10.4.3.3'].map((address) => ({ address, pod: null })) },
              pods: { totalCount: 0 },
              nodes: null,
            },
          },
        },
        'shop Services only': {
          data: {
            service: {
              endpointCounts: { total: 0, ready: 0 },
              hasReadyEndpoints: false,
              endpointsByZone: [],
              slices: [],
              endpoints: { totalCount: 0, items: [] },
              pods: { totalCount: 0 },
              nodes: null,
            },
          },
        },
      },
    ),
  },
  {
    name: 'servicesWithoutReadyEndpoints: readiness from the EndpointSlices it may see',
    query: `{ servicesWithoutReadyEndpoints { items { metadata { namespace name } } } }`,
    want: every(
      { data: { servicesWithoutReadyEndpoints: { items: list(['shop/empty']).items } } },
      {
        'no rights': { data: { servicesWithoutReadyEndpoints: { items: [] } } },
        'shop Services only': { data: { servicesWithoutReadyEndpoints: { items: list(['shop/db', 'shop/empty', 'shop/manual', 'shop/web', 'shop/web-lb']).items } } },
      },
    ),
  },
  {
    name: 'an explicit namespace it may not list: null and FORBIDDEN, told apart from an empty one',
    query: `{ services(namespace: "kube-system") { totalCount } pods(namespace: "kube-system") { totalCount } endpointSlices(namespace: "kube-system") { totalCount } none: services(namespace: "empty-ns") { totalCount } }`,
    want: every(
      {
        data: { services: null, pods: null, endpointSlices: null, none: null },
      }, // filled below per caller
      {
        'two namespaces, no nodes': { data: { services: { totalCount: 1 }, pods: { totalCount: 2 }, endpointSlices: { totalCount: 1 }, none: null }, errors: [forbidden('none', 'services', 'in namespace empty-ns', 'two namespaces, no nodes')] },
        'cluster-wide': { data: { services: { totalCount: 1 }, pods: { totalCount: 2 }, endpointSlices: { totalCount: 1 }, none: { totalCount: 0 } } },
      },
    ),
  },
  {
    name: 'pod by name in another namespace: FORBIDDEN; its Node fields FORBIDDEN without Nodes, the rest arrives',
    query: `{ pod(namespace: "kube-system", name: "coredns-1") { metadata { name } node { metadata { name } } zone services { metadata { name } } endpoints { address } } }`,
    want: every(
      { data: { pod: null } }, // filled below: FORBIDDEN pods in kube-system
      {
        'two namespaces, no nodes': {
          data: { pod: { metadata: { name: 'coredns-1' }, node: null, zone: null, services: [{ metadata: { name: 'kube-dns' } }], endpoints: [{ address: '10.4.2.2' }] } },
          errors: [noNodes('pod.node', 'two namespaces, no nodes'), noNodes('pod.zone', 'two namespaces, no nodes')],
        },
        'cluster-wide': { data: { pod: { metadata: { name: 'coredns-1' }, node: { metadata: { name: 'node-b' } }, zone: 'zone-b', services: [{ metadata: { name: 'kube-dns' } }], endpoints: [{ address: '10.4.2.2' }] } } },
      },
    ),
  },
  {
    name: 'ip: a holder in a namespace it may not list is no holder; Nodes left out of holders, FORBIDDEN in nodes',
    query: `{
      web2: ip(address: "10.4.2.17") { holders { __typename ... on Pod { metadata { name } } ... on Endpoint { service { metadata { name } } } } }
      dns: ip(address: "10.96.0.53") { services { metadata { name } } }
      host: ip(address: "10.0.0.1") { pods { metadata { name } } nodes { metadata { name } } holders { __typename } }
    }`,
    want: every(
      {
        data: {
          web2: { holders: [{ __typename: 'Pod', metadata: { name: 'web-2' } }, { __typename: 'Endpoint', service: { metadata: { name: 'web' } } }, { __typename: 'Endpoint', service: { metadata: { name: 'web-lb' } } }] },
          dns: { services: [] },
          host: { pods: [], nodes: null, holders: [] },
        },
      },
      {
        'shop, with nodes': {
          data: {
            web2: { holders: [{ __typename: 'Pod', metadata: { name: 'web-2' } }, { __typename: 'Endpoint', service: { metadata: { name: 'web' } } }, { __typename: 'Endpoint', service: { metadata: { name: 'web-lb' } } }] },
            dns: { services: [] },
            host: { pods: [], nodes: [{ metadata: { name: 'node-a' } }], holders: [{ __typename: 'Node' }] },
          },
        },
        'two namespaces, no nodes': {
          data: {
            web2: { holders: [{ __typename: 'Pod', metadata: { name: 'web-2' } }, { __typename: 'Endpoint', service: { metadata: { name: 'web' } } }, { __typename: 'Endpoint', service: { metadata: { name: 'web-lb' } } }] },
            dns: { services: [{ metadata: { name: 'kube-dns' } }] },
            host: { pods: [{ metadata: { name: 'node-exporter-a' } }], nodes: null, holders: [{ __typename: 'Pod' }] },
          },
        },
        'cluster-wide': {
          data: {
            web2: { holders: [{ __typename: 'Pod', metadata: { name: 'web-2' } }, { __typename: 'Endpoint', service: { metadata: { name: 'web' } } }, { __typename: 'Endpoint', service: { metadata: { name: 'web-lb' } } }] },
            dns: { services: [{ metadata: { name: 'kube-dns' } }] },
            host: { pods: [{ metadata: { name: 'node-exporter-a' } }], nodes: [{ metadata: { name: 'node-a' } }], holders: [{ __typename: 'Pod' }, { __typename: 'Node' }] },
          },
        },
        'no rights': { data: { web2: { holders: [] }, dns: { services: [] }, host: { pods: [], nodes: null, holders: [] } } },
        'shop Services and slices': {
          data: {
            web2: { holders: [{ __typename: 'Endpoint', service: { metadata: { name: 'web' } } }, { __typename: 'Endpoint', service: { metadata: { name: 'web-lb' } } }] },
            dns: { services: [] },
            host: { pods: [], nodes: null, holders: [] },
          },
        },
        'shop Services only': { data: { web2: { holders: [] }, dns: { services: [] }, host: { pods: [], nodes: null, holders: [] } } },
      },
    ),
  },
  {
    name: 'pods by zone: FORBIDDEN without Nodes (a zone is a Node\'s)',
    query: `{ pods(zone: "zone-a") { items { metadata { namespace name } } } }`,
    want: every(
      { data: { pods: null } }, // filled below: FORBIDDEN nodes
      {
        'shop, with nodes': { data: { pods: { items: list(['shop/db-0', 'shop/web-1', 'shop/web-3']).items } } },
        'cluster-wide': { data: { pods: { items: list(['kube-system/node-exporter-a', 'shop/db-0', 'shop/web-1', 'shop/web-3']).items } } },
      },
    ),
  },
  {
    // The small cluster has no routing objects: their counts are 0 for every caller.
    name: 'cluster: object counts over what it may list',
    query: `{ cluster { ready kinds { kind objects } } }`,
    want: Object.fromEntries(
      (
        [
          ['shop only', [6, 5, 5, 0]],
          ['shop, with nodes', [6, 5, 5, 3]],
          ['two namespaces, no nodes', [7, 6, 7, 0]],
          ['cluster-wide', [7, 6, 7, 3]],
          ['no rights', [0, 0, 0, 0]],
          ['shop Services and slices', [6, 5, 0, 0]],
          ['shop Services only', [6, 0, 0, 0]],
        ] as [Caller, number[]][]
      ).map(([c, n]) => [c, { data: { cluster: { ready: true, kinds: ['Service', 'EndpointSlice', 'Pod', 'Node', 'Ingress', 'IngressClass', 'GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant'].map((kind, i) => ({ kind, objects: n[i] ?? 0 })) } } }]),
    ) as Record<Caller, Answer>,
  },
];

// The FORBIDDEN entries that follow from the rules, for the cases that leave them to here.
for (const c of callerNames) {
  const named = cases.find((k) => k.name.startsWith('node by name'))!.want as Record<Caller, Answer>;
  if (named[c]!.errors?.length === 0) named[c] = { data: named[c]!.data, errors: [noNodes('node', c), noNodes('gone', c)] };
  const explicit = cases.find((k) => k.name.startsWith('an explicit namespace'))!.want as Record<Caller, Answer>;
  if (c !== 'two namespaces, no nodes' && c !== 'cluster-wide') {
    const miss = (path: string, resource: string, of: Resource) => (callers[c] as Permission[]).some(([, r, ns]) => r === of && (ns === 'kube-system' || ns === '')) ? [] : [forbidden(path, resource, 'in namespace kube-system', c)];
    explicit[c] = {
      data: explicit[c]!.data,
      errors: [...miss('services', 'services', 'services'), ...miss('pods', 'pods', 'pods'), ...miss('endpointSlices', 'endpointslices.discovery.k8s.io', 'endpointslices'), forbidden('none', 'services', 'in namespace empty-ns', c)],
    };
  }
  const pod = cases.find((k) => k.name.startsWith('pod by name'))!.want as Record<Caller, Answer>;
  if (!pod[c]!.errors && pod[c]!.data && (pod[c]!.data as { pod: unknown }).pod === null) pod[c] = { data: pod[c]!.data, errors: [forbidden('pod', 'pods', 'in namespace kube-system', c)] };
  const zone = cases.find((k) => k.name.startsWith('pods by zone'))!.want as Record<Caller, Answer>;
  if ((zone[c]!.data as { pods: unknown }).pods === null) zone[c] = { data: zone[c]!.data, errors: [noNodes('pods', c)] };
  const ip = cases.find((k) => k.name.startsWith('ip:'))!.want as Record<Caller, Answer>;
  if ((ip[c]!.data as { host: { nodes: unknown } }).host.nodes === null) ip[c] = { data: ip[c]!.data, errors: [noNodes('host.nodes', c)] };
  const svc = cases.find((k) => k.name.startsWith('service by name'))!.want as Record<Caller, Answer>;
  const s = (svc[c]!.data as { service: { nodes: unknown } | null }).service;
  if (s !== null && s.nodes === null) svc[c] = { data: svc[c]!.data, errors: [noNodes('service.nodes', c)] };
}

/** "CODE path: message", sorted: graphql-js reports errors in completion order. */
function errorLines(errors: readonly { message: string; path?: readonly (string | number)[]; extensions: Record<string, unknown> }[] | undefined): string[] {
  return (errors ?? []).map((e) => `${String(e.extensions?.['code'])} ${(e.path ?? []).join('.')}: ${e.message}`).sort();
}

describe('GraphQL access: every query answers exactly what the caller may list', () => {
  const world = smallCluster();
  for (const c of cases) {
    for (const caller of callerNames) {
      it(`${c.name} (${caller})`, async () => {
        world.access = new TableAccess(caller, callers[caller]);
        const result = await world.run(c.query);
        const want = c.want[caller];
        assert.deepEqual(errorLines(result.errors as never), [...(want.errors ?? [])].sort());
        assert.deepEqual(JSON.parse(JSON.stringify(result.data)), want.data);
      });
    }
  }

  it('answers as before with OpenAccess and with a cluster-wide caller, asking nothing of OpenAccess', async () => {
    // Not `cluster`: a hand-fed cache (no reflectors) reports 0 objects per kind in its health.
    for (const c of cases.filter((k) => !k.name.startsWith('cluster:'))) {
      world.access = OpenAccess;
      const open = await world.run(c.query);
      world.access = new TableAccess('cluster-wide', callers['cluster-wide']);
      const wide = await world.run(c.query);
      assert.deepEqual(JSON.parse(JSON.stringify(open)), JSON.parse(JSON.stringify(wide)), c.name);
    }
    const anonymous = new TableAccess(null, []); // user null: authorization is off
    world.access = anonymous;
    for (const c of cases) await world.run(c.query);
    assert.deepEqual(anonymous.asked, []);
  });
});

describe('GraphQL access: questions are batched per (resource, namespace), not per object', () => {
  /** 60 Services in 6 namespaces, 2 pods each, on 4 nodes. */
  function sixNamespaces(): World {
    const nodes = Array.from({ length: 4 }, (_, i) => node(`node-${i}`));
    const pods = [];
    const services = [];
    const slices = [];
    for (let n = 0; n < 6; n++) {
      const ns = `team-${n}`;
      for (let s = 0; s < 10; s++) {
        const name = `svc-${s}`;
        services.push(service(ns, name, { selector: { app: name } }));
        const ps = [0, 1].map((i) => pod(ns, `${name}-${i}`, { labels: { app: name }, node: `node-${(s + i) % 4}`, ips: [`10.4.${n * 10 + s}.${i + 1}`] }));
        pods.push(...ps);
        slices.push(slice(ns, `${name}-abc`, name, ps.map((p) => endpoint(p.podIPs[0]!, { pod: p }))));
      }
    }
    return new World({ nodes, pods, services, slices });
  }
  const world = sixNamespaces();
  const query = `{ services(first: 100) { totalCount items {
    endpointCounts { ready }
    endpoints(first: 5) { items { pod { metadata { name } services { metadata { name } } } } }
    pods(first: 5) { items { endpoints { address } } }
  } } }`;

  const batchCases: { name: string; allowed: Permission[]; totalCount: number; asked: string[] }[] = [
    {
      name: 'cluster-wide: one question per resource',
      allowed: clusterWide(...namespaced),
      totalCount: 60,
      asked: ['list endpointslices *', 'list pods *', 'list services *'],
    },
    {
      name: 'two of six namespaces: cluster-wide, then each namespace the answers touch, once',
      allowed: [...inNamespace('team-1', ...namespaced), ...inNamespace('team-4', ...namespaced)],
      totalCount: 20,
      asked: [
        'list endpointslices *', 'list endpointslices team-1', 'list endpointslices team-4',
        'list pods *', 'list pods team-1', 'list pods team-4',
        'list services *', ...[0, 1, 2, 3, 4, 5].map((n) => `list services team-${n}`),
      ],
    },
    {
      name: 'no rights: the Services are asked about, nothing else is reached',
      allowed: [],
      totalCount: 0,
      asked: ['list services *', ...[0, 1, 2, 3, 4, 5].map((n) => `list services team-${n}`)],
    },
  ];
  for (const c of batchCases) {
    it(c.name, async () => {
      const access = new TableAccess('caller', c.allowed);
      world.access = access;
      const result = await world.run(query);
      assert.equal(result.errors, undefined);
      assert.equal((result.data as any).services.totalCount, c.totalCount);
      assert.deepEqual([...access.asked].sort(), c.asked);
    });
  }

  it('asks subscriptions\' contexts with their own verb', async () => {
    const access = new TableAccess('watcher', [['watch', 'services', 'team-2']]);
    const ctx = createContext({ cache: world.cache, feed: world.feed }, { access, verb: 'watch' });
    const all = await ctx.loaders.servicesByNamespace.load(NamespaceAll);
    assert.deepEqual(new Set(all.map((s) => s.meta.namespace)), new Set(['team-2']));
    assert.equal(ctx.access, access);
    assert.ok(access.asked.every((q) => q.startsWith('watch ')), access.asked.join(', '));
  });
});

describe('GraphQL access: AUTHORIZATION_UNAVAILABLE fails closed', () => {
  const world = smallCluster();
  const unavailable = (resources: Resource[], allowed: Permission[] = clusterWide(...namespaced, 'nodes')) => new TableAccess('alice', allowed, { unavailable: resources });

  const failCases: { name: string; resources: Resource[]; query: string; data: unknown; paths: string[] }[] = [
    { name: 'a list whose kind cannot be decided is null, the others arrive', resources: ['services'], query: `{ services { totalCount } pods { totalCount } }`, data: { services: null, pods: { totalCount: 7 } }, paths: ['services'] },
    { name: 'a lookup is null, not unfiltered', resources: ['pods'], query: `{ pod(namespace: "shop", name: "web-1") { metadata { name } } }`, data: { pod: null }, paths: ['pod'] },
    { name: 'Node fields are null', resources: ['nodes'], query: `{ node(name: "node-a") { ready } nodes { totalCount } }`, data: { node: null, nodes: null }, paths: ['node', 'nodes'] },
    {
      name: 'a count that cannot be decided nulls its Service, never counting unfiltered',
      resources: ['endpointslices'],
      query: `{ service(namespace: "shop", name: "web") { endpointCounts { ready } } }`,
      data: { service: null },
      paths: ['service.endpointCounts'],
    },
    {
      name: 'IP holders cannot hide an undecided kind: the whole lookup fails',
      resources: ['pods'],
      query: `{ ip(address: "10.4.2.17") { holders { __typename } } }`,
      data: null,
      paths: ['ip.holders'],
    },
    {
      name: 'an unavailable authorizer for Nodes fails holders too (only FORBIDDEN leaves Nodes out)',
      resources: ['nodes'],
      query: `{ ip(address: "10.0.0.1") { holders { __typename } } }`,
      data: null,
      paths: ['ip.holders'],
    },
  ];
  for (const c of failCases) {
    it(c.name, async () => {
      world.access = unavailable(c.resources);
      const result = await world.run(c.query);
      assert.deepEqual(JSON.parse(JSON.stringify(result.data ?? null)), c.data);
      assert.deepEqual(
        (result.errors ?? []).map((e) => `${String(e.extensions?.['code'])} ${(e.path ?? []).join('.')}`).sort(),
        c.paths.map((p) => `AUTHORIZATION_UNAVAILABLE ${p}`).sort(),
      );
      for (const e of result.errors ?? []) assert.match(e.message, /expected an authorization decision to list .* got none/);
    });
  }
});
