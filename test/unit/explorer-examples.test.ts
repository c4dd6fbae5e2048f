/**
 * The explorer's ready-made operations (src/explorer/examples.json, one GraphiQL tab each) stay
 * valid against the gateway's real schema, subscriptions included, and within its default
 * limits, so that a schema change that breaks one fails here instead of in someone's browser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GraphQLError, Kind, getVariableValues, parse, validate, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { buildGatewaySchema } from '../../src/graphql/schema.ts';
import { subscriptionResolvers } from '../../src/subscriptions/resolvers.ts';
import { parseWithLimits, validationRules } from '../../src/graphql/limits.ts';
import { limitsOf } from '../../src/app.ts';
import { parseConfig, type Config } from '../../src/config.ts';
import examples from '../../src/explorer/examples.json' with { type: 'json' };
import { smallCluster } from './graphql-fixtures.ts';

interface Example {
  readonly name: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
}

const all: readonly Example[] = examples;
// As src/app.ts builds them, from the defaults of the command line (no flags, no environment).
const schema = buildGatewaySchema({ resolvers: subscriptionResolvers });
const cfg = parseConfig([], {}) as Config;
const limits = limitsOf(cfg);

function operationOf(doc: DocumentNode): OperationDefinitionNode {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  assert.equal(ops.length, 1, `expected one operation per example, got ${ops.length}`);
  return ops[0]!;
}

describe('explorer examples', () => {
  it('cover the questions the explorer promises, in tab order', () => {
    assert.deepEqual(
      all.map((e) => e.name),
      ['ServiceEndpoints', 'WhatIsThisIP', 'ServicesWithoutReadyEndpoints', 'TraceURL', 'RoutesToService', 'GatewayRoutes', 'EndpointChurn', 'HostChurn', 'EndpointHistory', 'ServiceHealth'],
    );
  });

  for (const example of all) {
    describe(example.name, () => {
      it('is one named operation whose name is the example name (GraphiQL titles the tab with it)', () => {
        const op = operationOf(parse(example.query));
        assert.equal(op.name?.value, example.name);
      });

      it('opens with a comment saying what it answers', () => {
        assert.match(example.query, /^# \S.{20,}\n/);
      });

      it('parses within the token limit and validates against the schema with the gateway rules', () => {
        const doc = parseWithLimits(example.query, limits);
        const plain = validate(schema, doc);
        assert.deepEqual(plain.map((e) => e.message), []);
        // Both ways the gateway validates: cached documents over HTTP, per request (with variables) over WebSocket.
        for (const rules of [validationRules(limits), validationRules(limits, { variables: example.variables ?? {} })]) {
          const errors = validate(schema, doc, rules);
          assert.deepEqual(errors.map((e: GraphQLError) => `${e.extensions.code}: ${e.message}`), []);
        }
      });

      it('has variables that satisfy its variable definitions', () => {
        const op = operationOf(parse(example.query));
        const declared = (op.variableDefinitions ?? []).map((v) => v.variable.name.value).sort();
        assert.deepEqual(Object.keys(example.variables ?? {}).sort(), declared, 'every variable declared is given a value, and no other');
        const coerced = getVariableValues(schema, op.variableDefinitions ?? [], example.variables ?? {});
        assert.deepEqual(coerced.errors?.map((e) => e.message) ?? [], []);
      });
    });
  }

  // Queries also run, over a small hand-filled cluster, with variables pointing into it.
  const runs: Record<string, { variables: Record<string, unknown>; check: (data: any) => void }> = {
    ServiceEndpoints: {
      variables: { namespace: 'shop', name: 'web' },
      check: (d) => {
        assert.deepEqual(d.service.endpoints.items.map((e: any) => e.address), ['10.4.1.1', '10.4.2.17', '10.4.3.3']);
        assert.deepEqual(d.service.nodes.items.map((n: any) => n.metadata.name), ['node-a', 'node-b', 'node-c']);
        assert.equal(d.service.pods.totalCount, 4);
      },
    },
    WhatIsThisIP: {
      variables: { address: '10.4.2.17' },
      check: (d) => assert.deepEqual(d.ip.holders.map((h: any) => h.__typename).sort(), ['Endpoint', 'Endpoint', 'Pod']),
    },
    ServicesWithoutReadyEndpoints: {
      variables: { namespace: 'shop' },
      check: (d) => assert.ok(d.servicesWithoutReadyEndpoints.items.some((s: any) => s.metadata.name === 'empty')),
    },
  };
  for (const [name, { variables, check }] of Object.entries(runs)) {
    it(`${name} answers without errors`, async () => {
      const example = all.find((e) => e.name === name)!;
      check(await smallCluster().data(example.query, variables));
    });
  }
});
