/**
 * Compiled execution gives graphql-js's answers and errors, for the whole query corpus.
 *
 * The pipeline executes queries compiled (graphql-jit) where they compile (src/graphql/pipeline.ts).
 * This spec runs the GraphQL specs in this process — the lists, relations, batching, limits and
 * access specs, the bad-input table (graphql-errors.test.ts) and the transport spec, which sends
 * the table over HTTP and WebSocket — with `OperationPipeline.prototype.execute` wrapped: every
 * query they execute is executed again on the same context by a twin pipeline with
 * `execution: 'graphql-js'` (graphql-js's `execute`; test/harness/execution-parity.ts), and both
 * results, formatted by the pipeline's one formatter, must be the same JSON (data, errors,
 * messages, paths, locations, codes, order). Those specs' own assertions run on the compiled
 * answers. The integration spec's queries get the same treatment in
 * test/integration/query-api.test.ts.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { bothPathsRecorder } from '../harness/execution-parity.ts';

const parity = bothPathsRecorder();

await import('./graphql-lists.test.ts');
await import('./graphql-relations.test.ts');
await import('./graphql-batching.test.ts');
await import('./graphql-limits.test.ts');
await import('./graphql-access.test.ts');
await import('./graphql-errors.test.ts');
await import('./transport-parity.test.ts');

it('answers every query of those specs with the same JSON compiled and with graphql-js, errors included', () => {
  assert.deepEqual(parity.mismatches, []);
  // The corpus really ran, and really compiled: a spec that stopped executing queries, or an
  // operation that fell back to graphql-js, would make this comparison hollow.
  assert.ok(parity.executed >= 300, `expected at least 300 executed queries, got ${parity.executed}`);
  assert.deepEqual(parity.notCompiled, []);
  assert.ok(parity.withErrors >= 20, `expected at least 20 answers with errors among them, got ${parity.withErrors}`);
});
