/** EndpointSlice, EndpointSlicePort and SliceEndpoint: slices as their controller wrote them. */
import type {
  EndpointSlicePortResolvers,
  EndpointSliceResolvers,
  SliceEndpointResolvers,
} from '../generated/resolvers-types.ts';
import { compareStrings } from '../pagination.ts';
import { hints } from './endpoint.ts';
import { podKeyOf } from './shared.ts';

export const EndpointSlice: EndpointSliceResolvers = {
  // addressType: the record's own string, checked against the enum when serialized.
  service: (s, _, ctx) => (s.serviceName === null ? null : ctx.loaders.serviceByKey.now(`${s.meta.namespace}/${s.serviceName}`)),
  endpoints: (s) => s.endpoints.map((endpoint) => ({ slice: s, endpoint })),
};

// protocol: the record's own string, checked against the enum when serialized.
export const EndpointSlicePort: EndpointSlicePortResolvers = {};

export const SliceEndpoint: SliceEndpointResolvers = {
  addresses: (p) => p.endpoint.addresses,
  // docs/kubernetes.md, "EndpointSlices": a missing ready or serving is true, a missing terminating false.
  conditions: (p) => ({
    ready: p.endpoint.conditions.ready ?? true,
    serving: p.endpoint.conditions.serving ?? true,
    terminating: p.endpoint.conditions.terminating ?? false,
  }),
  hostname: (p) => p.endpoint.hostname,
  nodeName: (p) => p.endpoint.nodeName,
  zone: (p) => p.endpoint.zone,
  hints: (p) => hints([...p.endpoint.hintsForZones].sort(compareStrings), [...p.endpoint.hintsForNodes].sort(compareStrings)),
  targetRef: (p) => p.endpoint.targetRef,
  pod: (p, _, ctx) => {
    const ref = p.endpoint.targetRef;
    return ref?.kind === 'Pod' ? ctx.loaders.podByKey.now(podKeyOf(ref, p.slice.meta.namespace)) : null;
  },
  node: (p, _, ctx) => (p.endpoint.nodeName ? ctx.loaders.nodeByName.now(p.endpoint.nodeName) : null),
};
