/**
 * The GraphQL side's error policy (docs/design.md, "Error policy"): absence is `null`; a caller's mistake is
 * a `GraphQLError` with a stable `extensions.code` from `ErrorCode` and a message that says
 * what was expected and what arrived; anything else is masked by the server and logged.
 *
 * Messages follow one shape, `<where>: expected <what>, got <what arrived>`, e.g.
 * `first: expected at most 1000 items per page, got 5000`. Inputs are echoed JSON-quoted and
 * cut at 40 characters, so a huge input is never echoed whole.
 */
export { quote } from '../model/text.ts';
import { quote } from '../model/text.ts';
import { GraphQLError, type ASTNode, type GraphQLFormattedError } from 'graphql';
import { describePermission, type Resource, type UserInfo, type Verb } from '../auth/access.ts';

/**
 * Every `extensions.code` the gateway sends. Clients may switch on them: they are stable.
 *
 * | code                          | when                                                        |
 * |-------------------------------|-------------------------------------------------------------|
 * | GRAPHQL_PARSE_FAILED          | the document does not parse (Apollo's code)                 |
 * | GRAPHQL_VALIDATION_FAILED     | the document does not validate against the schema (Apollo) |
 * | BAD_USER_INPUT                | variables do not coerce to their declared types (Apollo)    |
 * | OPERATION_RESOLUTION_FAILURE  | operationName names no operation, or none given for several |
 * | OPERATION_NOT_SUPPORTED       | a mutation (there are none), or a subscription over HTTP    |
 * | INVALID_SELECTOR              | `labelSelector` is not kubectl syntax                       |
 * | INVALID_CURSOR                | `after` is not a cursor of this connection                  |
 * | INVALID_ARGUMENT              | any other argument out of its domain (IP, name, first < 0)  |
 * | PAGE_SIZE_EXCEEDED            | `first` above Limits.maxPageSize                            |
 * | QUERY_TOO_DEEP                | nesting above Limits.maxDepth                               |
 * | TOO_MANY_ALIASES              | aliases above Limits.maxAliases                             |
 * | QUERY_TOO_COSTLY              | estimated cost above Limits.maxCost                         |
 * | TOO_MANY_TOKENS               | the document has more than Limits.maxTokens tokens          |
 * | FORBIDDEN                     | the caller may not list what the field needs: Nodes at all, |
 * |                               | or the one namespace it named (the field is null)           |
 * | AUTHORIZATION_UNAVAILABLE     | the API server could not decide what the caller may see;    |
 * |                               | the field fails closed (null), retry later                  |
 * | NAMESPACE_NOT_WATCHED         | a subscription names a namespace outside `--namespaces`     |
 * |                               | (queries get a warning instead: warnings.ts)                |
 * | INTERNAL_SERVER_ERROR         | anything else (masked)                                      |
 */
export const ErrorCode = {
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  OPERATION_NOT_SUPPORTED: 'OPERATION_NOT_SUPPORTED',
  INVALID_SELECTOR: 'INVALID_SELECTOR',
  INVALID_CURSOR: 'INVALID_CURSOR',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  PAGE_SIZE_EXCEEDED: 'PAGE_SIZE_EXCEEDED',
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  QUERY_TOO_COSTLY: 'QUERY_TOO_COSTLY',
  TOO_MANY_TOKENS: 'TOO_MANY_TOKENS',
  FORBIDDEN: 'FORBIDDEN',
  AUTHORIZATION_UNAVAILABLE: 'AUTHORIZATION_UNAVAILABLE',
  NAMESPACE_NOT_WATCHED: 'NAMESPACE_NOT_WATCHED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes of a bad argument, raised by resolvers during execution. */
export type ArgumentErrorCode = typeof ErrorCode.INVALID_SELECTOR | typeof ErrorCode.INVALID_CURSOR | typeof ErrorCode.INVALID_ARGUMENT | typeof ErrorCode.PAGE_SIZE_EXCEEDED;

/** Codes of a document over one of the limits (limits.ts), raised at parse or validation. */
export type LimitErrorCode = typeof ErrorCode.QUERY_TOO_DEEP | typeof ErrorCode.TOO_MANY_ALIASES | typeof ErrorCode.QUERY_TOO_COSTLY | typeof ErrorCode.TOO_MANY_TOKENS;

/** A caller's bad argument: `message` says "<argument>: expected X, got Y". */
export function badUserInput(code: ArgumentErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/** A document over a limit, located at `nodes` when given. */
export function limitExceeded(code: LimitErrorCode, message: string, nodes?: ASTNode | readonly ASTNode[]): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { code } });
}

/**
 * The caller may not `verb` `resource` in `namespace` (AllNamespaces: cluster-wide), e.g.
 * `nodes: expected permission to list nodes cluster-wide, got denied for user "alice"`.
 */
export function forbidden(verb: Verb, resource: Resource, namespace: string, user: UserInfo | null): GraphQLError {
  const who = user === null ? 'an anonymous caller' : `user ${quote(user.username)}`;
  return new GraphQLError(`${resource}: expected permission to ${describePermission(verb, resource, namespace)}, got denied for ${who}`, {
    extensions: { code: ErrorCode.FORBIDDEN },
  });
}

/**
 * The API server could not decide whether the caller may `verb` `resource` in `namespace`:
 * the field fails closed. `cause` (an AuthorizationUnavailableError) is kept as the original
 * error for logs, never echoed to the caller.
 */
export function authorizationUnavailable(verb: Verb, resource: Resource, namespace: string, cause: Error): GraphQLError {
  return new GraphQLError(`${resource}: expected an authorization decision to ${describePermission(verb, resource, namespace)}, got none (the API server could not answer; retry later)`, {
    originalError: cause,
    extensions: { code: ErrorCode.AUTHORIZATION_UNAVAILABLE },
  });
}

/** `error` with `code` set, keeping its message, locations, path and original error. */
export function withCode(error: GraphQLError, code: ErrorCode): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? error,
    extensions: { ...error.extensions, code },
  });
}

/** The gateway code an error carries, or null when it has none of ours. */
export function codeOf(error: GraphQLError | GraphQLFormattedError): ErrorCode | null {
  const code = error.extensions?.['code'];
  return typeof code === 'string' && isErrorCode(code) ? code : null;
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorCode, code);
}

/**
 * For Apollo Server's `formatError(formatted, error)`: Apollo stamps every validation error
 * GRAPHQL_VALIDATION_FAILED and every parse error GRAPHQL_PARSE_FAILED, hiding the limit codes.
 * This restores QUERY_TOO_DEEP, TOO_MANY_ALIASES and QUERY_TOO_COSTLY from the original error,
 * and TOO_MANY_TOKENS (with this module's message) from graphql-js's token-limit syntax error.
 * Anything else is returned unchanged.
 */
export function restoreLimitCode(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  for (let e: unknown = error, hops = 0; e instanceof Error && hops < 5; e = (e as GraphQLError).originalError, hops++) {
    if (!(e instanceof GraphQLError)) continue;
    const code = codeOf(e);
    if (code !== null && isLimitCode(code) && code !== codeOf(formatted)) {
      return { ...formatted, message: e.message, extensions: { ...formatted.extensions, code } };
    }
    const maxTokens = tokenLimitOf(e);
    if (maxTokens !== null) {
      return { ...formatted, message: tooManyTokensMessage(maxTokens), extensions: { ...formatted.extensions, code: ErrorCode.TOO_MANY_TOKENS } };
    }
  }
  return formatted;
}

/**
 * The token limit a graphql-js syntax error reports ("Document contains more that N tokens",
 * sic, graphql 16), or null when it is another error.
 */
export function tokenLimitOf(error: GraphQLError): number | null {
  const m = /^Syntax Error: Document contains more th(?:an|at) (\d+) tokens\./.exec(error.message);
  return m ? Number(m[1]) : null;
}

export function tooManyTokensMessage(maxTokens: number): string {
  return `tokens: expected at most ${maxTokens} per document, got more (parsing stopped at token ${maxTokens + 1})`;
}


// Private:

function isLimitCode(code: ErrorCode): code is LimitErrorCode {
  return code === ErrorCode.QUERY_TOO_DEEP || code === ErrorCode.TOO_MANY_ALIASES || code === ErrorCode.QUERY_TOO_COSTLY || code === ErrorCode.TOO_MANY_TOKENS;
}
