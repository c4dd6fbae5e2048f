/**
 * Where Apollo's HTTP requests execute (src/server/apollo.ts): the `usePipeline` plugin runs a
 * checked query once, in `responseForOperation`; an answer without errors goes out as it is,
 * one with errors goes through Apollo's execution stage (the executor hands it the result
 * already made). Either way the operation runs once and the answer is the pipeline's own.
 * The content type of an answer is Apollo's choice for the request's Accept header, the same
 * once the plugin knows it (ContentTypes) as when Apollo negotiated it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { createContext } from '../../src/graphql/context.ts';
import { ContentTypeMemo, ContentTypes, gatewayApolloSettings, serveGraphQL } from '../../src/server/apollo.ts';
import { smallCluster, type World } from './graphql-fixtures.ts';

describe('Apollo runs each checked query once, through the pipeline', () => {
  let world: World;
  let apollo: ApolloServer;
  let executions = 0;

  before(async () => {
    world = smallCluster();
    const pipeline = world.pipeline;
    const execute = pipeline.execute.bind(pipeline);
    pipeline.execute = (...args) => {
      executions++;
      return execute(...args);
    };
    apollo = new ApolloServer(gatewayApolloSettings(pipeline));
    await apollo.start();
  });
  after(async () => {
    await apollo.stop();
  });

  /** POST `query` through Apollo: status, parsed body, and how many times the pipeline executed. */
  async function post(query: string): Promise<{ status: number; body: any; executions: number }> {
    executions = 0;
    const out = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers: new HeaderMap([['content-type', 'application/json']]), search: '', body: { query } },
      context: async () => createContext({ cache: world.cache, feed: world.feed }),
    });
    assert.equal(out.body.kind, 'complete');
    return { status: out.status ?? 200, body: JSON.parse(out.body.kind === 'complete' ? out.body.string : ''), executions };
  }

  it('answers a query without errors once, with the data the pipeline gives', async () => {
    const query = '{ service(namespace: "shop", name: "web") { metadata { name } clusterIP endpoints(first: 10) { totalCount items { address pod { metadata { name } } } } } }';
    const got = await post(query);
    assert.equal(got.status, 200);
    assert.equal(got.executions, 1);
    assert.equal(got.body.errors, undefined);
    assert.deepEqual(got.body, JSON.parse(JSON.stringify(await world.run(query))));
    assert.equal(got.body.data.service.metadata.name, 'web');
  });

  it('answers a query whose execution fails once, with the errors formatted as the pipeline formats them', async () => {
    const query = '{ ok: service(namespace: "shop", name: "web") { metadata { name } } bad: services(namespace: "Not_A_Namespace") { totalCount } }';
    const got = await post(query);
    assert.equal(got.status, 200);
    assert.equal(got.executions, 1);
    assert.equal(got.body.errors.length, 1);
    assert.equal(got.body.errors[0].extensions.code, 'INVALID_ARGUMENT');
    assert.deepEqual(got.body.errors[0].path, ['bad']);
    assert.equal(got.body.data.ok.metadata.name, 'web');
    assert.deepEqual(got.body, JSON.parse(JSON.stringify(await world.run(query))));
  });

  it('executes nothing for a rejected operation, answered 400', async () => {
    const got = await post('{ nope }');
    assert.equal(got.status, 400);
    assert.equal(got.executions, 0);
    assert.equal(got.body.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  });
});

describe("an answer's content type is Apollo's choice for its Accept header, also once known", () => {
  let world: World;
  let apollo: ApolloServer;
  let server: Server;
  let port = 0;

  before(async () => {
    world = smallCluster();
    apollo = new ApolloServer(gatewayApolloSettings(world.pipeline));
    await apollo.start();
    server = createServer((req, res) => {
      void serveGraphQL(apollo, req, res, async () => createContext({ cache: world.cache, feed: world.feed }), 1_000_000, '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await apollo.stop();
  });

  /** POST `query` with exactly these headers (no Accept unless given): status and content type. */
  function post(query: string, accept: string | null): Promise<{ status: number; type: string | undefined }> {
    const body = JSON.stringify({ query });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    if (accept !== null) headers['accept'] = accept;
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'] }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('keeps at most its bound of Accept values, forgetting the oldest first', () => {
    const memo = new ContentTypeMemo(2);
    memo.learn('a', 'type-a');
    memo.learn(undefined, 'type-none');
    memo.learn('a', 'type-a'); // already known: no change
    memo.learn('b', 'type-b');
    memo.learn('c', undefined); // no content type: nothing learnt
    assert.deepEqual([memo.get('a'), memo.get(undefined), memo.get(''), memo.get('b'), memo.get('c')], [undefined, 'type-none', 'type-none', 'type-b', undefined]);
  });

  const json = 'application/json; charset=utf-8';
  const graphqlResponse = 'application/graphql-response+json; charset=utf-8';
  const cases: [accept: string | null, status: number, type: string][] = [
    [null, 200, json],
    ['application/json', 200, json],
    ['*/*', 200, json],
    ['application/graphql-response+json', 200, graphqlResponse],
    ['application/graphql-response+json, application/json;q=0.9', 200, graphqlResponse],
    ['application/json;q=0.5, application/graphql-response+json', 200, graphqlResponse],
    ['text/html', 406, json],
  ];
  for (const [accept, status, type] of cases) {
    it(`Accept ${accept === null ? '(none)' : JSON.stringify(accept)}: ${status} ${type} the first time and the next, and for a rejected operation`, async () => {
      assert.equal(ContentTypes.get(accept ?? undefined), undefined, 'not known before the first answer');
      const ok = '{ service(namespace: "shop", name: "web") { metadata { name } } }';
      const first = await post(ok, accept);
      assert.deepEqual(first, { status, type });
      // A refused Accept value is never kept: every request is negotiated (and refused) again.
      assert.equal(ContentTypes.get(accept ?? undefined), status === 200 ? type : undefined);
      assert.deepEqual(await post(ok, accept), { status, type });
      assert.deepEqual(await post(ok, accept), { status, type });
      assert.deepEqual(await post('{ nope }', accept), { status: status === 200 ? 400 : status, type });
    });
  }
});
