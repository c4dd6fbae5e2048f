/**
 * Apollo Server 5 behind Node's HTTP server: a thin translator from node:http into Apollo's
 * neutral HTTPGraphQLRequest and back. Operations are prepared by the gateway's one pipeline
 * (graphql/pipeline.ts) through the `usePipeline` plugin and executed by it (compiled where the
 * operation compiles) in that plugin's `responseForOperation`; answers with errors reach Apollo's
 * execution stage through its executor seam (`pipelineExecutor`), and errors are formatted and
 * masked by the pipeline.
 * Apollo's per-field cache-control plugin, landing page, usage reporting and inline tracing
 * are off (they cost and serve no one here); CSRF prevention is on.
 */
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { parse, printSchema, type ExecutionResult, type GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OperationPipeline } from '../graphql/pipeline.ts';
import type { Logger } from '../log.ts';
import { warningsOf } from '../graphql/warnings.ts';

export interface ApolloOptions {
  /** The one operation pipeline (src/graphql/pipeline.ts): Apollo parses and validates nothing itself. */
  pipeline: OperationPipeline;
  logger: Logger;
}

export async function startApollo<C extends BaseContext>(o: ApolloOptions): Promise<ApolloServer<C>> {
  const apollo = new ApolloServer<C>({
    ...gatewayApolloSettings(o.pipeline),
    logger: apolloLogger(o.logger),
  });
  await apollo.start();
  return apollo;
}

/**
 * Apollo settings the gateway runs with, whatever serves its schema (also used by bench/):
 * the pipeline's schema, every operation prepared by `pipeline` (the `usePipeline` plugin) and
 * executed by it (`pipelineExecutor`), errors through its one formatter, and what costs and
 * serves no one is off.
 */
export function gatewayApolloSettings(pipeline: OperationPipeline) {
  const executed: Executed = new WeakMap();
  return {
    gateway: pipelineExecutor(pipeline, executed),
    // The pipeline decides; Apollo's own introspection switch would be a second rule.
    introspection: true,
    // The pipeline caches checked documents; Apollo's store would skip the pipeline.
    documentStore: null,
    formatError: (formatted: GraphQLFormattedError, error: unknown) => pipeline.formatError(error, formatted),
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false, // main owns the one shutdown path
    plugins: [
      usePipeline(pipeline, executed),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  };
}

/**
 * Routes Apollo's requests through the pipeline: once the source is known, the pipeline
 * prepares the operation and hands Apollo the checked document, so Apollo neither parses nor
 * validates. A rejected operation is answered 400 with the pipeline's formatted errors before
 * anything executes (a placeholder document keeps Apollo from parsing the source itself).
 *
 * A checked query is executed here, in `responseForOperation`: an answer without errors is
 * Apollo's response as it stands (what Apollo's execution stage would make of it, without that
 * stage's per-request work: its execution hooks, its content negotiation for incremental
 * delivery, the executor's request context). An answer with errors, or a failure, is kept in
 * `executed` for the executor (`pipelineExecutor`), so that Apollo's execution stage formats
 * and answers it as ever; the operation runs once either way.
 */
export function usePipeline(pipeline: OperationPipeline, executed: Executed): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      let rejected: readonly GraphQLError[] | null = null;
      return {
        async didResolveSource(rc) {
          const prepared = pipeline.prepare({ query: rc.source, variables: rc.request.variables ?? null, operationName: rc.request.operationName ?? null }, 'http');
          const writable = rc as { document?: unknown };
          if (prepared.kind === 'rejected') {
            rejected = prepared.errors;
            writable.document = Placeholder;
          } else {
            writable.document = prepared.document;
          }
        },
        async willSendResponse(rc) {
          const body = rc.response.body;
          if (body.kind !== 'single') return;
          const user = (rc.contextValue as { access?: { user?: { username?: string } | null } }).access?.user?.username;
          pipeline.reportDenied(user, body.singleResult.errors);
          // What may make the answer emptier than the cluster, as over WebSocket (pipeline.executeQuery).
          const warnings = rejected === null ? warningsOf(rc.contextValue) : null;
          if (warnings !== null && warnings.size > 0) body.singleResult.extensions = { ...body.singleResult.extensions, warnings: warnings.list() };
        },
        async responseForOperation(rc) {
          if (rejected !== null) {
            return {
              http: { status: 400, headers: headFor(rc.request.http) },
              body: { kind: 'single', singleResult: { errors: rejected.map((e) => pipeline.formatError(e)) } },
            };
          }
          // usePipeline gave Apollo the checked document, so Apollo has resolved the operation in it.
          const context = rc.contextValue as object;
          let result: ExecutionResult;
          try {
            result = await pipeline.execute(rc.document, rc.operation!, rc.request.variables ?? {}, context);
          } catch (error) {
            executed.set(context, { error });
            return null;
          }
          if (result.errors !== undefined) {
            executed.set(context, { result });
            return null;
          }
          return { http: { status: undefined, headers: headFor(rc.request.http) }, body: { kind: 'single', singleResult: result } };
        },
      };
    },
  };
}

/**
 * Apollo's executor seam (its gateway interface, here with one fixed schema): Apollo keeps
 * the HTTP side, the plugins and the response. It returns what `usePipeline` executed and
 * left in `executed` (an answer with errors), else hands the checked document to the
 * pipeline, which executes it compiled where it compiles (pipeline.ts).
 */
export function pipelineExecutor(pipeline: OperationPipeline, executed: Executed): GatewayInterface {
  const executor: GatewayExecutor = async (rc) => {
    const done = executed.get(rc.context);
    if (done !== undefined) {
      executed.delete(rc.context);
      if ('error' in done) throw done.error;
      return done.result as ExecutionResult<Record<string, unknown>>;
    }
    // usePipeline gave Apollo the checked document, so Apollo has resolved the operation in it.
    return (await pipeline.execute(rc.document, rc.operation!, rc.request.variables ?? {}, rc.context)) as ExecutionResult<Record<string, unknown>>;
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: pipeline.schema, coreSupergraphSdl: printSchema(pipeline.schema) });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
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
  /** The request URL's query string (`?…`), as the caller parsed it. */
  search: string,
): Promise<void> {
  const headers = new HeaderMap();
  const given = req.headers;
  for (const k in given) {
    const v = given[k];
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
  const out = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
    context,
  });
  // No status: a single result that went through Apollo's content negotiation (its error
  // answers all carry one).
  if (out.status === undefined && out.body.kind === 'complete') ContentTypes.learn(headers.get('accept'), out.headers.get('content-type'));
  res.statusCode = out.status ?? 200;
  for (const [k, v] of out.headers) res.setHeader(k, v);
  if (out.body.kind === 'complete') {
    // With its length known the body goes out in one write, not as a chunked stream. Encoded
    // once, here: a string body would be joined to the response head and encoded again.
    const bytes = Buffer.from(out.body.string);
    res.setHeader('content-length', bytes.length);
    res.end(bytes);
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

/**
 * The content type Apollo gives a single-result answer, per value of the request's Accept
 * header (absent counts as ""), learnt from Apollo's own answers (`serveGraphQL` notes what it
 * negotiated): `usePipeline` puts a known one on its answers, so that Apollo does not negotiate
 * again for every request (its negotiation parses the Accept header each time). A value not
 * learnt yet (or refused with 406) is left to Apollo. Apollo's choice depends on the Accept
 * value only, so one memo serves every server of the process.
 */
export class ContentTypeMemo {
  private readonly byAccept = new Map<string, string>();
  private readonly max: number;

  /** @param max Accept values kept; past it, the oldest is forgotten. */
  constructor(max: number) {
    this.max = max;
  }

  /** The content type Apollo gave answers to this Accept value, or undefined when not known. */
  get(accept: string | undefined): string | undefined {
    return this.byAccept.get(accept ?? '');
  }

  learn(accept: string | undefined, contentType: string | undefined): void {
    if (contentType === undefined) return;
    const key = accept ?? '';
    if (this.byAccept.get(key) === contentType) return;
    if (this.byAccept.size >= this.max) this.byAccept.delete(this.byAccept.keys().next().value!);
    this.byAccept.set(key, contentType);
  }
}

/** The process's memo: at most 100 Accept values. */
export const ContentTypes = new ContentTypeMemo(100);

/** A response head for `usePipeline`'s answer: with the content type when Apollo's choice for this Accept value is known. */
function headFor(http: { readonly headers: HeaderMap } | undefined): HeaderMap {
  const headers = new HeaderMap();
  const type = ContentTypes.get(http?.headers.get('accept'));
  if (type !== undefined) headers.set('content-type', type);
  return headers;
}

/** Per operation context: what `usePipeline` executed and left to Apollo's execution stage to answer. */
type Executed = WeakMap<object, { readonly result: ExecutionResult } | { readonly error: unknown }>;

/** Never asked to execute: stands in for a rejected operation's document. */
const Placeholder = parse('{ __typename }');

function apolloLogger(l: Logger) {
  return {
    debug: (m: string) => l.debug(m),
    info: (m: string) => l.info(m),
    warn: (m: string) => l.warn(m),
    error: (m: string) => l.error(m),
  };
}
