/**
 * Who is calling and what they may see: the types every layer shares for per-caller
 * authorization over the one shared cache.
 *
 * An `Access` is bound to one caller for one HTTP operation or one subscription event. Loaders
 * ask it before answering; the decision cache behind it (reviews.ts) makes warm answers free,
 * so the hot path makes no API call. `--auth none` uses `OpenAccess`.
 */

/** The caller as the API server's TokenReview describes them (authentication.k8s.io/v1 UserInfo). */
export interface UserInfo {
  readonly username: string;
  readonly uid: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** The verbs the gateway authorizes: queries need `list`, subscriptions `watch`. */
export type Verb = 'list' | 'watch';

/** The resources the cache serves, as RBAC names them. */
export type Resource =
  | 'services'
  | 'endpointslices'
  | 'pods'
  | 'nodes'
  | 'ingresses'
  | 'ingressclasses'
  | 'gatewayclasses'
  | 'gateways'
  | 'httproutes'
  | 'grpcroutes'
  | 'referencegrants';

/** The API group of each resource (for SubjectAccessReview's resourceAttributes). */
export const ResourceGroup: Readonly<Record<Resource, string>> = {
  services: '',
  endpointslices: 'discovery.k8s.io',
  pods: '',
  nodes: '',
  ingresses: 'networking.k8s.io',
  ingressclasses: 'networking.k8s.io',
  gatewayclasses: 'gateway.networking.k8s.io',
  gateways: 'gateway.networking.k8s.io',
  httproutes: 'gateway.networking.k8s.io',
  grpcroutes: 'gateway.networking.k8s.io',
  referencegrants: 'gateway.networking.k8s.io',
};

/** The cluster-scoped resources: asked about cluster-wide only, all or nothing. */
export const ClusterScopedResources: ReadonlySet<Resource> = new Set(['nodes', 'ingressclasses', 'gatewayclasses']);

/** metav1.NamespaceAll: as a namespace, cluster-wide (and the only scope of Nodes). */
export const AllNamespaces = '';

/** One caller's permissions, asked per (verb, resource, namespace). */
export interface Access {
  /** The caller, or null when authorization is off (`--auth none`: every caller sees everything). */
  readonly user: UserInfo | null;
  /**
   * Whether the caller may `verb` `resource` in `namespace` (AllNamespaces: cluster-wide; Nodes
   * are always asked cluster-wide). A cluster-wide allow implies every namespace. Rejects with
   * `AuthorizationUnavailableError` when the API server cannot answer: fail closed, never open.
   */
  allowed(verb: Verb, resource: Resource, namespace: string): Promise<boolean>;
}

/** The API server could not decide (unreachable, 5xx, timeout): the request fails closed. */
export class AuthorizationUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthorizationUnavailableError';
  }
}

/** `--auth none`: everything is allowed, no caller is known. */
export const OpenAccess: Access = Object.freeze({
  user: null,
  allowed: () => Promise.resolve(true),
});

/** A caller who may ask: its access, and a key that is the same for the same identity (subscribers share topics by it). */
export interface Caller {
  readonly user: UserInfo | null;
  readonly access: Access;
  /** '' when authorization is off; else a digest of the identity (username, uid, groups, extra). */
  readonly key: string;
}

/** Everyone is the same anonymous caller who sees everything (`--auth none`). */
export const OpenCaller: Caller = Object.freeze({ user: null, access: OpenAccess, key: '' });

/** "verb resource in namespace NS" / "verb resource cluster-wide", for FORBIDDEN messages and logs. */
export function describePermission(verb: Verb, resource: Resource, namespace: string): string {
  const res = ResourceGroup[resource] ? `${resource}.${ResourceGroup[resource]}` : resource;
  return `${verb} ${res} ${namespace === AllNamespaces ? 'cluster-wide' : `in namespace ${namespace}`}`;
}
