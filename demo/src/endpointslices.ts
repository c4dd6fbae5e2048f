/**
 * The EndpointSlice controller's reconciler, as a pure function: given a Service, the pods it
 * selects, its existing slices and a node lookup, say which slices to create, update and delete.
 *
 * Follows `k8s.io/endpointslice` (reconciler.go, utils.go) closely, so the simulated cluster's
 * slices look and move like the real controller's:
 * - one group of slices per (address type, resolved port set); a named targetPort resolves per
 *   pod, so pods resolving to different numbers land in different slices;
 * - at most `maxEndpointsPerSlice` endpoints per slice; existing slices are updated in place,
 *   new endpoints fill the slices being updated first, then the unchanged slice they fit best,
 *   then new slices;
 * - conditions: serving = pod Ready, terminating = pod has a deletionTimestamp,
 *   ready = publishNotReadyAddresses || (serving && !terminating); all three always written;
 * - a Service without endpoints keeps one empty placeholder slice per address type;
 * - creates that coincide with deletes are turned into updates of the deleted slices' names.
 *
 * Deviations, on purpose: no topology-aware-hints annotation heuristic (only
 * `trafficDistribution: PreferClose`, which writes `hints.forZones` of the endpoint's own zone);
 * iteration order is insertion order where Go's is random, so results are deterministic.
 */
import type {
  AddressType,
  EndpointJson,
  EndpointPortJson,
  EndpointSliceJson,
  NodeJson,
  PodJson,
  ServiceJson,
  ServicePortJson,
  StringMap,
} from './types.ts';
import { matches, selectorFromMap, type Selector } from '../../src/model/selector.ts';
import {
  AnnotationTriggerTime,
  ControllerEndpointSlice,
  LabelHeadless,
  LabelManagedBy,
  LabelServiceName,
  LabelZone,
} from './types.ts';

/** The controller's `--max-endpoints-per-slice` default. */
export const DefaultMaxEndpointsPerSlice = 100;

export interface ReconcileInput {
  readonly service: ServiceJson;
  /** Pods of the Service's namespace that its selector matches (see {@link selectsPod}); others are the caller's bug. */
  readonly pods: readonly PodJson[];
  /** The Service's existing slices managed by the EndpointSlice controller (label `kubernetes.io/service-name`). */
  readonly existing: readonly EndpointSliceJson[];
  /** Node by name; a pod whose node is missing is skipped, as the controller does. */
  readonly getNode: (name: string) => NodeJson | undefined;
  /** @default 100 // endpoints, the controller's default (the API allows up to 1000) */
  readonly maxEndpointsPerSlice?: number;
  /** RFC 3339 time for the `endpoints.kubernetes.io/last-change-trigger-time` annotation; absent: no annotation. */
  readonly triggerTime?: string;
}

export interface SliceChanges {
  /** New slices: `metadata.name`, `uid`, `resourceVersion` and `creationTimestamp` are empty, for the
   *  store to fill from `generateName` as the API server would. */
  readonly create: readonly EndpointSliceJson[];
  /** Whole replacement objects (metadata kept, generation bumped). */
  readonly update: readonly EndpointSliceJson[];
  readonly delete: readonly EndpointSliceJson[];
}

/**
 * Computes the slice changes that bring `existing` in line with `pods`.
 *
 * Selectorless Services get no changes (their slices are someone else's); ExternalName Services
 * get their controller-managed slices deleted.
 */
export function reconcileEndpointSlices(input: ReconcileInput): SliceChanges {
  const { service } = input;
  if (service.spec.type === 'ExternalName') return { create: [], update: [], delete: [...input.existing] };
  if (service.spec.selector === undefined) return { create: [], update: [], delete: [] };
  const max = input.maxEndpointsPerSlice ?? DefaultMaxEndpointsPerSlice;
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw new RangeError(`maxEndpointsPerSlice must be an integer in [1, 1000], but got: ${max}`);
  }

  const supported = addressTypesForService(service);
  const create: EndpointSliceJson[] = [];
  const update: EndpointSliceJson[] = [];
  const remove: EndpointSliceJson[] = [];
  const byAddressType = new Map<AddressType, EndpointSliceJson[]>();
  for (const slice of input.existing) {
    // The Service no longer has this family: its slices go.
    if (!supported.includes(slice.addressType)) {
      remove.push(slice);
      continue;
    }
    const list = byAddressType.get(slice.addressType) ?? [];
    list.push(slice);
    byAddressType.set(slice.addressType, list);
  }
  for (const addressType of supported) {
    const changes = reconcileByAddressType(input, byAddressType.get(addressType) ?? [], addressType, max);
    create.push(...changes.create);
    update.push(...changes.update);
    remove.push(...changes.delete);
  }
  return { create, update, delete: remove };
}

/** Whether the Service's selector matches the pod (same namespace, every selector label equal).
 *  A Service without a selector selects nothing. */
export function selectsPod(service: ServiceJson, pod: PodJson): boolean {
  const selector = service.spec.selector;
  if (selector === undefined || service.spec.type === 'ExternalName') return false;
  if (service.metadata.namespace !== pod.metadata.namespace) return false;
  return labelsMatch(selector, pod.metadata.labels);
}

/**
 * Equality-based selector match (`spec.selector`, `matchLabels`), with the product's matcher:
 * every key of `selector` present in `labels` with the same value; an empty selector selects
 * nothing, as the API server stores `{}` as no selector.
 */
export function labelsMatch(selector: StringMap, labels: StringMap | undefined): boolean {
  let parsed = ParsedSelectors.get(selector);
  if (parsed === undefined) {
    parsed = selectorFromMap(selector);
    ParsedSelectors.set(selector, parsed);
  }
  return matches(parsed, labels ?? {});
}

/** Selector maps are the objects' own and never mutated: parse each once. */
const ParsedSelectors = new WeakMap<StringMap, Selector>();

/** `ShouldPodBeInEndpoints(pod, includeTerminating=true)`: not terminal, and has an IP. */
export function shouldPodBeInEndpoints(pod: PodJson): boolean {
  if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return false;
  return Boolean(pod.status.podIP) || (pod.status.podIPs?.length ?? 0) > 0;
}

/** Status of the pod's Ready condition is "True". */
export function isPodReady(pod: PodJson): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The address types a Service's slices carry, from `spec.ipFamilies` (IPv4 when absent). */
export function addressTypesForService(service: ServiceJson): AddressType[] {
  const families = service.spec.ipFamilies ?? [];
  const types: AddressType[] = [];
  if (families.includes('IPv4')) types.push('IPv4');
  if (families.includes('IPv6')) types.push('IPv6');
  if (types.length > 0) return types;
  const ip = service.spec.clusterIP;
  if (ip !== undefined && ip !== '' && ip !== 'None') return [ip.includes(':') ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/**
 * `FindPort`: a numeric targetPort as is; a named one is the container port of that name and
 * protocol, in regular containers first and then in sidecars (init containers with
 * `restartPolicy: Always`). undefined when it resolves nowhere. An absent targetPort means `port`.
 */
export function findPort(pod: PodJson, servicePort: ServicePortJson): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  for (const container of pod.spec.containers) {
    for (const port of container.ports ?? []) {
      if (port.name === target && port.protocol === servicePort.protocol) return port.containerPort;
    }
  }
  for (const container of pod.spec.initContainers ?? []) {
    if (container.restartPolicy !== 'Always') continue;
    for (const port of container.ports ?? []) {
      if (port.name === target && port.protocol === servicePort.protocol) return port.containerPort;
    }
  }
  return undefined;
}

/** `getEndpointPorts`: the Service's ports resolved for one pod, in Service order; ports that do not
 *  resolve are left out. */
export function endpointPorts(service: ServiceJson, pod: PodJson): EndpointPortJson[] {
  const ports: EndpointPortJson[] = [];
  for (const servicePort of service.spec.ports ?? []) {
    const port = findPort(pod, servicePort);
    if (port === undefined) continue;
    ports.push(
      servicePort.appProtocol === undefined
        ? { name: servicePort.name ?? '', protocol: servicePort.protocol, port }
        : { name: servicePort.name ?? '', protocol: servicePort.protocol, port, appProtocol: servicePort.appProtocol },
    );
  }
  return ports;
}

/** `podToEndpoint`: one endpoint of the given address type (addresses may be empty when the pod has no
 *  IP of that family). */
export function podToEndpoint(
  pod: PodJson,
  node: NodeJson | undefined,
  service: ServiceJson,
  addressType: AddressType,
): EndpointJson {
  const serving = isPodReady(pod);
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  // For compatibility, ready is never true for a terminating pod unless publishNotReadyAddresses.
  const ready = service.spec.publishNotReadyAddresses === true || (serving && !terminating);
  const zone = node?.metadata.labels?.[LabelZone];
  const nodeName = pod.spec.nodeName;
  const hostname = shouldSetHostname(pod, service) ? pod.spec.hostname : undefined;
  const preferClose = service.spec.trafficDistribution === 'PreferClose';
  return {
    addresses: endpointAddresses(pod, addressType),
    conditions: { ready, serving, terminating },
    ...(hostname !== undefined ? { hostname } : {}),
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata.namespace ?? '',
      name: pod.metadata.name,
      uid: pod.metadata.uid,
    },
    ...(nodeName !== undefined && nodeName !== '' ? { nodeName } : {}),
    ...(zone !== undefined && zone !== '' ? { zone } : {}),
    ...(preferClose && zone !== undefined && zone !== '' ? { hints: { forZones: [{ name: zone }] } } : {}),
  };
}

/** The controller's identity of an endpoint: sorted addresses, hostname, target namespace/name.
 *  Conditions, node and zone are not part of it, so they update in place. */
export function endpointHash(endpoint: EndpointJson): string {
  const addresses = [...endpoint.addresses].sort().join(',');
  const ref = endpoint.targetRef;
  return `${addresses}|${endpoint.hostname ?? ''}|${ref?.namespace ?? ''}/${ref?.name ?? ''}`;
}

// Private:

/** A slice being built; mutable until it is returned. */
interface Draft {
  /** The slice it starts from; undefined for a new slice. */
  readonly base: EndpointSliceJson | undefined;
  readonly ports: readonly EndpointPortJson[];
  readonly addressType: AddressType;
  endpoints: EndpointJson[];
}

interface DraftChanges {
  readonly create: Draft[];
  readonly update: Draft[];
  readonly delete: EndpointSliceJson[];
}

function reconcileByAddressType(
  input: ReconcileInput,
  existing: readonly EndpointSliceJson[],
  addressType: AddressType,
  max: number,
): SliceChanges {
  const { service } = input;
  const changes: DraftChanges = { create: [], update: [], delete: [] };

  // Existing state: slices by port map; slices owned by another Service (same name, new UID) go.
  const existingByPortKey = new Map<string, EndpointSliceJson[]>();
  for (const slice of existing) {
    if (!ownedBy(slice, service)) {
      changes.delete.push(slice);
      continue;
    }
    const key = portMapKey(slice.ports ?? []);
    const list = existingByPortKey.get(key) ?? [];
    list.push(slice);
    existingByPortKey.set(key, list);
  }

  // Desired state: endpoints by port map.
  const desiredByPortKey = new Map<string, { ports: EndpointPortJson[]; endpoints: Map<string, EndpointJson> }>();
  for (const pod of input.pods) {
    if (!shouldPodBeInEndpoints(pod)) continue;
    const ports = endpointPorts(service, pod);
    const key = portMapKey(ports);
    let desired = desiredByPortKey.get(key);
    if (desired === undefined) {
      desired = { ports, endpoints: new Map() };
      desiredByPortKey.set(key, desired);
    }
    const node = pod.spec.nodeName ? input.getNode(pod.spec.nodeName) : undefined;
    // A pod on a missing node is skipped (and retried later), unless the user asked for not-ready addresses.
    if (node === undefined && service.spec.publishNotReadyAddresses !== true) continue;
    const endpoint = podToEndpoint(pod, node, service, addressType);
    if (endpoint.addresses.length > 0) desired.endpoints.set(endpointHash(endpoint), endpoint);
  }

  for (const [key, desired] of desiredByPortKey) {
    const byPort = reconcileByPortMapping(existingByPortKey.get(key) ?? [], desired.endpoints, desired.ports, addressType, max);
    changes.create.push(...byPort.create);
    changes.update.push(...byPort.update);
    changes.delete.push(...byPort.delete);
  }
  // Port sets no longer desired: their slices go.
  for (const [key, slices] of existingByPortKey) {
    if (!desiredByPortKey.has(key)) changes.delete.push(...slices);
  }

  // When no slice would exist, keep (or add) an empty placeholder.
  if (existing.length === changes.delete.length && changes.create.length < 1) {
    const only = changes.delete[0];
    if (changes.delete.length === 1 && only !== undefined && isPlaceholderFor(only, service, addressType)) {
      changes.delete.length = 0;
    } else {
      changes.create.push({ base: undefined, ports: [], addressType, endpoints: [] });
    }
  }

  return finalize(input, changes);
}

/** reconcileByPortMapping: keep desired endpoints in the slices that hold them, drop the rest, then
 *  place the remaining desired endpoints. `desired` is consumed. */
function reconcileByPortMapping(
  existing: readonly EndpointSliceJson[],
  desired: Map<string, EndpointJson>,
  ports: readonly EndpointPortJson[],
  addressType: AddressType,
  max: number,
): DraftChanges {
  const toUpdate: Draft[] = [];
  const unchanged: Draft[] = [];
  const toDelete: EndpointSliceJson[] = [];

  // 1. Remove endpoints no longer desired; update in place those that changed.
  for (const slice of existing) {
    const current = slice.endpoints ?? [];
    const kept: EndpointJson[] = [];
    let changed = false;
    for (const endpoint of current) {
      const hash = endpointHash(endpoint);
      const want = desired.get(hash);
      if (want === undefined) continue;
      kept.push(want);
      if (JSON.stringify(want) !== JSON.stringify(endpoint)) changed = true;
      desired.delete(hash);
    }
    if (changed || kept.length !== current.length) {
      if (kept.length === 0) toDelete.push(slice);
      else toUpdate.push({ base: slice, ports, addressType, endpoints: kept });
    } else {
      unchanged.push({ base: slice, ports, addressType, endpoints: [...current] });
    }
  }

  // 2. Fill the slices being updated, fullest first.
  if (desired.size > 0 && toUpdate.length > 0) {
    const byFullness = [...toUpdate].sort((a, b) => b.endpoints.length - a.endpoints.length);
    for (const draft of byFullness) fill(draft, desired, max);
  }

  // 3. Fit the rest into the one unchanged slice it fills best, or into new slices.
  const toCreate: Draft[] = [];
  while (desired.size > 0) {
    let draft: Draft | undefined;
    if (desired.size < max && unchanged.length > 0) {
      draft = sliceToFill(unchanged, desired.size, max);
      if (draft !== undefined) {
        unchanged.splice(unchanged.indexOf(draft), 1);
        toUpdate.push(draft);
      }
    }
    if (draft === undefined) {
      draft = { base: undefined, ports, addressType, endpoints: [] };
      toCreate.push(draft);
    }
    fill(draft, desired, max);
  }
  return { create: toCreate, update: toUpdate, delete: toDelete };
}

/** Moves desired endpoints into the draft until it is full (insertion order, where Go pops at random). */
function fill(draft: Draft, desired: Map<string, EndpointJson>, max: number): void {
  for (const [hash, endpoint] of desired) {
    if (draft.endpoints.length >= max) return;
    draft.endpoints.push(endpoint);
    desired.delete(hash);
  }
}

/** getSliceToFill: the slice that ends closest to full once `count` endpoints are added, if any fits. */
function sliceToFill(drafts: readonly Draft[], count: number, max: number): Draft | undefined {
  let closestDiff = max;
  let closest: Draft | undefined;
  for (const draft of drafts) {
    const diff = max - (count + draft.endpoints.length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = draft;
      if (diff === 0) return closest;
    }
  }
  return closest;
}

/** finalize: turn creates into updates of slices about to be deleted (same address type, owned), then
 *  materialize the drafts as objects. */
function finalize(input: ReconcileInput, changes: DraftChanges): SliceChanges {
  const { service } = input;
  const toDelete = [...changes.delete];
  const toCreate = [...changes.create];
  const recycled: { draft: Draft; base: EndpointSliceJson }[] = [];
  for (let i = 0; i < toDelete.length && toCreate.length > 0; ) {
    const victim = toDelete[i];
    const draft = toCreate[toCreate.length - 1];
    if (victim !== undefined && draft !== undefined && victim.addressType === draft.addressType && ownedBy(victim, service)) {
      toCreate.pop();
      toDelete.splice(i, 1);
      recycled.push({ draft, base: victim });
    } else {
      i++;
    }
  }
  return {
    create: toCreate.map((draft) => materialize(input, draft, undefined)),
    update: [
      ...changes.update.map((draft) => materialize(input, draft, draft.base)),
      ...recycled.map(({ draft, base }) => materialize(input, draft, base)),
    ],
    delete: toDelete,
  };
}

function materialize(input: ReconcileInput, draft: Draft, base: EndpointSliceJson | undefined): EndpointSliceJson {
  const { service } = input;
  const annotations: Record<string, string> = { ...(base?.metadata.annotations ?? {}) };
  if (input.triggerTime !== undefined) annotations[AnnotationTriggerTime] = input.triggerTime;
  else delete annotations[AnnotationTriggerTime];
  const hasAnnotations = Object.keys(annotations).length > 0;
  const ownerReferences = [
    { apiVersion: 'v1', kind: 'Service', name: service.metadata.name, uid: service.metadata.uid, controller: true, blockOwnerDeletion: true },
  ];
  const metadata = base === undefined
    ? {
        name: '',
        generateName: `${service.metadata.name}-`,
        namespace: service.metadata.namespace ?? '',
        uid: '',
        resourceVersion: '',
        generation: 1,
        creationTimestamp: '',
        labels: sliceLabels(service),
        ...(hasAnnotations ? { annotations } : {}),
        ownerReferences,
      }
    : (() => {
        const { annotations: _old, ...rest } = base.metadata;
        return {
          ...rest,
          generation: (base.metadata.generation ?? 1) + 1,
          labels: sliceLabels(service),
          ...(hasAnnotations ? { annotations } : {}),
          ownerReferences,
        };
      })();
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata,
    addressType: draft.addressType,
    // The API server stores empty lists as nil and serves them as null.
    endpoints: draft.endpoints.length > 0 ? draft.endpoints : null,
    ports: draft.ports.length > 0 ? draft.ports : null,
  };
}

/** setEndpointSliceLabels: the Service's labels (reserved keys excepted), the headless marker, and the
 *  two reserved labels. */
function sliceLabels(service: ServiceJson): StringMap {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(service.metadata.labels ?? {})) {
    if (key === LabelServiceName || key === LabelManagedBy || key === LabelHeadless) continue;
    labels[key] = value;
  }
  const ip = service.spec.clusterIP;
  if (ip === undefined || ip === '' || ip === 'None') labels[LabelHeadless] = '';
  labels[LabelServiceName] = service.metadata.name;
  labels[LabelManagedBy] = ControllerEndpointSlice;
  return labels;
}

/** The placeholder compare: same namespace and labels, no endpoints, no ports, same address type. */
function isPlaceholderFor(slice: EndpointSliceJson, service: ServiceJson, addressType: AddressType): boolean {
  if (slice.addressType !== addressType) return false;
  if ((slice.endpoints?.length ?? 0) > 0 || (slice.ports?.length ?? 0) > 0) return false;
  if (slice.metadata.namespace !== service.metadata.namespace) return false;
  const want = sliceLabels(service);
  const have = slice.metadata.labels ?? {};
  const keys = new Set([...Object.keys(want), ...Object.keys(have)]);
  for (const key of keys) if (want[key] !== have[key]) return false;
  return ownedBy(slice, service);
}

function ownedBy(slice: EndpointSliceJson, service: ServiceJson): boolean {
  return (slice.metadata.ownerReferences ?? []).some(
    (o) => o.uid === service.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1',
  );
}

/** NewPortMapKey: the same set of ports in any order gives the same key. */
function portMapKey(ports: readonly EndpointPortJson[]): string {
  return ports
    .map((p) => `${p.name ?? ''}/${p.protocol ?? ''}/${p.port ?? ''}/${p.appProtocol ?? ''}`)
    .sort()
    .join(',');
}

function endpointAddresses(pod: PodJson, addressType: AddressType): string[] {
  const ips = pod.status.podIPs?.map((p) => p.ip) ?? (pod.status.podIP ? [pod.status.podIP] : []);
  const addresses: string[] = [];
  for (const ip of ips) {
    const v6 = ip.includes(':');
    if ((v6 && addressType === 'IPv6') || (!v6 && addressType === 'IPv4')) addresses.push(ip);
  }
  return addresses;
}

/** ShouldSetHostname: the pod names a hostname and its subdomain is this Service, in its namespace. */
function shouldSetHostname(pod: PodJson, service: ServiceJson): boolean {
  return (
    pod.spec.hostname !== undefined &&
    pod.spec.hostname !== '' &&
    pod.spec.subdomain === service.metadata.name &&
    pod.metadata.namespace === service.metadata.namespace
  );
}
