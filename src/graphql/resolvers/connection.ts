/**
 * Every `XConnection`, `XEdge` and `PageInfo`: parents are pages (pagination.ts). Cursors are
 * encoded only for the edges and page ends asked for.
 */
import { encodeCursor } from '../../model/cursor.ts';
import type {
  EndpointConnectionResolvers,
  EndpointEdgeResolvers,
  EndpointSliceConnectionResolvers,
  EndpointSliceEdgeResolvers,
  IngressConnectionResolvers,
  IngressEdgeResolvers,
  NodeConnectionResolvers,
  NodeEdgeResolvers,
  PageInfoResolvers,
  PodConnectionResolvers,
  PodEdgeResolvers,
  ServiceConnectionResolvers,
  ServiceEdgeResolvers,
} from '../generated/resolvers-types.ts';
import type { Edge, Page } from '../pagination.ts';

export const ServiceConnection: ServiceConnectionResolvers = connection();
export const PodConnection: PodConnectionResolvers = connection();
export const NodeConnection: NodeConnectionResolvers = connection();
export const EndpointSliceConnection: EndpointSliceConnectionResolvers = connection();
export const EndpointConnection: EndpointConnectionResolvers = connection();

export const ServiceEdge: ServiceEdgeResolvers = edge();
export const PodEdge: PodEdgeResolvers = edge();
export const NodeEdge: NodeEdgeResolvers = edge();
export const EndpointSliceEdge: EndpointSliceEdgeResolvers = edge();
export const EndpointEdge: EndpointEdgeResolvers = edge();
export const IngressConnection: IngressConnectionResolvers = connection();
export const IngressEdge: IngressEdgeResolvers = edge();

export const PageInfo: PageInfoResolvers = {
  // hasNextPage, hasPreviousPage: the page's own fields.
  startCursor: (page) => cursorAt(page, 0),
  endCursor: (page) => cursorAt(page, page.items.length - 1),
};

// Private:

function connection<T>() {
  return {
    // items, totalCount: the page's own fields.
    edges: (page: Page<T>): Edge<T>[] => page.items.map((node) => ({ node, page })),
    pageInfo: (page: Page<T>): Page<T> => page,
  };
}

function edge<T>() {
  return {
    cursor: (e: Edge<T>): string => encodeCursor(e.page.kind, e.page.sortKeyOf(e.node)),
  };
}

function cursorAt(page: Page<unknown>, index: number): string | null {
  return index >= 0 && index < page.items.length ? encodeCursor(page.kind, page.sortKeyOf(page.items[index])) : null;
}
