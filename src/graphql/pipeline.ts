/**
 * The one operation pipeline: every request, over HTTP (through Apollo Server, see
 * server/apollo.ts) or WebSocket (the fan-out), becomes an operation here and nowhere else.
 *
 *   parse (TOO_MANY_TOKENS, GRAPHQL_PARSE_FAILED)
 *   → the limit rules, alone and first (QUERY_TOO_DEEP, TOO_MANY_ALIASES, QUERY_TOO_COSTLY)
 *   → graphql-js's rules and, when turned off, the introspection rule (GRAPHQL_VALIDATION_FAILED)
 *   → pick the operation (OPERATION_RESOLUTION_FAILURE)
 *   → its type on this transport (OPERATION_NOT_SUPPORTED: no mutations; subscriptions only
 *     over WebSocket)
 *   → coerce variables (BAD_USER_INPUT)
 *   → for a subscription, check the root field's arguments before the first event
 *     (INVALID_ARGUMENT, INVALID_SELECTOR, INVALID_CURSOR).
 *
 * Parsing and validation do not depend on variables, so their outcome is cached per document
 * text (bounded): `first: $n` is costed by its default or the page-size cap, the same for
 * every set of variables (limits.ts).
 *
 * Queries execute compiled (graphql-jit: one function per checked operation, compiled on first
 * use and kept as long as its document is cached), or with graphql-js's `execute` where an
 * operation does not compile or compiled execution is turned off. Both give the same answers
 * and the same errors (test/unit/graphql-execution.test.ts runs every query of the specs through
 * both).
 *
 * One error formatter and one masking policy for both transports (`formatError`): a coded
 * caller error is shown as it is; anything else is logged with its stack and answered as
 * INTERNAL_SERVER_ERROR without details.
 */
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import {
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
import { CursorError, decodeCursor } from '../model/cursor.ts';
import { parseDuration } from '../model/text.ts';
import type { Selector } from '../model/selector.ts';
import { hostArg, nameArg, namespaceArg, selectorArg } from './args.ts';
import { requestOfUrl } from '../model/ingress-match.ts';
import { badUserInput, ErrorCode, isErrorCode, quote, withCode } from './errors.ts';
import { DefaultLimits, parseWithLimits, validationRules, type Limits } from './limits.ts';
import type { Logger } from '../log.ts';
import { withWarnings } from './warnings.ts';

/** Where a request arrived. Queries run on both; subscriptions only over WebSocket. */
export type Transport = 'http' | 'ws';

/** The transport-neutral request. */
export interface OperationRequest {
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly operationName?: string | null;
}

/** A subscription's root field, its response key and its checked arguments. */
export interface SubscriptionRoot {
  readonly field: string;
  readonly responseKey: string;
  readonly args: SubscriptionArgs;
}

/** Root-field arguments of a subscription, checked; null where not given (or not declared). */
export interface SubscriptionArgs {
  readonly namespace: string | null;
  readonly name: string | null;
  readonly labelSelector: Selector | null;
  readonly node: string | null;
  readonly zone: string | null;
  /** @default true */
  readonly snapshot: boolean;
  /** The sequence number the `after` cursor encodes, or null. */
  readonly after: string | null;
  /** `serviceHealth`: ready endpoints a healthy Service has at least. @default 1 */
  readonly minReady: number;
  /** `serviceHealth`: ready fraction a healthy Service has at least, or null. */
  readonly minReadyFraction: number | null;
  /** `endpointChanges`: the coalescing interval in ms, or null. */
  readonly coalesceMs: number | null;
  /** `endpointChanges(host:, path:)`: the request whose routed Services are followed (host lower-case, path "/" by default), or null. */
  readonly route: { readonly host: string; readonly path: string } | null;
}

export type PreparedOperation =
  | {
      readonly kind: 'query';
      readonly document: DocumentNode;
      readonly operation: OperationDefinitionNode;
      /** As the caller sent them (graphql-js's execute coerces them again). */
      readonly variables: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'subscription';
      readonly document: DocumentNode;
      readonly operation: OperationDefinitionNode;
      readonly variables: Readonly<Record<string, unknown>>;
      readonly root: SubscriptionRoot;
    }
  | { readonly kind: 'rejected'; readonly errors: readonly GraphQLError[] };

export interface PipelineOptions {
  readonly schema: GraphQLSchema;
  /** @default DefaultLimits */
  readonly limits?: Limits;
  /** Whether `__schema` and `__type` may be asked. @default true */
  readonly introspection?: boolean;
  /** Where masked errors are logged (with their stack). */
  readonly logger: Logger;
  /** Documents whose parse and validation outcome is kept. @default 1_000 // documents */
  readonly documentCacheSize?: number;
  /**
   * How queries execute: `compiled` (graphql-jit, falling back to graphql-js for an operation
   * that does not compile) or `graphql-js` always. @default 'compiled'
   */
  readonly execution?: Execution;
}

export type Execution = 'compiled' | 'graphql-js';

/** Codes a caller may see as they are: ours, plus Apollo's request-level ones. */
export const CallerCodes: ReadonlySet<string> = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export class OperationPipeline {
  readonly schema: GraphQLSchema;
  readonly limits: Limits;
  readonly introspection: boolean;
  readonly execution: Execution;
  private readonly logger: Logger;
  private readonly cacheSize: number;
  private readonly documents = new Map<string, Checked>();
  /** Per checked operation: its compiled form, or null when it does not compile (graphql-js runs it). */
  private readonly compiled = new WeakMap<OperationDefinitionNode, CompiledQuery | null>();
  private readonly limitRules: readonly ValidationRule[];
  private readonly schemaRules: readonly ValidationRule[];

  constructor(o: PipelineOptions) {
    this.schema = o.schema;
    this.limits = o.limits ?? DefaultLimits;
    this.introspection = o.introspection ?? true;
    this.logger = o.logger;
    this.cacheSize = o.documentCacheSize ?? 1_000;
    this.execution = o.execution ?? 'compiled';
    this.limitRules = validationRules(this.limits);
    this.schemaRules = this.introspection ? specifiedRules : [...specifiedRules, noIntrospectionRule];
  }

  /** Turn a request into an operation ready to run, or the coded errors that reject it. Never throws. */
  prepare(request: OperationRequest, transport: Transport): PreparedOperation {
    const checked = this.check(request.query);
    if (checked.errors !== null) return { kind: 'rejected', errors: checked.errors };
    const document = checked.document!;
    const operation = getOperationAST(document, request.operationName ?? undefined);
    if (!operation) return { kind: 'rejected', errors: [operationNotFound(document, request.operationName ?? null)] };
    const unsupported = operationTypeError(operation, transport);
    if (unsupported) return { kind: 'rejected', errors: [unsupported] };
    const variables = request.variables ?? {};
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
    if (coerced.errors) return { kind: 'rejected', errors: coerced.errors.map((e) => withCode(e, ErrorCode.BAD_USER_INPUT)) };
    if (operation.operation === 'query') return { kind: 'query', document, operation, variables };
    try {
      return { kind: 'subscription', document, operation, variables, root: this.subscriptionRoot(operation, coerced.coerced) };
    } catch (err) {
      if (err instanceof GraphQLError) return { kind: 'rejected', errors: [err] };
      throw err;
    }
  }

  /** Execute a prepared query with `contextValue`; errors are formatted and masked, the context's warnings added as `extensions.warnings`. */
  async executeQuery(prepared: Extract<PreparedOperation, { kind: 'query' }>, contextValue: unknown): Promise<FormattedExecutionResult> {
    return withWarnings(this.formatResult(await this.execute(prepared.document, prepared.operation, prepared.variables, contextValue)), contextValue);
  }

  /**
   * Execute a checked query operation of `document` (from `prepare`): compiled when it compiles,
   * else with graphql-js. Errors come in document order (`inDocumentOrder`), not in the order
   * their fields happened to fail, so that both paths, and two runs, list them alike. They are
   * not formatted yet (Apollo formats them through `formatError`; `executeQuery` does it for the
   * other callers).
   */
  execute(document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>, contextValue: unknown): ExecutionResult | Promise<ExecutionResult> {
    const compiled = this.execution === 'compiled' ? this.compiledOf(document, operation) : null;
    const result =
      compiled !== null
        ? compiled.query(undefined, contextValue, variables as Record<string, unknown>)
        : execute({ schema: this.schema, document, operationName: operation.name?.value, variableValues: variables, contextValue });
    return isPromise(result) ? result.then(inDocumentOrder) : inDocumentOrder(result);
  }

  /** prepare, then executeQuery, or the rejection: what a query costs on any transport (tests, benchmarks). */
  async run(request: OperationRequest, transport: Transport, contextValue: unknown): Promise<FormattedExecutionResult> {
    const prepared = this.prepare(request, transport);
    switch (prepared.kind) {
      case 'rejected':
        return { errors: prepared.errors.map((e) => this.formatError(e)) };
      case 'query':
        return this.executeQuery(prepared, contextValue);
      case 'subscription':
        return { errors: [this.formatError(operationTypeError(prepared.operation, 'http')!)] };
      default:
        return prepared satisfies never;
    }
  }

  /** An execution result with every error through `formatError`. */
  formatResult(result: ExecutionResult): FormattedExecutionResult {
    if (!result.errors || result.errors.length === 0) return { data: result.data };
    return { data: result.data, errors: result.errors.map((e) => this.formatError(e)) };
  }

  /**
   * The one masking policy. `error` is a GraphQLError (or anything thrown); `formatted` its
   * formatted form when someone else formatted it already (Apollo). A caller error keeps its
   * message, locations, path and code (no stack); anything else is logged with its stack and
   * answered as INTERNAL_SERVER_ERROR. With introspection off, "Did you mean" suggestions are
   * dropped so that field names do not leak.
   */
  formatError(error: unknown, formatted?: GraphQLFormattedError): GraphQLFormattedError {
    const f = formatted ?? (error instanceof GraphQLError ? error.toJSON() : { message: String(error) });
    const code = f.extensions?.['code'];
    if (typeof code === 'string' && CallerCodes.has(code)) {
      const extensions: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(f.extensions ?? {})) if (k !== 'stacktrace' && k !== 'exception' && k !== 'http') extensions[k] = v;
      const message = this.introspection ? f.message : f.message.replace(/ Did you mean .*\?$/, '');
      return { message, ...(f.locations ? { locations: f.locations } : {}), ...(f.path ? { path: f.path } : {}), extensions };
    }
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    this.logger.error('operation failed', {
      error: original instanceof Error ? original.message : String(original),
      stack: original instanceof Error ? original.stack : undefined,
      path: f.path?.join('.'),
    });
    return { message: 'Internal server error', ...(f.path ? { path: f.path } : {}), extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  }

  /**
   * One log line for a request that was denied something (FORBIDDEN errors in its answer),
   * naming the user and what was denied (never a token). Nothing when nothing was denied.
   */
  reportDenied(username: string | null | undefined, errors: readonly GraphQLFormattedError[] | undefined): void {
    if (!errors) return;
    const denied = [...new Set(errors.filter((e) => e.extensions?.['code'] === ErrorCode.FORBIDDEN).map((e) => e.message))];
    if (denied.length === 0) return;
    this.logger.info('request denied', { user: username ?? null, denied: denied.slice(0, 5).join('; '), count: denied.length });
  }

  /** Which path executes a checked query operation of `document`: `compiled` when it compiles. */
  executionOf(document: DocumentNode, operation: OperationDefinitionNode): Execution {
    return this.execution === 'compiled' && this.compiledOf(document, operation) !== null ? 'compiled' : 'graphql-js';
  }

  // Private:

  /** The compiled form of `operation`, compiled once; null when graphql-jit cannot compile it. */
  private compiledOf(document: DocumentNode, operation: OperationDefinitionNode): CompiledQuery | null {
    let c = this.compiled.get(operation);
    if (c !== undefined) return c;
    c = null;
    try {
      const out = compileQuery(this.schema, document, operation.name?.value, CompileOptions);
      if (isCompiledQuery(out)) c = out;
      else this.logger.debug('operation not compiled; graphql-js executes it', { operation: operation.name?.value ?? null, errors: (out.errors ?? []).map((e) => e.message).join('; ') });
    } catch (err) {
      this.logger.debug('operation not compiled; graphql-js executes it', { operation: operation.name?.value ?? null, error: err instanceof Error ? err.message : String(err) });
    }
    this.compiled.set(operation, c);
    return c;
  }

  /** Parse and validate once per document text (bounded cache, oldest dropped first). */
  private check(query: string): Checked {
    const hit = this.documents.get(query);
    if (hit) return hit;
    const checked = this.parseAndValidate(query);
    if (this.documents.size >= this.cacheSize) this.documents.delete(this.documents.keys().next().value!);
    this.documents.set(query, checked);
    return checked;
  }

  private parseAndValidate(query: string): Checked {
    let document: DocumentNode;
    try {
      document = parseWithLimits(query, this.limits);
    } catch (err) {
      if (err instanceof GraphQLError) return { document: null, errors: [err] };
      throw err;
    }
    // The limit rules first and alone: they are cheap, and a document over a limit must not get
    // to spend graphql-js's own validation budget.
    const overLimit = validate(this.schema, document, this.limitRules);
    if (overLimit.length > 0) return { document: null, errors: overLimit.map(coded) };
    const invalid = validate(this.schema, document, this.schemaRules);
    if (invalid.length > 0) return { document: null, errors: invalid.map(coded) };
    return { document, errors: null };
  }

  private subscriptionRoot(operation: OperationDefinitionNode, variables: Record<string, unknown>): SubscriptionRoot {
    // graphql-js's SingleFieldSubscriptionsRule has made sure there is exactly one root field.
    const field = operation.selectionSet.selections[0] as FieldNode;
    const name = field.name.value;
    const def = this.schema.getSubscriptionType()!.getFields()[name]!;
    const raw = getArgumentValues(def, field, variables) as Record<string, unknown>;
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    const namespace = str(raw['namespace']);
    const objectName = str(raw['name']);
    const node = str(raw['node']);
    const zone = str(raw['zone']);
    const after = str(raw['after']);
    if (objectName !== null && namespace === null) {
      throw badUserInput(ErrorCode.INVALID_ARGUMENT, `namespace: expected a namespace with name ${quote(objectName)}, got none`);
    }
    const minReady = typeof raw['minReady'] === 'number' ? raw['minReady'] : 1;
    if (minReady < 0) throw badUserInput(ErrorCode.INVALID_ARGUMENT, `minReady: expected at least 0, got ${minReady}`);
    const minReadyFraction = typeof raw['minReadyFraction'] === 'number' ? raw['minReadyFraction'] : null;
    if (minReadyFraction !== null && !(minReadyFraction >= 0 && minReadyFraction <= 1)) {
      throw badUserInput(ErrorCode.INVALID_ARGUMENT, `minReadyFraction: expected a fraction from 0 to 1, got ${minReadyFraction}`);
    }
    const coalesce = str(raw['coalesce']);
    const coalesceMs = coalesce === null ? null : parseDuration(coalesce);
    if (coalesce !== null && (coalesceMs === null || coalesceMs < 100 || coalesceMs > 3_600_000)) {
      throw badUserInput(ErrorCode.INVALID_ARGUMENT, `coalesce: expected a duration from 100ms to 1h (e.g. 2s), got ${quote(coalesce)}`);
    }
    const route = routeArgs(str(raw['host']), str(raw['path']), objectName, str(raw['labelSelector']));
    let seq: string | null = null;
    if (after !== null) {
      try {
        seq = decodeCursor(name, after);
      } catch (err) {
        if (err instanceof CursorError) throw badUserInput(ErrorCode.INVALID_CURSOR, `after: expected ${err.expected}, got ${err.got}`);
        throw err;
      }
    }
    return {
      field: name,
      responseKey: field.alias?.value ?? name,
      args: {
        namespace: namespace === null ? null : namespaceArg(namespace),
        name: objectName === null ? null : nameArg('name', objectName),
        labelSelector: selectorArg(str(raw['labelSelector'])),
        node: node === null ? null : nameArg('node', node),
        zone: zone === null ? null : zoneArg(zone),
        snapshot: raw['snapshot'] !== false,
        after: seq,
        minReady,
        minReadyFraction,
        coalesceMs,
        route,
      },
    };
  }
}

// Private:

/**
 * graphql-jit's options: no JSON serializer of its own (Apollo serializes the result), leaves
 * serialized by their scalar and enum types as graphql-js does.
 */
const CompileOptions = { customJSONSerializer: false, disableLeafSerialization: false } as const;

/**
 * The result with its errors sorted by where they are in the document (line, column of their
 * first location), then by path (list indexes in numeric order); errors without a location keep
 * their place after those with one. Execution order depends on which promise settles first.
 */
function inDocumentOrder<R extends ExecutionResult>(result: R): R {
  const errors = result.errors;
  if (errors === undefined || errors.length < 2) return result;
  return { ...result, errors: [...errors].sort(byDocumentPosition) };
}

function byDocumentPosition(a: GraphQLError, b: GraphQLError): number {
  const la = a.locations?.[0];
  const lb = b.locations?.[0];
  if (la === undefined || lb === undefined) return la === undefined ? (lb === undefined ? 0 : 1) : -1;
  if (la.line !== lb.line) return la.line - lb.line;
  if (la.column !== lb.column) return la.column - lb.column;
  const pa = a.path ?? [];
  const pb = b.path ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return pa.length - pb.length;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

interface Checked {
  readonly document: DocumentNode | null;
  readonly errors: readonly GraphQLError[] | null;
}

/**
 * `endpointChanges(host:, path:)`: a hostname (no wildcard, scheme or port) and a URL path
 * (default "/"), normalized as `trace` normalizes a URL; neither with `name` or `labelSelector`
 * (the routes choose the Services).
 */
function routeArgs(host: string | null, path: string | null, name: string | null, labelSelector: string | null): SubscriptionArgs['route'] {
  if (host === null) {
    if (path !== null) throw badUserInput(ErrorCode.INVALID_ARGUMENT, `host: expected a hostname with path ${quote(path)}, got none`);
    return null;
  }
  const h = hostArg(host, false);
  if (name !== null || labelSelector !== null) {
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, `host: expected no ${name !== null ? 'name' : 'labelSelector'} with a host (its routes choose the Services), got ${name !== null ? `name ${quote(name)}` : `labelSelector ${quote(labelSelector!)}`}`);
  }
  const p = path ?? '/';
  if (!p.startsWith('/') || /[?#\s]/.test(p) || p.length > 2048) {
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, `path: expected a URL path starting with "/" (no query, fragment or spaces, at most 2048 characters), got ${quote(p.slice(0, 100))}`);
  }
  const request = requestOfUrl(`http://${h}${p}`);
  return { host: request.host, path: request.path };
}

/** A label value, as `topology.kubernetes.io/zone` holds: at most 63 of A-Z, a-z, 0-9, "-", "_", ".". */
function zoneArg(zone: string): string {
  if (zone.length > 63 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(zone) || zone === '') {
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, `zone: expected a label value (1 to 63 characters of A-Z, a-z, 0-9, "-", "_" and "."), got ${quote(zone)}`);
  }
  return zone;
}

function operationNotFound(document: DocumentNode, operationName: string | null): GraphQLError {
  const names = document.definitions.flatMap((d) => (d.kind === 'OperationDefinition' && d.name ? [d.name.value] : []));
  const expected = operationName !== null ? `one of the operations ${JSON.stringify(names)}` : 'an operationName when the document has several operations';
  const got = operationName !== null ? quote(operationName) : 'none';
  return new GraphQLError(`operationName: expected ${expected}, got ${got}`, { extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE } });
}

/** OPERATION_NOT_SUPPORTED for an operation type this transport does not serve, else null. */
function operationTypeError(operation: OperationDefinitionNode, transport: Transport): GraphQLError | null {
  if (operation.operation === 'mutation') {
    return new GraphQLError('operation: expected a query or a subscription, got a mutation (the gateway is read-only: it has no mutations)', {
      nodes: operation,
      extensions: { code: ErrorCode.OPERATION_NOT_SUPPORTED },
    });
  }
  if (operation.operation === 'subscription' && transport === 'http') {
    return new GraphQLError('operation: expected a query over HTTP, got a subscription (subscribe over WebSocket at /graphql, protocol graphql-transport-ws)', {
      nodes: operation,
      extensions: { code: ErrorCode.OPERATION_NOT_SUPPORTED },
    });
  }
  return null;
}

/**
 * A validation error with its code: a limit's own, else GRAPHQL_VALIDATION_FAILED. graphql-js
 * aborts validation with a bare "Validation aborted." when a document exhausts its work
 * budget (e.g. thousands of overlapping fields): say so in the gateway's words.
 */
function coded(error: GraphQLError): GraphQLError {
  const code = error.extensions?.['code'];
  if (typeof code === 'string' && isErrorCode(code)) return error;
  if (error.message === 'Validation aborted.') {
    return new GraphQLError("document: expected a document that validates within graphql-js's work budget, got one with too many overlapping fields or fragment spreads (validation aborted)", {
      extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED },
    });
  }
  return withCode(error, ErrorCode.GRAPHQL_VALIDATION_FAILED);
}

/** With introspection turned off: `__schema` and `__type` are refused (`__typename` stays). */
const noIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    const name = node.name.value;
    if (name === '__schema' || name === '__type') {
      context.reportError(
        new GraphQLError(`introspection: expected no ${name} field (this gateway runs with --no-introspection; start it without that flag to allow introspection), got one`, {
          nodes: node,
          extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED },
        }),
      );
    }
  },
});
