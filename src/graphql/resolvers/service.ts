/** Service and ServicePort. Relations read endpointsByService, slicesByService, podsByService and nodeByName. */
import { objectKey } from '../../kube/records.ts';
import { countEndpoints, type EndpointCounts, type ServiceEndpoints } from '../../model/endpoints.ts';
import { selectorFromMap, selectorToString } from '../../model/selector.ts';
import { nodeConnection, podConnection, serviceEndpointConnection } from '../filters.ts';
import type { IpFamily, ServicePortResolvers, ServiceResolvers, ZoneEndpointCounts } from '../generated/resolvers-types.ts';
import { compareStrings } from '../pagination.ts';
import { keyValues } from './meta.ts';
import { present } from './shared.ts';
import { serviceChanges, serviceChurn } from './history.ts';

export const Service: ServiceResolvers = {
  // type: the record's own string, checked against the enum when serialized.
  changes: (s, args, ctx) => serviceChanges(s.meta.namespace, s.meta.name, args, ctx),
  churn: (s, args, ctx) => serviceChurn(s.meta.namespace, s.meta.name, args, ctx),
  ipFamilies: (s) => s.ipFamilies as readonly IpFamily[],
  selector: (s) => (s.selector === null ? null : keyValues(s.selector)),
  selectorString: (s) => (s.selector === null ? null : selectorToString(selectorFromMap(s.selector))),
  headless: (s) => s.clusterIP === 'None',

  slices: (s, _, ctx) => ctx.loaders.slicesByService.load(objectKey(s.meta)),
  endpoints: (s, args, ctx) =>
    ctx.loaders.endpointsByService.nowThen(objectKey(s.meta), (v) => serviceEndpointConnection(ctx, s.meta.namespace, s.meta.name, v?.endpoints ?? [], args)),
  endpointCounts: (s, _, ctx) => ctx.loaders.endpointsByService.nowThen(objectKey(s.meta), countsOf),
  hasReadyEndpoints: async (s, _, ctx) => countsOf(await ctx.loaders.endpointsByService.load(objectKey(s.meta))).ready > 0,
  endpointsByZone: async (s, _, ctx) => byZone(await ctx.loaders.endpointsByService.load(objectKey(s.meta))),
  pods: (s, args, ctx) => podConnection(ctx, ctx.loaders.podsByService.load(objectKey(s.meta)), args),
  nodes: async (s, args, ctx) => {
    const view = await ctx.loaders.endpointsByService.load(objectKey(s.meta));
    const names = [...new Set((view?.endpoints ?? []).flatMap((e) => (e.nodeName ? [e.nodeName] : [])))].sort(compareStrings);
    return nodeConnection(ctx, present(await ctx.loaders.nodeByName.loadMany(names)), args);
  },
};

export const ServicePort: ServicePortResolvers = {
  // protocol: the record's own string, checked against the enum when serialized.
  targetPort: (p) => String(p.targetPort),
  targetPortNumber: (p) => (typeof p.targetPort === 'number' ? p.targetPort : null),
  targetPortName: (p) => (typeof p.targetPort === 'string' ? p.targetPort : null),
};

// Private:

export const NoEndpoints: EndpointCounts = Object.freeze({ total: 0, ready: 0, serving: 0, terminating: 0 });

function countsOf(view: ServiceEndpoints | null): EndpointCounts {
  return view?.counts ?? NoEndpoints;
}

/** Counts per zone, sorted by zone, endpoints without a zone last. */
export function byZone(view: ServiceEndpoints | null): ZoneEndpointCounts[] {
  const zones = new Map<string | null, ServiceEndpoints['endpoints'][number][]>();
  for (const e of view?.endpoints ?? []) {
    const list = zones.get(e.zone);
    if (list === undefined) zones.set(e.zone, [e]);
    else list.push(e);
  }
  return [...zones]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : compareStrings(a, b)))
    .map(([zone, endpoints]) => ({ zone, ...countEndpoints(endpoints) }));
}
