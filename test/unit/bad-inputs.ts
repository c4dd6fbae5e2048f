/**
 * The bad-input table: every caller mistake the gateway answers with a code, as a spec. Used by
 * the pipeline spec (graphql-errors.test.ts) and by the transport spec, which sends each case
 * over HTTP and over WebSocket and expects the same code and message on both
 * (transport-parity.test.ts).
 */
import { encodeCursor } from '../../src/model/cursor.ts';
import type { ErrorCode } from '../../src/graphql/errors.ts';
import type { Access } from '../../src/auth/access.ts';
import { TableAccess } from './graphql-fixtures.ts';

export interface BadInput {
  /** What is wrong, as a spec. */
  readonly name: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
  /** The caller. @default OpenAccess */
  readonly access?: Access;
  readonly code: ErrorCode;
  /** The message names what was expected... */
  readonly expected: string;
  /** ...and what arrived. */
  readonly got: string;
}

const base64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: cluster { ready }`).join(' ')} }`;

export const badInputs: BadInput[] = [
  // Label selectors (kubectl syntax), wherever they are accepted.
  { name: 'a selector with an unclosed set', query: `{ services(labelSelector: "app in (a,b") { totalCount } }`, code: 'INVALID_SELECTOR', expected: 'expected "," or ")"', got: 'got end of string' },
  { name: 'a selector without a key', query: `{ services(labelSelector: "=web") { totalCount } }`, code: 'INVALID_SELECTOR', expected: 'expected "!" or a label key', got: 'got "="' },
  { name: 'a selector value with a space', query: `{ services(labelSelector: "app=we b") { totalCount } }`, code: 'INVALID_SELECTOR', expected: 'expected "," or end of string', got: 'got "b"' },
  { name: 'a selector key with "$"', query: `{ pods(labelSelector: "ApP$=x") { totalCount } }`, code: 'INVALID_SELECTOR', expected: 'expected a label key of A-Z', got: 'got "ApP$"' },
  { name: 'a selector ">" without an integer', query: `{ pods(labelSelector: "x>abc") { totalCount } }`, code: 'INVALID_SELECTOR', expected: 'expected an integer after ">"', got: 'got "abc"' },
  { name: 'a selector value of 64 characters', query: `{ nodes(labelSelector: "app=${'v'.repeat(64)}") { totalCount } }`, code: 'INVALID_SELECTOR', expected: 'at most 63 characters', got: '(64 characters)' },
  { name: 'a selector with an empty requirement, nested under a Service', query: `{ service(namespace: "shop", name: "web") { pods(labelSelector: "a,,b") { totalCount } } }`, code: 'INVALID_SELECTOR', expected: 'expected "!" or a label key after ","', got: 'got ","' },
  { name: 'a selector on endpointSlices', query: `{ endpointSlices(labelSelector: "a in b") { totalCount } }`, code: 'INVALID_SELECTOR', expected: 'expected "(" after "in"', got: 'got "b"' },
  // Cursors.
  { name: 'a cursor that is not base64url', query: `{ services(after: "not-a-cursor!") { totalCount } }`, code: 'INVALID_CURSOR', expected: 'expected an opaque cursor from pageInfo or an edge', got: 'got "not-a-cursor!"' },
  { name: 'a Pod cursor given to a Service connection', query: `{ services(after: "${encodeCursor('Pod', 'shop\0web-1')}") { totalCount } }`, code: 'INVALID_CURSOR', expected: 'expected a cursor for "Service"', got: 'got one for "Pod"' },
  { name: 'an edited cursor', query: `{ services(after: "${base64url({ v: 1, k: 'Service', s: 'x', c: '00000000' })}") { totalCount } }`, code: 'INVALID_CURSOR', expected: 'unmodified', got: 'got "eyJ2' },
  { name: 'a cursor of another version', query: `{ services(after: "${base64url({ v: 2, k: 'Service', s: 'x', c: '00000000' })}") { totalCount } }`, code: 'INVALID_CURSOR', expected: 'expected a cursor of version 1', got: 'got version 2' },
  { name: 'a cursor of 2000 characters', query: `{ services(after: "${'a'.repeat(2000)}") { totalCount } }`, code: 'INVALID_CURSOR', expected: 'at most 1024 characters', got: 'got 2000 characters' },
  // Page sizes.
  { name: 'first above the cap', query: `{ services(first: 5000) { totalCount } }`, code: 'PAGE_SIZE_EXCEEDED', expected: 'expected at most 1000 items per page', got: 'got 5000' },
  { name: 'first above the cap, in a variable', query: `query ($n: Int) { pods(first: $n) { totalCount } }`, variables: { n: 1001 }, code: 'PAGE_SIZE_EXCEEDED', expected: 'expected at most 1000 items per page', got: 'got 1001' },
  { name: 'first above the cap, nested', query: `{ service(namespace: "shop", name: "web") { endpoints(first: 1001) { totalCount } } }`, code: 'PAGE_SIZE_EXCEEDED', expected: 'expected at most 1000', got: 'got 1001' },
  { name: 'a negative first', query: `{ services(first: -1) { totalCount } }`, code: 'INVALID_ARGUMENT', expected: 'expected a page size from 0 to 1000', got: 'got -1' },
  // Arguments out of their domain.
  { name: 'an IP with an octet over 255', query: `{ ip(address: "10.4.2.300") { address } }`, code: 'INVALID_ARGUMENT', expected: 'expected an IPv4 or IPv6 address', got: 'got "10.4.2.300"' },
  { name: 'a CIDR instead of an IP', query: `{ ip(address: "10.4.0.0/16") { address } }`, code: 'INVALID_ARGUMENT', expected: 'expected an IPv4 or IPv6 address', got: 'got "10.4.0.0/16"' },
  { name: 'a DNS name instead of an IP', query: `{ ip(address: "web.shop") { address } }`, code: 'INVALID_ARGUMENT', expected: 'expected an IPv4 or IPv6 address', got: 'got "web.shop"' },
  // Routes.
  { name: 'a trace URL with another scheme', query: `{ trace(url: "ftp://shop.example.com/") { status } }`, code: 'INVALID_ARGUMENT', expected: 'url: expected the scheme http or https', got: 'got "ftp"' },
  { name: 'a trace URL that does not parse', query: `{ trace(url: "http://[::1") { status } }`, code: 'INVALID_ARGUMENT', expected: 'url: expected an http or https URL', got: 'got "http://[::1"' },
  { name: 'a trace method that is not an HTTP token', query: `{ trace(url: "http://a/", method: "GET /") { status } }`, code: 'INVALID_ARGUMENT', expected: 'method: expected an HTTP method', got: 'got "GET /"' },
  { name: 'an Ingress host that is not a DNS name', query: `{ ingresses(host: "shop example") { totalCount } }`, code: 'INVALID_ARGUMENT', expected: 'host: expected a DNS name', got: 'got "shop example"' },
  { name: 'an HTTPRoute namespace with capitals', query: `{ httpRoutes(namespace: "Shop") { hostnames } }`, code: 'INVALID_ARGUMENT', expected: 'namespace: expected a DNS-1123 label', got: 'got "Shop"' },
  { name: 'a namespace with capitals', query: `{ service(namespace: "Shop", name: "web") { type } }`, code: 'INVALID_ARGUMENT', expected: 'namespace: expected a DNS-1123 label', got: 'got "Shop"' },
  { name: 'a pod name with "_"', query: `{ pod(namespace: "shop", name: "web_1") { phase } }`, code: 'INVALID_ARGUMENT', expected: 'name: expected an object name', got: 'got "web_1"' },
  { name: 'a node filter with a space', query: `{ pods(node: "Node A") { totalCount } }`, code: 'INVALID_ARGUMENT', expected: 'node: expected an object name', got: 'got "Node A"' },
  // The document against the schema.
  { name: 'an unknown enum value', query: `{ services(type: Headless) { totalCount } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: '"ServiceType" enum', got: '"Headless"' },
  { name: 'an enum value as a string', query: `{ services(type: "ClusterIP") { totalCount } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'Enum "ServiceType"', got: 'non-enum value: "ClusterIP"' },
  { name: 'an unknown Kind, with a suggestion', query: `{ cluster { kind(kind: Pods) { synced } } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: '"Kind" enum. Did you mean the enum value "Pod"', got: 'Value "Pods"' },
  { name: 'a missing required argument', query: `{ service(namespace: "shop") { type } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'argument "name" of type "String!" is required', got: 'it was not provided' },
  { name: 'null for a required argument', query: `{ ip(address: null) { address } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'Expected value of type "String!"', got: 'found null' },
  { name: 'a string for an Int', query: `{ services(first: "ten") { totalCount } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'Int cannot represent', got: '"ten"' },
  { name: 'an unknown field', query: `{ service(namespace: "shop", name: "web") { colour } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'on type "Service"', got: 'field "colour"' },
  { name: 'an unknown argument', query: `{ services(sort: NAME) { totalCount } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'on field "Query.services"', got: 'argument "sort"' },
  { name: 'a selection on an enum', query: `{ service(namespace: "shop", name: "web") { type { x } } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'must not have a selection', got: 'type "ServiceType!"' },
  { name: 'no selection on an object', query: `{ service(namespace: "shop", name: "web") }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'must have a selection of subfields', got: 'Field "service" of type "Service"' },
  { name: 'one alias for two different fields', query: `{ a: service(namespace: "shop", name: "web") { type } a: service(namespace: "shop", name: "db") { type } }`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'Use different aliases', got: 'Fields "a" conflict' },
  { name: 'thousands of identical fields (graphql-js gives up)', query: `{ ${'__typename '.repeat(4000)}}`, code: 'GRAPHQL_VALIDATION_FAILED', expected: 'expected a document that validates within', got: 'got one with too many overlapping fields' },
  // Syntax and operations.
  { name: 'a document cut short', query: `{ services {`, code: 'GRAPHQL_PARSE_FAILED', expected: 'Expected Name', got: 'found <EOF>' },
  { name: 'an operationName that names no operation', query: `query A { cluster { ready } } query B { cluster { ready } }`, operationName: 'C', code: 'OPERATION_RESOLUTION_FAILURE', expected: 'expected one of the operations ["A","B"]', got: 'got "C"' },
  { name: 'several operations and no operationName', query: `query A { cluster { ready } } query B { cluster { ready } }`, code: 'OPERATION_RESOLUTION_FAILURE', expected: 'expected an operationName', got: 'got none' },
  { name: 'a subscription over HTTP', query: `subscription { nodeChanges { type } }`, code: 'OPERATION_NOT_SUPPORTED', expected: 'expected a query over HTTP', got: 'got a subscription (subscribe over WebSocket at /graphql' },
  { name: 'a mutation (there are none)', query: `mutation { x }`, code: 'OPERATION_NOT_SUPPORTED', expected: 'expected a query or a subscription', got: 'got a mutation (the gateway is read-only' },
  // Variables.
  { name: 'a variable of the wrong type', query: `query ($first: Int) { services(first: $first) { totalCount } }`, variables: { first: 'x' }, code: 'BAD_USER_INPUT', expected: 'Int cannot represent non-integer value', got: 'got invalid value "x"' },
  { name: 'a missing required variable', query: `query ($ns: String!) { services(namespace: $ns) { totalCount } }`, variables: {}, code: 'BAD_USER_INPUT', expected: 'of required type "String!"', got: 'was not provided' },
  { name: 'an unknown enum value in a variable', query: `query ($t: ServiceType) { services(type: $t) { totalCount } }`, variables: { t: 'Foo' }, code: 'BAD_USER_INPUT', expected: 'in "ServiceType" enum', got: 'Value "Foo"' },
  // Limits.
  { name: 'nesting 13 levels deep', query: `{ services(first: 1) { edges { node { endpoints(first: 1) { edges { node { pod { node { pods(first: 1) { edges { node { metadata { name } } } } } } } } } } } } }`, code: 'QUERY_TOO_DEEP', expected: 'expected at most 12 levels', got: 'got 13' },
  { name: 'nesting through fragments', query: `{ ...Q } fragment Q on Query { services(first: 1) { ...C } } fragment C on ServiceConnection { edges { node { endpoints(first: 1) { edges { node { pod { node { pods(first: 1) { edges { node { metadata { labels { key } } } } } } } } } } } } }`, code: 'QUERY_TOO_DEEP', expected: 'expected at most 12 levels', got: 'got 14' },
  { name: '31 aliases', query: aliases(31), code: 'TOO_MANY_ALIASES', expected: 'expected at most 30 aliased fields', got: 'got 31' },
  { name: 'a cycle back through a pod\'s node', query: `{ nodes(first: 1000) { items { pods(first: 1000) { items { node { pods(first: 1000) { items { metadata { name } } } } } } } } }`, code: 'QUERY_TOO_COSTLY', expected: 'expected at most 200000 estimated fields', got: 'got 30032001' },
  { name: 'a cycle through variables', query: `query ($n: Int) { nodes(first: $n) { items { pods(first: $n) { items { node { pods(first: $n) { items { metadata { name } } } } } } } } }`, variables: { n: 1000 }, code: 'QUERY_TOO_COSTLY', expected: 'expected at most 200000', got: 'got 30032001' },
  { name: 'cost hidden in fragments', query: `{ services(first: 1000) { ...S } } fragment S on ServiceConnection { items { ...E } } fragment E on Service { nodes(first: 500) { items { metadata { name } } } }`, code: 'QUERY_TOO_COSTLY', expected: 'expected at most 200000', got: 'got 1502001' },
  { name: 'more than 5000 tokens', query: `{ ${'__typename '.repeat(5001)}}`, code: 'TOO_MANY_TOKENS', expected: 'tokens: expected at most 5000 per document', got: 'got more (parsing stopped at token 5001)' },
  // Authorization (graphql-access.test.ts has the rest).
  { name: 'a namespace the caller may not list', query: `{ services(namespace: "kube-system") { totalCount } }`, access: new TableAccess('alice', [['list', 'services', 'shop']]), code: 'FORBIDDEN', expected: 'expected permission to list services in namespace kube-system', got: 'got denied for user "alice"' },
  { name: 'an authorizer that cannot answer', query: `{ services { totalCount } }`, access: new TableAccess('alice', [], { unavailable: ['services'] }), code: 'AUTHORIZATION_UNAVAILABLE', expected: 'expected an authorization decision to list services cluster-wide', got: 'got none' },
];

