/**
 * The Kubernetes wire format the simulated API server speaks: the resources it serves and their
 * discovery documents, paths resolved to a resource, list bodies written item by item, Status
 * objects for errors, and the continue token.
 */
import type { ServerResponse } from 'node:http';
import type { TooLargeError } from '../cluster.ts';
import type { KubeObject, StatusJson } from '../types.ts';

/** The resources served, with their kinds and scopes. */
export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
}

export const Resources: readonly ResourceInfo[] = [
  { group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', listKind: 'PodList', namespaced: true, shortNames: ['po'] },
  { group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', listKind: 'ServiceList', namespaced: true, shortNames: ['svc'] },
  { group: '', version: 'v1', resource: 'nodes', singular: 'node', kind: 'Node', listKind: 'NodeList', namespaced: false, shortNames: ['no'] },
  { group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', listKind: 'NamespaceList', namespaced: false, shortNames: ['ns'] },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', listKind: 'EndpointSliceList', namespaced: true, shortNames: [] },
  { group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', listKind: 'DeploymentList', namespaced: true, shortNames: ['deploy'] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', singular: 'ingress', kind: 'Ingress', listKind: 'IngressList', namespaced: true, shortNames: ['ing'] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', singular: 'ingressclass', kind: 'IngressClass', listKind: 'IngressClassList', namespaced: false, shortNames: [] },
  // Gateway API, as its standard-channel CRDs serve it (ReferenceGrant at v1beta1 only).
  { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'gatewayclasses', singular: 'gatewayclass', kind: 'GatewayClass', listKind: 'GatewayClassList', namespaced: false, shortNames: ['gc'] },
  { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'gateways', singular: 'gateway', kind: 'Gateway', listKind: 'GatewayList', namespaced: true, shortNames: ['gtw'] },
  { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'httproutes', singular: 'httproute', kind: 'HTTPRoute', listKind: 'HTTPRouteList', namespaced: true, shortNames: [] },
  { group: 'gateway.networking.k8s.io', version: 'v1', resource: 'grpcroutes', singular: 'grpcroute', kind: 'GRPCRoute', listKind: 'GRPCRouteList', namespaced: true, shortNames: [] },
  { group: 'gateway.networking.k8s.io', version: 'v1beta1', resource: 'referencegrants', singular: 'referencegrant', kind: 'ReferenceGrant', listKind: 'ReferenceGrantList', namespaced: true, shortNames: ['refgrant'] },
];

/** Builds a Status object. */
export function statusOf(code: number, reason: string, message: string, details?: StatusJson['details'], metadata: StatusJson['metadata'] = {}): StatusJson {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata,
    status: code >= 200 && code < 300 ? 'Success' : 'Failure',
    message,
    reason,
    ...(details !== undefined ? { details } : {}),
    code,
  };
}

/** The continue token format: base64url of `{"v":"meta.k8s.io/v1","rv":R,"start":"<key>\u0000"}`, as the real server writes it. */
export function encodeContinue(revision: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start: `${lastKey}\u0000` })).toString('base64url');
}

/** Reads a continue token. @throws TypeError ("continue key is not valid: …") when it is malformed. */
export function decodeContinue(token: string): { revision: number; lastKey: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new TypeError(`continue key is not valid: expected base64url JSON, but got: ${JSON.stringify(token)}`);
  }
  const p = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (p.v !== 'meta.k8s.io/v1' || typeof p.rv !== 'number' || !Number.isSafeInteger(p.rv) || p.rv < 1 || typeof p.start !== 'string') {
    throw new TypeError(`continue key is not valid: expected {"v":"meta.k8s.io/v1","rv":<int>,"start":<key>}, but got: ${JSON.stringify(parsed)}`);
  }
  return { revision: p.rv, lastKey: p.start.endsWith('\u0000') ? p.start.slice(0, -1) : p.start };
}

export const ContinueExpiredMessage =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export interface Route {
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

export function resolve(resources: readonly ResourceInfo[], rest: readonly string[]): Route | undefined {
  const find = (name: string | undefined): ResourceInfo | undefined => resources.find((r) => r.resource === name);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = find(rest[2]);
    if (info === undefined || !info.namespaced || rest.length > 4) return undefined;
    return { info, namespace: rest[1], name: rest[3] };
  }
  const info = find(rest[0]);
  if (info === undefined || rest.length > 2) return undefined;
  if (rest.length === 2 && info.namespaced) return undefined;
  return { info, namespace: undefined, name: rest[1] };
}

export function apiVersionOf(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** Serializes a list item without kind/apiVersion, as the real server's lists do. */
export function listItemSerializer(info: ResourceInfo): (object: KubeObject) => string {
  const prefix = `{"kind":${JSON.stringify(info.kind)},"apiVersion":${JSON.stringify(apiVersionOf(info))},`;
  return (object) => {
    const text = JSON.stringify(object);
    if (text.startsWith(prefix)) return `{${text.slice(prefix.length)}`;
    const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
    return JSON.stringify(rest);
  };
}

/** Streams a list body in batches, honouring backpressure. */
export function writeList(res: ServerResponse, head: string, items: readonly KubeObject[], serialize: (object: KubeObject) => string): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'X-Content-Type-Options': 'nosniff' });
  let i = 0;
  let first = true;
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  const write = (): void => {
    if (closed) return;
    let chunk = i === 0 ? head : '';
    while (i < items.length) {
      chunk += (first ? '' : ',') + serialize(items[i++] as KubeObject);
      first = false;
      if (chunk.length >= 262_144) {
        if (!res.write(chunk)) {
          res.once('drain', write);
          return;
        }
        chunk = '';
      }
    }
    res.end(`${chunk}]}`);
  };
  write();
}

export function parseRevision(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function badRequest(message: string): StatusJson {
  return statusOf(400, 'BadRequest', message);
}

export function invalid(message: string): StatusJson {
  return statusOf(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${message}`, { kind: 'ListOptions', group: 'meta.k8s.io', causes: [{ reason: 'FieldValueInvalid', message }] });
}

export function tooLarge(error: TooLargeError): StatusJson {
  return statusOf(504, 'Timeout', `Timeout: Too large resource version: ${error.requested}, current: ${error.current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

export function sendNotFound(res: ServerResponse): void {
  sendStatus(res, statusOf(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function sendStatus(res: ServerResponse, status: StatusJson): void {
  sendJson(res, status.code, status);
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

export function apiGroupList(): unknown {
  const groups = [...new Set(Resources.filter((r) => r.group !== '').map((r) => r.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((name) => {
      const versions = [...new Set(Resources.filter((r) => r.group === name).map((r) => r.version))].map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions, preferredVersion: versions[0] };
    }),
  };
}

export function apiResourceList(group: string, version: string, resources: readonly ResourceInfo[]): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: resources.map((r) => ({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ['get', 'list', 'watch'],
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    })),
  };
}
