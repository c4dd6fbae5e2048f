/**
 * Where Apollo's HTTP requests execute (src/server/apollo.ts): the `usePipeline` plugin runs a
 * checked query once, in `responseForOperation`; an answer without errors goes out as it is,
 * one with errors goes through Apollo's execution stage (the executor hands it the result
 * already made). Either way the operation runs once and the answer is the pipeline's own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { createContext } from '../../src/graphql/context.ts';
import { gatewayApolloSettings } from '../../src/server/apollo.ts';
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
