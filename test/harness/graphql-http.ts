/**
 * GraphQL over real HTTP for tests: POST `{ query, variables }` to the gateway's /graphql with
 * fetch, as any client would, and hand back the status and the decoded body.
 */

export interface GraphQLErrorBody {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: { readonly code?: string };
}

export interface GraphQLResponse<T = any> {
  /** HTTP status. */
  readonly status: number;
  readonly data: T | null;
  readonly errors: readonly GraphQLErrorBody[];
}

/** One operation; never rejects on a GraphQL error (only when the connection fails). */
export async function postGraphQL<T = any>(url: string, query: string, variables?: Record<string, unknown>, operationName?: string): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) }),
  });
  const text = await res.text();
  let body: { data?: T | null; errors?: GraphQLErrorBody[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`graphql: expected a JSON body, got HTTP ${res.status} ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { status: res.status, data: body.data ?? null, errors: body.errors ?? [] };
}

/** The operation's data; rejects with every error's code and message when there is any. */
export async function queryData<T = any>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const r = await postGraphQL<T>(url, query, variables);
  if (r.errors.length > 0 || r.data === null) {
    const why = r.errors.map((e) => `${e.extensions?.code ?? '?'}: ${e.message}`).join('; ');
    throw new Error(`graphql: expected data without errors, got HTTP ${r.status} ${why || 'no data'}`);
  }
  return r.data;
}
