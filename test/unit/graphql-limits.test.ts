import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { GraphQLError, getIntrospectionQuery, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import { ErrorCode, restoreLimitCode } from '../../src/graphql/errors.ts';
import { checkCost, DefaultLimits, measureOperation, parseWithLimits, resolveLimits, validationRules, type Limits } from '../../src/graphql/limits.ts';
import { schema, smallCluster } from './graphql-fixtures.ts';

function measure(query: string, limits: Limits = DefaultLimits, variables?: Record<string, unknown>) {
  const document = parse(query);
  return measureOperation(schema, document, getOperationAST(document)!, limits, { variables });
}

describe('GraphQL limits: defaults', () => {
  it('are documented values', () => {
    assert.deepEqual(DefaultLimits, {
      maxDepth: 12,
      maxAliases: 30,
      maxCost: 200_000,
      maxTokens: 5_000,
      defaultPageSize: 100,
      maxPageSize: 1_000,
      assumedListSize: 10,
      partitionSize: 10_000,
    });
  });

  it('let GraphiQL\'s introspection query through', async () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    assert.deepEqual(measure(query), { depth: 0, aliases: 0, cost: 0 });
    const result = await smallCluster().run(query);
    assert.equal(result.errors, undefined);
    assert.ok((result.data as any).__schema.types.length > 30);
  });

  it('reject a configuration that is not a positive integer, or a default page above the cap', () => {
    assert.throws(() => resolveLimits({ maxDepth: 0 }), { message: 'limits.maxDepth: expected a positive integer, got 0' });
    assert.throws(() => resolveLimits({ maxCost: 1.5 }), { message: 'limits.maxCost: expected a positive integer, got 1.5' });
    assert.throws(() => resolveLimits({ defaultPageSize: 2000 }), { message: 'limits.defaultPageSize: expected at most maxPageSize (1000), got 2000' });
    assert.deepEqual(resolveLimits({ maxDepth: 20 }), { ...DefaultLimits, maxDepth: 20 });
  });
});

describe('GraphQL limits: depth', () => {
  const cases: [string, string, number][] = [
    ['one field', '{ cluster { ready } }', 2],
    ['__typename counts for nothing', '{ __typename cluster { __typename } }', 1],
    ['inline fragments add no level', '{ ip(address: "10.0.0.1") { holders { ... on Pod { metadata { name } } } } }', 4],
    ['named fragments add no level', '{ ...Q } fragment Q on Query { services { edges { node { metadata { name } } } } }', 5],
    ['the deepest branch counts', '{ cluster { ready } services { totalCount edges { node { metadata { name } } } } }', 5],
    ['__schema and __type are not counted', '{ __schema { types { fields { type { ofType { ofType { name } } } } } } __type(name: "Service") { name } }', 0],
  ];
  for (const [name, query, depth] of cases) {
    it(`${name}: ${depth}`, () => assert.equal(measure(query).depth, depth));
  }
});

describe('GraphQL limits: aliases', () => {
  it('counts aliased fields, fragments once per spread', () => {
    assert.equal(measure('{ a: cluster { r: ready } b: cluster { ready } }').aliases, 3);
    assert.equal(measure('{ x: cluster { ...F } y: cluster { ...F } } fragment F on Cluster { a: ready b: ready }').aliases, 6);
  });
});

describe('GraphQL limits: cost model', () => {
  const cases: [string, string, Record<string, unknown> | undefined, number][] = [
    ['the documented example', '{ services(first: 100) { edges { node { metadata { name } } } } }', undefined, 401],
    ['first left out: the default page size', '{ services { items { metadata { name } } } }', undefined, 1 + 100 * 3],
    ['totalCount and pageInfo are not multiplied', '{ services(first: 1000) { totalCount pageInfo { hasNextPage } } }', undefined, 1 + 1 + 2],
    ['a list without first: the assumed size', '{ service(namespace: "a", name: "b") { ports { port } } }', undefined, 1 + 10 * 2],
    ['first above the cap counts as the cap', '{ services(first: 5000) { items { metadata { name } } } }', undefined, 1 + 1000 * 3],
    ['first: $n unknown (cached document): the cap', 'query ($n: Int) { services(first: $n) { items { metadata { name } } } }', undefined, 1 + 1000 * 3],
    ['first: $n with a declared default', 'query ($n: Int = 5) { services(first: $n) { items { metadata { name } } } }', undefined, 1 + 5 * 3],
    ['first: $n with known variables', 'query ($n: Int) { services(first: $n) { items { metadata { name } } } }', { n: 7 }, 1 + 7 * 3],
    ['first: $n absent from known variables: the default page size', 'query ($n: Int) { services(first: $n) { items { metadata { name } } } }', {}, 1 + 100 * 3],
    ['nested connections multiply', '{ services(first: 10) { items { endpoints(first: 20) { items { address } } } } }', undefined, 1 + 10 * (1 + 1 + 20 * 2)],
    ['a partition relation of distinct parents holds at most partitionSize in total', '{ nodes(first: 1000) { items { pods(first: 1000) { items { metadata { name } } } } } }', undefined, 1 + 1000 * 2 + 10_000 * 3],
    ['through edges and node as through items', '{ services(first: 1000) { edges { node { endpoints(first: 1000) { items { address } } } } } }', undefined, 1 + 1000 * 3 + 10_000 * 2],
    ['a single-object hop back (pod → node → pods) multiplies in full', '{ nodes(first: 1000) { items { pods(first: 1000) { items { node { pods(first: 1000) { items { metadata { name } } } } } } } } }', undefined, 1 + 1000 * 2 + 10_000 * 3 + 10_000_000 * 3],
    ['a relation that does not partition (Service.nodes) multiplies in full', '{ services(first: 1000) { items { nodes(first: 1000) { items { pods(first: 1000) { items { metadata { name } } } } } } } }', undefined, 1 + 1000 * 2 + 1_000_000 * 2 + 1_000_000_000 * 3],
    ['parents from a plain list (Pod.services) may repeat: no cap', '{ pods(first: 1000) { items { services { endpoints(first: 1000) { items { address } } } } } }', undefined, 1 + 1000 + 10_000 * 2 + 10_000_000 * 2],
    ['union branches all count', '{ ip(address: "10.0.0.1") { holders { ... on Pod { podIP } ... on Node { zone } } } }', undefined, 1 + 10 * (1 + 1 + 1)],
    ['introspection is free', '{ __typename __type(name: "Pod") { fields { name } } }', undefined, 0],
  ];
  for (const [name, query, variables, cost] of cases) {
    it(`${name}: ${cost}`, () => assert.equal(measure(query, DefaultLimits, variables).cost, cost));
  }

  it('measures a fragment bomb (2^40 spreads) without expanding it, and rejects it before graphql-js\'s own rules run', async () => {
    const fragments = Array.from({ length: 40 }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join('\n');
    const query = `{ ...F40 }\nfragment F0 on Query { cluster { ready } }\n${fragments}`;
    const started = performance.now();
    assert.equal(measure(query).cost, 2 ** 41);
    const result = await smallCluster().run(query);
    assert.deepEqual(result.errors?.map((e) => e.extensions?.['code']), [ErrorCode.QUERY_TOO_COSTLY]);
    assert.match(result.errors![0]!.message, /got 2199023255552$/);
    assert.ok(performance.now() - started < 2_000, 'measured, not expanded');
  });

  it('survives a fragment cycle, which graphql-js reports', async () => {
    const result = await smallCluster().run(`{ ...A } fragment A on Query { ...B } fragment B on Query { cluster { ready } ...A }`);
    assert.deepEqual(result.errors?.map((e) => e.extensions?.['code']), [ErrorCode.GRAPHQL_VALIDATION_FAILED]);
    assert.match(result.errors![0]!.message, /Cannot spread fragment "A" within itself via "B"/);
  });
});

describe('GraphQL limits: what a user naturally asks of a mid-size cluster passes the defaults, bombs do not', () => {
  const natural: [string, string][] = [
    ['every node with its pods', '{ nodes(first: 1000) { items { metadata { name } zone ready pods(first: 1000) { totalCount items { metadata { namespace name } ready phase podIP } } } } }'],
    ['every Service with its endpoints', '{ services(first: 1000) { items { metadata { namespace name } endpointCounts { total ready } endpoints(first: 1000) { items { address ready zone nodeName } } } } }'],
    ['every Service with the pods it selects', '{ services(first: 1000) { items { metadata { name } pods(first: 1000) { items { metadata { name } ready nodeName } } } } }'],
    ['every node with the endpoints on it', '{ nodes(first: 1000) { items { metadata { name } endpoints(first: 1000) { items { address ready service { metadata { name } } } } } } }'],
    ['a page of pods with the Services that select them', '{ pods(first: 1000) { items { metadata { name } podIP services { metadata { namespace name } } } } }'],
  ];
  for (const [name, query] of natural) {
    it(`passes: ${name}`, async () => {
      const { cost } = measure(query);
      assert.ok(cost <= DefaultLimits.maxCost, `cost ${cost}`);
      const result = await smallCluster().run(query);
      assert.deepEqual(result.errors ?? [], []);
    });
  }
  const bombs: [string, string][] = [
    ['a cycle through a pod\'s node', '{ nodes(first: 1000) { items { pods(first: 1000) { items { node { pods(first: 1000) { items { metadata { name } } } } } } } } }'],
    ['Services × their nodes × those nodes\' pods', '{ services(first: 1000) { items { nodes(first: 1000) { items { pods(first: 1000) { items { metadata { name } } } } } } } }'],
    ['the natural question 30 times over, by aliases', `{ ${Array.from({ length: 30 }, (_, i) => `n${i}: nodes(first: 1000) { items { pods(first: 1000) { items { metadata { name namespace uid } ready } } } }`).join(' ')} }`],
  ];
  for (const [name, query] of bombs) {
    it(`refused: ${name}`, async () => {
      const result = await smallCluster().run(query);
      assert.deepEqual(result.errors?.map((e) => e.extensions?.['code']), [ErrorCode.QUERY_TOO_COSTLY]);
    });
  }
});

describe('GraphQL limits: as plain graphql-js rules (Apollo validationRules, graphql-ws validate)', () => {
  it('report coded errors next to graphql-js\'s rules', () => {
    const document = parse(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} services(first: 1000) { items { nodes(first: 1000) { items { name: metadata { name } } } } } }`);
    const errors = validate(schema, document, [...specifiedRules, ...validationRules()]);
    assert.deepEqual(errors.map((e) => e.extensions?.['code']), [ErrorCode.TOO_MANY_ALIASES, ErrorCode.QUERY_TOO_COSTLY]);
  });

  it('can leave cost to checkCost, which judges `first: $n` by the variables of each request', () => {
    const document = parse(`query ($n: Int) { services(first: $n) { items { nodes(first: $n) { items { metadata { name } } } } } }`);
    const operation = getOperationAST(document)!;
    assert.deepEqual(validate(schema, document, validationRules()).map((e) => e.extensions?.['code']), [ErrorCode.QUERY_TOO_COSTLY], 'statically, $n may be 1000');
    assert.deepEqual(validate(schema, document, validationRules(DefaultLimits, { cost: false })), []);
    assert.equal(checkCost(schema, document, operation, { n: 10 }), null);
    assert.equal(checkCost(schema, document, operation, { n: 1000 })?.extensions['code'], ErrorCode.QUERY_TOO_COSTLY);
  });

  it('follow the limits they are built with', async () => {
    const world = smallCluster();
    world.limits = resolveLimits({ maxDepth: 3, maxAliases: 1, maxCost: 50, maxPageSize: 10, defaultPageSize: 5 });
    const codes = async (q: string) => (await world.run(q)).errors?.map((e) => e.extensions?.['code']) ?? [];
    assert.deepEqual(await codes('{ services(first: 1) { items { metadata { name } } } }'), [ErrorCode.QUERY_TOO_DEEP]);
    assert.deepEqual(await codes('{ a: cluster { ready } b: cluster { ready } }'), [ErrorCode.TOO_MANY_ALIASES]);
    assert.deepEqual(await codes('{ services(first: 10) { items { type clusterIP headless } } }'), []);
    assert.deepEqual(await codes('{ services(first: 11) { totalCount } }'), [ErrorCode.PAGE_SIZE_EXCEEDED]);
    assert.deepEqual(await codes('{ pods { items { ready phase podIP podIPs hostIP nodeName terminating zone } } }'), [ErrorCode.QUERY_TOO_COSTLY]);
    const page = await world.data('{ pods { edges { cursor } } }');
    assert.equal(page.pods.edges.length, 5, 'the configured default page size');
  });
});

describe('GraphQL limits: tokens', () => {
  it('parseWithLimits codes the token limit and other syntax errors apart', () => {
    assert.throws(() => parseWithLimits(`{ ${'__typename '.repeat(10)}}`, { ...DefaultLimits, maxTokens: 5 }), (e: GraphQLError) => {
      assert.equal(e.extensions?.['code'], ErrorCode.TOO_MANY_TOKENS);
      assert.equal(e.message, 'tokens: expected at most 5 per document, got more (parsing stopped at token 6)');
      return true;
    });
    assert.throws(() => parseWithLimits('{ a('), (e: GraphQLError) => e.extensions?.['code'] === ErrorCode.GRAPHQL_PARSE_FAILED);
    assert.equal(parseWithLimits('{ cluster { ready } }').kind, 'Document');
  });
});

describe('GraphQL limits: restoring codes under Apollo', () => {
  it('brings back a limit code that Apollo stamped GRAPHQL_VALIDATION_FAILED', () => {
    const ours = new GraphQLError('depth: expected at most 12 levels of nested fields, got 13', { extensions: { code: ErrorCode.QUERY_TOO_DEEP } });
    // What Apollo's ValidationError does: same message, its own code, ours as originalError.
    const apollo = new GraphQLError(ours.message, { originalError: ours, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    assert.deepEqual(restoreLimitCode(apollo.toJSON(), apollo).extensions, { code: ErrorCode.QUERY_TOO_DEEP });
  });

  it('turns graphql-js\'s token-limit syntax error into TOO_MANY_TOKENS', () => {
    let syntax: GraphQLError | undefined;
    try {
      parse('{ a b c d }', { maxTokens: 3 });
    } catch (e) {
      syntax = e as GraphQLError;
    }
    const apollo = new GraphQLError(syntax!.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    const formatted = restoreLimitCode(apollo.toJSON(), apollo);
    assert.equal(formatted.extensions?.['code'], ErrorCode.TOO_MANY_TOKENS);
    assert.equal(formatted.message, 'tokens: expected at most 3 per document, got more (parsing stopped at token 4)');
  });

  it('leaves every other error as it is', () => {
    const other = new GraphQLError('Cannot query field "x" on type "Query".', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    assert.deepEqual(restoreLimitCode(other.toJSON(), other), other.toJSON());
  });
});
