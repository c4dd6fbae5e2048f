/**
 * Builders for EndpointSlice records as the EndpointSlice controller writes them (Service
 * default/web unless told otherwise), shared by the model specs.
 */
import { withMetadata, type EndpointConditions, type EndpointSliceRecord, type SliceEndpoint, type SlicePort } from '../../src/kube/records.ts';

export function port(name: string, number: number | null, protocol = 'TCP', appProtocol: string | null = null): SlicePort {
  return { name, port: number, protocol, appProtocol };
}

export type EndpointOverrides = Partial<Omit<SliceEndpoint, 'conditions'>> & { conditions?: Partial<EndpointConditions> };

/** A ready endpoint on node-a in zone-a, its Pod named after the address. */
export function ep(address: string, o: EndpointOverrides = {}): SliceEndpoint {
  const { conditions, ...rest } = o;
  return {
    addresses: [address],
    conditions: { ready: true, serving: true, terminating: false, ...conditions },
    hostname: null,
    nodeName: 'node-a',
    zone: 'zone-a',
    hintsForZones: [],
    hintsForNodes: [],
    targetRef: { kind: 'Pod', namespace: 'default', name: `pod-${address}`, uid: `uid-${address}` },
    ...rest,
  };
}

export interface SliceOverrides {
  namespace?: string;
  /** null: a slice without the kubernetes.io/service-name label. */
  service?: string | null;
  addressType?: string;
  ports?: SlicePort[];
  endpoints?: SliceEndpoint[];
}

export function slice(name: string, o: SliceOverrides = {}): EndpointSliceRecord {
  const service = o.service === undefined ? 'web' : o.service;
  return withMetadata({
    kind: 'EndpointSlice',
    meta: {
      namespace: o.namespace ?? 'default',
      name,
      uid: `uid-${name}`,
      resourceVersion: '1',
      labels: service === null ? {} : { 'kubernetes.io/service-name': service },
      annotations: {},
      creationTimestamp: '2025-01-01T00:00:00Z',
      deletionTimestamp: null,
      ownerReferences: [],
    },
    serviceName: service,
    managedBy: 'endpointslice-controller.k8s.io',
    addressType: o.addressType ?? 'IPv4',
    ports: o.ports ?? [port('http', 8080)],
    endpoints: o.endpoints ?? [],
  });
}
