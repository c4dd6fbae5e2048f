/**
 * The demo cluster's authenticator and authorizer: TokenReview and SubjectAccessReview answered
 * as kube-apiserver answers them, for two fixed tokens, so per-caller identity can be tried on
 * the demo cluster without a real one.
 *
 * - `demo-admin` (user `demo-admin`): may get, list and watch everything.
 * - `demo-shop` (user `demo-shop`): may get, list and watch namespaced resources in namespace
 *   `shop` only; nothing cluster-wide, no Nodes.
 * - any other token: `authenticated: false`.
 *
 * The tokens are valid for one audience, {@link DemoAudience} (the API server's own, used when a
 * review names none). Answers are pure functions of the request body; server.ts serves them.
 */
import type { StatusJson } from './types.ts';

/** The demo cluster's bearer tokens, each also the username it authenticates as. */
export const DemoTokens = Object.freeze({
  /** May get, list and watch everything. */
  admin: 'demo-admin',
  /** May get, list and watch in namespace `shop` only (no Nodes, nothing cluster-wide). */
  shop: 'demo-shop',
} as const);

/** The namespace `demo-shop` may read. */
export const DemoShopNamespace = 'shop';

/** The audience demo tokens are valid for, as a real API server's `--api-audiences`. */
export const DemoAudience = 'https://kubernetes.default.svc.cluster.local';

/** What a review request is answered with: the body and its HTTP code. */
export interface ReviewAnswer {
  readonly code: number;
  readonly body: unknown;
}

/** Answers a POSTed authentication.k8s.io/v1 TokenReview (the spec is echoed, as the real server does). */
export function answerTokenReview(request: unknown): ReviewAnswer {
  const spec = specOf(request);
  if (spec === null) return failure(badRequest('expected a TokenReview with a spec'));
  const token = typeof spec['token'] === 'string' ? spec['token'] : '';
  if (token === '') return failure(badRequest('token is required for TokenReview in authentication'));
  const audiences = Array.isArray(spec['audiences']) ? (spec['audiences'] as unknown[]).filter((a): a is string => typeof a === 'string') : [];
  const user = DemoUsers.get(token);
  let status: Record<string, unknown>;
  if (user === undefined) {
    status = { user: {}, error: '[invalid bearer token, token lookup failed]' };
  } else if (audiences.length > 0 && !audiences.includes(DemoAudience)) {
    status = { user: {}, error: `[invalid bearer token, token audiences ${JSON.stringify([DemoAudience])} is invalid for the target audiences ${JSON.stringify(audiences)}]` };
  } else {
    status = { authenticated: true, user, audiences: [DemoAudience] };
  }
  return { code: 201, body: review('authentication.k8s.io/v1', 'TokenReview', spec, status) };
}

/** Answers a POSTed authorization.k8s.io/v1 SubjectAccessReview by the demo users' fixed rules. */
export function answerSubjectAccessReview(request: unknown): ReviewAnswer {
  const spec = specOf(request);
  if (spec === null) return failure(badRequest('expected a SubjectAccessReview with a spec'));
  const user = typeof spec['user'] === 'string' ? spec['user'] : '';
  const groups = Array.isArray(spec['groups']) ? spec['groups'] : [];
  const attrs = spec['resourceAttributes'];
  const nonResource = spec['nonResourceAttributes'];
  if (user === '' && groups.length === 0) return failure(invalid('spec.user', 'at least one of user or group must be specified'));
  if ((attrs === undefined) === (nonResource === undefined)) {
    return failure(invalid('spec.resourceAttributes', 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  }
  const a = (attrs ?? {}) as Record<string, unknown>;
  const verb = String(a['verb'] ?? '');
  const namespace = String(a['namespace'] ?? '');
  const resource = String(a['resource'] ?? '');
  const readOnly = verb === 'get' || verb === 'list' || verb === 'watch';
  let status: Record<string, unknown>;
  if (attrs !== undefined && readOnly && user === DemoTokens.admin) {
    status = { allowed: true, reason: `demo: ${DemoTokens.admin} may read everything` };
  } else if (attrs !== undefined && readOnly && user === DemoTokens.shop && namespace === DemoShopNamespace && resource !== 'nodes' && resource !== 'namespaces') {
    status = { allowed: true, reason: `demo: ${DemoTokens.shop} may read namespace ${DemoShopNamespace}` };
  } else {
    // RBAC has no opinion rather than denying: allowed false, no `denied`, an empty reason.
    status = { allowed: false };
  }
  return { code: 201, body: review('authorization.k8s.io/v1', 'SubjectAccessReview', spec, status) };
}

// Private:

const DemoUsers: ReadonlyMap<string, Readonly<Record<string, unknown>>> = new Map(
  Object.values(DemoTokens).map((name) => [
    name,
    Object.freeze({ username: name, uid: `${name}-uid`, groups: ['system:authenticated'] }),
  ]),
);

function specOf(request: unknown): Record<string, unknown> | null {
  if (request === null || typeof request !== 'object') return null;
  const spec = (request as Record<string, unknown>)['spec'];
  return spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? (spec as Record<string, unknown>) : null;
}

function review(apiVersion: string, kind: string, spec: Record<string, unknown>, status: Record<string, unknown>): unknown {
  return { kind, apiVersion, metadata: { creationTimestamp: null }, spec, status };
}

function failure(status: StatusJson): ReviewAnswer {
  return { code: status.code, body: status };
}

function badRequest(message: string): StatusJson {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: 'BadRequest', code: 400 };
}

function invalid(field: string, message: string): StatusJson {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `SubjectAccessReview.authorization.k8s.io "" is invalid: ${field}: Invalid value: "null": ${message}`,
    reason: 'Invalid',
    details: { group: 'authorization.k8s.io', kind: 'SubjectAccessReview', causes: [{ reason: 'FieldValueInvalid', message, field }] },
    code: 422,
  };
}
