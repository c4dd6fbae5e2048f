/**
 * Compare the gateway's cache with what the API server holds, from fresh list calls: the same
 * keys at the same resourceVersions for every kind, and for every Service the merged endpoints
 * equal to the merge of its real slices.
 */
import type { ClusterCache } from '../../src/kube/cache.ts';
import { ingest } from '../../src/kube/ingest.ts';
import type { EndpointSliceRecord, CoreKind as Kind } from '../../src/kube/records.ts';
import { objectKey } from '../../src/kube/records.ts';
import type { EndpointFeed } from '../../src/model/endpoint-feed.ts';
import { mergeServiceEndpoints, sliceServiceKey } from '../../src/model/endpoints.ts';
import type { KubeClient } from './kube-client.ts';
import { waitFor } from './wait.ts';

export const ListPaths: Readonly<Record<Kind, string>> = {
  Service: '/api/v1/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Pod: '/api/v1/pods',
  Node: '/api/v1/nodes',
};

/** Differences between cache and API, one line each; empty when they agree. */
export async function cacheDifferences(cache: ClusterCache, kube: KubeClient, feed?: EndpointFeed): Promise<string[]> {
  const out: string[] = [];
  const apiSlices: EndpointSliceRecord[] = [];
  for (const kind of ['Service', 'EndpointSlice', 'Pod', 'Node'] as const) {
    const { items } = await kube.list(ListPaths[kind]);
    const api = new Map<string, string>();
    for (const item of items) {
      const r = ingest(kind, item);
      api.set(objectKey(r.meta), r.meta.resourceVersion);
      if (kind === 'EndpointSlice') apiSlices.push(r as EndpointSliceRecord);
    }
    const store = cache.storeOf(kind);
    for (const [key, rv] of api) {
      const mine = store.get(key);
      if (!mine) out.push(`${kind} ${key}: missing from the cache`);
      else if (mine.meta.resourceVersion !== rv) out.push(`${kind} ${key}: cache at ${mine.meta.resourceVersion}, API at ${rv}`);
    }
    for (const key of store.keys()) if (!api.has(key)) out.push(`${kind} ${key}: stale in the cache (gone from the API)`);
  }
  if (feed) {
    const byService = new Map<string, EndpointSliceRecord[]>();
    for (const s of apiSlices) {
      const k = sliceServiceKey(s);
      if (k) byService.set(k, [...(byService.get(k) ?? []), s]);
    }
    for (const [key, slices] of byService) {
      const want = JSON.stringify(mergeServiceEndpoints(slices));
      const got = JSON.stringify(feed.get(key));
      if (want !== got) out.push(`endpoints of ${key}: feed ${got.slice(0, 200)} != API ${want.slice(0, 200)}`);
    }
    for (const key of feed.serviceKeys()) if (!byService.has(key)) out.push(`endpoints of ${key}: stale in the feed`);
  }
  return out;
}

/** Wait until the cache equals the API (eventual consistency), failing with the differences. */
export async function waitForCacheToMatch(cache: ClusterCache, kube: KubeClient, feed?: EndpointFeed, timeoutMs = 30_000): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor('the cache to equal the API server', timeoutMs, async () => {
      last = await cacheDifferences(cache, kube, feed);
      return last.length === 0;
    }, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  ${last.slice(0, 20).join('\n  ')}`);
  }
}
