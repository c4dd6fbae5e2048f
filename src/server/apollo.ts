/**
 * Apollo Server 5 behind Node's HTTP server: a thin translator from node:http into Apollo's
 * neutral HTTPGraphQLRequest and back. Apollo's per-field cache-control plugin, landing page,
 * usage reporting and inline tracing are off (they cost and serve no one here); CSRF
 * prevention is on; errors that are not a caller's mistake are masked and logged.
 */
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError, GraphQLSchema, ValidationRule } from 'graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { restoreLimitCode } from '../graphql/errors.ts';
import { errorText, type Logger } from '../log.ts';

/** Codes a caller may see as they are; anything else is masked as INTERNAL_SERVER_ERROR. */
export function isCallerError(code: unknown, callerCodes: ReadonlySet<string>): boolean {
  return typeof code === 'string' && (callerCodes.has(code) || ApolloCallerCodes.has(code));
}

export interface ApolloOptions {
  schema: GraphQLSchema;
  validationRules: ValidationRule[];
  maxTokens: number;
  introspection: boolean;
  /** Codes of our own caller errors (src/graphql/errors.ts). */
  callerCodes: ReadonlySet<string>;
  logger: Logger;
}

export async function startApollo<C extends BaseContext>(o: ApolloOptions): Promise<ApolloServer<C>> {
  const apollo = new ApolloServer<C>({
    schema: o.schema,
    ...gatewayApolloSettings(o),
    logger: apolloLogger(o.logger),
    // Apollo stamps every validation error GRAPHQL_VALIDATION_FAILED (and the token limit a parse
    // error): put back QUERY_TOO_DEEP, TOO_MANY_ALIASES, QUERY_TOO_COSTLY and TOO_MANY_TOKENS first.
    formatError: (formatted: GraphQLFormattedError, error: unknown) => maskError(restoreLimitCode(formatted, error), error, o.callerCodes, o.logger),
  });
  await apollo.start();
  return apollo;
}

/** Apollo settings the gateway runs with, whatever serves its schema (also used by bench/). */
export function gatewayApolloSettings(o: Pick<ApolloOptions, 'validationRules' | 'maxTokens' | 'introspection'>) {
  return {
    validationRules: o.validationRules,
    parseOptions: { maxTokens: o.maxTokens },
    introspection: o.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    // With introspection off, do not suggest field names in validation errors either.
    hideSchemaDetailsFromClientErrors: !o.introspection,
    stopOnTerminationSignals: false, // main owns the one shutdown path
    plugins: [
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  };
}

/**
 * Serve one HTTP request through Apollo. Bodies over `maxBodyBytes` get 413 with a coded
 * GraphQL error; a body that is not JSON gets 400 (from Apollo).
 */
export async function serveGraphQL<C extends BaseContext>(
  apollo: ApolloServer<C>,
  req: IncomingMessage,
  res: ServerResponse,
  context: () => Promise<C>,
  maxBodyBytes: number,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  let body: unknown = undefined;
  if (req.method === 'POST') {
    const text = await readBody(req, maxBodyBytes);
    if (text === null) {
      sendJSON(res, 413, {
        errors: [{ message: `request body: expected at most ${maxBodyBytes} bytes, got more`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
      });
      return;
    }
    const type = headers.get('content-type') ?? '';
    if (type.startsWith('application/json') || type.startsWith('application/graphql-response+json')) {
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        sendJSON(res, 400, {
          errors: [{ message: `request body: expected JSON, got ${JSON.stringify(text.slice(0, 40))}`, extensions: { code: 'BAD_REQUEST' } }],
        });
        return;
      }
    } else {
      body = text;
    }
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const out = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context,
  });
  res.statusCode = out.status ?? 200;
  for (const [k, v] of out.headers) res.setHeader(k, v);
  if (out.body.kind === 'complete') {
    res.end(out.body.string);
  } else {
    for await (const chunk of out.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

export function sendJSON(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// Private:

const ApolloCallerCodes = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

function maskError(formatted: GraphQLFormattedError, error: unknown, callerCodes: ReadonlySet<string>, logger: Logger): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (isCallerError(code, callerCodes)) {
    const { stacktrace: _drop, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { ...formatted, extensions };
  }
  logger.error('query failed', { error: errorText(error), path: formatted.path?.join('.') });
  return { message: 'Internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** The body as text, or null when it exceeds `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function apolloLogger(l: Logger) {
  return {
    debug: (m: string) => l.debug(m),
    info: (m: string) => l.info(m),
    warn: (m: string) => l.warn(m),
    error: (m: string) => l.error(m),
  };
}
