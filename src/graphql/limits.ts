/**
 * Limits on what one operation may ask, the same on HTTP and WebSocket because both go through
 * the one operation pipeline (pipeline.ts): a token limit at parse, and depth, alias and cost limits as plain graphql-js
 * `ValidationRule`s, each with its own `extensions.code` (errors.ts) and a message that says
 * what was allowed and what arrived. Page size is enforced by the resolvers (args.ts), which
 * read the same `Limits`.
 *
 * Introspection is left alone: fields whose name starts with `__` (`__schema`, `__type`,
 * `__typename`) and everything under them count for no depth and no cost, so GraphiQL's
 * introspection query passes the defaults. Whether introspection is allowed at all is the
 * server's configuration.
 *
 * Cost model (an estimate of the number of fields in the response, counted over every object
 * the response holds):
 * - every field costs 1 per object it is asked of; a list field costs 1 per item it holds;
 * - a field with a `first` argument (a connection) makes its list fields (`edges`, `items`)
 *   that many items long per parent: `first` as written, clamped to 0..maxPageSize;
 *   `defaultPageSize` when `first` is left out or null; for `first: $variable`, the
 *   variable's value when the rule is built with variables (or checked with `checkCost`), else
 *   its declared default, else `maxPageSize` (the worst case, since a cached, validated document
 *   can run with any variables);
 * - any other list field (ports, labels, Service.slices, Pod.services, ...) counts as
 *   `assumedListSize` items per parent;
 * - a relation that partitions its parents' objects (`Node.pods`, `Node.endpoints`,
 *   `Service.endpoints`, `Service.pods`: a pod runs on one Node, an endpoint belongs to one
 *   Service) asked of distinct parents (the items of a root list, or of such a relation) holds
 *   at most `partitionSize` items in total, however many parents ask: the whole of a mid-size
 *   cluster. Asked of parents reached through a single-object hop (`pod { node { pods } }`) or
 *   a plain list, the parents may repeat, and the relation multiplies in full;
 * - fragments count once per spread; union branches all count.
 * Example: `services(first: 100) { edges { node { metadata { name } } } }` costs
 * 1 + 100 × (1 + 1 + 1 + 1) = 401, and `nodes(first: 1000) { items { pods(first: 1000) {
 * items { metadata { name } } } } }` 1 + 1,000 × 2 + 10,000 × 3 = 32,001 (not 3 million).
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  parse,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type Source,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { ErrorCode, limitExceeded, tokenLimitOf, tooManyTokensMessage, withCode } from './errors.ts';

export interface Limits {
  /** Deepest nesting of fields in an operation (introspection excluded). @default 12 // levels */
  readonly maxDepth: number;
  /** Aliased fields in an operation, fragments counted once per spread. @default 30 // aliases */
  readonly maxAliases: number;
  /** Estimated fields in the response (see the cost model above). @default 200_000 // fields */
  readonly maxCost: number;
  /** Tokens in a document (graphql-js `parse(source, { maxTokens })`). @default 5_000 // tokens */
  readonly maxTokens: number;
  /** Page size of a connection when `first` is left out. @default 100 // items */
  readonly defaultPageSize: number;
  /** Largest `first` accepted; larger is PAGE_SIZE_EXCEEDED. @default 1_000 // items */
  readonly maxPageSize: number;
  /** Length the cost model assumes for a list field without `first`. @default 10 // items */
  readonly assumedListSize: number;
  /**
   * Items the cost model allows, in total, for a relation that partitions distinct parents
   * (a Node's pods, a Service's endpoints): the size of the mid-size cluster the defaults are
   * made for. @default 10_000 // items
   */
  readonly partitionSize: number;
}

/**
 * Relations whose items belong to one parent each (`Type.field`): asked of distinct parents,
 * they hold no more than the cluster does (see the cost model).
 */
export const PartitionRelations: ReadonlySet<string> = new Set(['Node.pods', 'Node.endpoints', 'Service.endpoints', 'Service.pods']);

export const DefaultLimits: Limits = Object.freeze({
  maxDepth: 12,
  maxAliases: 30,
  maxCost: 200_000,
  maxTokens: 5_000,
  defaultPageSize: 100,
  maxPageSize: 1_000,
  assumedListSize: 10,
  partitionSize: 10_000,
});

/**
 * DefaultLimits with `overrides` applied.
 *
 * @throws TypeError when a value is not a positive safe integer, or defaultPageSize exceeds
 * maxPageSize: a configuration mistake, to be caught at startup.
 */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits = { ...DefaultLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(`limits.${name}: expected a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  if (limits.defaultPageSize > limits.maxPageSize) {
    throw new TypeError(`limits.defaultPageSize: expected at most maxPageSize (${limits.maxPageSize}), got ${limits.defaultPageSize}`);
  }
  return Object.freeze(limits);
}

/**
 * Parses a document with the token limit.
 *
 * @throws GraphQLError with code TOO_MANY_TOKENS over the limit, GRAPHQL_PARSE_FAILED for any
 * other syntax error.
 */
export function parseWithLimits(source: string | Source, limits: Limits = DefaultLimits): DocumentNode {
  try {
    return parse(source, { maxTokens: limits.maxTokens });
  } catch (err) {
    if (!(err instanceof GraphQLError)) throw err;
    if (tokenLimitOf(err) !== null) {
      throw new GraphQLError(tooManyTokensMessage(limits.maxTokens), { extensions: { code: ErrorCode.TOO_MANY_TOKENS } });
    }
    throw withCode(err, ErrorCode.GRAPHQL_PARSE_FAILED);
  }
}

export interface RuleOptions {
  /**
   * The operation's variables, when validation runs per request: then `first: $n` costs what
   * `$n` holds. Left out by the pipeline, which caches checked documents across variables: then
   * `$n` costs its default or maxPageSize.
   */
  readonly variables?: Readonly<Record<string, unknown>> | null;
  /**
   * Include the cost rule. False where validated documents are cached and cost is checked per
   * request with `checkCost` instead, so that
   * `first: $n` is judged by what `$n` holds. @default true
   */
  readonly cost?: boolean;
}

/** The depth, alias and cost rules (the pipeline runs them first and alone). */
export function validationRules(limits: Limits = DefaultLimits, options: RuleOptions = {}): ValidationRule[] {
  const rules = [maxDepthRule(limits), maxAliasesRule(limits)];
  return options.cost === false ? rules : [...rules, maxCostRule(limits, options)];
}

/**
 * The QUERY_TOO_COSTLY error for one operation with its variables, or null when it is within
 * `limits.maxCost`: the cost rule for places that resolve the operation after validation
 * (Apollo's `didResolveOperation`, where `document` may come from its cache).
 */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null,
  limits: Limits = DefaultLimits,
): GraphQLError | null {
  const { cost } = measureOperation(schema, document, operation, limits, { variables: variables ?? {} });
  return cost > limits.maxCost ? costError(cost, limits, operation) : null;
}

/** QUERY_TOO_DEEP when an operation nests fields deeper than `limits.maxDepth`. */
export function maxDepthRule(limits: Limits = DefaultLimits): ValidationRule {
  return operationRule((context, operation) => {
    const depth = new Measure(context, operation, limits, null).depth(operation.selectionSet);
    if (depth > limits.maxDepth) {
      context.reportError(
        limitExceeded(ErrorCode.QUERY_TOO_DEEP, `depth: expected at most ${limits.maxDepth} levels of nested fields, got ${depth}`, operation),
      );
    }
  });
}

/** TOO_MANY_ALIASES when an operation has more aliased fields than `limits.maxAliases`. */
export function maxAliasesRule(limits: Limits = DefaultLimits): ValidationRule {
  return operationRule((context, operation) => {
    const aliases = new Measure(context, operation, limits, null).aliases(operation.selectionSet);
    if (aliases > limits.maxAliases) {
      context.reportError(
        limitExceeded(ErrorCode.TOO_MANY_ALIASES, `aliases: expected at most ${limits.maxAliases} aliased fields, got ${aliases}`, operation),
      );
    }
  });
}

/** QUERY_TOO_COSTLY when an operation's estimated cost (see the cost model above) exceeds `limits.maxCost`. */
export function maxCostRule(limits: Limits = DefaultLimits, options: RuleOptions = {}): ValidationRule {
  return operationRule((context, operation) => {
    const cost = new Measure(context, operation, limits, options.variables ?? null).cost(operation.selectionSet, rootType(context.getSchema(), operation), RootPlace);
    if (cost > limits.maxCost) context.reportError(costError(cost, limits, operation));
  });
}

/** Depth, aliases and cost of one operation, as the rules measure them (for tests and metrics). */
export interface OperationMeasures {
  readonly depth: number;
  readonly aliases: number;
  readonly cost: number;
}

export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limits: Limits = DefaultLimits,
  options: RuleOptions = {},
): OperationMeasures {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const source: FragmentSource = { getSchema: () => schema, getFragment: (name) => fragments.get(name) };
  const m = () => new Measure(source, operation, limits, options.variables ?? null);
  return {
    depth: m().depth(operation.selectionSet),
    aliases: m().aliases(operation.selectionSet),
    cost: m().cost(operation.selectionSet, rootType(schema, operation), RootPlace),
  };
}

// Private:

/**
 * Where a selection set sits, for the cost model: how many objects it is asked of, how long
 * its list fields are per object, and whether those objects are known to be distinct.
 */
interface Place {
  /** Objects the selection set is asked of, over the whole response. */
  readonly objects: number;
  /** Items per object of each list field directly in it (the page size inside a connection). */
  readonly listSize: number;
  /** The objects are distinct (or, inside a connection, its items will be). */
  readonly distinct: boolean;
  /** The selection set is a connection's (or an edge's) whose items are distinct objects. */
  readonly connection: boolean;
  /** Its lists are one partition relation of distinct parents: at most partitionSize items in total. */
  readonly partition: boolean;
}

/** The root of an operation: one object, distinct. */
const RootPlace: Place = { objects: 1, listSize: 1, distinct: true, connection: false, partition: false };

/** What Measure needs of a ValidationContext. */
interface FragmentSource {
  getSchema(): GraphQLSchema;
  getFragment(name: string): FragmentDefinitionNode | null | undefined;
}

/** A rule that looks at each operation once, as a whole, after graphql-js has collected fragments. */
function operationRule(check: (context: ValidationContext, operation: OperationDefinitionNode) => void): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      check(context, node);
      return false; // the rule walks the operation itself
    },
  });
}

function rootType(schema: GraphQLSchema, operation: OperationDefinitionNode): GraphQLNamedType | undefined {
  return schema.getRootType(operation.operation) ?? undefined;
}

/**
 * Walks one operation's selections with fragments expanded. Each fragment is measured once and
 * memoized (a fragment's measure does not depend on where it is spread), so a document that
 * spreads fragments into fragments cannot make the walk exponential; a fragment cycle (which
 * NoFragmentCyclesRule reports) counts as nothing.
 */
class Measure {
  private readonly source: FragmentSource;
  private readonly operation: OperationDefinitionNode;
  private readonly limits: Limits;
  private readonly variables: Readonly<Record<string, unknown>> | null;
  private readonly memo = new Map<string, number>();
  private readonly visiting = new Set<string>();

  constructor(source: FragmentSource, operation: OperationDefinitionNode, limits: Limits, variables: Readonly<Record<string, unknown>> | null) {
    this.source = source;
    this.operation = operation;
    this.limits = limits;
    this.variables = variables;
  }

  depth(set: SelectionSetNode): number {
    let max = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (isIntrospection(s)) continue;
        max = Math.max(max, 1 + (s.selectionSet ? this.depth(s.selectionSet) : 0));
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        max = Math.max(max, this.depth(s.selectionSet));
      } else {
        max = Math.max(max, this.fragment(`depth\0${s.name.value}`, s.name.value, (f) => this.depth(f.selectionSet)));
      }
    }
    return max;
  }

  aliases(set: SelectionSetNode): number {
    let n = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.alias) n++;
        if (s.selectionSet) n += this.aliases(s.selectionSet);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        n += this.aliases(s.selectionSet);
      } else {
        n += this.fragment(`aliases\0${s.name.value}`, s.name.value, (f) => this.aliases(f.selectionSet));
      }
    }
    return n;
  }

  /** Cost of a selection set on `parentType`, asked of `place.objects` objects (see Place). */
  cost(set: SelectionSetNode, parentType: GraphQLNamedType | undefined, place: Place): number {
    let total = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (isIntrospection(s)) continue;
        const def = fieldDef(parentType, s.name.value);
        if (!def) continue; // unknown field: FieldsOnCorrectTypeRule reports it
        const isList = isListType(getNullableType(def.type));
        // A list holds `listSize` items per parent, all of them in one partition (capped).
        const count = isList ? (place.partition ? Math.min(place.objects * place.listSize, this.limits.partitionSize) : place.objects * place.listSize) : place.objects;
        total += count;
        if (!s.selectionSet) continue;
        const connection = def.args.some((a) => a.name === 'first');
        const parentName = parentType?.name ?? '';
        // Distinct objects stay distinct through a connection's items and edges, an edge's node,
        // and a partition relation of distinct parents; anything else may repeat them.
        const keepsDistinct = place.distinct && place.connection && (s.name.value === 'items' || s.name.value === 'edges' || s.name.value === 'node');
        const partition = connection && place.distinct && (parentType === this.source.getSchema().getQueryType() || PartitionRelations.has(`${parentName}.${s.name.value}`));
        const child: Place = {
          objects: count,
          listSize: connection ? this.pageSize(s) : this.limits.assumedListSize,
          distinct: connection ? partition : keepsDistinct,
          connection: connection || (keepsDistinct && s.name.value === 'edges'),
          partition: connection && partition && parentType !== this.source.getSchema().getQueryType(),
        };
        total += this.cost(s.selectionSet, getNamedType(def.type), child);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        const type = s.typeCondition ? this.source.getSchema().getType(s.typeCondition.name.value) : parentType;
        total += this.cost(s.selectionSet, type ?? undefined, place);
      } else {
        const key = `cost\0${place.objects}\0${place.listSize}\0${place.distinct}\0${place.connection}\0${place.partition}\0${s.name.value}`;
        total += this.fragment(key, s.name.value, (f) => this.cost(f.selectionSet, this.source.getSchema().getType(f.typeCondition.name.value) ?? undefined, place));
      }
    }
    return total;
  }

  private fragment(memoKey: string, name: string, measure: (f: FragmentDefinitionNode) => number): number {
    const known = this.memo.get(memoKey);
    if (known !== undefined) return known;
    const f = this.source.getFragment(name);
    if (!f || this.visiting.has(memoKey)) return 0; // unknown or cyclic: other rules report it
    this.visiting.add(memoKey);
    const value = measure(f);
    this.visiting.delete(memoKey);
    this.memo.set(memoKey, value);
    return value;
  }

  /** The page size a connection field will use, as the cost model reads `first`. */
  private pageSize(field: FieldNode): number {
    const { defaultPageSize, maxPageSize } = this.limits;
    const clamp = (n: number) => Math.max(0, Math.min(maxPageSize, n));
    const arg = field.arguments?.find((a) => a.name.value === 'first');
    if (!arg || arg.value.kind === Kind.NULL) return defaultPageSize;
    if (arg.value.kind === Kind.INT) return clamp(Number(arg.value.value));
    if (arg.value.kind !== Kind.VARIABLE) return maxPageSize;
    const name = arg.value.name.value;
    if (this.variables !== null && Object.hasOwn(this.variables, name)) {
      const v = this.variables[name];
      return v === null ? defaultPageSize : typeof v === 'number' && Number.isInteger(v) ? clamp(v) : maxPageSize;
    }
    const def = this.operation.variableDefinitions?.find((d) => d.variable.name.value === name);
    const dv = def?.defaultValue;
    if (dv?.kind === Kind.INT) return clamp(Number(dv.value));
    if (dv?.kind === Kind.NULL) return defaultPageSize;
    // Known variables without this one: `first` is left out. Unknown variables: the worst case.
    return this.variables !== null ? defaultPageSize : maxPageSize;
  }
}

function isIntrospection(field: FieldNode): boolean {
  return field.name.value.startsWith('__');
}

function fieldDef(type: GraphQLNamedType | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  return type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[name] : undefined;
}

function costError(cost: number, limits: Limits, operation: OperationDefinitionNode): GraphQLError {
  return limitExceeded(
    ErrorCode.QUERY_TOO_COSTLY,
    `cost: expected at most ${limits.maxCost} estimated fields (lists count their page size: first, default ${limits.defaultPageSize}), got ${formatCost(cost)}`,
    operation,
  );
}

function formatCost(cost: number): string {
  return Number.isFinite(cost) && cost < Number.MAX_SAFE_INTEGER ? String(cost) : 'more than 2^53';
}
