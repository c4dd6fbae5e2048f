/**
 * Which Ingress rule serves a request: the matching rules of networking.k8s.io/v1 Ingress
 * (https://kubernetes.io/docs/concepts/services-networking/ingress/), pure and synchronous.
 *
 * - Hosts: a rule host is a hostname, matched case-insensitively, or a wildcard `*.example.com`,
 *   which matches exactly one DNS label in place of the `*` (`a.example.com`, not
 *   `a.b.example.com`, not `example.com`). A rule without a host matches every host.
 * - Paths: `Exact` matches the path exactly (case-sensitive, trailing slash significant).
 *   `Prefix` matches element by element on `/`: `/foo` matches `/foo`, `/foo/` and `/foo/bar`,
 *   not `/foobar`; a trailing slash on either side is ignored. `ImplementationSpecific` is
 *   treated as `Prefix` (what ingress-nginx does for a path without regex annotations); a
 *   missing path is `/`.
 * - Precedence (docs/routes.md): the most specific host first (exact, then wildcard, then a
 *   rule without a host); then the longest matching path; on equal paths `Exact` over `Prefix`;
 *   then the oldest Ingress, then namespace/name alphabetically, then rule and path order.
 *   A request no rule matches goes to a default backend (the oldest Ingress that has one, same
 *   tie-breaks), or nowhere.
 *
 * The Ingress class is not a matching criterion: every Ingress is a candidate, and the match
 * names the class so that a reader can tell controllers apart.
 */
import type { IngressBackend, IngressPath, IngressRecord } from '../kube/routes.ts';
import { compareRanks, compareStrings, quote } from './text.ts';

/** How the matched rule's host relates to the request's host. */
export type HostMatch = 'EXACT' | 'WILDCARD' | 'ANY' | 'DEFAULT_BACKEND';

export interface IngressMatch {
  readonly ingress: IngressRecord;
  /** The rule's host as written; null for a rule without a host and for a default backend. */
  readonly ruleHost: string | null;
  readonly hostMatch: HostMatch;
  /** The matched path; null for a default backend. */
  readonly path: IngressPath | null;
  readonly backend: IngressBackend;
}

/** A request as the matcher sees it: the host without port, lower-cased; the path without query. */
export interface MatchRequest {
  readonly host: string;
  readonly path: string;
}

/** The rule (or default backend) that serves `request` among `ingresses`, or null when none does. */
export function matchIngress(ingresses: readonly IngressRecord[], request: MatchRequest): IngressMatch | null {
  let best: { match: IngressMatch; rank: Rank } | null = null;
  for (const ing of ingresses) {
    ing.rules.forEach((rule, ruleIndex) => {
      const hostMatch = matchHost(rule.host, request.host);
      if (hostMatch === null) return;
      rule.paths.forEach((path, pathIndex) => {
        if (!matchPath(path.pathType, path.path, request.path)) return;
        const rank: Rank = [HostTier[hostMatch], -pathLength(path), path.pathType === 'Exact' ? 0 : 1, ing.meta.creationTimestamp, `${ing.meta.namespace}\0${ing.meta.name}`, ruleIndex, pathIndex];
        if (best === null || compareRanks(rank, best.rank) < 0) {
          best = { match: { ingress: ing, ruleHost: rule.host, hostMatch, path, backend: path.backend }, rank };
        }
      });
    });
  }
  if (best !== null) return (best as { match: IngressMatch }).match;
  let fallback: IngressRecord | null = null;
  for (const ing of ingresses) {
    if (ing.defaultBackend !== null && (fallback === null || olderFirst(ing, fallback) < 0)) fallback = ing;
  }
  return fallback === null ? null : { ingress: fallback, ruleHost: null, hostMatch: 'DEFAULT_BACKEND', path: null, backend: fallback.defaultBackend! };
}

/** How a rule host matches a request host (lower-case, no port); null when it does not. */
export function matchHost(ruleHost: string | null, host: string): HostMatch | null {
  if (ruleHost === null) return 'ANY';
  const rule = ruleHost.toLowerCase();
  if (rule.startsWith('*.')) {
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot + 1) === rule.slice(2) ? 'WILDCARD' : null;
  }
  return rule === host ? 'EXACT' : null;
}

/** Whether a rule path of `pathType` matches the request path. */
export function matchPath(pathType: string, rulePath: string | null, requestPath: string): boolean {
  const path = rulePath ?? '/';
  if (pathType === 'Exact') return path === requestPath;
  // Prefix, and ImplementationSpecific treated as Prefix: element-wise, trailing slashes ignored.
  const want = elements(path);
  const got = elements(requestPath);
  if (want.length > got.length) return false;
  for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) return false;
  return true;
}

/**
 * The request a URL names: host lower-cased without port, path without query or fragment
 * (`/` when empty), and the query parameters. Throws a TypeError naming what was expected when `url` is not an http(s)
 * URL; a URL without a scheme is read as http.
 */
export function requestOfUrl(url: string): MatchRequest & { readonly scheme: 'http' | 'https'; readonly query: URLSearchParams } {
  let parsed: URL;
  try {
    parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`);
  } catch {
    throw new TypeError(`url: expected an http or https URL such as "https://shop.example.com/cart", got ${quote(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`url: expected the scheme http or https, got ${quote(parsed.protocol.slice(0, -1))}`);
  }
  if (parsed.hostname === '') throw new TypeError(`url: expected a host, got ${quote(url)}`);
  return { scheme: parsed.protocol === 'https:' ? 'https' : 'http', host: parsed.hostname.toLowerCase(), path: parsed.pathname || '/', query: parsed.searchParams };
}

// Private:

type Rank = [number, number, number, string, string, number, number];

const HostTier: Readonly<Record<HostMatch, number>> = { EXACT: 0, WILDCARD: 1, ANY: 2, DEFAULT_BACKEND: 3 };

function olderFirst(a: IngressRecord, b: IngressRecord): number {
  return compareStrings(a.meta.creationTimestamp, b.meta.creationTimestamp) || compareStrings(`${a.meta.namespace}\0${a.meta.name}`, `${b.meta.namespace}\0${b.meta.name}`);
}

/** The length that decides "longest matching path": of its elements, so that slashes do not count. */
function pathLength(p: IngressPath): number {
  return elements(p.path ?? '/').join('/').length;
}

/** Path elements: split on `/`, empty ones (leading, trailing, doubled slashes) dropped. */
function elements(path: string): string[] {
  return path.split('/').filter((e) => e !== '');
}
