/**
 * Resolvers of the Subscription type and its change types. The fan-out executes each event
 * with the event itself as the root field's value; these resolvers only shape it, and reach
 * data (the Service of a change set) through loaders made for that event.
 */
import { EndpointParent, type EndpointChangeParent } from '../graphql/parents.ts';

export type { EndpointChangeParent };
import type {
  EndpointChangeResolvers,
  EndpointChangeSetResolvers,
  NodeEventResolvers,
  PodEventResolvers,
  Resolvers,
  ServiceEventResolvers,
  SubscriptionResolvers,
} from '../graphql/generated/resolvers-types.ts';
import type { MergedEndpoint } from '../model/endpoints.ts';
import type { NodeRecord, PodRecord, ServiceRecord } from '../kube/records.ts';
import type { EndpointChangeSet } from './changesets.ts';


/** The root value of an event: the change itself, under the root field's response key. */
function fromRoot(field: string) {
  return {
    subscribe: () => {
      throw new Error(`${field}: served by the fan-out, not by graphql-js subscribe()`);
    },
    resolve: (root: Record<string, unknown>, _args: unknown, _ctx: unknown, info: { path: { key: string | number } }) => root[String(info.path.key)],
  };
}

const Subscription: SubscriptionResolvers = {
  endpointChanges: fromRoot('endpointChanges') as never,
  serviceChanges: fromRoot('serviceChanges') as never,
  podChanges: fromRoot('podChanges') as never,
  nodeChanges: fromRoot('nodeChanges') as never,
};

const inService = (cs: EndpointChangeSet) => (endpoint: MergedEndpoint): EndpointParent => new EndpointParent(cs.namespace, cs.name, endpoint);

const EndpointChangeSetR: EndpointChangeSetResolvers = {
  service: (cs, _, ctx) => ctx.loaders.serviceByKey.load(cs.serviceKey),
  added: (cs) => cs.added.map(inService(cs)),
  removed: (cs) => cs.removed.map(inService(cs)),
  changed: (cs) => cs.changed.map((c) => ({ before: inService(cs)(c.before), after: inService(cs)(c.after) })),
  endpoints: (cs) => cs.endpoints.map(inService(cs)),
  at: (cs) => new Date(cs.at).toISOString(),
};

const EndpointChangeR: EndpointChangeResolvers = {};

const ServiceEvent: ServiceEventResolvers = {
  service: (e) => e.object as ServiceRecord,
  at: (e) => new Date(e.at).toISOString(),
};
const PodEvent: PodEventResolvers = {
  pod: (e) => e.object as PodRecord,
  at: (e) => new Date(e.at).toISOString(),
};
const NodeEvent: NodeEventResolvers = {
  node: (e) => e.object as NodeRecord,
  at: (e) => new Date(e.at).toISOString(),
};

export const subscriptionResolvers: Resolvers = {
  Subscription,
  EndpointChangeSet: EndpointChangeSetR,
  EndpointChange: EndpointChangeR,
  ServiceEvent,
  PodEvent,
  NodeEvent,
};
