/**
 * Compiled execution gives graphql-js's answers and errors for the integration spec's queries:
 * test/integration/query-api.test.ts runs here in full against the real control plane, with
 * every query it sends (over real HTTP, through Apollo's executor seam) executed again on the
 * same context by graphql-js and compared as JSON (test/harness/execution-parity.ts). The unit
 * specs' queries and the bad-input table get the same treatment in
 * test/unit/graphql-execution.test.ts.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { bothPathsRecorder } from '../harness/execution-parity.ts';

const parity = bothPathsRecorder();

await import('./query-api.test.ts');

it('answers every query of the integration spec with the same JSON compiled and with graphql-js', () => {
  assert.deepEqual(parity.mismatches, []);
  assert.ok(parity.executed >= 100, `expected at least 100 executed queries, got ${parity.executed}`);
  assert.deepEqual(parity.notCompiled, []);
});
