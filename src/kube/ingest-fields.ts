/**
 * The fields `ingest` (ingest.ts) reads, per kind, as `Kept` masks for list pages
 * (kept-json.ts): everything else of a listed object is stepped over instead of parsed. A mask
 * must name every field its kind's ingest function reads; `test/unit/kept-json.test.ts` checks
 * that ingest gives equal records from a masked parse and from JSON.parse, for every kind here,
 * on generated objects carrying every field ingest reads.
 */
import type { Kept } from './kept-json.ts';
import type { Kind } from './records.ts';

/** What ingestMeta reads (not managedFields, generateName, selfLink). */
const Meta = {
  name: true, namespace: true, uid: true, resourceVersion: true, labels: true, annotations: true,
  creationTimestamp: true, deletionTimestamp: true, ownerReferences: true,
} as const;

const Container = { name: true, ports: true, restartPolicy: true } as const;

/** Per kind, the fields of one object that ingest reads; kinds not listed are parsed whole. */
export const IngestedFields: Readonly<Partial<Record<Kind, Kept>>> = {
  Pod: {
    metadata: Meta,
    spec: { nodeName: true, containers: Container, initContainers: Container },
    status: { phase: true, podIP: true, podIPs: true, hostIP: true, conditions: true },
  },
  Service: {
    metadata: Meta,
    spec: {
      type: true, clusterIP: true, clusterIPs: true, ipFamilies: true, ipFamilyPolicy: true, ports: true, selector: true,
      externalName: true, externalTrafficPolicy: true, internalTrafficPolicy: true, sessionAffinity: true,
      trafficDistribution: true, publishNotReadyAddresses: true,
    },
    status: { loadBalancer: true },
  },
  EndpointSlice: { metadata: Meta, addressType: true, ports: true, endpoints: true },
  Node: {
    metadata: Meta,
    spec: { podCIDRs: true, podCIDR: true, unschedulable: true, taints: true },
    status: { conditions: true, addresses: true },
  },
};
