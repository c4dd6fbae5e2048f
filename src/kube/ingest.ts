/**
 * Ingest: API objects (as JSON from a list or a watch) into slim, frozen records.
 *
 * Lists and watches are decoded from JSON by the reflector, so timestamps are RFC 3339
 * strings here (client-node's typed list calls would give Date objects; we never use them).
 * A transform never throws on a field of an unexpected shape: it keeps what it can read.
 * It throws only when the object has no name, which the reflector logs and skips.
 */
import type {
  ContainerRecord,
  EndpointConditions,
  EndpointSliceRecord,
  Kind,
  NodeRecord,
  ObjectMeta,
  ObjectRef,
  PodRecord,
  RecordOf,
  ServiceRecord,
} from './records.ts';
import { PackedSlice, packEndpoint } from './slice-pack.ts';
import { LabelManagedBy, LabelRegion, LabelServiceName, LabelZone, withMetadata, withReady } from './records.ts';
import { ObjectInterner, StringPool } from './intern.ts';
import { ingestGateway, ingestGatewayClass, ingestGRPCRoute, ingestHTTPRoute, ingestReferenceGrant } from './gateway-api.ts';
import { AnnotationDefaultClass, AnnotationIngressClass, type IngressBackend, type IngressClassRecord, type IngressRecord } from './routes.ts';

/**
 * What the cache already holds of one Pod: its name, uid and IP strings (a Pod record, or a slice
 * endpoint naming it). A slice endpoint that names a cached Pod, and a Pod that slice endpoints
 * (or its previous record) already name, keep those strings instead of their own equal copies:
 * about 140 bytes per endpoint, 2 KB of a slice of 15 endpoints (bench/README.md).
 */
export interface PodStrings {
  readonly meta: { readonly name: string; readonly uid: string };
  /** The IPs: an array (a Pod's, or a slice endpoint's of none or several), or a slice endpoint's one address (slice-pack.ts). */
  readonly podIPs: string | readonly string[];
}

/** The strings the cache holds for the Pod `namespace/name` with `uid`, or null (see ClusterCache.ingestOf). */
export type PodStringsOf = (namespace: string, name: string, uid: string) => PodStrings | null;

/**
 * Transform one API object of `kind` into its record; throws on an object without metadata.name.
 * `known`: for Pods and EndpointSlices, the cache's strings to share (see PodStrings).
 */
export function ingest<K extends Kind>(kind: K, obj: any, known?: PodStringsOf): RecordOf[K] {
  switch (kind) {
    case 'Service':
      return ingestService(obj) as RecordOf[K];
    case 'EndpointSlice':
      return ingestEndpointSlice(obj, known) as RecordOf[K];
    case 'Pod':
      return ingestPod(obj, known) as RecordOf[K];
    case 'Node':
      return ingestNode(obj) as RecordOf[K];
    case 'Ingress':
      return ingestIngress(obj) as RecordOf[K];
    case 'IngressClass':
      return ingestIngressClass(obj) as RecordOf[K];
    case 'GatewayClass':
      return ingestGatewayClass(obj) as RecordOf[K];
    case 'Gateway':
      return ingestGateway(obj) as RecordOf[K];
    case 'HTTPRoute':
      return ingestHTTPRoute(obj) as RecordOf[K];
    case 'GRPCRoute':
      return ingestGRPCRoute(obj) as RecordOf[K];
    case 'ReferenceGrant':
      return ingestReferenceGrant(obj) as RecordOf[K];
    default:
      return unreachable(kind);
  }
}

/**
 * `share`: intern labels, annotations and owner references (pods of one ReplicaSet repeat
 * them). EndpointSlices pass false: their annotations carry a per-slice trigger time and their
 * labels and owner are their Service's, so nearly every value is unique and interning it would
 * only add the pool's key and weak reference.
 */
export function ingestMeta(m: any, share = true): ObjectMeta {
  if (!m || typeof m.name !== 'string' || m.name === '') {
    throw new Error(`object: expected metadata.name, got ${JSON.stringify(m?.name)}`);
  }
  const annotations = strMap(m.annotations);
  if (annotations && LastApplied in annotations) {
    const { [LastApplied]: _dropped, ...rest } = annotations;
    return metaOf(m, rest, share);
  }
  return metaOf(m, annotations, share);
}

export function ingestService(o: any): ServiceRecord {
  const spec = o.spec ?? {};
  const selector = strMap(spec.selector);
  return deepFreeze(withMetadata({
    kind: 'Service',
    meta: ingestMeta(o.metadata),
    type: str(spec.type) ?? 'ClusterIP',
    clusterIP: str(spec.clusterIP),
    clusterIPs: strArray(spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])),
    ipFamilies: strArray(spec.ipFamilies),
    ipFamilyPolicy: str(spec.ipFamilyPolicy),
    ports: arr(spec.ports).map((p: any) => ({
      name: str(p.name) ?? '',
      protocol: str(p.protocol) ?? 'TCP',
      port: num(p.port) ?? 0,
      targetPort: typeof p.targetPort === 'string' ? p.targetPort : (num(p.targetPort) ?? num(p.port) ?? 0),
      nodePort: num(p.nodePort),
      appProtocol: str(p.appProtocol),
    })),
    // The EndpointSlice controller ignores a Service whose selector is nil or empty.
    selector: selector && Object.keys(selector).length > 0 ? selector : null,
    externalName: str(spec.externalName),
    externalTrafficPolicy: str(spec.externalTrafficPolicy),
    internalTrafficPolicy: str(spec.internalTrafficPolicy),
    sessionAffinity: str(spec.sessionAffinity),
    trafficDistribution: str(spec.trafficDistribution),
    publishNotReadyAddresses: spec.publishNotReadyAddresses === true,
    loadBalancerIngress: arr(o.status?.loadBalancer?.ingress).map((i: any) => ({ ip: str(i.ip), hostname: str(i.hostname) })),
  }));
}

export function ingestEndpointSlice(o: any, known?: PodStringsOf): EndpointSliceRecord {
  const meta = ingestMeta(o.metadata, false);
  const cells: unknown[] = [];
  for (const e of arr(o.endpoints)) packSliceEndpoint(cells, meta.namespace, e, known);
  return new PackedSlice(
    meta,
    meta.labels[LabelServiceName] ?? null,
    meta.labels[LabelManagedBy] ?? null,
    str(o.addressType) ?? 'IPv4',
    interned(
      arr(o.ports).map((p: any) => ({
        name: str(p.name) ?? '',
        port: num(p.port),
        protocol: str(p.protocol) ?? 'TCP',
        appProtocol: str(p.appProtocol),
      })),
    ),
    cells,
  );
}

export function ingestPod(o: any, known?: PodStringsOf): PodRecord {
  const spec = o.spec ?? {};
  const status = o.status ?? {};
  const ips = strArray(arr(status.podIPs).map((p: any) => p?.ip));
  const podIPs = ips.length > 0 ? ips : strArray(status.podIP ? [status.podIP] : []);
  let meta = ingestMeta(o.metadata);
  const held = known?.(meta.namespace, meta.name, meta.uid) ?? null;
  if (held !== null) meta = { ...meta, name: held.meta.name, uid: held.meta.uid };
  const containers: readonly ContainerRecord[] = interned([
    ...arr(spec.initContainers)
      .filter((c: any) => c?.restartPolicy === 'Always')
      .map((c: any) => containerOf(c, true)),
    ...arr(spec.containers).map((c: any) => containerOf(c, false)),
  ]);
  return deepFreeze(withReady({
    kind: 'Pod',
    meta,
    phase: pooled(str(status.phase)),
    podIPs: held === null ? podIPs : sharedStrings(podIPs, held.podIPs),
    hostIP: pooled(str(status.hostIP)),
    nodeName: pooled(str(spec.nodeName)),
    readyStatus: conditionStatus(status.conditions, 'Ready'),
    readySince: conditionSince(status.conditions, 'Ready'),
    containers,
  }));
}

export function ingestNode(o: any): NodeRecord {
  const meta = ingestMeta(o.metadata);
  const spec = o.spec ?? {};
  const status = o.status ?? {};
  return deepFreeze(withReady({
    kind: 'Node',
    meta,
    readyStatus: conditionStatus(status.conditions, 'Ready'),
    addresses: arr(status.addresses)
      .filter((a: any) => typeof a?.address === 'string')
      .map((a: any) => ({ type: str(a.type) ?? '', address: a.address as string })),
    zone: meta.labels[LabelZone] ?? null,
    region: meta.labels[LabelRegion] ?? null,
    podCIDRs: strArray(spec.podCIDRs ?? (spec.podCIDR ? [spec.podCIDR] : [])),
    unschedulable: spec.unschedulable === true,
    taints: arr(spec.taints).map((t: any) => ({ key: str(t.key) ?? '', value: str(t.value), effect: str(t.effect) ?? '' })),
  }));
}

export function ingestIngress(o: any): IngressRecord {
  const meta = ingestMeta(o.metadata);
  const spec = o.spec ?? {};
  return deepFreeze(withMetadata({
    kind: 'Ingress',
    meta,
    ingressClassName: str(spec.ingressClassName) ?? meta.annotations[AnnotationIngressClass] ?? null,
    defaultBackend: spec.defaultBackend ? ingressBackendOf(spec.defaultBackend) : null,
    rules: arr(spec.rules).map((r: any) => ({
      host: str(r?.host),
      paths: arr(r?.http?.paths).map((p: any) => ({
        path: str(p?.path),
        pathType: str(p?.pathType) ?? 'ImplementationSpecific',
        backend: ingressBackendOf(p?.backend),
      })),
    })),
    tls: arr(spec.tls).map((t: any) => ({ hosts: strArray(t?.hosts), secretName: str(t?.secretName) })),
    loadBalancerIngress: arr(o.status?.loadBalancer?.ingress).map((i: any) => ({ ip: str(i?.ip), hostname: str(i?.hostname) })),
  }));
}

export function ingestIngressClass(o: any): IngressClassRecord {
  const meta = ingestMeta(o.metadata);
  return deepFreeze(withMetadata({
    kind: 'IngressClass',
    meta,
    controller: str(o.spec?.controller) ?? '',
    isDefault: meta.annotations[AnnotationDefaultClass] === 'true',
  }));
}

/** Freeze an object graph (plain objects and arrays only). Returns its argument. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

// Private:

const LastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
const EmptyMap: Readonly<Record<string, string>> = Object.freeze({});
const EmptyArray: readonly never[] = Object.freeze([]);

function metaOf(m: any, annotations: Record<string, string> | null, share: boolean): ObjectMeta {
  const keep = share ? interned : exact;
  const map = (x: Record<string, string> | null) => (x && Object.keys(x).length > 0 ? keep(x) : EmptyMap);
  return {
    namespace: pooled(str(m.namespace)) ?? '',
    name: m.name,
    uid: str(m.uid) ?? '',
    resourceVersion: str(m.resourceVersion) ?? '',
    labels: map(strMap(m.labels)),
    annotations: map(annotations),
    creationTimestamp: pooled(timestamp(m.creationTimestamp)) ?? '',
    deletionTimestamp: timestamp(m.deletionTimestamp),
    ownerReferences:
      Array.isArray(m.ownerReferences) && m.ownerReferences.length > 0
        ? keep(
            m.ownerReferences.map((r: any) => ({
              kind: str(r.kind) ?? '',
              name: str(r.name) ?? '',
              uid: str(r.uid) ?? '',
              controller: r.controller === true,
            })),
          )
        : EmptyArray,
  };
}

/**
 * Shared values (intern.ts): what many records repeat is kept once. Interned values are
 * deep-frozen here, so a record holding them is safe to freeze again.
 */
const Objects = new ObjectInterner<object>();
const Strings = new StringPool();

function interned<T extends object>(value: T): T {
  return Objects.get(JSON.stringify(value), () => deepFreeze(exact(value))) as T;
}

function pooled(s: string | null): string | null {
  return s === null ? null : Strings.get(s);
}

/** Arrays at their exact length (filter and spread leave spare capacity); other values as they are. */
function exact<T>(v: T): T {
  return (Array.isArray(v) ? (v.length === 0 ? EmptyArray : v.slice()) : v) as T;
}

function packSliceEndpoint(cells: unknown[], namespace: string, e: any, known: PodStringsOf | undefined): void {
  const c = e?.conditions ?? {};
  const ref = e?.targetRef;
  const forZones = strArray(arr(e?.hints?.forZones).map((z: any) => z?.name));
  const forNodes = strArray(arr(e?.hints?.forNodes).map((n: any) => n?.name));
  const addresses = strArray(e?.addresses);
  // One address is kept as the string itself (slice-pack.ts).
  let kept: string | readonly string[] = addresses.length === 1 ? addresses[0]! : addresses;
  let targetRef: ObjectRef | null = null;
  if (ref) {
    const kind = pooled(str(ref.kind)) ?? '';
    const refNamespace = pooled(str(ref.namespace)) ?? '';
    let name = str(ref.name) ?? '';
    let uid = str(ref.uid) ?? '';
    const held = kind === 'Pod' && known ? known(refNamespace, name, uid) : null;
    if (held !== null) {
      name = held.meta.name;
      uid = held.meta.uid;
      kept = addresses.length === 1 ? sharedString(addresses[0]!, held.podIPs) : sharedStrings(addresses, held.podIPs);
    }
    targetRef = { kind, namespace: refNamespace, name, uid };
  }
  packEndpoint(
    cells,
    namespace,
    typeof kept === 'string' ? kept : Object.freeze(kept),
    targetRef,
    {
      conditions: conditionsOf(bool(c.ready), bool(c.serving), bool(c.terminating)),
      hostname: str(e?.hostname),
      nodeName: pooled(str(e?.nodeName)),
      zone: pooled(str(e?.zone)),
      hintsForZones: forZones.length > 0 ? interned(forZones) : forZones,
      hintsForNodes: forNodes.length > 0 ? interned(forNodes) : forNodes,
    },
  );
}

/**
 * `mine`, with the equal strings of `held` in place of its own: `held` itself when it is a
 * frozen array of the same strings (a Pod's IPs and its endpoint's several addresses, an
 * updated Pod's unchanged IPs), else a new array.
 */
function sharedStrings(mine: readonly string[], held: string | readonly string[]): readonly string[] {
  if (mine.length === 0) return mine;
  if (typeof held !== 'string' && mine.length === held.length && mine.every((s, i) => s === held[i])) return Object.isFrozen(held) ? held : mine;
  return mine.map((s) => sharedString(s, held));
}

/** `mine`, or the equal string of `held` (a Pod's IP, its endpoint's address). */
function sharedString(mine: string, held: string | readonly string[]): string {
  return typeof held === 'string' ? (held === mine ? held : mine) : (held.find((h) => h === mine) ?? mine);
}

/** One frozen object per combination (27 of them), shared by every endpoint. */
const Conditions = new Map<string, EndpointConditions>();
function conditionsOf(ready: boolean | null, serving: boolean | null, terminating: boolean | null): EndpointConditions {
  const key = `${ready}${serving}${terminating}`;
  let c = Conditions.get(key);
  if (!c) Conditions.set(key, (c = Object.freeze({ ready, serving, terminating })));
  return c;
}

function ingressBackendOf(b: any): IngressBackend {
  const svc = b?.service;
  const res = b?.resource;
  return {
    service: svc && str(svc.name) ? { name: svc.name as string, portName: str(svc.port?.name), portNumber: num(svc.port?.number) } : null,
    resource: res && str(res.kind) && str(res.name) ? { apiGroup: str(res.apiGroup), kind: res.kind as string, name: res.name as string } : null,
  };
}

function containerOf(c: any, sidecar: boolean): ContainerRecord {
  return {
    name: str(c?.name) ?? '',
    sidecar,
    ports: arr(c?.ports)
      .filter((p: any) => num(p?.containerPort) !== null)
      .map((p: any) => ({ name: str(p.name) ?? '', containerPort: p.containerPort as number, protocol: str(p.protocol) ?? 'TCP' })),
  };
}

function conditionStatus(conditions: unknown, type: string): boolean | null {
  const c = arr(conditions).find((x: any) => x?.type === type);
  if (!c) return null;
  return c.status === 'True' ? true : c.status === 'False' ? false : null;
}

function conditionSince(conditions: unknown, type: string): string | null {
  const c = arr(conditions).find((x: any) => x?.type === type);
  return c ? timestamp(c.lastTransitionTime) : null;
}

function timestamp(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return null;
}

export function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function bool(v: unknown): boolean | null {
  return typeof v === 'boolean' ? v : null;
}

export function arr(v: unknown): any[] {
  return Array.isArray(v) ? v : [];
}

function strArray(v: unknown): readonly string[] {
  const out = arr(v).filter((x): x is string => typeof x === 'string' && x !== '');
  return exact(out);
}

export function strMap(v: unknown): Record<string, string> | null {
  if (!v || typeof v !== 'object') return null;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

function unreachable(x: never): never {
  throw new Error(`unreachable: ${String(x)}`);
}
