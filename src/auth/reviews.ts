/**
 * Delegated authentication and authorization, as aggregated API servers do it: who a bearer
 * token belongs to comes from a TokenReview, what they may see from SubjectAccessReviews, both
 * asked of the API server with the gateway's own credentials and cached the way the API
 * server's webhook authenticator and authorizer cache (docs/kubernetes.md, "Delegated
 * authentication and authorization").
 *
 * Both fail closed: when the API server cannot answer (unreachable, non-2xx, timeout, an answer
 * without a status) the call rejects, and nothing is cached, so the next call asks again.
 * Tokens are kept only as SHA-256 hashes and never appear in errors, logs or observer calls.
 */
import { createHash } from 'node:crypto';
import {
  AllNamespaces,
  ClusterScopedResources,
  AuthorizationUnavailableError,
  ResourceGroup,
  type Access,
  type Resource,
  type UserInfo,
  type Verb,
} from './access.ts';
import { DecisionCache } from './decision-cache.ts';
import { errorText } from '../log.ts';

/** What the reviews need of the API client (`ApiClient` from src/kube/client.ts has it). */
export interface ReviewClient {
  /** POST a JSON body to `path` and resolve with the parsed 2xx answer; reject otherwise. */
  postJSON(path: string, body: unknown, opts: { signal?: AbortSignal; idleTimeoutMs: number }): Promise<unknown>;
}

/** Which review a decision came from. */
export type ReviewKind = 'authn' | 'authz';

/** How a review ended: `error` is a failure to get an answer (the caller failed closed). */
export type ReviewOutcome = 'allowed' | 'denied' | 'error';

/**
 * Watches decisions, for metrics. Called once per `authenticate` and once per question an
 * authorizer answers (a namespaced question that falls through to the namespace is two).
 * Must not throw; what it throws is ignored.
 */
export interface ReviewObserver {
  /**
   * @param cached true when no review was sent for this call (a fresh cache entry, or a review
   *   already in flight for the same question).
   * @param ms how long the call took, in milliseconds.
   */
  onDecision?(kind: ReviewKind, outcome: ReviewOutcome, cached: boolean, ms: number): void;
}

/** The answer of a TokenReview: the caller, or why the token was not accepted. */
export type AuthResult =
  | { readonly ok: true; readonly user: UserInfo }
  | { readonly ok: false; readonly reason: string };

/**
 * The API server could not say who a token belongs to. A subclass of
 * AuthorizationUnavailableError, so one `instanceof` check fails every review closed.
 */
export class AuthenticationUnavailableError extends AuthorizationUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationUnavailableError';
  }
}

export interface TokenAuthenticatorOptions {
  /** Sends the reviews, with the gateway's credentials (which need `create tokenreviews`). */
  readonly client: ReviewClient;
  /**
   * Audiences the token must be valid for (`spec.audiences`). The answer's `status.audiences`
   * must include one of them, else the token is unauthenticated (an audience-unaware
   * authenticator answers without them).
   * @default [] // the API server's own audiences
   */
  readonly audiences?: readonly string[];
  /** How long an authenticated answer is reused. @default 120_000 // 2 minutes */
  readonly authenticatedTtlMs?: number;
  /** How long an unauthenticated answer is reused. @default 10_000 // 10 seconds */
  readonly unauthenticatedTtlMs?: number;
  /** Tokens whose answers are kept; past it the least recently used goes. @default 10_000 // entries */
  readonly maxEntries?: number;
  /** A review that takes longer fails (closed). @default 5_000 // 5 seconds */
  readonly timeoutMs?: number;
  /** Milliseconds since an epoch, for cache expiry. @default Date.now */
  readonly clock?: () => number;
  readonly observer?: ReviewObserver;
}

/** Who a bearer token belongs to, by TokenReview (authentication.k8s.io/v1), cached by token hash. */
export class TokenAuthenticator {
  readonly audiences: readonly string[];
  readonly #client: ReviewClient;
  readonly #timeoutMs: number;
  readonly #observer: ReviewObserver | undefined;
  readonly #cache: DecisionCache<AuthResult>;

  constructor(options: TokenAuthenticatorOptions) {
    this.#client = options.client;
    this.audiences = Object.freeze([...(options.audiences ?? [])]);
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#observer = options.observer;
    const authenticatedTtlMs = options.authenticatedTtlMs ?? 120_000;
    const unauthenticatedTtlMs = options.unauthenticatedTtlMs ?? 10_000;
    this.#cache = new DecisionCache<AuthResult>({
      ttlMs: (r) => (r.ok ? authenticatedTtlMs : unauthenticatedTtlMs),
      ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
  }

  /**
   * Who `token` belongs to. Concurrent calls with the same token share one review.
   * @throws AuthenticationUnavailableError when the API server cannot answer (nothing cached).
   */
  async authenticate(token: string): Promise<AuthResult> {
    const t0 = performance.now();
    if (token === '') {
      observe(this.#observer, 'authn', 'denied', true, t0);
      return EmptyToken;
    }
    try {
      const { value, cached } = await this.#cache.get(tokenKey(token), () => this.#review(token));
      observe(this.#observer, 'authn', value.ok ? 'allowed' : 'denied', cached, t0);
      return value;
    } catch (error) {
      observe(this.#observer, 'authn', 'error', false, t0);
      throw error;
    }
  }

  // Private:

  async #review(token: string): Promise<AuthResult> {
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(this.audiences.length > 0 ? { audiences: this.audiences } : {}) },
    };
    let answer: any;
    try {
      answer = await postWithTimeout(this.#client, TokenReviewPath, body, this.#timeoutMs);
    } catch (error) {
      throw new AuthenticationUnavailableError(`TokenReview failed: ${redact(errorText(error), token)}`);
    }
    const status = answer?.status;
    if (status === null || typeof status !== 'object') {
      throw new AuthenticationUnavailableError('TokenReview failed: expected an answer with a status, got none');
    }
    if (status.authenticated !== true) {
      const why = typeof status.error === 'string' && status.error !== '' ? status.error : 'the token is not valid';
      return Object.freeze({ ok: false as const, reason: redact(why, token) });
    }
    if (this.audiences.length > 0) {
      const granted: unknown[] = Array.isArray(status.audiences) ? status.audiences : [];
      if (!granted.some((a) => this.audiences.includes(a as string))) {
        return Object.freeze({
          ok: false as const,
          reason: `token audiences ${JSON.stringify(granted)} do not include any of ${JSON.stringify(this.audiences)}`,
        });
      }
    }
    const user = userInfoOf(status.user);
    if (user === null) throw new AuthenticationUnavailableError('TokenReview failed: expected status.user with a username, got none');
    return Object.freeze({ ok: true as const, user });
  }
}

export interface SubjectAccessAuthorizerOptions {
  /** Sends the reviews, with the gateway's credentials (which need `create subjectaccessreviews`). */
  readonly client: ReviewClient;
  /** How long an allowed answer is reused. @default 300_000 // 5 minutes */
  readonly allowedTtlMs?: number;
  /** How long a denied answer is reused. @default 30_000 // 30 seconds */
  readonly deniedTtlMs?: number;
  /** Answers kept; past it the least recently used goes. @default 10_000 // entries */
  readonly maxEntries?: number;
  /** A review that takes longer fails (closed). @default 5_000 // 5 seconds */
  readonly timeoutMs?: number;
  /** Milliseconds since an epoch, for cache expiry. @default Date.now */
  readonly clock?: () => number;
  readonly observer?: ReviewObserver;
}

/**
 * What a user may list and watch, by SubjectAccessReview (authorization.k8s.io/v1), cached per
 * (user, uid, groups, extra, verb, resource, namespace).
 */
export class SubjectAccessAuthorizer {
  readonly #client: ReviewClient;
  readonly #timeoutMs: number;
  readonly #observer: ReviewObserver | undefined;
  readonly #cache: DecisionCache<boolean>;

  constructor(options: SubjectAccessAuthorizerOptions) {
    this.#client = options.client;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#observer = options.observer;
    const allowedTtlMs = options.allowedTtlMs ?? 300_000;
    const deniedTtlMs = options.deniedTtlMs ?? 30_000;
    this.#cache = new DecisionCache<boolean>({
      ttlMs: (allowed) => (allowed ? allowedTtlMs : deniedTtlMs),
      ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    });
  }

  /** The Access of `user`: its questions go through this authorizer's cache. */
  accessFor(user: UserInfo): Access {
    const identity = identityKey(user);
    return Object.freeze({
      user,
      allowed: (verb: Verb, resource: Resource, namespace: string) => this.#allowed(user, identity, verb, resource, namespace),
    });
  }

  /**
   * One SubjectAccessReview, cached: may `user` `verb` `resource` in exactly `namespace`
   * (AllNamespaces: cluster-wide)? No cluster-wide fallback; `accessFor` adds it.
   * @throws AuthorizationUnavailableError when the API server cannot answer (nothing cached).
   */
  review(user: UserInfo, verb: Verb, resource: Resource, namespace: string): Promise<boolean> {
    return this.#ask(user, identityKey(user), verb, resource, namespace);
  }

  // Private:

  /** Nodes are cluster-scoped; a cluster-wide allow answers every namespace. */
  async #allowed(user: UserInfo, identity: string, verb: Verb, resource: Resource, namespace: string): Promise<boolean> {
    if (ClusterScopedResources.has(resource) || namespace === AllNamespaces) return this.#ask(user, identity, verb, resource, AllNamespaces);
    if (await this.#ask(user, identity, verb, resource, AllNamespaces)) return true;
    return this.#ask(user, identity, verb, resource, namespace);
  }

  async #ask(user: UserInfo, identity: string, verb: Verb, resource: Resource, namespace: string): Promise<boolean> {
    const t0 = performance.now();
    try {
      const key = `${identity}\u0000${verb}\u0000${resource}\u0000${namespace}`;
      const { value, cached } = await this.#cache.get(key, () => this.#review(user, verb, resource, namespace));
      observe(this.#observer, 'authz', value ? 'allowed' : 'denied', cached, t0);
      return value;
    } catch (error) {
      observe(this.#observer, 'authz', 'error', false, t0);
      throw error;
    }
  }

  async #review(user: UserInfo, verb: Verb, resource: Resource, namespace: string): Promise<boolean> {
    const body = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.username,
        uid: user.uid,
        groups: user.groups,
        extra: user.extra,
        resourceAttributes: {
          verb,
          group: ResourceGroup[resource],
          resource,
          ...(namespace !== AllNamespaces ? { namespace } : {}),
        },
      },
    };
    let answer: any;
    try {
      answer = await postWithTimeout(this.#client, SubjectAccessReviewPath, body, this.#timeoutMs);
    } catch (error) {
      throw new AuthorizationUnavailableError(`SubjectAccessReview failed: ${errorText(error)}`);
    }
    const status = answer?.status;
    if (status === null || typeof status !== 'object') {
      throw new AuthorizationUnavailableError('SubjectAccessReview failed: expected an answer with a status, got none');
    }
    return status.allowed === true && status.denied !== true;
  }
}

/**
 * Everything a SubjectAccessReview is asked with about the user, canonical (sorted), hashed:
 * decisions are cached by it, and subscribers share topics by it.
 */
export function identityKey(user: UserInfo): string {
  const extra = Object.keys(user.extra)
    .sort()
    .map((k) => [k, [...(user.extra[k] ?? [])].sort()]);
  const canonical = JSON.stringify([user.username, user.uid, [...user.groups].sort(), extra]);
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The TokenReview resource. */
export const TokenReviewPath = '/apis/authentication.k8s.io/v1/tokenreviews';
/** The SubjectAccessReview resource. */
export const SubjectAccessReviewPath = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

// Private:

const EmptyToken: AuthResult = Object.freeze({ ok: false, reason: 'the token is empty' });

/** The cache key of a token: its SHA-256, so the token itself is never stored. */
function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}


/** UserInfo from a TokenReview's status.user, frozen; null without a username. */
function userInfoOf(raw: any): UserInfo | null {
  if (raw === null || typeof raw !== 'object' || typeof raw.username !== 'string' || raw.username === '') return null;
  const strings = (v: unknown): readonly string[] => Object.freeze(Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  const extra: Record<string, readonly string[]> = {};
  if (raw.extra !== null && typeof raw.extra === 'object') {
    for (const [k, v] of Object.entries(raw.extra)) extra[k] = strings(v);
  }
  return Object.freeze({
    username: raw.username,
    uid: typeof raw.uid === 'string' ? raw.uid : '',
    groups: strings(raw.groups),
    extra: Object.freeze(extra),
  });
}

async function postWithTimeout(client: ReviewClient, path: string, body: unknown, timeoutMs: number): Promise<any> {
  const signal = AbortSignal.timeout(timeoutMs);
  const posting = client.postJSON(path, body, { signal, idleTimeoutMs: timeoutMs });
  // Whatever the client does with the signal, the review ends at the deadline.
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(`no answer within ${timeoutMs} ms`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([posting, deadline]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
    posting.catch(() => {});
    deadline.catch(() => {});
  }
}

/** The API server may echo the review's spec; a token must never reach a message. */
function redact(text: string, token: string): string {
  return token === '' ? text : text.split(token).join('[redacted]');
}

function observe(observer: ReviewObserver | undefined, kind: ReviewKind, outcome: ReviewOutcome, cached: boolean, t0: number): void {
  if (observer?.onDecision === undefined) return;
  try {
    observer.onDecision(kind, outcome, cached, performance.now() - t0);
  } catch {
    // An observer's failure is not the caller's.
  }
}
