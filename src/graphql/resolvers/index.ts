/**
 * Every resolver of the schema, one file per type. Every kind's `metadata` is the record's own
 * property (records.ts Metadata), so no type has a resolver for it.
 */
import type { Resolvers } from '../generated/resolvers-types.ts';
import { Cluster, KindSyncStatus } from './cluster.ts';
import {
  EndpointConnection,
  EndpointEdge,
  EndpointSliceConnection,
  EndpointSliceEdge,
  IngressConnection,
  IngressEdge,
  NodeConnection,
  NodeEdge,
  PageInfo,
  PodConnection,
  PodEdge,
  ServiceConnection,
  ServiceEdge,
} from './connection.ts';
import { Endpoint, EndpointPort } from './endpoint.ts';
import { EndpointSlice, EndpointSlicePort, SliceEndpoint } from './endpointslice.ts';
import { IPAddress, IPHolder } from './ip.ts';
import { ObjectMeta } from './meta.ts';
import { Node } from './node.ts';
import { ContainerPort, Pod, PodServicePort } from './pod.ts';
import { Query } from './query.ts';
import { Service, ServicePort } from './service.ts';
import { Ingress, IngressBackend, IngressClass, IngressPath, IngressRule, PodHostnames, RouteQuery, ServiceIngresses } from './ingress.ts';
import { TraceBackend, TraceMatch, TraceQuery } from './trace.ts';
import {
  Gateway,
  GatewayClass,
  GatewayListener,
  GatewayQuery,
  GRPCRoute,
  HTTPRoute,
  HTTPRouteRule,
  ReferenceGrant,
  RouteBackendRef,
  RouteParentStatus,
  ServiceGatewayRoutes,
} from './gateway-api.ts';

import { EndpointChange, EndpointChangeSet, EndpointChangeSetConnection, EndpointChangeSetEdge, ServiceChurn } from './history.ts';

export const resolvers: Resolvers = {
  Query: { ...Query, ...RouteQuery, ...TraceQuery, ...GatewayQuery },
  EndpointChangeSet,
  EndpointChange,
  EndpointChangeSetConnection,
  EndpointChangeSetEdge,
  ServiceChurn,
  Cluster,
  KindSyncStatus,
  Service: { ...Service, ...ServiceIngresses, ...ServiceGatewayRoutes },
  ServicePort,
  Endpoint,
  EndpointPort,
  EndpointSlice,
  EndpointSlicePort,
  SliceEndpoint,
  Pod: { ...Pod, ...PodHostnames },
  ContainerPort,
  PodServicePort,
  Node,
  IPAddress,
  IPHolder,
  ObjectMeta,
  ServiceConnection,
  PodConnection,
  NodeConnection,
  EndpointSliceConnection,
  EndpointConnection,
  ServiceEdge,
  PodEdge,
  NodeEdge,
  EndpointSliceEdge,
  EndpointEdge,
  PageInfo,
  Ingress,
  IngressRule,
  IngressPath,
  IngressBackend,
  IngressClass,
  IngressConnection,
  IngressEdge,
  TraceMatch,
  TraceBackend,
  GatewayClass,
  Gateway,
  GatewayListener,
  HTTPRoute,
  HTTPRouteRule,
  GRPCRoute,
  RouteBackendRef,
  RouteParentStatus,
  ReferenceGrant,
};
