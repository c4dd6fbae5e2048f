/**
 * EndpointSlice records with packed endpoints: what ingest keeps of a slice.
 *
 * A slice lists 1 to 1,000 endpoints (15 on average on a large cluster); an endpoint object of
 * eight fields cost about 90 bytes on its own. Here a slice keeps, per endpoint, three
 * references in one flat array: its addresses (the array as sent, shared with the merged view),
 * its targetRef (shared likewise), and one frozen object for the rest (conditions, hostname,
 * nodeName, zone, hints), interned: endpoints on one node in one state share it. `endpoints`
 * builds the `SliceEndpoint` objects on each read; readers use them and let them go (the merge,
 * the resolvers), and nothing retains them. The indexes read the packed columns directly
 * (`sliceAddresses`, `sliceNodeNames`, `slicePodNames`).
 *
 * Records built by hand (plain objects with an `endpoints` array) are read the same way.
 */
import { servedMeta, type EndpointConditions, type EndpointSliceRecord, type ObjectMeta, type ObjectRef, type ServedMeta, type SliceEndpoint, type SlicePort } from './records.ts';
import type { PodStrings } from './ingest.ts';

/** The fields of an endpoint other than addresses and targetRef, shared between endpoints. */
interface EndpointRest {
  readonly conditions: EndpointConditions;
  readonly hostname: string | null;
  readonly nodeName: string | null;
  readonly zone: string | null;
  readonly hintsForZones: readonly string[];
  readonly hintsForNodes: readonly string[];
}

const Stride = 3;

export class PackedSlice implements EndpointSliceRecord {
  readonly kind = 'EndpointSlice' as const;
  readonly meta: ObjectMeta;
  readonly serviceName: string | null;
  readonly managedBy: string | null;
  readonly addressType: string;
  readonly ports: readonly SlicePort[];
  /** Per endpoint: addresses, targetRef, rest (`Stride` cells). Frozen. */
  readonly cells: readonly unknown[];

  constructor(meta: ObjectMeta, serviceName: string | null, managedBy: string | null, addressType: string, ports: readonly SlicePort[], cells: unknown[]) {
    this.meta = meta;
    this.serviceName = serviceName;
    this.managedBy = managedBy;
    this.addressType = addressType;
    this.ports = ports;
    this.cells = Object.freeze(cells);
    Object.freeze(this);
  }

  /** Built on each read, frozen; the addresses and targetRef are the record's own (frozen) values. */
  get endpoints(): readonly SliceEndpoint[] {
    const c = this.cells;
    const out: SliceEndpoint[] = new Array(c.length / Stride);
    for (let i = 0, j = 0; i < c.length; i += Stride, j++) {
      const rest = c[i + 2] as EndpointRest;
      out[j] = Object.freeze({
        addresses: c[i] as readonly string[],
        conditions: rest.conditions,
        hostname: rest.hostname,
        nodeName: rest.nodeName,
        zone: rest.zone,
        hintsForZones: rest.hintsForZones,
        hintsForNodes: rest.hintsForNodes,
        targetRef: c[i + 1] as ObjectRef | null,
      });
    }
    return Object.freeze(out);
  }

  /** `meta` as the API serves it (records.ts Metadata). */
  get metadata(): ServedMeta {
    return servedMeta(this.meta);
  }

  /** Number of endpoints, without building them. */
  get endpointCount(): number {
    return this.cells.length / Stride;
  }
}

/** Appends one endpoint to the cells of a `PackedSlice` being built. */
export function packEndpoint(cells: unknown[], addresses: readonly string[], targetRef: ObjectRef | null, rest: EndpointRest): void {
  cells.push(addresses, targetRef, internedRest(rest));
}

/** Every address of every endpoint, each once. */
export function sliceAddresses(s: EndpointSliceRecord): string[] {
  if (s instanceof PackedSlice) {
    const c = s.cells;
    const out: string[] = [];
    for (let i = 0; i < c.length; i += Stride) for (const a of c[i] as readonly string[]) out.push(a);
    return unique(out);
  }
  return unique(s.endpoints.flatMap((e) => e.addresses));
}

/** Every endpoint's nodeName, each once. */
export function sliceNodeNames(s: EndpointSliceRecord): string[] {
  if (s instanceof PackedSlice) {
    const c = s.cells;
    const out: string[] = [];
    for (let i = 2; i < c.length; i += Stride) {
      const n = (c[i] as EndpointRest).nodeName;
      if (n) out.push(n);
    }
    return unique(out);
  }
  return unique(s.endpoints.flatMap((e) => (e.nodeName ? [e.nodeName] : [])));
}

/** The name of every endpoint's Pod targetRef (the record's own string), each once. */
export function slicePodNames(s: EndpointSliceRecord): string[] {
  if (s instanceof PackedSlice) {
    const c = s.cells;
    const out: string[] = [];
    for (let i = 1; i < c.length; i += Stride) {
      const ref = c[i] as ObjectRef | null;
      if (ref?.kind === 'Pod') out.push(ref.name);
    }
    return unique(out);
  }
  return unique(s.endpoints.flatMap((e) => (e.targetRef?.kind === 'Pod' ? [e.targetRef.name] : [])));
}

/**
 * The name, uid and addresses strings of the first endpoint whose targetRef is the Pod
 * `namespace/name` with `uid`, for the Pod record to share (ClusterCache.ingestOf); null when none.
 */
export function slicePodStrings(s: EndpointSliceRecord, namespace: string, name: string, uid: string): PodStrings | null {
  if (s instanceof PackedSlice) {
    const c = s.cells;
    for (let i = 1; i < c.length; i += Stride) {
      const ref = c[i] as ObjectRef | null;
      if (ref !== null && ref.name === name && ref.uid === uid && ref.kind === 'Pod' && ref.namespace === namespace) return { meta: ref, podIPs: c[i - 1] as readonly string[] };
    }
    return null;
  }
  for (const e of s.endpoints) {
    const ref = e.targetRef;
    if (ref !== null && ref.name === name && ref.uid === uid && ref.kind === 'Pod' && ref.namespace === namespace) return { meta: ref, podIPs: e.addresses };
  }
  return null;
}

// Private:

/**
 * The shared rests, by node name ('' for none): endpoints on one node repeat a few states, so a
 * node's list is short and compared field by field, with no key string per value. Values stay
 * until the pool fills (`MaxRests`) and starts again; records keep what they were given.
 * Endpoints without a node beyond `MaxPerNode` variants (hostnames of a large StatefulSet) keep
 * their own.
 */
let Rests = new Map<string, EndpointRest[]>();
let restCount = 0;
const MaxRests = 100_000;
const MaxPerNode = 16;

function internedRest(r: EndpointRest): EndpointRest {
  const node = r.nodeName ?? '';
  const list = Rests.get(node);
  if (list !== undefined) {
    for (const x of list) if (sameRest(x, r)) return x;
    if (list.length >= MaxPerNode) return Object.freeze({ ...r });
  }
  if (restCount >= MaxRests) {
    Rests = new Map();
    restCount = 0;
  }
  const made = Object.freeze({ ...r });
  // A new array of exactly the size needed, as the store's index arrays.
  const grown = Rests.get(node);
  Rests.set(node, grown === undefined ? [made] : [...grown, made]);
  restCount++;
  return made;
}

function sameRest(a: EndpointRest, b: EndpointRest): boolean {
  return (
    a.conditions === b.conditions &&
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    a.hostname === b.hostname &&
    sameList(a.hintsForZones, b.hintsForZones) &&
    sameList(a.hintsForNodes, b.hintsForNodes)
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function unique(xs: string[]): string[] {
  return xs.length < 2 ? xs : [...new Set(xs)];
}
