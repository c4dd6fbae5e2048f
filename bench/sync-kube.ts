/**
 * On the real control plane: how long a cold sync of the whole cache takes, against
 * @kubernetes/client-node's informers listing the same kinds, at a pod count the control plane
 * holds comfortably on this machine.
 *
 *   node bench/sync-kube.ts [--pods 5000] [--pods-per-service 30] [--nodes 100] [--namespaces 10]
 *                           [--concurrency 48] [--rounds 2]
 *
 * (Without --expose-gc it re-runs itself with it, to settle the heap between sides.)
 *
 * Starts etcd, kube-apiserver and kube-controller-manager (test/control-plane, as the tests do;
 * with priority and fairness and the in-flight limits off, as for benchmarks), then creates
 * through the API: Nodes, Services with selectors, and `--pods` pods in parallel (a realistic
 * container: ports, env, resources, a readiness probe, a projected token volume), each made
 * Running and Ready by patching its status the way kwok plays the kubelet, so that the real
 * EndpointSlice controller writes real slices. The API server adds what it adds to real pods
 * (defaults, managedFields). It waits until the slices hold every pod, then measures, sides
 * alternating per round:
 * - ours: one ClusterCache (Services, EndpointSlices, Pods, Nodes in parallel, plus the
 *   EndpointFeed's merged views): time from start to every kind synced;
 * - client-node: one makeInformer per kind, the four started in parallel, each with a listFn
 *   paging by 500 through its typed list call (`listPodForAllNamespaces({limit, _continue})`…,
 *   as bench/watch-cache.ts --e2e does for Pods): time until every informer's start() resolves;
 * - and each side for Pods alone (our Reflector; one informer).
 * For each: wall time, this process's CPU, the API server's and etcd's CPU during it (from
 * /proc), and heap after sync. The control plane is stopped and its directory removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, DiscoveryV1Api, KubeConfig, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { ApiClient } from '../src/kube/client.ts';
import { ClusterCache } from '../src/kube/cache.ts';
import { Reflector } from '../src/kube/reflector.ts';
import { createLogger } from '../src/log.ts';
import { EndpointFeed } from '../src/model/endpoint-feed.ts';
import { ControlPlane, type ControlPlaneState } from '../test/harness/control-plane.ts';
import { KubeClient } from '../test/harness/kube-client.ts';
import { ensureFlags, loadAverage, machineNote, median, mib, processCpuMs, ratio, settledHeap, table } from './util.ts';

ensureFlags(import.meta.filename, ['--expose-gc'], () => typeof globalThis.gc === 'function');

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '5000' },
    'pods-per-service': { type: 'string', default: '30' },
    nodes: { type: 'string', default: '100' },
    namespaces: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '48' },
    rounds: { type: 'string', default: '2' },
  },
});
const pods = positive('pods');
const perService = positive('pods-per-service');
const nodeCount = positive('nodes');
const namespaceCount = positive('namespaces');
const concurrency = positive('concurrency');
const rounds = positive('rounds');
/** Items per list page, for both sides: the Reflector's default and client-go's. */
const PageSize = 500;
const quiet = createLogger({ level: 'error' });

console.log(`sync-kube: ${machineNote()}; load average ${loadAverage()}`);
const dir = mkdtempSync(join(tmpdir(), 'sync-kube-'));
const cp = await ControlPlane.start({
  runDir: dir,
  apiServerExtraArgs: [
    '--enable-priority-and-fairness=false', '--max-requests-inflight=0', '--max-mutating-requests-inflight=0',
    // The tests' /24 holds about 250 Services; a later flag overrides an earlier one.
    '--service-cluster-ip-range=10.0.0.0/16,fd00:10::/108',
  ],
});
try {
  console.log(`control plane ${cp.state.version} up (etcd ${cp.state.startMs.etcd} ms, kube-apiserver ${cp.state.startMs.apiServer} ms)`);
  const t0 = performance.now();
  await populate(cp.state);
  console.log(`created ${pods} pods (Ready), ${Math.ceil(pods / perService)} Services, ${nodeCount} Nodes in ${namespaceCount} namespaces in ${Math.round((performance.now() - t0) / 1000)} s; load average ${loadAverage()}`);
  const t1 = performance.now();
  const slices = await slicesSettled(cp.state);
  console.log(`EndpointSlices settled: ${slices.slices} slices with ${slices.endpoints} endpoints, after ${Math.round((performance.now() - t1) / 1000)} s more`);

  const kc = new KubeConfig();
  kc.loadFromFile(cp.state.kubeconfigPath);
  const sides: Record<string, Measured[]> = {};
  const plan: [string, () => Promise<Omit<Measured, 'cpuMs' | 'apiServerCpuMs' | 'etcdCpuMs' | 'heapBytes'>>][] = [
    ['ours: ClusterCache, 4 kinds + EndpointFeed', () => oursWhole(kc)],
    ['client-node: 4 informers, paged listFns', () => peerWhole(kc)],
    ['ours: Reflector, Pods', () => oursPods(kc)],
    ['client-node: informer, Pods, paged listFn', () => peerPods(kc)],
  ];
  for (let round = 0; round < rounds; round++) {
    // Alternate which side goes first within each pair.
    const order = round % 2 === 0 ? [0, 1, 2, 3] : [1, 0, 3, 2];
    for (const i of order) {
      const [name, run] = plan[i]!;
      const m = await measure(cp.state, run);
      (sides[name] ??= []).push(m);
      console.log(`  round ${round + 1}: ${name}: ${Math.round(m.ms)} ms (load average ${loadAverage()})`);
    }
  }
  const med = (name: string, f: (m: Measured) => number) => median(sides[name]!.map(f));
  console.log(`\nCold sync on kubernetes ${cp.state.version}, ${pods} pods; median of ${rounds} round(s); load average ${loadAverage()}`);
  console.log(
    table(
      ['side', 'time to sync ms', 'our CPU ms', 'kube-apiserver CPU ms', 'etcd CPU ms', 'heap after sync', 'objects'],
      plan.map(([name]) => [
        name,
        med(name, (m) => m.ms),
        med(name, (m) => m.cpuMs),
        med(name, (m) => m.apiServerCpuMs),
        med(name, (m) => m.etcdCpuMs),
        mib(med(name, (m) => m.heapBytes)),
        sides[name]!.at(-1)!.objects,
      ]),
    ),
  );
  const r = (a: string, b: string) => ratio(med(b, (m) => m.ms), med(a, (m) => m.ms));
  console.log(`client-node / ours, time to sync: whole cache ${r(plan[0]![0], plan[1]![0])}, Pods alone ${r(plan[2]![0], plan[3]![0])}`);
} finally {
  await cp.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);

// Private:

interface Measured {
  readonly ms: number;
  readonly cpuMs: number;
  readonly apiServerCpuMs: number;
  readonly etcdCpuMs: number;
  readonly heapBytes: number;
  readonly objects: string;
}

/** Runs one side from a settled heap; the side returns its time and a stop function for after the heap is read. */
async function measure(state: ControlPlaneState, run: () => Promise<{ ms: number; objects: string; stop?: () => Promise<void> }>): Promise<Measured> {
  const before = await settledHeap();
  const api0 = processCpuMs(state.pids.apiServer);
  const etcd0 = processCpuMs(state.pids.etcd);
  const cpu0 = process.cpuUsage();
  const out = await run();
  const cpu = process.cpuUsage(cpu0);
  const apiServerCpuMs = processCpuMs(state.pids.apiServer) - api0;
  const etcdCpuMs = processCpuMs(state.pids.etcd) - etcd0;
  const heapBytes = (await settledHeap()) - before;
  await out.stop?.();
  return { ms: out.ms, objects: out.objects, cpuMs: (cpu.user + cpu.system) / 1000, apiServerCpuMs, etcdCpuMs, heapBytes };
}

async function oursWhole(kc: KubeConfig) {
  const client = new ApiClient(kc);
  const cache = new ClusterCache({ client, logger: quiet });
  const feed = new EndpointFeed(cache.slices, (k) => cache.slicesByService(k));
  feed.start();
  const t0 = performance.now();
  cache.start();
  await cache.synced();
  const ms = performance.now() - t0;
  const objects = `Service=${cache.services.size} EndpointSlice=${cache.slices.size} Pod=${cache.pods.size} Node=${cache.nodes.size}`;
  return {
    ms,
    objects,
    stop: async () => {
      feed.stop();
      await cache.stop();
      client.close();
    },
  };
}

async function oursPods(kc: KubeConfig) {
  const client = new ApiClient(kc);
  const cache = new ClusterCache({ client: null });
  const reflector = new Reflector({ kind: 'Pod', store: cache.pods, client, logger: quiet });
  const t0 = performance.now();
  reflector.start();
  await reflector.synced();
  const ms = performance.now() - t0;
  return {
    ms,
    objects: `Pod=${cache.pods.size}`,
    stop: async () => {
      await reflector.stop();
      client.close();
    },
  };
}

/** client-node's informers, each listing through its typed call, paging by 500 in its own listFn. */
function peerInformers(kc: KubeConfig, kinds: readonly ('Pod' | 'Service' | 'EndpointSlice' | 'Node')[]) {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  type Page = { metadata?: { resourceVersion?: string; _continue?: string }; items: KubernetesObject[] };
  const paged = (list: (opts: { limit: number; _continue?: string }) => Promise<Page>) => async () => {
    const items: KubernetesObject[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await list({ limit: PageSize, ...(cont ? { _continue: cont } : {}) });
      resourceVersion ||= page.metadata?.resourceVersion ?? '';
      for (const item of page.items) items.push(item);
      cont = page.metadata?._continue;
    } while (cont);
    return { metadata: { resourceVersion }, items };
  };
  const of = {
    Pod: ['/api/v1/pods', paged((o) => core.listPodForAllNamespaces(o))],
    Service: ['/api/v1/services', paged((o) => core.listServiceForAllNamespaces(o))],
    EndpointSlice: ['/apis/discovery.k8s.io/v1/endpointslices', paged((o) => discovery.listEndpointSliceForAllNamespaces(o))],
    Node: ['/api/v1/nodes', paged((o) => core.listNode(o))],
  } as const;
  return kinds.map((k) => ({ kind: k, informer: makeInformer<KubernetesObject>(kc, of[k][0], of[k][1] as never) }));
}

async function peerRun(kc: KubeConfig, kinds: readonly ('Pod' | 'Service' | 'EndpointSlice' | 'Node')[]) {
  const informers = peerInformers(kc, kinds);
  const errors: string[] = [];
  for (const { informer } of informers) informer.on('error', (err: unknown) => void errors.push(String((err as Error)?.message ?? err).slice(0, 120)));
  const t0 = performance.now();
  // start() resolves once the list is in the informer's cache and its watch is open.
  await Promise.all(informers.map(({ informer }) => informer.start()));
  const ms = performance.now() - t0;
  if (errors.length > 0) throw new Error(`client-node informer failed: ${errors.join('; ')}`);
  return {
    ms,
    objects: informers.map(({ kind, informer }) => `${kind}=${informer.list().length}`).join(' '),
    stop: async () => {
      for (const { informer } of informers) await informer.stop();
    },
  };
}

function peerWhole(kc: KubeConfig) {
  return peerRun(kc, ['Service', 'EndpointSlice', 'Pod', 'Node']);
}

function peerPods(kc: KubeConfig) {
  return peerRun(kc, ['Pod']);
}

/** Nodes, namespaces, Services and Ready pods, created through the API (the tests' admin client) with `concurrency` requests in flight. */
async function populate(state: ControlPlaneState): Promise<void> {
  const kube = KubeClient.admin(state);
  const api = kube.req.bind(kube);
  const namespaces = Array.from({ length: namespaceCount }, (_, i) => `bench-${i}`);
  const nodes = Array.from({ length: nodeCount }, (_, i) => `node-${i}`);
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  await pool(namespaces.length, (i) => api('POST', '/api/v1/namespaces', { metadata: { name: namespaces[i] } }));
  await pool(nodes.length, async (i) => {
    const name = nodes[i]!;
    await api('POST', '/api/v1/nodes', {
      metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zones[i % zones.length]!, 'topology.kubernetes.io/region': 'region-1' } },
    });
    await api('PATCH', `/api/v1/nodes/${name}/status`, {
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
        addresses: [{ type: 'InternalIP', address: `192.168.${i >> 8}.${i & 255}` }, { type: 'Hostname', address: name }],
      },
    }, 'application/strategic-merge-patch+json');
  });
  const services = Math.ceil(pods / perService);
  const serviceAt = (s: number) => ({ namespace: namespaces[s % namespaces.length]!, name: `svc-${s}` });
  await pool(services, (s) => {
    const { namespace, name } = serviceAt(s);
    return api('POST', `/api/v1/namespaces/${namespace}/services`, {
      metadata: { name, labels: { app: name } },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    });
  });
  let done = 0;
  await pool(pods, async (p) => {
    const s = Math.floor(p / perService);
    const { namespace, name: app } = serviceAt(s);
    const name = `${app}-${(p % perService).toString(36)}-${(p * 2654435761 >>> 0).toString(36).slice(0, 5)}`;
    const node = nodes[p % nodes.length]!;
    await api('POST', `/api/v1/namespaces/${namespace}/pods`, podBody(name, app, node));
    const ip = `10.${64 + (p >> 16)}.${(p >> 8) & 255}.${p & 255}`;
    const now = new Date().toISOString();
    const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
    await api('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
      status: {
        phase: 'Running',
        conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
        hostIP: `192.168.${(p % nodes.length) >> 8}.${(p % nodes.length) & 255}`,
        podIP: ip,
        podIPs: [{ ip }],
        startTime: now,
        containerStatuses: [{
          name: 'app', state: { running: { startedAt: now } }, lastState: {}, ready: true, restartCount: 0,
          image: `registry.example.com/${app}:1.0.0`, imageID: `registry.example.com/${app}@sha256:${'0'.repeat(64)}`,
          containerID: `containerd://${(p * 2654435761 >>> 0).toString(16).padStart(64, '0')}`, started: true,
        }],
        qosClass: 'Burstable',
      },
    }, 'application/strategic-merge-patch+json');
    if (++done % 5000 === 0) console.log(`  ${done} pods created (load average ${loadAverage()})`);
  });
}

/** A pod much like a Deployment's: what the API server stores for one, less what admission would add. */
function podBody(name: string, app: string, node: string) {
  return {
    metadata: { name, labels: { app, 'pod-template-hash': '5645cbb68b' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-14T05:54:46Z' } },
    spec: {
      nodeName: node,
      serviceAccountName: 'default',
      containers: [{
        name: 'app',
        image: `registry.example.com/${app}:1.0.0`,
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'OTEL_SERVICE_NAME', value: app }],
        resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
        readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 5 },
        volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
      }],
      volumes: [{
        name: 'kube-api-access',
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      }],
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    },
  };
}

/** Waits until the EndpointSlices hold one endpoint per pod (the controller works through its queue). */
async function slicesSettled(state: ControlPlaneState): Promise<{ slices: number; endpoints: number }> {
  const kube = KubeClient.admin(state);
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const { items } = await kube.list('/apis/discovery.k8s.io/v1/endpointslices');
    const endpoints = items.reduce((n, s) => n + (s.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).length, 0);
    if (endpoints >= pods) return { slices: items.length, endpoints };
    if (Date.now() > deadline) throw new Error(`EndpointSlices: expected ${pods} ready endpoints within 15 minutes, got ${endpoints}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Runs `task(0..n-1)` with at most `concurrency` in flight. */
async function pool(n: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

function positive(name: string): number {
  const v = Number((values as Record<string, unknown>)[name]);
  if (!Number.isSafeInteger(v) || v < 1) {
    console.error(`--${name}: expected a positive integer, got ${JSON.stringify((values as Record<string, unknown>)[name])}`);
    process.exit(2);
  }
  return v;
}
