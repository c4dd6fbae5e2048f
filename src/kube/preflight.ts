/**
 * Startup checks against the API server, so that a misconfiguration is one clear message
 * instead of reflectors retrying forever:
 *
 * - reachability and credentials: GET /version (401 is fatal: the credentials are wrong);
 * - permissions: one SelfSubjectAccessReview per (verb, resource, namespace) the cache needs
 *   (get, list, watch on services, pods, endpointslices.discovery.k8s.io, nodes); any denied
 *   one is fatal, named by verb, resource and namespace. The optional routing kinds (ingresses
 *   and ingressclasses.networking.k8s.io) are asked too: a denied one is a warning, and that
 *   kind is not watched (its fields answer empty, `cluster.kinds` says it is not watched).
 *
 * An unreachable server is not fatal: the reflectors keep retrying and /readyz says not ready.
 */
import { RouteKinds } from './cache.ts';
import { ApiError, type ApiClient } from './client.ts';
import { KindResources, type Kind, type RouteKind } from './records.ts';

export interface Requirement {
  readonly verb: 'get' | 'list' | 'watch' | 'create';
  readonly group: string;
  readonly resource: string;
  /** null: all namespaces (or cluster-scoped). */
  readonly namespace: string | null;
  /** Set for an optional kind: denied means a warning and that kind unwatched, not a failed start. */
  readonly optional?: RouteKind;
}

export type PreflightResult =
  | {
      readonly phase: 'ok';
      readonly version: string;
      /** Optional kinds the gateway may not read: not to be watched. */
      readonly unreadable: readonly RouteKind[];
      /** One line per unreadable optional kind, naming what is missing. */
      readonly warnings: readonly string[];
    }
  | { readonly phase: 'unreachable'; readonly message: string }
  | { readonly phase: 'fatal'; readonly message: string };

/**
 * What the cache needs, for the given namespaces (empty: cluster-wide) and whether Nodes are
 * watched; with `reviews`, also what caller authorization needs (create tokenreviews and
 * subjectaccessreviews, cluster-scoped).
 */
export function requirements(namespaces: readonly string[], watchNodes: boolean, reviews = false): Requirement[] {
  const scopes = namespaces.length > 0 ? namespaces : [null];
  const out: Requirement[] = [];
  for (const verb of ['get', 'list', 'watch'] as const) {
    for (const ns of scopes) {
      out.push({ verb, group: '', resource: 'services', namespace: ns });
      out.push({ verb, group: '', resource: 'pods', namespace: ns });
      out.push({ verb, group: 'discovery.k8s.io', resource: 'endpointslices', namespace: ns });
    }
    if (watchNodes) out.push({ verb, group: '', resource: 'nodes', namespace: null });
    for (const kind of RouteKinds) {
      const r = KindResources[kind];
      for (const ns of r.namespaced ? scopes : [null]) out.push({ verb, group: r.group, resource: r.resource, namespace: ns, optional: kind });
    }
  }
  if (reviews) {
    out.push({ verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews', namespace: null });
    out.push({ verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews', namespace: null });
  }
  return out;
}

/**
 * One SelfSubjectAccessReview per requirement, all at once. A server without the authorization
 * API (the demo cluster) cannot be asked: everything counts as allowed there.
 *
 * @throws ApiError when the server cannot answer.
 */
export async function reviewRequirements(client: ApiClient, reqs: readonly Requirement[], timeoutMs = 10_000): Promise<{ r: Requirement; allowed: boolean }[]> {
  return Promise.all(
    reqs.map(async (r) => {
      try {
        const review = await client.postJSON(
          '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { verb: r.verb, group: r.group, resource: r.resource, ...(r.namespace ? { namespace: r.namespace } : {}) } },
          },
          { idleTimeoutMs: timeoutMs },
        );
        return { r, allowed: review?.status?.allowed === true };
      } catch (err) {
        if (err instanceof ApiError && err.failure === 'not-found') return { r, allowed: true };
        throw err;
      }
    }),
  );
}

/** get, list and watch on `kind` in each of `namespaces` (none: cluster-wide). */
export function kindRequirements(kind: Kind, namespaces: readonly string[]): Requirement[] {
  const r = KindResources[kind];
  const scopes = r.namespaced && namespaces.length > 0 ? namespaces : [null];
  return (['get', 'list', 'watch'] as const).flatMap((verb) => scopes.map((ns) => ({ verb, group: r.group, resource: r.resource, namespace: ns })));
}

export function describeRequirement(r: Requirement): string {
  const res = r.group ? `${r.resource}.${r.group}` : r.resource;
  return `${r.verb} ${res} ${ClusterScoped.has(r.resource) ? '(cluster-scoped)' : r.namespace ? `in namespace ${r.namespace}` : 'in all namespaces'}`;
}

const ClusterScoped = new Set(['nodes', 'ingressclasses', 'gatewayclasses', 'tokenreviews', 'subjectaccessreviews']);

export async function preflight(client: ApiClient, reqs: readonly Requirement[], timeoutMs = 10_000): Promise<PreflightResult> {
  let version: string;
  try {
    const v = await client.getJSON('/version', { idleTimeoutMs: timeoutMs });
    version = typeof v?.gitVersion === 'string' ? v.gitVersion : 'unknown';
  } catch (err) {
    const e = err instanceof ApiError ? err : new ApiError('connection', String(err));
    if (e.failure === 'unauthorized') return { phase: 'fatal', message: `API server ${client.server} refused the credentials (401): ${e.message}` };
    if (e.failure === 'forbidden') {
      // /version is public on every normal cluster; fall through to the permission checks.
      version = 'unknown';
    } else {
      return { phase: 'unreachable', message: `cannot reach the API server at ${client.server}: ${e.message}` };
    }
  }
  const results = await reviewRequirements(client, reqs, timeoutMs).catch((err) => err as Error);
  if (results instanceof Error) {
    return { phase: 'unreachable', message: `cannot check permissions at ${client.server}: ${results.message}` };
  }
  const denied: string[] = [];
  const optionalDenied = new Map<RouteKind, string[]>();
  for (const { r, allowed } of results) {
    if (allowed) continue;
    if (r.optional) optionalDenied.set(r.optional, [...(optionalDenied.get(r.optional) ?? []), describeRequirement(r)]);
    else denied.push(describeRequirement(r));
  }
  if (denied.length > 0) {
    return {
      phase: 'fatal',
      message: `missing RBAC permissions: cannot ${denied.join('; cannot ')}. Grant them (deploy/base/clusterrole.yaml, or Roles for --namespaces) or narrow --namespaces / use --no-nodes`,
    };
  }
  const warnings = [...optionalDenied].map(
    ([kind, missing]) => `${kind} is not watched (its fields answer empty): cannot ${missing.join('; cannot ')}. Grant them (deploy/base/clusterrole.yaml) to serve ${kind}s`,
  );
  return { phase: 'ok', version, unreadable: [...optionalDenied.keys()], warnings };
}
