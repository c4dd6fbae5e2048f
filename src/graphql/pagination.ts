/**
 * Relay connections over sorted, in-memory lists: one page forward from an opaque cursor.
 *
 * Every connection is sorted by a sort key whose plain string order is the connection's order:
 * parts joined by NUL (`namespace\0name`, `namespace\0service\0address`), so that comparing
 * keys compares (namespace, name) tuples, which comparing `namespace/name` strings would not
 * ("a-b/x" sorts before "a/y"). A cursor carries the key of its edge (src/model/cursor.ts);
 * the next page starts at the first item whose key sorts after it, so a page stays correct
 * when the item under the cursor was deleted in between.
 */
import { compareStrings } from '../model/text.ts';
import { addressOrderKey, compareAddresses } from '../model/address.ts';
import type { EndpointSliceRecord, NodeRecord, PodRecord, ServiceRecord } from '../kube/records.ts';
import type { EndpointParent } from './parents.ts';

/** The kind of a connection, carried in its cursors: a Pod cursor is refused by a Service connection. */
export type CursorKind = 'Service' | 'Pod' | 'Node' | 'EndpointSlice' | 'Endpoint' | 'Ingress' | 'endpointChanges';

/** One page of a connection; the mapper of every `XConnection` type. */
export interface Page<T> {
  readonly kind: CursorKind;
  /** The page, in connection order. */
  readonly items: readonly T[];
  /** Items matching the connection's filters, over all pages. */
  readonly totalCount: number;
  readonly hasNextPage: boolean;
  /** `after` was given and at least one matching item sorts at or before it. */
  readonly hasPreviousPage: boolean;
  /** The sort key of an item, computed only when a cursor is asked for. */
  sortKeyOf(item: T): string;
}

/** One edge: the mapper of every `XEdge` type. The cursor is encoded only when asked for. */
export interface Edge<T> {
  readonly node: T;
  readonly page: Page<T>;
}

/** A validated `first`/`after` pair (see args.ts pageArgs). */
export interface PageRequest {
  /** 0 to Limits.maxPageSize. */
  readonly first: number;
  /** The sort key inside `after`; null for the first page. */
  readonly afterKey: string | null;
}

/**
 * The page of `sorted` (sorted by `sortKeyOf` in string order) that starts after
 * `request.afterKey` and holds at most `request.first` items. O(log n) to find the start.
 */
export function paginate<T>(kind: CursorKind, sorted: readonly T[], sortKeyOf: (item: T) => string, request: PageRequest): Page<T> {
  const start = pageStart(sorted, sortKeyOf, request);
  const end = Math.min(sorted.length, start + request.first);
  return pageOf(kind, sorted.slice(start, end), sorted.length, start, end, sortKeyOf);
}

/**
 * `paginate`, with every item of the page mapped by `fn` (sort keys: `sortKeyOf` on `sorted`'s
 * items to find the start, `mappedSortKeyOf` on the mapped ones for cursors). Maps the page
 * only, and makes one page, not two.
 */
export function paginateMapped<T, U>(
  kind: CursorKind,
  sorted: readonly T[],
  sortKeyOf: (item: T) => string,
  request: PageRequest,
  fn: (item: T) => U,
  mappedSortKeyOf: (item: U) => string,
): Page<U> {
  const start = pageStart(sorted, sortKeyOf, request);
  const end = Math.min(sorted.length, start + request.first);
  const items: U[] = [];
  for (let i = start; i < end; i++) items.push(fn(sorted[i]!));
  return pageOf(kind, items, sorted.length, start, end, mappedSortKeyOf);
}

/** Where the page asked for starts in `sorted`. */
function pageStart<T>(sorted: readonly T[], sortKeyOf: (item: T) => string, request: PageRequest): number {
  return request.afterKey === null ? 0 : firstAfter(sorted, sortKeyOf, request.afterKey);
}

/** The page `items`, cut at [start, end) from a list of `total`. */
function pageOf<T>(kind: CursorKind, items: readonly T[], total: number, start: number, end: number, sortKeyOf: (item: T) => string): Page<T> {
  return Object.freeze({ kind, items, totalCount: total, hasNextPage: end < total, hasPreviousPage: start > 0, sortKeyOf });
}

/** Sort keys, in Kubernetes' words. */
export function objectSortKey(r: { readonly meta: { readonly namespace: string; readonly name: string } }): string {
  return r.meta.namespace === '' ? r.meta.name : `${r.meta.namespace}\0${r.meta.name}`;
}

/** Service (namespace, name), then the address in numeric order (model/address.ts). */
export function endpointSortKey(e: EndpointParent): string {
  return serviceEndpointSortKey(e.namespace, e.serviceName, e.endpoint.address);
}

export function serviceEndpointSortKey(namespace: string, serviceName: string, address: string): string {
  return `${namespace}\0${serviceName}\0${addressOrderKey(address)}`;
}

/** Order of objectSortKey without building keys: (namespace, name), code-unit order. */
export function byObjectKey(a: { readonly meta: { readonly namespace: string; readonly name: string } }, b: typeof a): number {
  return compareStrings(a.meta.namespace, b.meta.namespace) || compareStrings(a.meta.name, b.meta.name);
}

/** Order of endpointSortKey: Service (namespace, name), then address. */
export function byEndpointKey(a: EndpointParent, b: EndpointParent): number {
  return (
    compareStrings(a.namespace, b.namespace) ||
    compareStrings(a.serviceName, b.serviceName) ||
    compareAddresses(a.endpoint.address, b.endpoint.address)
  );
}

export { compareStrings };

// Private:

/** Index of the first item whose key sorts after `key` (binary search). */
function firstAfter<T>(sorted: readonly T[], sortKeyOf: (item: T) => string, key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortKeyOf(sorted[mid]!) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
