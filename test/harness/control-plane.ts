/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver and kube-controller-manager
 * (endpointslice, endpointslice-mirroring and garbage-collector controllers), built from Go
 * modules by test/control-plane/build.sh and run on free loopback ports.
 *
 * One process starts it (`ControlPlane.start`) and writes its state to a JSON file; test
 * files in other processes attach to it with `ControlPlane.attach` and may restart the API
 * server or compact etcd. Every process it starts carries the run directory in its
 * arguments, so a crashed run can still be cleaned up by path (see test/run.sh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync, existsSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { request as httpRequest } from 'node:http';
import { waitFor } from './wait.ts';

const binDir = resolve(import.meta.dirname, '../control-plane/bin');

export interface ControlPlaneState {
  readonly runDir: string;
  readonly etcdUrl: string;
  readonly apiServerUrl: string;
  readonly adminToken: string;
  /** PEM of the API server's serving certificate (self-signed), to trust as a CA. */
  readonly caPem: string;
  readonly kubeconfigPath: string;
  readonly version: string;
  readonly pids: { etcd: number; apiServer: number; controllerManager: number };
  readonly apiServerArgs: readonly string[];
  /** Milliseconds each component took to become ready on start. */
  readonly startMs: { etcd: number; apiServer: number; controllerManager: number };
}

export interface StartOptions {
  /** Directory for data, certificates, logs and the state file. Created if missing. */
  runDir: string;
  /** How long each component may take to become ready. @default 90_000 // 90 seconds */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags (for example priority-and-fairness off for benchmarks). */
  apiServerExtraArgs?: readonly string[];
}

export class ControlPlane {
  state: ControlPlaneState;

  private constructor(state: ControlPlaneState) {
    this.state = state;
  }

  /** Start etcd, then kube-apiserver, then kube-controller-manager; resolve when all are ready. */
  static async start(opts: StartOptions): Promise<ControlPlane> {
    const runDir = resolve(opts.runDir);
    const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
    for (const bin of ['etcd', 'kube-apiserver', 'kube-controller-manager']) {
      if (!existsSync(join(binDir, bin))) {
        throw new Error(`control plane binary ${join(binDir, bin)} is missing: run test/control-plane/build.sh`);
      }
    }
    mkdirSync(join(runDir, 'etcd'), { recursive: true });
    mkdirSync(join(runDir, 'certs'), { recursive: true });
    mkdirSync(join(runDir, 'logs'), { recursive: true });
    const [etcdPort, peerPort, apiPort, kcmPort] = await freePorts(4);

    const adminToken = randomBytes(24).toString('hex');
    const tokensFile = join(runDir, 'tokens.csv');
    writeFileSync(tokensFile, `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
    const keyFile = join(runDir, 'sa.key');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    let t0 = Date.now();
    const etcd = launch(runDir, 'etcd', [
      '--name=t', `--data-dir=${join(runDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=t=${peerUrl}`, '--unsafe-no-fsync=true',
      '--watch-progress-notify-interval=5s', '--log-level=warn',
    ]);
    await waitFor('etcd /health', readyTimeoutMs, async () => {
      assertAlive(etcd, runDir);
      const r = await plainHttp('GET', `${etcdUrl}/health`);
      return r.status === 200 && r.body.includes('"true"');
    });
    const etcdMs = Date.now() - t0;

    const apiServerUrl = `https://127.0.0.1:${apiPort}`;
    const certDir = join(runDir, 'certs');
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', `--secure-port=${apiPort}`,
      '--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none',
      `--cert-dir=${certDir}`, `--token-auth-file=${tokensFile}`, '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${keyFile}`, `--service-account-signing-key-file=${keyFile}`,
      '--service-cluster-ip-range=10.0.0.0/24,fd00:10::/108',
      '--disable-admission-plugins=ServiceAccount',
      ...(opts.apiServerExtraArgs ?? []),
    ];
    t0 = Date.now();
    const apiServer = launch(runDir, 'kube-apiserver', apiServerArgs);
    await waitForApiServer(apiServer, runDir, apiServerUrl, readyTimeoutMs);
    const apiServerMs = Date.now() - t0;
    const caPem = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');

    const kubeconfigPath = join(runDir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(apiServerUrl, caPem, adminToken), { mode: 0o600 });

    t0 = Date.now();
    const controllerManager = launch(runDir, 'kube-controller-manager', [
      `--kubeconfig=${kubeconfigPath}`,
      '--controllers=endpointslice-controller,endpointslice-mirroring-controller,garbage-collector-controller',
      '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${kcmPort}`,
      '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
      '--kube-api-qps=200', '--kube-api-burst=400', '--endpointslice-updates-batch-period=0s',
    ]);
    await waitFor('kube-controller-manager /healthz', readyTimeoutMs, async () => {
      assertAlive(controllerManager, runDir);
      const r = await plainHttp('GET', `https://127.0.0.1:${kcmPort}/healthz`);
      return r.status === 200;
    });
    const controllerManagerMs = Date.now() - t0;

    const version = JSON.parse((await plainHttp('GET', `${apiServerUrl}/version`)).body).gitVersion as string;
    const state: ControlPlaneState = {
      runDir, etcdUrl, apiServerUrl, adminToken, caPem, kubeconfigPath, version,
      pids: { etcd: etcd.pid!, apiServer: apiServer.pid!, controllerManager: controllerManager.pid! },
      apiServerArgs,
      startMs: { etcd: etcdMs, apiServer: apiServerMs, controllerManager: controllerManagerMs },
    };
    const cp = new ControlPlane(state);
    cp.save();
    return cp;
  }

  /** Attach to a control plane started by another process, from its state file. */
  static attach(stateFile = process.env.CONTROL_PLANE_STATE ?? ''): ControlPlane {
    if (!stateFile || !existsSync(stateFile)) {
      throw new Error(
        `no control plane: CONTROL_PLANE_STATE must name the state file written by test/harness/with-control-plane.ts, got ${JSON.stringify(stateFile)}`,
      );
    }
    return new ControlPlane(JSON.parse(readFileSync(stateFile, 'utf8')) as ControlPlaneState);
  }

  get stateFile(): string {
    return join(this.state.runDir, 'state.json');
  }

  /**
   * Kill kube-apiserver (SIGKILL, as a crash would) and wait until its port can be bound again.
   * The process counting as exited is not enough: its main thread shows as a zombie while its
   * other threads are still exiting and still hold the listening socket, and a restart in that
   * window fails with "address already in use".
   */
  async stopApiServer(): Promise<void> {
    await killAndWait(this.state.pids.apiServer);
    const port = Number(new URL(this.state.apiServerUrl).port);
    await waitFor(`kube-apiserver's port ${port} to be free`, 15_000, () => canListen(port));
  }

  /** Start kube-apiserver again with the same flags, certificates and etcd; resolve when ready. */
  async startApiServer(readyTimeoutMs = 90_000): Promise<void> {
    const child = launch(this.state.runDir, 'kube-apiserver', this.state.apiServerArgs);
    await waitForApiServer(child, this.state.runDir, this.state.apiServerUrl, readyTimeoutMs);
    this.state = { ...this.state, pids: { ...this.state.pids, apiServer: child.pid! } };
    this.save();
  }

  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
  }

  /** etcd's current revision. */
  async etcdRevision(): Promise<number> {
    const r = await plainHttp('POST', `${this.state.etcdUrl}/v3/kv/range`, JSON.stringify({ key: Buffer.from('/').toString('base64') }));
    return Number(JSON.parse(r.body).header.revision);
  }

  /** Compact etcd up to its current revision: watches from any older version then get 410. */
  async compactEtcd(): Promise<number> {
    const revision = await this.etcdRevision();
    const r = await plainHttp('POST', `${this.state.etcdUrl}/v3/kv/compaction`, JSON.stringify({ revision: String(revision), physical: true }));
    if (r.status !== 200) throw new Error(`etcd compaction: expected 200, got ${r.status} ${r.body}`);
    return revision;
  }

  /** Stop every component (SIGTERM, then SIGKILL after 10 s). Safe to call twice. */
  async stop(): Promise<void> {
    // A test process may have restarted the API server: its pid is in the state file.
    if (existsSync(this.stateFile)) this.state = JSON.parse(readFileSync(this.stateFile, 'utf8')) as ControlPlaneState;
    const { controllerManager, apiServer, etcd } = this.state.pids;
    await killAndWait(controllerManager, 'SIGTERM');
    await killAndWait(apiServer, 'SIGTERM');
    await killAndWait(etcd, 'SIGTERM');
  }

  private save(): void {
    writeFileSync(this.stateFile, JSON.stringify(this.state, null, 2), { mode: 0o600 });
  }
}

/** A kubeconfig for `user` authenticating with a bearer token against `server`. */
export function kubeconfigYaml(server: string, caPem: string, token: string, user = 'admin'): string {
  const ca = Buffer.from(caPem).toString('base64');
  return [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: test', '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${ca}`,
    'users:', `- name: ${user}`, '  user:', `    token: ${token}`,
    'contexts:', '- name: test', '  context:', '    cluster: test', `    user: ${user}`,
    'current-context: test', '',
  ].join('\n');
}

// Private:

function launch(runDir: string, name: string, args: readonly string[]): ChildProcess {
  const logPath = join(runDir, 'logs', `${name}.log`);
  const log = openSync(logPath, 'a');
  // detached: its own process group, so a Ctrl-C to the test runner does not race our teardown.
  const child = spawn(join(binDir, name), args, {
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  child.unref();
  child.on('error', () => {}); // reported through assertAlive
  return child;
}

function assertAlive(child: ChildProcess, runDir: string): void {
  if (child.exitCode !== null || child.signalCode !== null) {
    const name = child.spawnfile.split('/').pop() ?? 'process';
    let tail = '';
    try {
      tail = readFileSync(join(runDir, 'logs', `${name}.log`), 'utf8').split('\n').slice(-15).join('\n');
    } catch {}
    throw new Error(`${name} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${tail}`);
  }
}

async function waitForApiServer(child: ChildProcess, runDir: string, url: string, timeoutMs: number): Promise<void> {
  await waitFor('kube-apiserver /readyz', timeoutMs, async () => {
    assertAlive(child, runDir);
    const r = await plainHttp('GET', `${url}/readyz`);
    return r.status === 200;
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killAndWait(pid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {}
  try {
    await waitFor(`pid ${pid} to exit`, 10_000, async () => !isRunning(pid) || isZombie(pid));
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    await waitFor(`pid ${pid} to exit after SIGKILL`, 5_000, async () => !isRunning(pid) || isZombie(pid));
  }
}

function isZombie(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Ports the kernel just handed out; closed again before use (a small race we accept on loopback). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<import('node:net').Server>((res, rej) => {
        const s = createServer();
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res(s));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Whether a loopback listener can bind `port` now (it is closed again at once). */
function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

/** HTTP(S) without verification, for readiness polls only. Never rejects on HTTP status. */
async function plainHttp(method: string, url: string, body?: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? await import('node:https') : { request: httpRequest };
  return new Promise((res) => {
    const req = mod.request(
      url,
      { method, rejectUnauthorized: false, timeout: 5_000, headers: body ? { 'content-type': 'application/json' } : {} },
      (r) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (data += c));
        r.on('end', () => res({ status: r.statusCode ?? 0, body: data }));
        r.on('error', () => res({ status: 0, body: '' }));
      },
    );
    req.on('error', () => res({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}
