/**
 * What one caller may see, decided once per operation (docs/design.md, "Security defaults"): the
 * loaders filter the one shared cache through it, and fields that name a namespace or need
 * Nodes ask it before reading.
 *
 * Questions follow one rule, so that they are few and predictable: per resource, cluster-wide
 * first (a cluster-wide allow covers every namespace, and then nothing is filtered); only when
 * that is denied, each namespace the answer touches, all at once. Every (resource, namespace)
 * is asked at most once per operation; the Access behind it caches across operations.
 * `access.user === null` (authorization off) asks nothing.
 *
 * Fails closed: an `AuthorizationUnavailableError` becomes AUTHORIZATION_UNAVAILABLE on the
 * fields that needed the decision, never an unfiltered answer.
 */
import { AllNamespaces, AuthorizationUnavailableError, type Access, type Resource, type Verb } from '../auth/access.ts';
import { authorizationUnavailable, forbidden } from './errors.ts';

export class Permissions {
  readonly access: Access;
  /** `list` for queries, `watch` for subscription events. */
  readonly verb: Verb;
  /** Authorization is off: everything is visible and no question is asked. */
  readonly open: boolean;
  private readonly decisions = new Map<string, Promise<boolean>>();

  constructor(access: Access, verb: Verb) {
    this.access = access;
    this.verb = verb;
    this.open = access.user === null;
  }

  /**
   * Whether the caller may `verb` `resource` in `namespace` (AllNamespaces: cluster-wide), asked
   * at most once per operation. Rejects with AUTHORIZATION_UNAVAILABLE when the Access cannot
   * decide.
   */
  allowed(resource: Resource, namespace: string): Promise<boolean> {
    if (this.open) return True;
    const key = `${resource}\0${namespace}`;
    let decision = this.decisions.get(key);
    if (decision === undefined) {
      decision = this.ask(resource, namespace);
      // Callers that stop at the first rejection of several leave the others unawaited.
      decision.catch(noop);
      this.decisions.set(key, decision);
    }
    return decision;
  }

  /**
   * The namespaces among `namespaces()` the caller may see `resource` in, or null when it may
   * see every namespace (cluster-wide allowed, or authorization off): then filter nothing and
   * `namespaces` is never called.
   */
  async visibleNamespaces(resource: Resource, namespaces: () => Iterable<string>): Promise<ReadonlySet<string> | null> {
    if (this.open || (await this.allowed(resource, AllNamespaces))) return null;
    const asked = [...new Set(namespaces())];
    const answers = await Promise.all(asked.map((ns) => this.allowed(resource, ns)));
    return new Set(asked.filter((_, i) => answers[i]));
  }

  /** Whether `resource` is visible cluster-wide (Nodes: at all). */
  clusterWide(resource: Resource): Promise<boolean> {
    return this.allowed(resource, AllNamespaces);
  }

  /**
   * For fields that name one namespace (or need Nodes): resolves when the caller may see
   * `resource` there, so that "none" and "not allowed" stay apart.
   *
   * @throws FORBIDDEN naming the missing permission; AUTHORIZATION_UNAVAILABLE.
   */
  async require(resource: Resource, namespace: string): Promise<void> {
    if (this.open || (await this.allowed(resource, AllNamespaces))) return;
    if (namespace !== AllNamespaces && (await this.allowed(resource, namespace))) return;
    throw this.forbidden(resource, namespace);
  }

  /** The FORBIDDEN error of `resource` in `namespace` for this caller. */
  forbidden(resource: Resource, namespace: string): Error {
    return forbidden(this.verb, resource, namespace, this.access.user);
  }

  // Private:

  private async ask(resource: Resource, namespace: string): Promise<boolean> {
    try {
      return (await this.access.allowed(this.verb, resource, namespace)) === true;
    } catch (err) {
      if (err instanceof AuthorizationUnavailableError) throw authorizationUnavailable(this.verb, resource, namespace, err);
      throw err;
    }
  }
}

// Private:

const True = Promise.resolve(true);

function noop(): void {}
