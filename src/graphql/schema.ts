/**
 * The executable schema: the SDL in schema/*.graphql (the source of truth, read once at
 * startup) with the resolvers of src/graphql/resolvers. Extensible, so that the server can add
 * the Subscription type and its resolvers without touching this layer: put the SDL in
 * schema/subscription.graphql (read here and by codegen, so `Resolvers` types it) and pass only
 * the resolvers; or pass both SDL and resolvers as an extension.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { Resolvers } from './generated/resolvers-types.ts';
import { resolvers } from './resolvers/index.ts';

/** The directory of the SDL files: `schema/` at the repository root. */
export const SchemaDir = fileURLToPath(new URL('../../schema/', import.meta.url));

export interface SchemaExtension {
  /** More SDL, e.g. `type Subscription { ... }` or `extend type Query { ... }`. */
  readonly typeDefs?: string | readonly string[];
  /** Resolvers for the extra SDL (merged with the gateway's, theirs win on conflict). */
  readonly resolvers?: Resolvers | readonly Resolvers[];
}

/**
 * Builds the gateway's schema.
 *
 * @throws when the SDL does not parse, or a resolver names a type or field the SDL lacks
 * (a startup failure, never a request failure).
 */
export function buildGatewaySchema(extension: SchemaExtension = {}): GraphQLSchema {
  return makeExecutableSchema({
    typeDefs: [...loadTypeDefs(), ...list(extension.typeDefs)],
    resolvers: [resolvers, ...list(extension.resolvers)],
    resolverValidationOptions: {
      requireResolversToMatchSchema: 'error',
      requireResolversForResolveType: 'error',
    },
  });
}

/** The SDL files of `dir`, in file-name order. */
export function loadTypeDefs(dir: string = SchemaDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

// Private:

function list<T>(x: T | readonly T[] | undefined): readonly T[] {
  return x === undefined ? [] : Array.isArray(x) ? (x as readonly T[]) : [x as T];
}
