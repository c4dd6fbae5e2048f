/**
 * A small admin client for tests: creates the objects a scenario needs and reads back what the
 * API server holds, so tests compare the gateway against fresh API reads. It plays the kubelet
 * the way kwok does: pods are made ready by patching their status.
 */
import { request } from 'node:https';
import type { ControlPlaneState } from './control-plane.ts';

export class KubeApiError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 500)}`);
    this.status = status;
    this.body = body;
  }
}

export interface PodSpecInput {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  nodeName: string;
  /** Container ports; default one port `http` 8080/TCP. */
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

export interface ServiceInput {
  namespace: string;
  name: string;
  /** Omit for a selectorless Service. */
  selector?: Record<string, string>;
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
  clusterIP?: string;
  ipFamilyPolicy?: string;
  ipFamilies?: string[];
  publishNotReadyAddresses?: boolean;
  labels?: Record<string, string>;
  /** ClusterIP (default), NodePort, LoadBalancer or ExternalName. */
  type?: string;
  /** For an ExternalName Service. */
  externalName?: string;
}

/** One subset of a hand-written v1 Endpoints (deprecated API, still what mirroring reads). */
export interface EndpointSubsetInput {
  addresses?: { ip: string; nodeName?: string; hostname?: string; targetRef?: { kind: string; namespace?: string; name: string; uid?: string } }[];
  notReadyAddresses?: { ip: string; nodeName?: string; hostname?: string; targetRef?: { kind: string; namespace?: string; name: string; uid?: string } }[];
  ports: { name?: string; port: number; protocol?: string }[];
}

/** What a TokenRequest asks for. */
export interface TokenRequestInput {
  /** @default 3600 // 1 hour; the API server refuses less than 600 */
  expirationSeconds?: number;
  audiences?: string[];
  /** The object whose deletion invalidates the token (apiVersion v1). */
  boundObjectRef?: { kind: 'Secret' | 'Pod'; name: string; uid?: string };
}

/** One RBAC rule. */
export interface PolicyRuleInput {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export class KubeClient {
  private readonly server: string;
  private readonly ca: string;
  private readonly token: string;

  constructor(server: string, ca: string, token: string) {
    this.server = server;
    this.ca = ca;
    this.token = token;
  }

  static admin(state: ControlPlaneState): KubeClient {
    return new KubeClient(state.apiServerUrl, state.caPem, state.adminToken);
  }

  async req<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await new Promise<{ status: number; text: string }>((res, rej) => {
      const r = request(
        `${this.server}${path}`,
        {
          method,
          ca: this.ca,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
          },
          timeout: 30_000,
        },
        (resp) => {
          let text = '';
          resp.setEncoding('utf8');
          resp.on('data', (c: string) => (text += c));
          resp.on('end', () => res({ status: resp.statusCode ?? 0, text }));
          resp.on('error', rej);
        },
      );
      r.on('error', rej);
      r.on('timeout', () => r.destroy(new Error(`${method} ${path}: timed out`)));
      r.end(payload);
    });
    if (status < 200 || status >= 300) throw new KubeApiError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Every item of a list, following `continue`. */
  async list(path: string): Promise<{ resourceVersion: string; items: any[] }> {
    const items: any[] = [];
    let cont = '';
    let resourceVersion = '';
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.req('GET', `${path}${sep}limit=500${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      items.push(...page.items);
      resourceVersion ||= page.metadata.resourceVersion;
      cont = page.metadata.continue ?? '';
    } while (cont);
    return { resourceVersion, items };
  }

  /** Open a watch and return its HTTP status and first event (if any), then close it. */
  async firstWatchEvent(path: string): Promise<{ status: number; event: any }> {
    return new Promise((res, rej) => {
      const r = request(
        `${this.server}${path}`,
        { method: 'GET', ca: this.ca, headers: { authorization: `Bearer ${this.token}` }, timeout: 30_000 },
        (resp) => {
          let buf = '';
          resp.setEncoding('utf8');
          const done = (event: any) => {
            res({ status: resp.statusCode ?? 0, event });
            resp.destroy();
          };
          resp.on('data', (c: string) => {
            buf += c;
            const nl = buf.indexOf('\n');
            if (nl >= 0) done(JSON.parse(buf.slice(0, nl)));
          });
          resp.on('end', () => done(buf.trim() ? JSON.parse(buf) : null));
          resp.on('error', () => {});
        },
      );
      r.on('error', rej);
      r.on('timeout', () => r.destroy(new Error(`watch ${path}: timed out`)));
      r.end();
    });
  }

  async ensureNamespace(name: string): Promise<void> {
    try {
      await this.req('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
  }

  async createNode(name: string, zone: string, opts: { region?: string; labels?: Record<string, string> } = {}): Promise<any> {
    const node = await this.req('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'topology.kubernetes.io/zone': zone,
          'topology.kubernetes.io/region': opts.region ?? 'region-1',
          ...opts.labels,
        },
      },
    });
    await this.req(
      'PATCH',
      `/api/v1/nodes/${name}/status`,
      {
        status: {
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
          addresses: [{ type: 'InternalIP', address: `192.168.${Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 200) + 1}` }, { type: 'Hostname', address: name }],
        },
      },
      'application/strategic-merge-patch+json',
    );
    return node;
  }

  async createService(s: ServiceInput): Promise<any> {
    return this.req('POST', `/api/v1/namespaces/${s.namespace}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: s.namespace, labels: s.labels ?? {} },
      spec: {
        ...(s.type ? { type: s.type } : {}),
        ...(s.externalName ? { externalName: s.externalName } : {}),
        ...(s.selector ? { selector: s.selector } : {}),
        ports: (s.ports ?? [{ name: 'http', port: 80, targetPort: 'http' }]).map((p) => ({ protocol: 'TCP', ...p })),
        ...(s.clusterIP ? { clusterIP: s.clusterIP } : {}),
        ...(s.ipFamilyPolicy ? { ipFamilyPolicy: s.ipFamilyPolicy } : {}),
        ...(s.ipFamilies ? { ipFamilies: s.ipFamilies } : {}),
        ...(s.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
      },
    });
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    await this.req('DELETE', `/api/v1/namespaces/${namespace}/services/${name}`);
  }

  /** A pod scheduled to `nodeName`. Not ready until `setPodReady` patches its status. */
  async createPod(p: PodSpecInput): Promise<any> {
    return this.req('POST', `/api/v1/namespaces/${p.namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
      spec: {
        nodeName: p.nodeName,
        containers: [
          {
            name: 'app',
            image: 'registry.invalid/app:1',
            ports: (p.ports ?? [{ name: 'http', containerPort: 8080 }]).map((x) => ({ protocol: 'TCP', ...x })),
          },
        ],
      },
    });
  }

  /** Play the kubelet: phase Running, the pod's IPs, and the Ready condition set to `ready`. */
  async setPodReady(namespace: string, name: string, ips: string[], ready: boolean): Promise<any> {
    const now = new Date().toISOString();
    const cond = (type: string) => ({ type, status: ready ? 'True' : 'False', lastTransitionTime: now });
    return this.req(
      'PATCH',
      `/api/v1/namespaces/${namespace}/pods/${name}/status`,
      {
        status: {
          phase: 'Running',
          podIP: ips[0],
          podIPs: ips.map((ip) => ({ ip })),
          hostIP: '192.168.0.1',
          conditions: [cond('Ready'), cond('ContainersReady'), { type: 'PodScheduled', status: 'True', lastTransitionTime: now }],
        },
      },
      'application/strategic-merge-patch+json',
    );
  }

  /** Delete a pod; with the default grace period 0 it is gone at once (there is no kubelet to confirm). */
  async deletePod(namespace: string, name: string, gracePeriodSeconds = 0): Promise<void> {
    await this.req('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds,
    });
  }

  /**
   * Create or replace the v1 Endpoints of a selectorless Service, as a person or an external
   * controller would write them; the endpointslice-mirroring controller mirrors them into slices.
   */
  async putEndpoints(namespace: string, name: string, subsets: EndpointSubsetInput[]): Promise<any> {
    const body = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace }, subsets };
    try {
      return await this.req('PUT', `/api/v1/namespaces/${namespace}/endpoints/${name}`, body);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      return this.req('POST', `/api/v1/namespaces/${namespace}/endpoints`, body);
    }
  }

  /** A ServiceAccount; its tokens come from `requestToken` (the TokenRequest API). */
  async createServiceAccount(namespace: string, name: string): Promise<any> {
    return this.req('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
  }

  /**
   * A fresh token of a ServiceAccount (TokenRequest API, `kubectl create token`). The API server
   * refuses `expirationSeconds` below 600. With `boundObjectRef` the token stops validating when
   * that object is deleted; without `audiences` it is valid for the API server's own.
   */
  async requestToken(namespace: string, serviceAccount: string, opts: TokenRequestInput = {}): Promise<string> {
    const tr = await this.req('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        expirationSeconds: opts.expirationSeconds ?? 3600,
        ...(opts.audiences ? { audiences: opts.audiences } : {}),
        ...(opts.boundObjectRef ? { boundObjectRef: { apiVersion: 'v1', ...opts.boundObjectRef } } : {}),
      },
    });
    return tr.status.token as string;
  }

  /** A Role in `namespace` (or, with namespace null, a ClusterRole) granting `rules`. */
  async createRole(namespace: string | null, name: string, rules: PolicyRuleInput[]): Promise<any> {
    const kind = namespace === null ? 'ClusterRole' : 'Role';
    const path = namespace === null ? '/apis/rbac.authorization.k8s.io/v1/clusterroles' : `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`;
    return this.req('POST', path, { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) }, rules });
  }

  /**
   * Binds a Role or ClusterRole to ServiceAccounts: a RoleBinding in `namespace`, or with
   * namespace null a ClusterRoleBinding (cluster-wide).
   */
  async bindRole(namespace: string | null, name: string, roleRef: { kind: 'Role' | 'ClusterRole'; name: string }, serviceAccounts: { namespace: string; name: string }[]): Promise<any> {
    const kind = namespace === null ? 'ClusterRoleBinding' : 'RoleBinding';
    const path = namespace === null ? '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings' : `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`;
    return this.req('POST', path, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      metadata: { name, ...(namespace ? { namespace } : {}) },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
      subjects: serviceAccounts.map((sa) => ({ kind: 'ServiceAccount', ...sa })),
    });
  }

  /** An Opaque Secret (for example to bind a token to). */
  async createSecret(namespace: string, name: string, data: Record<string, string> = {}): Promise<any> {
    return this.req('POST', `/api/v1/namespaces/${namespace}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'Opaque', stringData: data });
  }

  /** DELETE `path`; a 404 (already gone) is fine. */
  async deleteIfPresent(path: string): Promise<void> {
    try {
      await this.req('DELETE', path);
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
  }

  async slicesOf(namespace: string, service: string): Promise<any[]> {
    const r = await this.list(
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`,
    );
    return r.items;
  }
}
