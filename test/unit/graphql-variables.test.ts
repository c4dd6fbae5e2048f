/**
 * Variables coerced once (src/graphql/pipeline.ts): where every variable of an operation is a
 * built-in scalar sent as a value that scalar takes as it is, the pipeline does not ask
 * graphql-js to coerce them (compiled execution coerces them again itself). Specified against
 * graphql-js's own `getVariableValues`: what the shortcut accepts, graphql-js accepts with the
 * same values; everything else gets graphql-js's answer, errors in its words.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getVariableValues, parse, type OperationDefinitionNode } from 'graphql';
import { sentAsIsChecks, variablesAsSent } from '../../src/graphql/pipeline.ts';
import { schema, smallCluster } from './graphql-fixtures.ts';

const Scalars = `query Scalars($ns: String, $sel: String!, $headless: Boolean, $below: Int, $frac: Float, $first: Int!) {
  services(namespace: $ns, labelSelector: $sel, headless: $headless, readyBelow: $below, readyFractionBelow: $frac, first: $first) { totalCount }
}`;
const WithEnum = `query WithEnum($type: ServiceType, $first: Int!) { services(type: $type, first: $first) { totalCount } }`;

function operationOf(query: string): OperationDefinitionNode {
  return parse(query).definitions[0] as OperationDefinitionNode;
}

const base = { sel: 'app=web', first: 10 };
/** Variables for `Scalars`, and whether they are taken as sent (else graphql-js coerces them). */
const cases: [name: string, variables: Record<string, unknown>, asSent: boolean][] = [
  ['the required ones only', base, false], // $ns, $headless, $below, $frac missing: graphql-js decides
  ['every one, of its own kind', { ...base, ns: 'shop', headless: true, below: 2, frac: 0.5 }, true],
  ['every one, and one nobody declared', { ...base, ns: 'shop', headless: false, below: -2_147_483_648, frac: 1, extra: [1] }, true],
  ['Int at its 32-bit bounds', { ...base, ns: '', headless: true, below: 2_147_483_647, frac: -0 }, true],
  ['a null for a nullable String', { ...base, ns: null, headless: true, below: 2, frac: 0.5 }, false],
  ['a number for a String', { ...base, ns: 5, headless: true, below: 2, frac: 0.5 }, false],
  ['a string for an Int', { ...base, ns: 'shop', headless: true, below: '2', frac: 0.5 }, false],
  ['a fraction for an Int', { ...base, ns: 'shop', headless: true, below: 1.5, frac: 0.5 }, false],
  ['an Int beyond 32 bits', { ...base, ns: 'shop', headless: true, below: 2 ** 31, frac: 0.5 }, false],
  ['a string for a Boolean', { ...base, ns: 'shop', headless: 'true', below: 2, frac: 0.5 }, false],
  ['an integer for a Float', { ...base, ns: 'shop', headless: true, below: 2, frac: 1 }, true],
  ['a string for a Float', { ...base, ns: 'shop', headless: true, below: 2, frac: '0.5' }, false],
  ['an infinite Float', { ...base, ns: 'shop', headless: true, below: 2, frac: Infinity }, false],
  ['a required one missing', { first: 10, ns: 'shop', headless: true, below: 2, frac: 0.5 }, false],
  ['a required one null', { ...base, sel: null, ns: 'shop', headless: true, below: 2, frac: 0.5 }, false],
  ['a list for a String', { ...base, ns: ['shop'], headless: true, below: 2, frac: 0.5 }, false],
  ['an object for an Int', { ...base, ns: 'shop', headless: true, below: { valueOf: 2 }, frac: 0.5 }, false],
];

describe('variables coerced once: built-in scalars sent as they are skip graphql-js', () => {
  const operation = operationOf(Scalars);
  const checks = sentAsIsChecks(operation)!;

  for (const [name, variables, asSent] of cases) {
    it(`${name}: ${asSent ? 'taken as sent, as graphql-js coerces them' : "left to graphql-js"}`, () => {
      const ours = variablesAsSent(checks, variables);
      const theirs = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
      if (asSent) {
        assert.notEqual(ours, null);
        assert.equal(theirs.errors, undefined);
        assert.deepEqual(ours!.coerced, theirs.coerced);
      } else {
        assert.equal(ours, null);
      }
    });
  }

  it('the pipeline rejects exactly what graphql-js rejects, with its messages, as BAD_USER_INPUT', () => {
    const pipeline = smallCluster().pipeline;
    let rejected = 0;
    for (const [name, variables] of cases) {
      const prepared = pipeline.prepare({ query: Scalars, variables }, 'http');
      const theirs = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
      if (theirs.errors) {
        rejected++;
        assert.equal(prepared.kind, 'rejected', name);
        if (prepared.kind !== 'rejected') continue;
        assert.deepEqual(prepared.errors.map((e) => e.message), theirs.errors.map((e) => e.message), name);
        assert.deepEqual(prepared.errors.map((e) => e.extensions['code']), theirs.errors.map(() => 'BAD_USER_INPUT'), name);
      } else {
        assert.equal(prepared.kind, 'query', name);
      }
    }
    assert.equal(rejected, 11);
  });

  it('an operation with a variable of another kind (an enum here) always goes to graphql-js', () => {
    assert.equal(sentAsIsChecks(operationOf(WithEnum)), null);
    assert.deepEqual(
      sentAsIsChecks(operationOf(`query Q($a: [String!], $b: String) { services(namespace: $b, labelSelector: $a) { totalCount } }`)),
      null,
    );
    const pipeline = smallCluster().pipeline;
    const bad = pipeline.prepare({ query: WithEnum, variables: { type: 'Nope', first: 1 } }, 'http');
    assert.equal(bad.kind, 'rejected');
    assert.match(bad.kind === 'rejected' ? bad.errors[0]!.message : '', /Value "Nope" does not exist in "ServiceType" enum/);
    assert.equal(pipeline.prepare({ query: WithEnum, variables: { type: 'ClusterIP', first: 1 } }, 'http').kind, 'query');
  });

  it("a subscription's root arguments: minReady as sent when taken as sent, its default when missing, nulls through graphql-js", () => {
    const pipeline = smallCluster().pipeline;
    const query = `subscription H($ns: String, $min: Int, $frac: Float) { serviceHealth(namespace: $ns, minReady: $min, minReadyFraction: $frac) { __typename } }`;
    assert.notEqual(sentAsIsChecks(operationOf(query)), null);
    const args = (variables: Record<string, unknown>) => {
      const prepared = pipeline.prepare({ query, variables }, 'ws');
      assert.equal(prepared.kind, 'subscription');
      const a = prepared.kind === 'subscription' ? prepared.root.args : null;
      return { namespace: a?.namespace, minReady: a?.minReady, minReadyFraction: a?.minReadyFraction };
    };
    assert.deepEqual(args({ ns: 'shop', min: 3, frac: 0.5 }), { namespace: 'shop', minReady: 3, minReadyFraction: 0.5 }); // as sent
    assert.deepEqual(args({ ns: 'shop', frac: 0.5 }), { namespace: 'shop', minReady: 1, minReadyFraction: 0.5 }); // graphql-js: $min missing
    assert.deepEqual(args({ ns: null, min: 2, frac: null }), { namespace: null, minReady: 2, minReadyFraction: null }); // graphql-js: nulls
  });
});
