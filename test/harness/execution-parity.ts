/**
 * Runs every query twice: compiled, as the gateway does, and through graphql-js, for the specs
 * that check both paths give the same JSON (test/unit/graphql-execution.test.ts,
 * test/integration/query-api.test.ts). Install it before the specs whose queries
 * make the corpus are loaded.
 */
import { OperationPipeline } from '../../src/graphql/pipeline.ts';
import { createLogger } from '../../src/log.ts';

export interface ParityRecord {
  /** Queries executed through OperationPipeline.execute. */
  executed: number;
  /** Of those, answers with at least one error. */
  withErrors: number;
  /** One line per query whose two answers differ: the source, variables and both answers. */
  readonly mismatches: string[];
  /** Sources of queries that did not compile (graphql-js ran them on both sides). */
  readonly notCompiled: string[];
}

/**
 * Wraps OperationPipeline.prototype.execute: the pipeline's own path first (its answer is what
 * the caller gets), then a twin pipeline with `execution: 'graphql-js'` on the same context; both
 * formatted by the pipeline's formatter and compared as JSON text.
 */
export function bothPathsRecorder(): ParityRecord {
  const state: ParityRecord = { executed: 0, withErrors: 0, mismatches: [] as string[], notCompiled: [] as string[] };
  const execute = OperationPipeline.prototype.execute;
  const twins = new WeakMap<OperationPipeline, OperationPipeline>();
  const logger = createLogger({ level: 'error', format: 'text' });
  OperationPipeline.prototype.execute = async function (document, operation, variables, contextValue) {
    let twin = twins.get(this);
    if (twin === undefined) {
      twin = new OperationPipeline({ schema: this.schema, limits: this.limits, introspection: this.introspection, logger, execution: 'graphql-js' });
      twins.set(this, twin);
    }
    const result = await execute.call(this, document, operation, variables, contextValue);
    const compiled = this.formatResult(result);
    const plain = twin.formatResult(await execute.call(twin, document, operation, variables, contextValue));
    const source = document.loc?.source.body ?? '(no source)';
    state.executed++;
    if (compiled.errors) state.withErrors++;
    if (this.executionOf(document, operation) !== 'compiled') state.notCompiled.push(source);
    const a = JSON.stringify(compiled);
    const b = JSON.stringify(plain);
    if (a !== b) state.mismatches.push(`${source}\n  variables ${JSON.stringify(variables)}\n  compiled   ${a.slice(0, 600)}\n  graphql-js ${b.slice(0, 600)}`);
    return result;
  };
  return state;
}
