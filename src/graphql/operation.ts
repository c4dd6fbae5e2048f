/**
 * One operation through the gateway's request pipeline, with its limits and codes: parse
 * (TOO_MANY_TOKENS, GRAPHQL_PARSE_FAILED), validate (GRAPHQL_VALIDATION_FAILED or a limit's
 * code), pick the operation (OPERATION_RESOLUTION_FAILURE), coerce variables (BAD_USER_INPUT),
 * execute (resolvers' own codes). It is what Apollo Server does for HTTP, for the places that
 * run graphql-js themselves: graphql-ws's `onSubscribe`, tests and benchmarks.
 *
 * Validation here sees the variables, so `first: $n` costs what `$n` holds (limits.ts).
 */
import {
  GraphQLError,
  execute,
  getOperationAST,
  getVariableValues,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { codeOf, ErrorCode, withCode } from './errors.ts';
import { DefaultLimits, parseWithLimits, validationRules, type Limits } from './limits.ts';

export interface OperationRequest {
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly operationName?: string | null;
}

export type PreparedOperation =
  | {
      readonly kind: 'ready';
      readonly document: DocumentNode;
      readonly operation: OperationDefinitionNode;
      readonly variableValues: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'rejected'; readonly errors: readonly GraphQLError[] };

/**
 * Parse, validate (limits first, then graphql-js's rules), pick the operation and coerce
 * variables; every error carries its code.
 */
export function prepareOperation(schema: GraphQLSchema, request: OperationRequest, limits: Limits = DefaultLimits): PreparedOperation {
  let document: DocumentNode;
  try {
    document = parseWithLimits(request.query, limits);
  } catch (err) {
    if (err instanceof GraphQLError) return { kind: 'rejected', errors: [err] };
    throw err;
  }
  const variables = request.variables ?? {};
  // The limit rules first and alone: they are cheap (fragments measured once), and a document
  // over a limit must not get to spend graphql-js's own validation budget.
  const overLimit = validate(schema, document, validationRules(limits, { variables }));
  if (overLimit.length > 0) return { kind: 'rejected', errors: overLimit.map(coded) };
  const invalid = validate(schema, document, specifiedRules);
  if (invalid.length > 0) return { kind: 'rejected', errors: invalid.map(coded) };
  const operation = getOperationAST(document, request.operationName ?? undefined);
  if (!operation) {
    const names = document.definitions.flatMap((d) => (d.kind === 'OperationDefinition' && d.name ? [d.name.value] : []));
    const expected = request.operationName ? `one of the operations ${JSON.stringify(names)}` : 'an operationName when the document has several operations';
    const got = request.operationName ? JSON.stringify(request.operationName) : 'none';
    return {
      kind: 'rejected',
      errors: [new GraphQLError(`operationName: expected ${expected}, got ${got}`, { extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE } })],
    };
  }
  if (!schema.getRootType(operation.operation)) {
    return {
      kind: 'rejected',
      errors: [
        new GraphQLError(`operation: expected a query, got a ${operation.operation} (the schema has no ${operation.operation} type)`, {
          nodes: operation,
          extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE },
        }),
      ],
    };
  }
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
  if (coerced.errors) return { kind: 'rejected', errors: coerced.errors.map((e) => withCode(e, ErrorCode.BAD_USER_INPUT)) };
  return { kind: 'ready', document, operation, variableValues: coerced.coerced };
}

/**
 * prepareOperation, then execute with `contextValue`. Resolver errors keep their own codes.
 * Queries only: a subscription is OPERATION_RESOLUTION_FAILURE here (graphql-ws subscribes).
 */
export async function executeOperation(
  schema: GraphQLSchema,
  request: OperationRequest,
  contextValue: unknown,
  limits: Limits = DefaultLimits,
): Promise<ExecutionResult> {
  const prepared = prepareOperation(schema, request, limits);
  if (prepared.kind === 'rejected') return { errors: prepared.errors };
  if (prepared.operation.operation === 'subscription') {
    const error = new GraphQLError('operation: expected a query, got a subscription (subscribe over WebSocket)', {
      nodes: prepared.operation,
      extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE },
    });
    return { errors: [error] };
  }
  return execute({
    schema,
    document: prepared.document,
    operationName: request.operationName ?? undefined,
    variableValues: request.variables ?? {},
    contextValue,
  });
}

// Private:

/**
 * A validation error with its code: a limit's own, else GRAPHQL_VALIDATION_FAILED. graphql-js
 * aborts validation with a bare "Validation aborted." when a document exhausts its work
 * budget (e.g. thousands of overlapping fields): say so in the gateway's words.
 */
function coded(error: GraphQLError): GraphQLError {
  if (codeOf(error) !== null) return error;
  if (error.message === 'Validation aborted.') {
    return new GraphQLError('document: expected a document that validates within graphql-js\'s work budget, got one with too many overlapping fields or fragment spreads (validation aborted)', {
      extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED },
    });
  }
  return withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED);
}
