/**
 * Who is calling, for both transports: the bearer token of an HTTP request (Authorization
 * header) or of a WebSocket (the upgrade request's Authorization header, else the
 * `connection_init` payload's `Authorization` entry, which is what the explorer's headers editor
 * sends), reviewed by TokenReview (auth/reviews.ts) and turned into the caller's `Access`.
 *
 * `--auth none`: every caller gets `OpenAccess` (no token is asked for or looked at).
 * Tokens never leave this file except to the authenticator: not in logs, metrics or errors.
 */
import { OpenCaller, type Caller } from '../auth/access.ts';
import { identityKey, type SubjectAccessAuthorizer, type TokenAuthenticator } from '../auth/reviews.ts';

export type AuthMode = 'kubernetes' | 'none';

/**
 * Codes of a request refused before it becomes an operation (HTTP only; a WebSocket is closed
 * with 4403 or 1013 instead).
 *
 * | code                        | status | when                                               |
 * |-----------------------------|--------|----------------------------------------------------|
 * | UNAUTHENTICATED             | 401    | no bearer token, or one the API server rejects     |
 * | AUTHENTICATION_UNAVAILABLE  | 503    | the API server could not review the token          |
 */
export const AuthErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  AUTHENTICATION_UNAVAILABLE: 'AUTHENTICATION_UNAVAILABLE',
} as const;

export type CallerOutcome =
  | { readonly kind: 'ok'; readonly caller: Caller }
  /** No token, or one the API server does not accept: HTTP 401, WebSocket 4403. */
  | { readonly kind: 'unauthenticated'; readonly message: string }
  /** The API server could not answer the TokenReview: fail closed (HTTP 503, WebSocket 1013). */
  | { readonly kind: 'unavailable'; readonly message: string };

export class CallerAuth {
  readonly mode: AuthMode;
  private readonly authenticator: TokenAuthenticator | null;
  private readonly authorizer: SubjectAccessAuthorizer | null;

  constructor(o: { mode: 'none' } | { mode: 'kubernetes'; authenticator: TokenAuthenticator; authorizer: SubjectAccessAuthorizer }) {
    this.mode = o.mode;
    this.authenticator = o.mode === 'kubernetes' ? o.authenticator : null;
    this.authorizer = o.mode === 'kubernetes' ? o.authorizer : null;
  }

  /** The caller a token identifies (null: none was sent). Never throws. */
  async callerFor(token: string | null): Promise<CallerOutcome> {
    if (this.authenticator === null || this.authorizer === null) return { kind: 'ok', caller: OpenCaller };
    if (token === null || token === '') {
      return { kind: 'unauthenticated', message: 'authorization: expected a bearer token (header "Authorization: Bearer TOKEN"), got none' };
    }
    try {
      const result = await this.authenticator.authenticate(token);
      if (!result.ok) return { kind: 'unauthenticated', message: 'authorization: expected a bearer token the Kubernetes API server accepts, got one it did not authenticate' };
      return { kind: 'ok', caller: { user: result.user, access: this.authorizer.accessFor(result.user), key: identityKey(result.user) } };
    } catch {
      // AuthenticationUnavailableError: fail closed, and say nothing of the token.
      return { kind: 'unavailable', message: 'authorization: expected the Kubernetes API server to review the token, got no answer (try again)' };
    }
  }
}

/** The token of an `Authorization: Bearer TOKEN` value (case-insensitive scheme), or null. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/**
 * The token of a `connection_init` payload: its `Authorization` (or `authorization`) entry,
 * as the explorer's headers editor sends headers, or null.
 */
export function connectionParamsToken(params: Readonly<Record<string, unknown>> | null): string | null {
  if (params === null) return null;
  return bearerToken(params['Authorization'] ?? params['authorization'] ?? (params['headers'] as Record<string, unknown> | undefined)?.['Authorization']);
}
