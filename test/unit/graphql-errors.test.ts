import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { badInputs } from './bad-inputs.ts';
import { ErrorCode } from '../../src/graphql/errors.ts';
import { OpenAccess } from '../../src/auth/access.ts';
import { smallCluster } from './graphql-fixtures.ts';

describe('GraphQL bad input: a coded error that says what was expected and what arrived', () => {
  const world = smallCluster();

  it('has at least 30 cases, covering every caller code', () => {
    assert.ok(badInputs.length >= 30, `expected at least 30 cases, got ${badInputs.length}`);
    const covered = new Set(badInputs.map((c) => c.code));
    // NAMESPACE_NOT_WATCHED needs a subscription to a gateway watching some namespaces only: test/integration/warnings.test.ts.
    const missing = Object.values(ErrorCode).filter((c) => !covered.has(c) && c !== 'INTERNAL_SERVER_ERROR' && c !== 'NAMESPACE_NOT_WATCHED');
    assert.deepEqual(missing, []);
  });

  for (const c of badInputs) {
    it(`${c.name} → ${c.code}`, async () => {
      world.access = c.access ?? OpenAccess;
      const result = await world.run(c.query, c.variables, c.operationName);
      const error = result.errors?.[0];
      assert.ok(error, `expected an error, got ${JSON.stringify(result.data)}`);
      assert.equal(error.extensions?.['code'], c.code, error.message);
      assert.ok(error.message.includes(c.expected), `message ${JSON.stringify(error.message)} should name what was expected: ${c.expected}`);
      assert.ok(error.message.includes(c.got), `message ${JSON.stringify(error.message)} should name what arrived: ${c.got}`);
      for (const other of result.errors ?? []) assert.ok(typeof other.extensions?.['code'] === 'string', `every error is coded: ${other.message}`);
    });
  }

  it('still answers a good query after all of them', async () => {
    for (const c of badInputs) {
      world.access = c.access ?? OpenAccess;
      await world.run(c.query, c.variables, c.operationName);
    }
    world.access = OpenAccess;
    const d = await world.data(`{ service(namespace: "shop", name: "web") { endpointCounts { ready } } cluster { ready } }`);
    assert.deepEqual(d, { service: { endpointCounts: { ready: 2 } }, cluster: { ready: true } });
  });

  it('fails only the field with a bad argument, answering the rest', async () => {
    world.access = OpenAccess;
    const result = await world.run(`{ bad: service(namespace: "Shop", name: "web") { type } good: service(namespace: "shop", name: "web") { type } }`);
    assert.deepEqual(JSON.parse(JSON.stringify(result.data)), { bad: null, good: { type: 'ClusterIP' } });
    assert.deepEqual(result.errors?.map((e) => [e.extensions?.['code'], e.path]), [['INVALID_ARGUMENT', ['bad']]]);
  });
});
