/**
 * EndpointSlice records with packed endpoints: what ingest keeps of a slice.
 *
 * A slice lists 1 to 1,000 endpoints (15 on average on a large cluster); an endpoint object of
 * eight fields cost about 90 bytes on its own, its addresses array 56 and its targetRef 56 more.
 * Here a slice keeps, per endpoint, four references in one flat array (`Stride`):
 * - its address: the string itself when the endpoint has exactly one (nearly always), else the
 *   frozen array as sent (none, or several);
 * - its targetRef: for a Pod in the slice's own namespace (nearly always) the Pod's name, with
 *   its uid in the next cell, kind and namespace implied; else the frozen ref object, or null
 *   (and null in the next cell);
 * - one frozen object for the rest (conditions, hostname, nodeName, zone, hints), interned:
 *   endpoints on one node in one state share it.
 * `endpoints` builds the `SliceEndpoint` objects, their one-address arrays and implied refs on
 * each read; readers use them and let them go (the merge keeps the same packed form, see
 * model/endpoints.ts), and nothing retains them. The indexes and `slicePodStrings` read the
 * cells directly.
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

/** Cells per endpoint: address(es), Pod name or ref, Pod uid, rest. */
const Stride = 4;

export class PackedSlice implements EndpointSliceRecord {
  readonly kind = 'EndpointSlice' as const;
  readonly meta: ObjectMeta;
  readonly serviceName: string | null;
  readonly managedBy: string | null;
  readonly addressType: string;
  readonly ports: readonly SlicePort[];
  /** Per endpoint (`Stride` cells): address or addresses, Pod name or ref or null, Pod uid or null, rest. Frozen. */
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

  /**
   * Built on each read, frozen. An address array of several (or no) addresses and a ref not
   * implied are the record's own frozen values; a one-address array and an implied Pod ref are
   * new on each read.
   */
  get endpoints(): readonly SliceEndpoint[] {
    const c = this.cells;
    const namespace = this.meta.namespace;
    const out: SliceEndpoint[] = new Array(c.length / Stride);
    for (let i = 0, j = 0; i < c.length; i += Stride, j++) {
      const rest = c[i + 3] as EndpointRest;
      out[j] = Object.freeze({
        addresses: addressesOf(c[i]),
        conditions: rest.conditions,
        hostname: rest.hostname,
        nodeName: rest.nodeName,
        zone: rest.zone,
        hintsForZones: rest.hintsForZones,
        hintsForNodes: rest.hintsForNodes,
        targetRef: targetRefOf(c[i + 1], c[i + 2], namespace),
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

/**
 * Appends one endpoint to the cells of a `PackedSlice` being built for `namespace`. `addresses`:
 * the one address, or the frozen array of none or several.
 */
export function packEndpoint(cells: unknown[], namespace: string, addresses: string | readonly string[], targetRef: ObjectRef | null, rest: EndpointRest): void {
  if (targetRef !== null && targetRef.kind === 'Pod' && targetRef.namespace === namespace) cells.push(addresses, targetRef.name, targetRef.uid, internedRest(rest));
  else cells.push(addresses, targetRef === null ? null : Object.freeze(targetRef), null, internedRest(rest));
}

/** An address cell as the endpoint's `addresses`: a frozen one-element array around a lone address. */
export function addressesOf(cell: unknown): readonly string[] {
  return typeof cell === 'string' ? Object.freeze([cell]) : (cell as readonly string[]);
}

/**
 * A targetRef from its packed form: `name` a string is a Pod in `namespace` with `uid`, built
 * here (frozen); else `name` is the ref itself, or null.
 */
export function targetRefOf(name: unknown, uid: unknown, namespace: string): ObjectRef | null {
  return typeof name === 'string' ? Object.freeze({ kind: 'Pod', namespace, name, uid: uid as string }) : (name as ObjectRef | null);
}

/** Every address of every endpoint, each once. */
export function sliceAddresses(s: EndpointSliceRecord): string[] {
  if (s instanceof PackedSlice) {
    const c = s.cells;
    const out: string[] = [];
    for (let i = 0; i < c.length; i += Stride) {
      const a = c[i];
      if (typeof a === 'string') out.push(a);
      else for (const x of a as readonly string[]) out.push(x);
    }
    return unique(out);
  }
  return unique(s.endpoints.flatMap((e) => e.addresses));
}

/** Every endpoint's nodeName, each once. */
export function sliceNodeNames(s: EndpointSliceRecord): string[] {
  if (s instanceof PackedSlice) {
    const c = s.cells;
    const out: string[] = [];
    for (let i = 3; i < c.length; i += Stride) {
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
      const ref = c[i] as string | ObjectRef | null;
      if (typeof ref === 'string') out.push(ref);
      else if (ref?.kind === 'Pod') out.push(ref.name);
    }
    return unique(out);
  }
  return unique(s.endpoints.flatMap((e) => (e.targetRef?.kind === 'Pod' ? [e.targetRef.name] : [])));
}

/**
 * The name, uid and address strings of the first endpoint whose targetRef is the Pod
 * `namespace/name` with `uid`, for the Pod record to share (ClusterCache.ingestOf); null when none.
 * `podIPs` is the endpoint's own: its one address, or its array.
 */
export function slicePodStrings(s: EndpointSliceRecord, namespace: string, name: string, uid: string): PodStrings | null {
  if (s instanceof PackedSlice) {
    const c = s.cells;
    const implied = s.meta.namespace === namespace;
    for (let i = 1; i < c.length; i += Stride) {
      const ref = c[i] as string | ObjectRef | null;
      if (typeof ref === 'string') {
        if (implied && ref === name && c[i + 1] === uid) return { meta: { name: ref, uid: c[i + 1] as string }, podIPs: c[i - 1] as string | readonly string[] };
      } else if (ref !== null && ref.name === name && ref.uid === uid && ref.kind === 'Pod' && ref.namespace === namespace) {
        return { meta: ref, podIPs: c[i - 1] as string | readonly string[] };
      }
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
  let list = Rests.get(node);
  if (list !== undefined) {
    for (const x of list) if (sameRest(x, r)) return x;
    if (list.length >= MaxPerNode) return Object.freeze({ ...r });
  }
  if (restCount >= MaxRests) {
    Rests = new Map();
    restCount = 0;
    list = undefined;
  }
  const made = Object.freeze({ ...r });
  // A new array of exactly the size needed (`concat`), as the store's index arrays.
  Rests.set(node, list === undefined ? [made] : list.concat(made));
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
