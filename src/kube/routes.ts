/**
 * Slim records of the routing kinds (networking.k8s.io/v1 Ingress and IngressClass) and the
 * index functions the cache keeps over them. Built at ingest (ingest.ts), frozen, shared:
 * never mutate them.
 *
 * The routing kinds are optional: a gateway that may not read them warns at start and serves
 * empty route fields (preflight.ts, docs/routes.md).
 */
import { namespacedKey, type LoadBalancerIngress, type Metadata, type ObjectMeta } from './records.ts';

/** An Ingress backend (networking.k8s.io/v1 IngressBackend): a Service port, or a resource. */
export interface IngressBackend {
  /** The Service (same namespace as the Ingress) and its port, by name or number. */
  readonly service: { readonly name: string; readonly portName: string | null; readonly portNumber: number | null } | null;
  /** A resource backend (for example a storage bucket): never a Service, so never endpoints. */
  readonly resource: { readonly apiGroup: string | null; readonly kind: string; readonly name: string } | null;
}

export interface IngressPath {
  /** As written; null when absent (it then matches every path, as "/" does). */
  readonly path: string | null;
  /** Exact, Prefix or ImplementationSpecific. */
  readonly pathType: string;
  readonly backend: IngressBackend;
}

export interface IngressRule {
  /** null: the rule applies to every host. May start with `*.` (one DNS label). */
  readonly host: string | null;
  readonly paths: readonly IngressPath[];
}

export interface IngressTLS {
  readonly hosts: readonly string[];
  readonly secretName: string | null;
}

export interface IngressRecord extends Metadata {
  readonly kind: 'Ingress';
  readonly meta: ObjectMeta;
  /** spec.ingressClassName, or the legacy `kubernetes.io/ingress.class` annotation. */
  readonly ingressClassName: string | null;
  readonly defaultBackend: IngressBackend | null;
  readonly rules: readonly IngressRule[];
  readonly tls: readonly IngressTLS[];
  /** status.loadBalancer.ingress: where the Ingress controller exposes it. */
  readonly loadBalancerIngress: readonly LoadBalancerIngress[];
}

export interface IngressClassRecord extends Metadata {
  readonly kind: 'IngressClass';
  readonly meta: ObjectMeta;
  /** spec.controller, e.g. `k8s.io/ingress-nginx`. */
  readonly controller: string;
  /** Annotated `ingressclass.kubernetes.io/is-default-class: "true"`. */
  readonly isDefault: boolean;
}

export const AnnotationIngressClass = 'kubernetes.io/ingress.class';
export const AnnotationDefaultClass = 'ingressclass.kubernetes.io/is-default-class';

/** Index names of the Ingress store. */
/** `namespace/service` of every Service an Ingress sends traffic to (rules and default backend). */
export const IngressesByService = 'service';
/**
 * Every host of an Ingress's rules as written (`*.example.com` stays a wildcard), and
 * AnyHost for a rule without a host or a default backend: the candidates for a hostname are
 * the exact host, its one-label wildcard, and AnyHost.
 */
export const IngressesByHost = 'host';
/** As an indexed value of IngressesByHost: a rule without a host, or a default backend. */
export const AnyHost = '';

/** The Services (keys `namespace/name`) an Ingress sends traffic to, deduplicated. */
export function ingressServiceKeys(ing: IngressRecord): string[] {
  const out = new Set<string>();
  const add = (b: IngressBackend | null) => {
    if (b?.service) out.add(namespacedKey(ing.meta.namespace, b.service.name));
  };
  add(ing.defaultBackend);
  for (const rule of ing.rules) for (const p of rule.paths) add(p.backend);
  return [...out];
}

/** The hosts an Ingress answers for, as written; AnyHost for host-less rules and a default backend. */
export function ingressHosts(ing: IngressRecord): string[] {
  const out = new Set<string>();
  if (ing.defaultBackend) out.add(AnyHost);
  for (const rule of ing.rules) out.add(rule.host ?? AnyHost);
  return [...out];
}
