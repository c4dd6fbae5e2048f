/**
 * A Service's endpoints: the union of its EndpointSlices, merged as kube-proxy's
 * EndpointSliceCache merges them (pkg/proxy/endpointslicecache.go), then grouped by address.
 *
 * Pure and synchronous. Inputs are shared cache records and are never mutated; every value
 * returned is frozen. A merged endpoint is packed as a slice's endpoint is (kube/slice-pack.ts):
 * it keeps its address, the slice's array only when there are several, and for a Pod
 * targetRef in the Service's namespace just the Pod's name and uid; `addresses` and
 * `targetRef` are built on read by getters of its class, and its three conditions are one
 * small integer read through getters too. The lists every endpoint of one slice has alike (its
 * ports, its slice name, hints of one or no entry) are shared between endpoints rather than
 * made per endpoint.
 */

import type { EndpointSliceRecord, ObjectRef, SliceEndpoint, SlicePort } from '../kube/records.ts';
import { addressesOf, targetRefOf } from '../kube/slice-pack.ts';
import { compareStrings, sameStrings } from './text.ts';
import { sortByAddress } from './address.ts';

/** One port an endpoint serves, as its slice lists it. */
export interface EndpointPort {
  /** Empty string when unnamed. */
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  readonly appProtocol: string | null;
}

/**
 * One address of a Service, with everything its slices say about it. `addresses`, `targetRef`,
 * `ready`, `serving` and `terminating` are getters (see the module comment): read them as
 * properties; a spread or `Object.keys` of a merged endpoint does not list them.
 */
export interface MergedEndpoint {
  /** `addresses[0]` of the endpoint: the only address that carries meaning. */
  readonly address: string;
  /** All addresses, as sent; only the first carries meaning (docs/kubernetes.md, "EndpointSlices"). */
  readonly addresses: readonly string[];
  /** IPv4, IPv6 or FQDN: the `addressType` of the slice the endpoint's fields come from. */
  readonly addressType: string;
  /** Defaults applied: a missing `ready` is true. */
  readonly ready: boolean;
  /** Defaults applied: a missing `serving` is true. */
  readonly serving: boolean;
  /** Defaults applied: a missing `terminating` is false. */
  readonly terminating: boolean;
  readonly hostname: string | null;
  readonly nodeName: string | null;
  readonly zone: string | null;
  /** Sorted. */
  readonly hintsForZones: readonly string[];
  /** Sorted. */
  readonly hintsForNodes: readonly string[];
  readonly targetRef: ObjectRef | null;
  /**
   * Sorted by (name, protocol, port). Deduplicated by (name, protocol, port), so one name can
   * appear with two numbers when two slices resolve a named targetPort differently. Empty when
   * no slice the endpoint appears in lists a usable port (a headless Service without ports).
   */
  readonly ports: readonly EndpointPort[];
  /** Names of the slices the address appears in, sorted. Provenance only: not a served field. */
  readonly slices: readonly string[];
}

export interface EndpointCounts {
  readonly total: number;
  readonly ready: number;
  readonly serving: number;
  readonly terminating: number;
}

/** The merged view of one Service's slices. */
export interface ServiceEndpoints {
  /** One per address, sorted by address in numeric order (address.ts: IPv4, then IPv6, then FQDNs) to simplify diffing. */
  readonly endpoints: readonly MergedEndpoint[];
  /**
   * Names of every slice merged, sorted, placeholders included: a Service whose controller
   * wrote an empty placeholder slice has slices but zero endpoints.
   */
  readonly slices: readonly string[];
  readonly counts: EndpointCounts;
}

/** A Service's port, by the (name, protocol) pair kube-proxy keys its endpoint maps on. */
export interface ServicePortName {
  readonly name: string;
  readonly protocol: string;
}

/**
 * Whether `slice` is one of the Service `namespace/name`'s slices: same namespace and label
 * `kubernetes.io/service-name=<name>` (the record's `serviceName`). A slice without that label
 * is attached to no Service.
 */
export function belongsToService(slice: EndpointSliceRecord, namespace: string, name: string): boolean {
  return slice.serviceName !== null && slice.serviceName === name && slice.meta.namespace === namespace;
}

/** A predicate for `Array.prototype.filter`: the slices of the Service `namespace/name`. */
export function slicesOwnedBy(namespace: string, name: string): (slice: EndpointSliceRecord) => boolean {
  return (slice) => belongsToService(slice, namespace, name);
}

/** The key (`namespace/name`) of the Service a slice belongs to, or null for a slice without the label. */
export function sliceServiceKey(slice: EndpointSliceRecord): string | null {
  return slice.serviceName === null ? null : `${slice.meta.namespace}/${slice.serviceName}`;
}

/**
 * Merges the slices of one Service. The caller passes only that Service's slices (see
 * `belongsToService`); this function does not check ownership.
 *
 * kube-proxy's rules, then grouped by address:
 * - the union of all slices per (port name, protocol); slice ports with a null port ("all
 *   ports") or port 0 are skipped, as kube-proxy does;
 * - an endpoint without addresses is skipped; only `addresses[0]` is used;
 * - endpoints are deduplicated by address and port; when the same one appears in two slices
 *   (while it moves between them) the copy that is not terminating wins, and among equals the
 *   copy from the slice whose name sorts first (docs/kubernetes.md, "EndpointSlices"; kube-proxy itself walks slices
 *   in map order and keeps the first copy, or the node-local one, so its choice is not stable);
 * - missing conditions default: ready true, serving true, terminating false.
 *
 * Grouping by address: an address's fields (conditions, node, zone, hints, hostname,
 * targetRef, addressType) come from its preferred copy across all its slices, by the same rule
 * (not terminating first, then slice name order). When slices disagree, this can differ from
 * kube-proxy's per-port view, which could keep a terminating copy for a port only that slice
 * lists; the port still appears in `ports`.
 *
 * Unlike one kube-proxy instance, which keeps only its own IP family, both families of a
 * dual-stack Service contribute (one entry per address). FQDN slices contribute their address
 * strings as sent, not normalized. An endpoint listed only under unusable ports still appears,
 * with empty `ports`, so a headless Service without ports still shows its endpoints.
 */
export function mergeServiceEndpoints(slices: readonly EndpointSliceRecord[]): ServiceEndpoints {
  const ordered = [...slices].sort(bySliceName);
  const copies = copiesByAddress(ordered);
  const endpoints: MergedEndpoint[] = [];
  for (const [address, list] of copies) endpoints.push(mergeCopies(address, list));
  sortByAddress(endpoints, (e) => e.address);
  return Object.freeze({
    endpoints: Object.freeze(endpoints),
    slices: Object.freeze(uniqueSorted(ordered.map((s) => s.meta.name))),
    counts: countEndpoints(endpoints),
  });
}

/** Counts over one list of merged endpoints; `total` is its length. */
export function countEndpoints(endpoints: readonly MergedEndpoint[]): EndpointCounts {
  let ready = 0;
  let serving = 0;
  let terminating = 0;
  for (const e of endpoints) {
    if (e.ready) ready++;
    if (e.serving) serving++;
    if (e.terminating) terminating++;
  }
  return Object.freeze({ total: endpoints.length, ready, serving, terminating });
}

/**
 * The endpoints kube-proxy would route to (pkg/proxy/topology.go, CategorizeEndpoints,
 * without topology): the ready ones, or when none is ready, the ones both serving and
 * terminating. With `port`, only endpoints serving that (name, protocol) are considered.
 * Sorted by address; frozen.
 */
export function readyForRouting(endpoints: ServiceEndpoints, port?: ServicePortName): readonly MergedEndpoint[] {
  const candidates = port === undefined ? endpoints.endpoints : endpoints.endpoints.filter((e) => servesPort(e, port));
  const ready = candidates.filter((e) => e.ready);
  return Object.freeze(ready.length > 0 ? ready : candidates.filter((e) => e.serving && e.terminating));
}

/**
 * Whether two merged views serve the same endpoints: same addresses with equal served fields
 * (see `sameEndpoint`). Slice names, placeholders and `addresses[1:]` are ignored, so an
 * endpoint moving between slices is no change. `null` (no Service) equals a view with no
 * endpoints. Equivalent to `isEmptyDiff(diffEndpoints(a, b))`.
 */
export function endpointsEqual(a: ServiceEndpoints | null, b: ServiceEndpoints | null): boolean {
  const left = a?.endpoints ?? [];
  const right = b?.endpoints ?? [];
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) {
    if (!sameEndpoint(left[i]!, right[i]!)) return false;
  }
  return true;
}

/**
 * Whether two merged endpoints have equal served fields: address, addressType, conditions,
 * ports, hostname, nodeName, zone, hints and targetRef. Ignores `slices` and `addresses[1:]`.
 */
export function sameEndpoint(a: MergedEndpoint, b: MergedEndpoint): boolean {
  return (
    a.address === b.address &&
    a.addressType === b.addressType &&
    a.ready === b.ready &&
    a.serving === b.serving &&
    a.terminating === b.terminating &&
    a.hostname === b.hostname &&
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    sameStrings(a.hintsForZones, b.hintsForZones) &&
    sameStrings(a.hintsForNodes, b.hintsForNodes) &&
    sameTargetRef(a, b) &&
    samePorts(a.ports, b.ports)
  );
}

// Private:

/** One appearance of an address in one slice, conditions defaulted. */
interface Copy {
  readonly slice: EndpointSliceRecord;
  readonly endpoint: SliceEndpoint;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** Slice name order decides ties; uid breaks the (impossible in one namespace) tie of equal names. */
function bySliceName(a: EndpointSliceRecord, b: EndpointSliceRecord): number {
  return compareStrings(a.meta.name, b.meta.name) || compareStrings(a.meta.uid, b.meta.uid);
}

/** Every copy of every address, grouped by address, each group in slice order. */
function copiesByAddress(slices: readonly EndpointSliceRecord[]): Map<string, Copy[]> {
  const byAddress = new Map<string, Copy[]>();
  for (const slice of slices) {
    for (const endpoint of slice.endpoints) {
      // kube-proxy: "Ignoring invalid endpoint port with empty address".
      const address = endpoint.addresses[0];
      if (address === undefined) continue;
      const copy: Copy = {
        slice,
        endpoint,
        ready: endpoint.conditions.ready ?? true,
        serving: endpoint.conditions.serving ?? true,
        terminating: endpoint.conditions.terminating ?? false,
      };
      const list = byAddress.get(address);
      if (list === undefined) byAddress.set(address, [copy]);
      else list.push(copy);
    }
  }
  return byAddress;
}

/** One address from its copies: fields from the preferred copy, ports deduplicated across all. */
function mergeCopies(address: string, copies: readonly Copy[]): MergedEndpoint {
  // Stable sort: not terminating first, slice name order kept among equals.
  const preferred = copies.length === 1 ? copies : [...copies].sort((a, b) => Number(a.terminating) - Number(b.terminating));
  const chosen = preferred[0]!;
  const e = chosen.endpoint;
  const namespace = chosen.slice.meta.namespace;
  const ref = e.targetRef;
  const implied = ref !== null && ref.kind === 'Pod' && ref.namespace === namespace;
  return new PackedEndpoint(
    address,
    e.addresses.length > 1 ? e.addresses : null,
    chosen.slice.addressType,
    (chosen.ready ? Ready : 0) | (chosen.serving ? Serving : 0) | (chosen.terminating ? Terminating : 0),
    e.hostname,
    e.nodeName,
    e.zone,
    sortedStrings(e.hintsForZones),
    sortedStrings(e.hintsForNodes),
    implied ? ref.name : ref,
    implied ? ref.uid : null,
    namespace,
    copies.length === 1 ? portsOfSlice(chosen.slice.ports) : mergedPorts(preferred),
    copies.length === 1 ? sliceNames(chosen.slice) : Object.freeze(uniqueSorted(copies.map((c) => c.slice.meta.name))),
  );
}

/** Bits of `PackedEndpoint.conditionBits`. */
const Ready = 1;
const Serving = 2;
const Terminating = 4;

/**
 * A merged endpoint as the merge keeps it. Per address of a Service this costs 14 fields and
 * nothing else of its own: no addresses array when there is one address, no targetRef object for
 * a Pod in the Service's namespace (the slices' own form, slice-pack.ts), one integer for the
 * three conditions.
 */
class PackedEndpoint implements MergedEndpoint {
  readonly address: string;
  /** Every address when there are several: the slice's own (frozen) array; null when `address` is the only one. */
  readonly several: readonly string[] | null;
  readonly addressType: string;
  /** `Ready | Serving | Terminating`, defaults applied. */
  readonly conditionBits: number;
  readonly hostname: string | null;
  readonly nodeName: string | null;
  readonly zone: string | null;
  readonly hintsForZones: readonly string[];
  readonly hintsForNodes: readonly string[];
  /** A Pod targetRef in `namespace`: the Pod's name (its uid in `refUid`); else the ref itself, or null. */
  readonly ref: string | ObjectRef | null;
  readonly refUid: string | null;
  /** The Service's (and its slices'). */
  readonly namespace: string;
  readonly ports: readonly EndpointPort[];
  readonly slices: readonly string[];

  constructor(
    address: string,
    several: readonly string[] | null,
    addressType: string,
    conditionBits: number,
    hostname: string | null,
    nodeName: string | null,
    zone: string | null,
    hintsForZones: readonly string[],
    hintsForNodes: readonly string[],
    ref: string | ObjectRef | null,
    refUid: string | null,
    namespace: string,
    ports: readonly EndpointPort[],
    slices: readonly string[],
  ) {
    this.address = address;
    this.several = several;
    this.addressType = addressType;
    this.conditionBits = conditionBits;
    this.hostname = hostname;
    this.nodeName = nodeName;
    this.zone = zone;
    this.hintsForZones = hintsForZones;
    this.hintsForNodes = hintsForNodes;
    this.ref = ref;
    this.refUid = refUid;
    this.namespace = namespace;
    this.ports = ports;
    this.slices = slices;
    Object.freeze(this);
  }

  /** Frozen; `several` itself, or a new one-element array on each read. */
  get addresses(): readonly string[] {
    return addressesOf(this.several ?? this.address);
  }
  get ready(): boolean {
    return (this.conditionBits & Ready) !== 0;
  }
  get serving(): boolean {
    return (this.conditionBits & Serving) !== 0;
  }
  get terminating(): boolean {
    return (this.conditionBits & Terminating) !== 0;
  }
  /** Frozen; the slice's own ref, or for a Pod in the namespace a new one on each read. */
  get targetRef(): ObjectRef | null {
    return targetRefOf(this.ref, this.refUid, this.namespace);
  }
}

/** Whether two merged endpoints name the same targetRef, without building it when both are packed. */
function sameTargetRef(a: MergedEndpoint, b: MergedEndpoint): boolean {
  if (a instanceof PackedEndpoint && b instanceof PackedEndpoint) {
    const implied = typeof a.ref === 'string';
    if (implied && typeof b.ref === 'string') return a.ref === b.ref && a.refUid === b.refUid && a.namespace === b.namespace;
    if (!implied && typeof b.ref !== 'string') return sameRef(a.ref as ObjectRef | null, b.ref);
  }
  return sameRef(a.targetRef, b.targetRef);
}

/**
 * An endpoint in one slice (the usual case) serves that slice's ports, and is listed in that
 * slice: both lists are shared by every such endpoint instead of being made per endpoint (a
 * merged view holds one per address; keyed weakly, so they go with the last slice using them).
 */
const PortsOfSlicePorts = new WeakMap<readonly SlicePort[], readonly EndpointPort[]>();
const NamesOfSlice = new WeakMap<EndpointSliceRecord, readonly string[]>();

function portsOfSlice(ports: readonly SlicePort[]): readonly EndpointPort[] {
  let out = PortsOfSlicePorts.get(ports);
  if (out === undefined) PortsOfSlicePorts.set(ports, (out = mergedPorts([{ slice: { ports } }])));
  return out;
}

function sliceNames(slice: EndpointSliceRecord): readonly string[] {
  let out = NamesOfSlice.get(slice);
  if (out === undefined) NamesOfSlice.set(slice, (out = Object.freeze([slice.meta.name])));
  return out;
}

/** Ports deduplicated by (name, protocol, port), the first copy winning, sorted. */
function mergedPorts(preferred: readonly { readonly slice: { readonly ports: readonly SlicePort[] } }[]): readonly EndpointPort[] {
  const ports = new Map<string, EndpointPort>();
  for (const copy of preferred) {
    for (const port of copy.slice.ports) {
      if (!usablePort(port)) continue;
      const key = `${port.name}\0${port.protocol}\0${port.port}`;
      // First copy wins: the preferred one for this IP:port.
      if (!ports.has(key)) {
        const { name, protocol, appProtocol } = port;
        ports.set(key, Object.freeze({ name, port: port.port, protocol, appProtocol }));
      }
    }
  }
  return Object.freeze([...ports.values()].sort(byPort));
}

/** Sorted and frozen; an array of fewer than two (frozen) strings is its own sorted copy. */
function sortedStrings(xs: readonly string[]): readonly string[] {
  return xs.length < 2 && Object.isFrozen(xs) ? xs : Object.freeze([...xs].sort(compareStrings));
}

/** kube-proxy: "Ignoring invalid endpoint port" when port is nil ("all ports", not handled) or 0. */
function usablePort(port: SlicePort): port is SlicePort & { readonly port: number } {
  return port.port !== null && port.port !== 0;
}

function byPort(a: EndpointPort, b: EndpointPort): number {
  return compareStrings(a.name, b.name) || compareStrings(a.protocol, b.protocol) || a.port - b.port;
}

function servesPort(e: MergedEndpoint, port: ServicePortName): boolean {
  return e.ports.some((p) => p.name === port.name && p.protocol === port.protocol);
}

function uniqueSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort(compareStrings);
}


function sameRef(a: ObjectRef | null, b: ObjectRef | null): boolean {
  if (a === null || b === null) return a === b;
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name && a.uid === b.uid;
}

function samePorts(a: readonly EndpointPort[], b: readonly EndpointPort[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => {
      const q = b[i]!;
      return p.name === q.name && p.port === q.port && p.protocol === q.protocol && p.appProtocol === q.appProtocol;
    })
  );
}
