/**
 * Argument checks the schema's types cannot express: page sizes, cursors, label selectors,
 * names and IP addresses. Each returns the checked value or throws a coded GraphQLError whose
 * message is "<argument>: expected X, got Y" (errors.ts).
 */
import { canonicalIP } from '../model/address.ts';
import { CursorError, decodeCursor } from '../model/cursor.ts';
import { parseSelector, SelectorError, type Selector } from '../model/selector.ts';
import { badUserInput, ErrorCode, quote } from './errors.ts';
import type { Limits } from './limits.ts';
import type { CursorKind, PageRequest } from './pagination.ts';
import type { IPAddressParent } from './parents.ts';

/** `first`/`after` as the schema declares them on every connection field. */
export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
}

/**
 * A page request: `first` defaults to `limits.defaultPageSize` and must be 0 to
 * `limits.maxPageSize`; `after` must be a cursor of this connection's kind.
 *
 * @throws INVALID_ARGUMENT for a negative `first`, PAGE_SIZE_EXCEEDED above the cap,
 * INVALID_CURSOR for a cursor that does not decode or belongs to another kind of connection.
 */
export function pageArgs(kind: CursorKind, args: PageArgs, limits: Limits): PageRequest {
  const first = args.first ?? limits.defaultPageSize;
  if (first < 0) {
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, `first: expected a page size from 0 to ${limits.maxPageSize}, got ${first}`);
  }
  if (first > limits.maxPageSize) {
    throw badUserInput(ErrorCode.PAGE_SIZE_EXCEEDED, `first: expected at most ${limits.maxPageSize} items per page, got ${first}`);
  }
  const after = args.after ?? null;
  if (after === null) return { first, afterKey: null };
  try {
    return { first, afterKey: decodeCursor(kind, after) };
  } catch (err) {
    if (err instanceof CursorError) throw badUserInput(ErrorCode.INVALID_CURSOR, `after: expected ${err.expected}, got ${err.got}`);
    throw err;
  }
}

/**
 * A parsed `labelSelector` (kubectl syntax), or null when none was given.
 *
 * @throws INVALID_SELECTOR with the parser's message, e.g.
 * `labelSelector: expected "(" after "in" at position 7, got "a"`.
 */
export function selectorArg(labelSelector: string | null | undefined): Selector | null {
  if (labelSelector === null || labelSelector === undefined) return null;
  try {
    return parseSelector(labelSelector);
  } catch (err) {
    if (err instanceof SelectorError) throw badUserInput(ErrorCode.INVALID_SELECTOR, err.message);
    throw err;
  }
}

/**
 * A namespace: a DNS-1123 label, as the API server requires.
 *
 * @throws INVALID_ARGUMENT otherwise.
 */
export function namespaceArg(namespace: string): string {
  if (namespace.length > 63 || !dns1123Label.test(namespace)) {
    throw badUserInput(
      ErrorCode.INVALID_ARGUMENT,
      `namespace: expected a DNS-1123 label (at most 63 characters of a-z, 0-9 and "-", beginning and ending with a letter or digit), got ${quote(namespace)}`,
    );
  }
  return namespace;
}

/** `namespaceArg`, or null (every namespace) when none was given. */
export function optionalNamespaceArg(namespace: string | null | undefined): string | null {
  return namespace === null || namespace === undefined ? null : namespaceArg(namespace);
}

/**
 * An object name (`argument` names the argument in the message): a DNS-1123 subdomain, the
 * widest rule among the kinds served (Service names are the narrower DNS-1035 labels).
 *
 * @throws INVALID_ARGUMENT otherwise.
 */
export function nameArg(argument: string, name: string): string {
  if (name.length > 253 || !dns1123Subdomain.test(name)) {
    throw badUserInput(
      ErrorCode.INVALID_ARGUMENT,
      `${argument}: expected an object name (a DNS-1123 subdomain: at most 253 characters of a-z, 0-9, "-" and "."), got ${quote(name)}`,
    );
  }
  return name;
}

/**
 * An IP address in canonical form: IPv4 dotted decimal without leading zeros, IPv6 lowercase
 * and compressed (the form Kubernetes writes), so that `FD00:0::1` finds `fd00::1`; an
 * IPv4-mapped IPv6 address is its IPv4 address, so that `::ffff:10.64.3.2` finds `10.64.3.2`.
 *
 * @throws INVALID_ARGUMENT for anything else (a CIDR, a hostname, a zone-scoped IPv6 address).
 */
export function ipArg(address: string): IPAddressParent {
  const ip = canonicalIP(address);
  if (ip !== null) return ip;
  throw badUserInput(ErrorCode.INVALID_ARGUMENT, `address: expected an IPv4 or IPv6 address such as 10.64.3.2 or fd00::1, got ${quote(address)}`);
}

// Private:

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A DNS name as an Ingress rule host or a request host is written (`*.example.com` only with
 * `wildcard`), lower-cased.
 * @throws INVALID_ARGUMENT for anything else (a scheme, a port, a path, "_").
 */
export function hostArg(host: string, wildcard = true): string {
  if (host.length > 253 || !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i.test(host) || (!wildcard && host.startsWith('*.'))) {
    const example = wildcard ? '"shop.example.com" or "*.example.com"' : '"shop.example.com" (no scheme, port or path)';
    throw badUserInput(ErrorCode.INVALID_ARGUMENT, `host: expected a DNS name such as ${example}, got ${quote(host)}`);
  }
  return host.toLowerCase();
}
