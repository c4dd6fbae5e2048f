/**
 * The lists behind connection fields: filter a sorted list by the field's arguments, then take
 * one page. Shared by every field that returns the same connection type (Query.pods,
 * Service.pods and Node.pods all filter Pods the same way). Filters combine with AND; a filter
 * left out or null does not filter. Arguments are checked before any data is read.
 *
 * The lists arrive filtered to what the caller may see (loaders.ts). A `namespace` filter
 * naming a namespace the caller may not list, or a `zone` filter on Pods without Nodes, is
 * FORBIDDEN rather than an empty page, so that "none" and "not allowed" stay apart; those
 * fields are nullable in the schema for that reason (schema/query.graphql).
 */
import { AllNamespaces, type Resource } from '../auth/access.ts';
import { objectKey, type EndpointSliceRecord, type NodeRecord, type PodRecord, type ServiceRecord } from '../kube/records.ts';
import type { MergedEndpoint } from '../model/endpoints.ts';
import { matches } from '../model/selector.ts';
import { nameArg, optionalNamespaceArg, pageArgs, selectorArg, type PageArgs } from './args.ts';
import type { GatewayContext } from './context.ts';
import { namespaceNotWatched } from './warnings.ts';
import { badUserInput, ErrorCode } from './errors.ts';
import { endpointSortKey, objectSortKey, paginate, paginateMapped, serviceEndpointSortKey } from './pagination.ts';
import { EndpointParent, type EndpointPage, type EndpointSlicePage, type NodePage, type PodPage, type ServicePage } from './parents.ts';

export interface ServiceFilters extends PageArgs {
  readonly namespace?: string | null;
  readonly labelSelector?: string | null;
  readonly type?: string | null;
  readonly headless?: boolean | null;
  readonly hasReadyEndpoints?: boolean | null;
  /**
   * The list holds only Services without a ready endpoint already (the loader
   * servicesWithoutReadyEndpoints): nothing to load, but a named namespace still needs
   * EndpointSlices as `hasReadyEndpoints` does.
   */
  readonly readinessFiltered?: boolean;
  /** Fewer ready endpoints than this. */
  readonly readyBelow?: number | null;
  /** Ready over all endpoints below this (0 for a Service without endpoints). */
  readonly readyFractionBelow?: number | null;
}

export interface PodFilters extends PageArgs {
  readonly namespace?: string | null;
  readonly labelSelector?: string | null;
  readonly ready?: boolean | null;
  readonly phase?: string | null;
  /** spec.nodeName. */
  readonly node?: string | null;
  /** The zone of the pod's Node. */
  readonly zone?: string | null;
}

export interface NodeFilters extends PageArgs {
  readonly labelSelector?: string | null;
  readonly zone?: string | null;
  readonly ready?: boolean | null;
  readonly unschedulable?: boolean | null;
}

export interface SliceFilters extends PageArgs {
  readonly namespace?: string | null;
  readonly labelSelector?: string | null;
  readonly addressType?: string | null;
  readonly managedBy?: string | null;
}

export interface EndpointFilters extends PageArgs {
  readonly ready?: boolean | null;
  readonly serving?: boolean | null;
  readonly terminating?: boolean | null;
  readonly zone?: string | null;
  readonly node?: string | null;
}

/** `services` sorted by (namespace, name), filtered; `hasReadyEndpoints` reads endpointsByService. */
export async function serviceConnection(ctx: GatewayContext, services: Promise<readonly ServiceRecord[]> | readonly ServiceRecord[], f: ServiceFilters): Promise<ServicePage> {
  observe(ctx, services);
  const request = pageArgs('Service', f, ctx.limits);
  const namespace = optionalNamespaceArg(f.namespace);
  const selector = selectorArg(f.labelSelector);
  // Readiness comes from the EndpointSlices: a namespace named explicitly needs both.
  const byReadiness = f.hasReadyEndpoints != null || f.readyBelow != null || f.readyFractionBelow != null;
  if (f.readyFractionBelow != null && !(f.readyFractionBelow >= 0 && f.readyFractionBelow <= 1)) {
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, `readyFractionBelow: expected a fraction from 0 to 1, got ${f.readyFractionBelow}`);
  }
  const allowed = mayList(ctx, 'services', namespace, byReadiness || f.readinessFiltered === true ? 'endpointslices' : null);
  if (allowed) await allowed;
  const list = await services;
  const readyCounted = f.readyBelow != null || f.readyFractionBelow != null;
  let out =
    selector === null && f.type == null && f.headless == null && !readyCounted && allIn(list, namespace)
      ? list
      : list.filter(
          (s) =>
            (namespace === null || s.meta.namespace === namespace) &&
            (selector === null || matches(selector, s.meta.labels)) &&
            (f.type == null || s.type === f.type) &&
            (f.headless == null || (s.clusterIP === 'None') === f.headless) &&
            (!readyCounted || s.type !== 'ExternalName'),
        );
  if (byReadiness) {
    const views = await ctx.loaders.endpointsByService.loadMany(out.map((s) => objectKey(s.meta)));
    out = out.filter((_, i) => {
      const view = views[i];
      const counts = view != null && !(view instanceof Error) ? view.counts : { ready: 0, total: 0 };
      if (f.hasReadyEndpoints != null && counts.ready > 0 !== f.hasReadyEndpoints) return false;
      if (f.readyBelow != null && !(counts.ready < f.readyBelow)) return false;
      if (f.readyFractionBelow != null && !((counts.total === 0 ? 0 : counts.ready / counts.total) < f.readyFractionBelow)) return false;
      return true;
    });
  }
  return paginate('Service', out, objectSortKey, request);
}

/** `pods` sorted by (namespace, name), filtered; `zone` reads nodeByName for the pods' Nodes. */
export async function podConnection(ctx: GatewayContext, pods: Promise<readonly PodRecord[]> | readonly PodRecord[], f: PodFilters): Promise<PodPage> {
  observe(ctx, pods);
  const request = pageArgs('Pod', f, ctx.limits);
  const namespace = optionalNamespaceArg(f.namespace);
  const selector = selectorArg(f.labelSelector);
  const node = f.node == null ? null : nameArg('node', f.node);
  const allowed = mayList(ctx, 'pods', namespace, null);
  if (allowed) await allowed;
  // A zone is a Node's: filtering by it would tell Nodes' zones to a caller who may not list them.
  if (f.zone != null && !ctx.loaders.permissions.open) await ctx.loaders.permissions.require('nodes', AllNamespaces);
  let out = (await pods).filter(
    (p) =>
      (namespace === null || p.meta.namespace === namespace) &&
      (selector === null || matches(selector, p.meta.labels)) &&
      (f.ready == null || p.ready === f.ready) &&
      (f.phase == null || p.phase === f.phase) &&
      (node === null || p.nodeName === node),
  );
  if (f.zone != null) {
    const names = [...new Set(out.flatMap((p) => (p.nodeName ? [p.nodeName] : [])))];
    const nodes = await ctx.loaders.nodeByName.loadMany(names);
    const zoneOf = new Map(names.map((n, i) => [n, zoneOfNode(nodes[i])]));
    out = out.filter((p) => p.nodeName !== null && zoneOf.get(p.nodeName) === f.zone);
  }
  return paginate('Pod', out, objectSortKey, request);
}

/** `nodes` sorted by name, filtered. */
export async function nodeConnection(ctx: GatewayContext, nodes: Promise<readonly NodeRecord[]> | readonly NodeRecord[], f: NodeFilters): Promise<NodePage> {
  observe(ctx, nodes);
  const request = pageArgs('Node', f, ctx.limits);
  const selector = selectorArg(f.labelSelector);
  // FORBIDDEN without Nodes even when there is nothing to load (a Service without endpoints).
  if (!ctx.loaders.permissions.open) await ctx.loaders.permissions.require('nodes', AllNamespaces);
  const out = (await nodes).filter(
    (n) =>
      (selector === null || matches(selector, n.meta.labels)) &&
      (f.zone == null || n.zone === f.zone) &&
      (f.ready == null || n.ready === f.ready) &&
      (f.unschedulable == null || n.unschedulable === f.unschedulable),
  );
  return paginate('Node', out, objectSortKey, request);
}

/** `slices` sorted by (namespace, name), filtered. */
export async function sliceConnection(ctx: GatewayContext, slices: Promise<readonly EndpointSliceRecord[]> | readonly EndpointSliceRecord[], f: SliceFilters): Promise<EndpointSlicePage> {
  observe(ctx, slices);
  const request = pageArgs('EndpointSlice', f, ctx.limits);
  const namespace = optionalNamespaceArg(f.namespace);
  const selector = selectorArg(f.labelSelector);
  const allowed = mayList(ctx, 'endpointslices', namespace, null);
  if (allowed) await allowed;
  const out = (await slices).filter(
    (s) =>
      (namespace === null || s.meta.namespace === namespace) &&
      (selector === null || matches(selector, s.meta.labels)) &&
      (f.addressType == null || s.addressType === f.addressType) &&
      (f.managedBy == null || s.managedBy === f.managedBy),
  );
  return paginate('EndpointSlice', out, objectSortKey, request);
}

/** Endpoints of several Services, sorted by Service then address, filtered. */
export async function endpointConnection(ctx: GatewayContext, endpoints: Promise<readonly EndpointParent[]> | readonly EndpointParent[], f: EndpointFilters): Promise<EndpointPage> {
  observe(ctx, endpoints);
  const request = pageArgs('Endpoint', f, ctx.limits);
  const node = f.node == null ? null : nameArg('node', f.node);
  const out = (await endpoints).filter((e) => keepEndpoint(e.endpoint, f, node));
  return paginate('Endpoint', out, endpointSortKey, request);
}

/**
 * Endpoints of one Service (its merged view, sorted by address), filtered. Parents are built
 * for the page only.
 */
export function serviceEndpointConnection(
  ctx: GatewayContext,
  namespace: string,
  serviceName: string,
  endpoints: readonly MergedEndpoint[],
  f: EndpointFilters,
): EndpointPage {
  const request = pageArgs('Endpoint', f, ctx.limits);
  const node = f.node == null ? null : nameArg('node', f.node);
  // No filter (the common case): page the view itself, without copying it.
  const unfiltered = f.ready == null && f.serving == null && f.terminating == null && f.zone == null && node === null;
  const out = unfiltered ? endpoints : endpoints.filter((e) => keepEndpoint(e, f, node));
  return paginateMapped(
    'Endpoint',
    out,
    (e) => serviceEndpointSortKey(namespace, serviceName, e.address),
    request,
    (endpoint) => endpointParent(namespace, serviceName, endpoint),
    endpointSortKey,
  );
}

export function endpointParent(namespace: string, serviceName: string, endpoint: MergedEndpoint): EndpointParent {
  return new EndpointParent(namespace, serviceName, endpoint);
}

// Private:

/**
 * Every item of `sorted` (sorted by namespace first, as every list here is) is in `namespace`
 * (null: no namespace filter): then the namespace filter keeps the list as it is, and the
 * common case (a namespace's list, no other filter) copies nothing.
 */
function allIn(sorted: readonly { readonly meta: { readonly namespace: string } }[], namespace: string | null): boolean {
  return namespace === null || sorted.length === 0 || (sorted[0]!.meta.namespace === namespace && sorted[sorted.length - 1]!.meta.namespace === namespace);
}

/**
 * A list may be a loader's promise, started before the arguments were checked: when a check
 * throws first, its rejection (AUTHORIZATION_UNAVAILABLE, FORBIDDEN) must not go unhandled.
 * With authorization off loaders do not reject, and nothing is allocated.
 */
function observe(ctx: GatewayContext, list: Promise<unknown> | unknown): void {
  if (!ctx.loaders.permissions.open && list instanceof Promise) list.catch(noop);
}

function noop(): void {}

/**
 * Undefined when there is nothing to ask (no namespace named, or authorization off); else
 * resolves when the caller may list `resource` (and `also`) in `namespace`. A namespace named
 * outside the watched ones is noted (NAMESPACE_NOT_WATCHED), also where the list comes from an
 * index that is not per namespace (a node's pods).
 *
 * @throws FORBIDDEN, AUTHORIZATION_UNAVAILABLE (as a rejection).
 */
function mayList(ctx: GatewayContext, resource: Resource, namespace: string | null, also: Resource | null): Promise<unknown> | undefined {
  const p = ctx.loaders.permissions;
  const watched = ctx.loaders.watched.namespaces;
  if (namespace !== null && watched !== null && !watched.includes(namespace)) ctx.warnings.add(namespaceNotWatched(namespace, watched));
  if (namespace === null || p.open) return undefined;
  return also === null ? p.require(resource, namespace) : Promise.all([p.require(resource, namespace), p.require(also, namespace)]);
}

function keepEndpoint(e: MergedEndpoint, f: EndpointFilters, node: string | null): boolean {
  return (
    (f.ready == null || e.ready === f.ready) &&
    (f.serving == null || e.serving === f.serving) &&
    (f.terminating == null || e.terminating === f.terminating) &&
    (f.zone == null || e.zone === f.zone) &&
    (node === null || e.nodeName === node)
  );
}

/** An Error here is AUTHORIZATION_UNAVAILABLE (FORBIDDEN was asked first): fail closed. */
function zoneOfNode(node: NodeRecord | null | Error | undefined): string | null {
  if (node instanceof Error) throw node;
  return node == null ? null : node.zone;
}
