/** Every resolver of the schema, one file per type. */
import type { Resolvers } from '../generated/resolvers-types.ts';
import { Cluster, KindSyncStatus } from './cluster.ts';
import {
  EndpointConnection,
  EndpointEdge,
  EndpointSliceConnection,
  EndpointSliceEdge,
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
import { EndpointChange, EndpointChangeSet, EndpointChangeSetConnection, EndpointChangeSetEdge, ServiceChurn } from './history.ts';

export const resolvers: Resolvers = {
  Query,
  EndpointChangeSet,
  EndpointChange,
  EndpointChangeSetConnection,
  EndpointChangeSetEdge,
  ServiceChurn,
  Cluster,
  KindSyncStatus,
  Service,
  ServicePort,
  Endpoint,
  EndpointPort,
  EndpointSlice,
  EndpointSlicePort,
  SliceEndpoint,
  Pod,
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
};
