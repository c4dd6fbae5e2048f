/**
 * The gateway as users run it: `node src/main.ts ...` in a child process, with a clean
 * environment (no KUBECONFIG, not in a cluster, no NETGRAPH_* variables, HOME an empty temp
 * dir) plus whatever the test adds. `GatewayProcess.start` resolves once the startup line
 * "serving ...; GraphQL at URL" is logged; `GatewayProcess.run` runs a command that is expected
 * to exit (bad flags, missing permissions) and returns its exit code and output.
 *
 * Also small clients for the gateway: a GraphQL POST and a graphql-ws subscription.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './wait.ts';

export const MainTs = resolve(import.meta.dirname, '../../src/main.ts');
export const RepoRoot = resolve(import.meta.dirname, '../..');
/** `--import` this (and set NETGRAPH_TEST_MODULES_FILE) to record every module a gateway loads. */
export const RecordModulesHook = resolve(import.meta.dirname, 'record-modules.ts');

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface GatewayProcessOptions {
  /** Added to the clean environment; `undefined` removes a variable. */
  env?: Readonly<Record<string, string | undefined>>;
  /** How long the startup line may take. @default 30_000 // 30 seconds */
  startTimeoutMs?: number;
  /** Node options before the entry point, such as `--import` of a hook. @default [] */
  nodeArgs?: readonly string[];
  /** The file Node runs. @default MainTs */
  entry?: string;
}

export class GatewayProcess {
  readonly child: ChildProcess;
  /** Lines written so far, without their newline. */
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Resolves when the process has exited and its output is read. */
  readonly exited: Promise<ExitStatus>;
  /** `http://host:port` (or `https://`) from the startup line; '' until started. */
  url = '';
  private status: ExitStatus | null = null;
  private readonly home: string;

  private constructor(args: readonly string[], opts: GatewayProcessOptions) {
    this.home = mkdtempSync(join(tmpdir(), 'netgraph-home-'));
    this.child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.entry ?? MainTs, ...args], { cwd: RepoRoot, env: cleanEnv(this.home, opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    collectLines(this.child.stdout!, this.stdout);
    collectLines(this.child.stderr!, this.stderr);
    this.exited = new Promise<ExitStatus>((res) => {
      this.child.on('close', (code, signal) => {
        this.status = { code, signal };
        rmSync(this.home, { recursive: true, force: true });
        res(this.status);
      });
    });
  }

  /** Spawn the gateway and wait for its startup line. Rejects (with its stderr) if it exits first. */
  static async start(args: readonly string[], opts: GatewayProcessOptions = {}): Promise<GatewayProcess> {
    const p = new GatewayProcess(args, opts);
    try {
      await waitFor('the gateway to log "serving ... GraphQL at URL"', opts.startTimeoutMs ?? 30_000, () => {
        const line = p.stderr.find((l) => /serving .* GraphQL at http/.test(l));
        if (line) {
          p.url = /GraphQL at (https?:\/\/\S+?)\/graphql/.exec(line)![1]!;
          return true;
        }
        p.assertRunning();
        return false;
      }, 50);
    } catch (err) {
      await p.kill();
      throw err;
    }
    return p;
  }

  /** Spawn the gateway without waiting for anything (for what happens before its startup line). */
  static spawn(args: readonly string[], opts: GatewayProcessOptions = {}): GatewayProcess {
    return new GatewayProcess(args, opts);
  }

  /** Run to completion (killed after `timeoutMs`): exit status and output lines. */
  static async run(args: readonly string[], opts: GatewayProcessOptions & { timeoutMs?: number } = {}): Promise<ExitStatus & { stdout: string[]; stderr: string[] }> {
    const p = new GatewayProcess(args, opts);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    const status = await p.exited;
    clearTimeout(timer);
    return { ...status, stdout: p.stdout, stderr: p.stderr };
  }

  get running(): boolean {
    return this.status === null;
  }

  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/graphql`;
  }

  /** stderr lines that are JSON log records, parsed. */
  logs(): Record<string, any>[] {
    return this.stderr.flatMap((l) => {
      try {
        const o = JSON.parse(l);
        return o && typeof o === 'object' ? [o] : [];
      } catch {
        return [];
      }
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** Wait until a stderr line matches. */
  async waitForLog(re: RegExp, timeoutMs = 30_000): Promise<string> {
    let found = '';
    await waitFor(`a log line matching ${re}`, timeoutMs, () => {
      found = this.stderr.find((l) => re.test(l)) ?? '';
      if (!found) this.assertRunning();
      return found !== '';
    }, 50);
    return found;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Safe to call twice. */
  async stop(graceMs = 15_000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const s = await this.exited;
    clearTimeout(timer);
    return s;
  }

  /** SIGKILL (for cleanup after a failure). */
  async kill(): Promise<ExitStatus> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  // Private:

  private assertRunning(): void {
    if (this.status) {
      throw new Error(`gateway exited (code ${this.status.code}, signal ${this.status.signal}) early; stderr:\n${this.stderr.slice(-10).join('\n')}`);
    }
  }
}

/**
 * POST a GraphQL operation to `${url}/graphql` (with `token` as `Authorization: Bearer`);
 * returns the HTTP status and the parsed body. Never throws on GraphQL errors: tests assert them.
 */
export async function postGraphQL(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

/** `data` of a query that must succeed (status 200, no errors). */
export async function queryData(url: string, query: string, variables?: Record<string, unknown>, token?: string): Promise<any> {
  const { status, body } = await postGraphQL(url, query, variables, token);
  if (status !== 200 || body?.errors) throw new Error(`query failed: HTTP ${status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body.data;
}

/** One graphql-ws subscription with everything it received, for assertions. */
export interface Subscription {
  /** `data` of each `next`, in order. */
  readonly results: any[];
  readonly errors: unknown[];
  /** Close codes of the client's socket, in order. */
  readonly closeCodes: number[];
  readonly completed: boolean;
  /** Wait until `results` satisfies `check`. */
  until(description: string, check: (results: any[]) => boolean, timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Subscribe with graphql-ws's own client (over `ws`), one socket per subscription, no retries;
 * with `token`, the connection_init payload carries `Authorization: Bearer TOKEN`.
 */
export function subscribe(wsUrl: string, query: string, variables?: Record<string, unknown>, token?: string): Subscription {
  const closeCodes: number[] = [];
  const results: any[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const client: Client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    ...(token !== undefined ? { connectionParams: { Authorization: `Bearer ${token}` } } : {}),
    on: { closed: (e) => closeCodes.push((e as { code: number }).code) },
    onNonLazyError: (e) => errors.push(e),
  });
  const stop = client.subscribe(
    { query, ...(variables ? { variables } : {}) },
    {
      next: (v) => {
        if (v.errors) errors.push(v.errors);
        results.push(v.data);
      },
      error: (e) => errors.push(e),
      complete: () => (completed = true),
    },
  );
  return {
    results,
    errors,
    closeCodes,
    get completed() {
      return completed;
    },
    until: (description, check, timeoutMs = 30_000) =>
      waitFor(description, timeoutMs, () => {
        if (check(results)) return true;
        if (closeCodes.length > 0) throw new Error(`subscription closed (${closeCodes.join(', ')}) with ${results.length} results; errors: ${JSON.stringify(errors).slice(0, 300)}`);
        return false;
      }, 50),
    dispose: async () => {
      stop();
      await client.dispose();
    },
  };
}

// Private:

function cleanEnv(home: string, extra: Readonly<Record<string, string | undefined>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(KUBECONFIG|KUBERNETES_SERVICE_HOST|KUBERNETES_SERVICE_PORT|NODE_TEST_CONTEXT|NODE_OPTIONS|LOG_LEVEL)$/.test(k) || k.startsWith('NETGRAPH_')) continue;
    env[k] = v;
  }
  env.HOME = home;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function collectLines(stream: NodeJS.ReadableStream, into: string[]): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    into.push(...parts);
  });
  stream.on('end', () => {
    if (rest !== '') into.push(rest);
  });
}
