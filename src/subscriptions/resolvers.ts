/**
 * Resolvers of the Subscription type and its change types. The fan-out executes each event
 * with the event itself as the root field's value; these resolvers only shape it, and reach
 * data through loaders made for that event. Change sets have the resolvers of their GraphQL
 * type (graphql/resolvers/history.ts), shared with history queries.
 */
import type { EndpointChangeParent } from '../graphql/parents.ts';

export type { EndpointChangeParent };
import type {
  NodeEventResolvers,
  PodEventResolvers,
  Resolvers,
  ServiceEventResolvers,
  ServiceHealthEventResolvers,
  SubscriptionResolvers,
} from '../graphql/generated/resolvers-types.ts';
import type { NodeRecord, PodRecord, ServiceRecord } from '../kube/records.ts';


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
  serviceHealth: fromRoot('serviceHealth') as never,
};

const ServiceHealthEvent: ServiceHealthEventResolvers = {
  service: (e, _, ctx) => ctx.loaders.serviceByKey.load(e.serviceKey),
  at: (e) => new Date(e.at).toISOString(),
};

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
  ServiceEvent,
  PodEvent,
  NodeEvent,
  ServiceHealthEvent,
};
