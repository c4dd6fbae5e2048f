/**
 * The install step's rewrite of graphql-jit's code generator (src/patch-graphql-jit.js): it is
 * applied, and compiled queries keep graphql-js's answers and errors on every leaf error path
 * the rewrite touches (a null in a non-null leaf, an Error as a leaf value, a value its scalar
 * refuses or cannot represent, an enum value outside the enum), at every list depth, and for
 * list items that are promises: the same JSON as graphql-jit's own generated code
 * (`leafFastPath: false`), and the same data as graphql-js. The gateway's own query corpus runs through both paths in
 * graphql-execution.test.ts; this schema reaches the error paths that corpus cannot.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execute, GraphQLScalarType, parse, type ExecutionResult } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { graphqlJitPatched, patchGraphqlJit } from '../../src/patch-graphql-jit.js';

const typeDefs = /* GraphQL */ `
  scalar Odd
  enum Color { RED GREEN }
  type Item { name: String! note: String count: Int color: Color odd: Odd tags: [String!] grid: [[Int!]] }
  type Query { items: [Item!]! one: Item promised: [Item] strictNames: [String!] }
`;

const Odd = new GraphQLScalarType({
  name: 'Odd',
  // Odd numbers serialize; even ones are not representable (undefined), NaN stays NaN, strings throw.
  serialize: (v) => {
    if (typeof v === 'string') throw new TypeError(`Odd cannot represent ${v}`);
    if (Number.isNaN(v)) return NaN;
    return (v as number) % 2 === 1 ? v : undefined;
  },
});

const items = [
  { name: 'ok', note: 'fine', count: 1, color: 'RED', odd: 3, tags: ['a', 'b'], grid: [[1, 2], [3]] },
  { name: null, note: new Error('note failed'), count: 2 ** 40, color: 'BLUE', odd: 4, tags: ['a', null], grid: [[1, null], null] },
  { name: new Error('name failed'), note: null, count: 1.5, color: null, odd: 'x', tags: null, grid: [['7', true]] },
  { name: 42, note: true, count: '12', color: 'GREEN', odd: NaN, tags: [new Error('tag failed')], grid: [[new Error('cell failed')]] },
];

const schema = makeExecutableSchema({
  typeDefs,
  resolvers: {
    Odd,
    Query: {
      items: () => items,
      one: () => items[1],
      promised: () => [Promise.resolve(items[0]), Promise.reject(new Error('item rejected')), null, Promise.resolve(items[3])],
      strictNames: () => ['a', null, 'c'],
    },
  },
});

const Queries = [
  '{ items { name note count color odd tags grid } }',
  '{ one { name } }',
  '{ one { note count odd } }',
  '{ promised { name note odd tags } }',
  '{ strictNames }',
  '{ items { alias: note n2: name } }',
];

type Shaped = { data: unknown; errors: unknown[] | undefined };
const shape = (r: ExecutionResult): Shaped => JSON.parse(JSON.stringify({ data: r.data, errors: r.errors?.map((e) => e.toJSON()) }));

async function viaJit(query: string, options: object): Promise<Shaped> {
  const compiled = compileQuery(schema, parse(query), undefined, options);
  assert.ok(isCompiledQuery(compiled), `${query} compiles`);
  return shape((await compiled.query(undefined, {}, {})) as ExecutionResult);
}

describe('graphql-jit leaf fast path (src/patch-graphql-jit.js)', () => {
  it('is applied by the install step, and applying it again changes nothing', () => {
    assert.equal(graphqlJitPatched(), true);
    assert.equal(patchGraphqlJit(), 'already');
  });

  it('compiles leaves to hoisted functions, without the per-call checks that built their errors up front', () => {
    const compiled = compileQuery(schema, parse(Queries[0]!), undefined, { debug: true } as never) as unknown as { __DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation: string };
    const source = compiled.__DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation;
    assert.match(source, /function String__currentItemnameLeaf\(/);
    assert.doesNotMatch(source, /checkNonNullLeaf|checkNullableLeaf/);
  });

  for (const query of Queries) {
    it(`answers ${query} as graphql-jit's own code does (errors, messages, paths, order), and with graphql-js's data`, async () => {
      const patched = await viaJit(query, {});
      const original = await viaJit(query, { leafFastPath: false });
      assert.deepEqual(patched, original);
      assert.ok(original.errors?.length, 'the query reaches error paths');
      // graphql-jit reports some errors graphql-js does not (under a field nulled by another
      // error; NaN from a custom scalar): that is graphql-jit's, not the patch's. The data agree.
      const js = shape((await execute({ schema, document: parse(query), contextValue: {} })) as ExecutionResult);
      assert.deepEqual(patched.data, js.data);
    });
  }

  it('compiles the original code when asked (leafFastPath: false), so that the comparison above compares two things', () => {
    const source = (options: object) =>
      (compileQuery(schema, parse(Queries[0]!), undefined, { debug: true, ...options } as never) as unknown as { __DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation: string })
        .__DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation;
    assert.match(source({ leafFastPath: false }), /checkNonNullLeaf/);
    assert.doesNotMatch(source({}), /checkNonNullLeaf|checkNullableLeaf/);
  });
});
