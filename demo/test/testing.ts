/**
 * Test support for the simulator and for anything tested against it: a minimal watch client that
 * reads newline-delimited events with deadlines, and the slice oracle
 * (do a cluster's EndpointSlices say what the controller would write from scratch?).
 *
 * Not used by the simulator itself.
 */
import type { Cluster } from '../src/cluster.ts';
import type { EndpointSliceJson, KubeObject, NodeJson, PodJson, ServiceJson } from '../src/types.ts';
import { ControllerEndpointSlice, LabelManagedBy, LabelServiceName } from '../src/types.ts';
import { reconcileEndpointSlices, selectsPod } from '../src/endpointslices.ts';

export interface WatchEventJson {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: KubeObject & Record<string, unknown>;
}

export interface WatchReader {
  /** The HTTP status of the watch response. */
  readonly status: number;
  readonly contentType: string | null;
  /**
   * The next event, or 'end' when the server ended the stream cleanly.
   * @throws when no event arrives within `timeoutMs`, or the connection breaks.
   */
  next(timeoutMs?: number): Promise<WatchEventJson | 'end'>;
  /** Events until `done(event)` is true (that event included) or the stream ends. @throws on timeout. */
  until(done: (event: WatchEventJson) => boolean, timeoutMs?: number): Promise<WatchEventJson[]>;
  /** Aborts the request. */
  close(): void;
}

/**
 * Opens a watch (or any streaming GET) and reads it line by line.
 * @throws when the request fails before a response arrives.
 */
export async function openWatch(url: string): Promise<WatchReader> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  const lines: string[] = [];

  const next = async (timeoutMs = 5_000): Promise<WatchEventJson | 'end'> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = lines.shift();
      if (line !== undefined) return JSON.parse(line) as WatchEventJson;
      if (ended || reader === undefined) return 'end';
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`openWatch: no event within ${timeoutMs} ms from ${url}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining);
      });
      const chunk = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
      if (chunk === 'timeout') throw new Error(`openWatch: no event within ${timeoutMs} ms from ${url}`);
      if (chunk.done) {
        ended = true;
        if (buffer.trim() !== '') lines.push(buffer);
        buffer = '';
        continue;
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (text.trim() !== '') lines.push(text);
      }
    }
  };

  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    next,
    async until(done, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      const events: WatchEventJson[] = [];
      for (;;) {
        const event = await next(Math.max(1, deadline - Date.now()));
        if (event === 'end') return events;
        events.push(event);
        if (done(event)) return events;
      }
    },
    close() {
      abort.abort();
    },
  };
}

/**
 * Where a cluster's controller-managed slices differ from what the controller would write from
 * scratch for the current pods: one message per Service, sorted; empty when consistent. Slices
 * are compared as the union of (address type, ports, endpoint) per Service, plus the rules that
 * every slice holds at most `maxEndpointsPerSlice` endpoints and a Service with a selector has at
 * least one slice per address type.
 */
export function sliceDrift(cluster: Cluster, maxEndpointsPerSlice = 100): string[] {
  const problems: string[] = [];
  for (const service of cluster.list<ServiceJson>('Service')) {
    if (service.spec.selector === undefined || service.spec.type === 'ExternalName') continue;
    const key = `${service.metadata.namespace}/${service.metadata.name}`;
    const pods = cluster.list<PodJson>('Pod', service.metadata.namespace).filter((pod) => selectsPod(service, pod));
    const fresh = reconcileEndpointSlices({
      service,
      pods,
      existing: [],
      getNode: (name) => cluster.get<NodeJson>('Node', undefined, name),
      maxEndpointsPerSlice,
    }).create;
    const current = cluster
      .list<EndpointSliceJson>('EndpointSlice', service.metadata.namespace)
      .filter((s) => s.metadata.labels?.[LabelServiceName] === service.metadata.name && s.metadata.labels?.[LabelManagedBy] === ControllerEndpointSlice);
    const want = endpointUnion(fresh);
    const have = endpointUnion(current);
    if (want.join('\n') !== have.join('\n')) {
      const missing = want.filter((e) => !have.includes(e)).length;
      const extra = have.filter((e) => !want.includes(e)).length;
      problems.push(`${key}: ${missing} endpoints missing, ${extra} unexpected`);
    }
    for (const slice of current) {
      if ((slice.endpoints?.length ?? 0) > maxEndpointsPerSlice) problems.push(`${key}: slice ${slice.metadata.name} holds ${slice.endpoints?.length} endpoints`);
    }
    const families = new Set(fresh.map((s) => s.addressType));
    for (const family of families) {
      if (!current.some((s) => s.addressType === family)) problems.push(`${key}: no ${family} slice`);
    }
  }
  return problems.sort();
}

/** `addressType ports endpoint` strings of every endpoint in the slices, sorted. */
export function endpointUnion(slices: readonly EndpointSliceJson[]): string[] {
  const out: string[] = [];
  for (const slice of slices) {
    const ports = JSON.stringify([...(slice.ports ?? [])].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || (a.protocol ?? '').localeCompare(b.protocol ?? '')));
    for (const endpoint of slice.endpoints ?? []) out.push(`${slice.addressType} ${ports} ${JSON.stringify(endpoint)}`);
  }
  return out.sort();
}
