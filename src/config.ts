/**
 * Configuration: command-line flags, each also settable by an environment variable
 * (`NETGRAPH_<FLAG>` in upper snake case, e.g. `--max-depth` ↔ `NETGRAPH_MAX_DEPTH`). A flag
 * wins over its variable. Invalid configuration throws ConfigError naming the option and the
 * value; `main` prints it on one line and exits 2.
 */
import { BlockList, isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { ConfigError } from './kube/client.ts';
import { LogLevels, type LogFormat, type LogLevel } from './log.ts';
import { DefaultLimits } from './graphql/limits.ts';
import { parseDuration } from './model/text.ts';

export { ConfigError };

export interface Config {
  host: string;
  port: number;
  /** Explicit kubeconfig file (overrides KUBECONFIG and ~/.kube/config). */
  kubeconfig: string | null;
  context: string | null;
  /** Serve the embedded demo cluster even when a kubeconfig exists. */
  demo: boolean;
  /** Watch only these namespaces; empty: all. */
  namespaces: string[];
  /** Watch Nodes (cluster-scoped: needs a ClusterRole). */
  watchNodes: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat | null;
  explorer: boolean;
  introspection: boolean;
  /** Origins allowed to open WebSockets and send browser requests; empty: same origin only. */
  allowedOrigins: string[];
  limits: LimitsConfig;
  /** Seconds to wait after going unready before closing sockets, so endpoints update (preStop). */
  shutdownDelaySeconds: number;
  /** Demo cluster churn, events per second; 0 disables churn. */
  demoChurnPerSecond: number;
  /** Serve HTTPS and WSS with this certificate and key (PEM files, reloaded when they change); null: plain HTTP. */
  tls: TlsFilesConfig | null;
  /** Who may see what: `kubernetes` (TokenReview + SubjectAccessReview per caller) or `none` (every caller sees everything). */
  auth: 'kubernetes' | 'none';
  /** Audiences a caller's token must be valid for (TokenReview spec.audiences); empty: the API server's own. */
  authAudiences: string[];
  /** How long a TokenReview outcome is kept (authenticated; an unauthenticated one is kept 10 s). */
  authTokenTtlMs: number;
  /** How long an allowed SubjectAccessReview decision is kept; live subscriptions are re-authorized this often. */
  authAllowedTtlMs: number;
  /** How long a denied SubjectAccessReview decision is kept. */
  authDeniedTtlMs: number;
}

export interface TlsFilesConfig {
  /** PEM certificate, leaf first, then intermediates (`--tls-cert-file`). */
  certFile: string;
  /** PEM private key matching the certificate (`--tls-private-key-file`). */
  keyFile: string;
}

export interface LimitsConfig {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
  maxPageSize: number;
  maxBodyBytes: number;
  wsMaxMessageBytes: number;
  wsMaxOperations: number;
  wsInitTimeoutMs: number;
  wsMaxQueue: number;
  wsSlowTimeoutMs: number;
  wsKeepAliveMs: number;
  /** Steps (endpoint changes, Service label changes) the history keeps, at most. */
  historyMax: number;
  /** Age of the oldest step the history keeps, at most (ms). */
  historyWindowMs: number;
}

interface Option {
  type: 'string' | 'boolean';
  /** For --help. */
  help: string;
  default?: string | boolean;
}

/** Every option, with its help line and default. */
export const Options: Readonly<Record<string, Option>> = {
  host: { type: 'string', help: 'address to listen on', default: '127.0.0.1' },
  port: { type: 'string', help: 'port for HTTP, WebSocket, health and metrics', default: '8080' },
  kubeconfig: { type: 'string', help: 'kubeconfig file (default: in-cluster, then KUBECONFIG, then ~/.kube/config, then the demo)' },
  context: { type: 'string', help: 'kubeconfig context (default: current-context)' },
  demo: { type: 'boolean', help: 'serve the embedded demo cluster', default: false },
  namespaces: { type: 'string', help: 'comma-separated namespaces to watch (default: all)' },
  nodes: { type: 'boolean', help: 'watch Nodes, which needs cluster-wide read (--no-nodes for Role-only deployments)', default: true },
  'log-level': { type: 'string', help: 'debug | info | warn | error', default: 'info' },
  'log-format': { type: 'string', help: 'json | text (default: text on a terminal, json otherwise)' },
  explorer: { type: 'boolean', help: 'serve the GraphiQL explorer at / (--no-explorer to turn off)', default: true },
  introspection: { type: 'boolean', help: 'allow schema introspection (--no-introspection to turn off)', default: true },
  auth: { type: 'string', help: 'kubernetes: every caller needs a bearer token and sees what it may list (TokenReview, SubjectAccessReview); none: every caller sees everything (default: kubernetes unless --host is loopback)' },
  'auth-audiences': { type: 'string', help: 'comma-separated audiences caller tokens must be valid for (default: the API server\'s own)' },
  'auth-token-ttl-ms': { type: 'string', help: 'how long a token review is cached, in ms (rejections: 10 s)', default: '120000' },
  'auth-allowed-ttl-ms': { type: 'string', help: 'how long an allowed access decision is cached, in ms; live subscriptions are re-authorized this often', default: '300000' },
  'auth-denied-ttl-ms': { type: 'string', help: 'how long a denied access decision is cached, in ms', default: '30000' },
  'tls-cert-file': { type: 'string', help: 'PEM certificate (leaf first, then intermediates): serve HTTPS and WSS; reloaded when it or the key changes' },
  'tls-private-key-file': { type: 'string', help: 'PEM private key of --tls-cert-file (both or neither)' },
  'allowed-origins': { type: 'string', help: 'comma-separated browser origins allowed besides the gateway itself' },
  'max-depth': { type: 'string', help: 'maximum query depth, in levels', default: String(DefaultLimits.maxDepth) },
  'max-aliases': { type: 'string', help: 'maximum aliases per operation', default: String(DefaultLimits.maxAliases) },
  'max-cost': { type: 'string', help: 'maximum estimated response fields per operation (list sizes multiply)', default: String(DefaultLimits.maxCost) },
  'max-tokens': { type: 'string', help: 'maximum tokens per document', default: String(DefaultLimits.maxTokens) },
  'max-page-size': { type: 'string', help: 'maximum `first` of any list (pages default to 100 or this, if smaller)', default: String(DefaultLimits.maxPageSize) },
  'max-body-bytes': { type: 'string', help: 'maximum HTTP request body, in bytes', default: '65536' },
  'ws-max-message-bytes': { type: 'string', help: 'maximum WebSocket message, in bytes', default: '65536' },
  'ws-max-operations': { type: 'string', help: 'maximum concurrent subscriptions per socket', default: '100' },
  'ws-init-timeout-ms': { type: 'string', help: 'time a socket has to send connection_init, in ms', default: '3000' },
  'ws-max-queue': { type: 'string', help: 'change sets queued per slow subscriber before they are coalesced per Service; more distinct Services than this closes it (4008)', default: '1000' },
  'ws-slow-timeout-ms': { type: 'string', help: 'a subscriber whose socket does not drain for this long while change sets wait is closed (4008), in ms', default: '20000' },
  'ws-keepalive-ms': { type: 'string', help: 'WebSocket ping interval; a socket that neither answers nor reads for one interval is terminated, in ms', default: '30000' },
  'history-max': { type: 'string', help: 'endpoint changes and Service label changes the history keeps (resuming subscribers, changes queries, churn), whichever of this and --history-window binds first', default: '10000' },
  'history-window': { type: 'string', help: 'how long the history keeps a change (a duration: 90s, 15m, 2h)', default: '15m' },
  'shutdown-delay-seconds': { type: 'string', help: 'on SIGTERM, seconds to stay up unready before closing', default: '0' },
  'demo-churn-per-second': { type: 'string', help: 'demo cluster churn, changes per second (0: none)', default: '2' },
  help: { type: 'boolean', help: 'print this help and exit', default: false },
};

export function envName(flag: string): string {
  return `NETGRAPH_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Parse flags and environment into a Config; throws ConfigError on anything invalid. Returns 'help' for --help. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, o] of Object.entries(Options)) options[name] = { type: o.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: attachDashValues(argv), options, strict: true, allowPositionals: false, allowNegative: true }) as {
      values: Record<string, string | boolean | undefined>;
    });
  } catch (err) {
    throw new ConfigError(argumentError(err as NodeJS.ErrnoException, argv));
  }
  if (values.help) return 'help';
  const get = (flag: string): string | boolean | undefined => {
    if (values[flag] !== undefined) return values[flag];
    const e = env[envName(flag)];
    if (e !== undefined && e !== '') {
      if (Options[flag]!.type === 'boolean') {
        if (!/^(true|false|1|0)$/i.test(e)) throw new ConfigError(`${envName(flag)}: expected true or false, got ${JSON.stringify(e)}`);
        return /^(true|1)$/i.test(e);
      }
      return e;
    }
    return Options[flag]!.default;
  };
  /** How the user set it: the flag, or its environment variable. */
  const name = (flag: string): string => (values[flag] === undefined && env[envName(flag)] ? envName(flag) : `--${flag}`);
  const str = (flag: string): string | null => {
    const v = get(flag);
    return typeof v === 'string' && v !== '' ? v : null;
  };
  const bool = (flag: string): boolean => get(flag) === true;
  const int = (flag: string, min: number, max: number): number => {
    const v = String(get(flag));
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new ConfigError(`${name(flag)}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return Number(v);
  };
  const duration = (flag: string, min: number, max: number): number => {
    const v = String(get(flag));
    const ms = parseDuration(v);
    if (ms === null || ms < min || ms > max) {
      throw new ConfigError(`${name(flag)}: expected a duration from ${min / 1000}s to ${max / 3_600_000}h (e.g. 90s, 15m, 2h), got ${JSON.stringify(v)}`);
    }
    return ms;
  };
  const list = (flag: string): string[] => (str(flag) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

  const logLevel = str('log-level')!;
  if (!LogLevels.includes(logLevel as LogLevel)) throw new ConfigError(`${name('log-level')}: expected one of ${LogLevels.join(', ')}, got ${JSON.stringify(logLevel)}`);
  const logFormat = str('log-format');
  if (logFormat !== null && logFormat !== 'json' && logFormat !== 'text') throw new ConfigError(`${name('log-format')}: expected json or text, got ${JSON.stringify(logFormat)}`);
  const namespaces = list('namespaces');
  for (const ns of namespaces) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new ConfigError(`${name('namespaces')}: expected DNS-1123 labels separated by commas, got ${JSON.stringify(ns)}`);
  }
  const allowedOrigins = list('allowed-origins');
  for (const o of allowedOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(o)) throw new ConfigError(`${name('allowed-origins')}: expected origins like https://host:port, got ${JSON.stringify(o)}`);
  }
  const host = str('host')!;
  if (!/^[A-Za-z0-9.:\-\[\]]+$/.test(host)) throw new ConfigError(`${name('host')}: expected an address or host name, got ${JSON.stringify(host)}`);
  const demo = bool('demo');
  const kubeconfig = str('kubeconfig');
  if (demo && kubeconfig) throw new ConfigError(`--demo: cannot be combined with --kubeconfig ${JSON.stringify(kubeconfig)}`);
  const certFile = str('tls-cert-file');
  const keyFile = str('tls-private-key-file');
  if ((certFile === null) !== (keyFile === null)) {
    const [set, missing] = certFile !== null ? ['tls-cert-file', 'tls-private-key-file'] : ['tls-private-key-file', 'tls-cert-file'];
    throw new ConfigError(`${name(set)}: expected ${name(missing)} as well (both or neither), got only ${JSON.stringify(certFile ?? keyFile)}`);
  }

  return {
    host,
    port: int('port', 0, 65535),
    kubeconfig,
    context: str('context'),
    demo,
    namespaces,
    watchNodes: bool('nodes'),
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat | null,
    explorer: bool('explorer'),
    introspection: bool('introspection'),
    allowedOrigins,
    shutdownDelaySeconds: int('shutdown-delay-seconds', 0, 600),
    demoChurnPerSecond: int('demo-churn-per-second', 0, 10_000),
    tls: certFile !== null && keyFile !== null ? { certFile, keyFile } : null,
    auth: authMode(str('auth'), name('auth'), host),
    authAudiences: list('auth-audiences'),
    authTokenTtlMs: int('auth-token-ttl-ms', 100, 86_400_000),
    authAllowedTtlMs: int('auth-allowed-ttl-ms', 100, 86_400_000),
    authDeniedTtlMs: int('auth-denied-ttl-ms', 100, 86_400_000),
    limits: {
      maxDepth: int('max-depth', 1, 100),
      maxAliases: int('max-aliases', 1, 10_000),
      maxCost: int('max-cost', 1, 100_000_000),
      maxTokens: int('max-tokens', 10, 1_000_000),
      maxPageSize: int('max-page-size', 1, 100_000),
      maxBodyBytes: int('max-body-bytes', 1024, 64 * 1024 * 1024),
      wsMaxMessageBytes: int('ws-max-message-bytes', 1024, 64 * 1024 * 1024),
      wsMaxOperations: int('ws-max-operations', 1, 100_000),
      wsInitTimeoutMs: int('ws-init-timeout-ms', 100, 600_000),
      wsMaxQueue: int('ws-max-queue', 1, 1_000_000),
      wsSlowTimeoutMs: int('ws-slow-timeout-ms', 100, 3_600_000),
      wsKeepAliveMs: int('ws-keepalive-ms', 100, 3_600_000),
      historyMax: int('history-max', 0, 10_000_000),
      historyWindowMs: duration('history-window', 1000, 7 * 86_400_000),
    },
  };
}

/**
 * Whether `host` (a `--host` value) is a loopback address: 127.0.0.0/8, ::1 (also written in
 * brackets, in full or IPv4-mapped) or `localhost`. The unspecified addresses 0.0.0.0 and ::
 * listen on every interface and are not loopback; nor is any other name, whatever it resolves to.
 */
/** `--auth` as given, or its default for the listen address: `kubernetes` beyond loopback, `none` on loopback. */
function authMode(value: string | null, name: string, host: string): 'kubernetes' | 'none' {
  if (value === null) return isLoopbackHost(host) ? 'none' : 'kubernetes';
  if (value !== 'kubernetes' && value !== 'none') throw new ConfigError(`${name}: expected kubernetes or none, got ${JSON.stringify(value)}`);
  return value;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === 'localhost.') return true;
  const family = isIP(h);
  return family !== 0 && Loopback.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/** The --help text. */
export function helpText(): string {
  const lines = ['Usage: npm start -- [options]', '', 'A GraphQL gateway over Kubernetes networking state.', '', 'Options:'];
  for (const [name, o] of Object.entries(Options)) {
    const flag = o.type === 'boolean' ? `--${name}` : `--${name} VALUE`;
    const def = o.default !== undefined && name !== 'help' ? ` (default: ${o.default})` : '';
    lines.push(`  ${flag.padEnd(30)} ${o.help}${def}`);
    if (name !== 'help') lines.push(`  ${''.padEnd(30)} env ${envName(name)}`);
  }
  lines.push('', 'Cluster choice: --kubeconfig/--context/--demo, else in-cluster, else KUBECONFIG or ~/.kube/config, else the demo cluster.');
  return lines.join('\n');
}

// Private:

/**
 * `--max-depth -1` as `--max-depth=-1`: node:util's parseArgs refuses a value that starts with a
 * dash ("argument is ambiguous", without the value), so a value that is not itself an option is
 * attached to its flag here and then checked, and refused with the value, like any other.
 */
function attachDashValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const flag = /^--([^=]+)$/.exec(arg)?.[1];
    if (flag && Options[flag]?.type === 'string' && next !== undefined && next.startsWith('-') && !isOptionToken(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Whether `arg` names an option the parser knows (`--port`, `--no-nodes`, `--port=1`). */
function isOptionToken(arg: string): boolean {
  const m = /^--(?:no-)?([^=]+)/.exec(arg);
  return m !== null && (m[1]! in Options || arg.slice(2).split('=')[0]! in Options);
}

/** One line for what parseArgs refused, naming the option and what arrived. */
function argumentError(err: NodeJS.ErrnoException, argv: readonly string[]): string {
  const option = /'(-[^ ']+)/.exec(err.message)?.[1] ?? '';
  const flag = option.replace(/^--(no-)?/, '');
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${option || err.message}: unknown option (see --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      if (Options[flag]?.type === 'boolean') {
        const given = argv.find((a) => a.startsWith(`--${flag}=`) || a.startsWith(`--no-${flag}=`))?.replace(/^[^=]*=/, '');
        return `${option}: a switch that takes no value (--${flag} or --no-${flag}), got ${JSON.stringify(given ?? '')}`;
      }
      const at = argv.indexOf(option);
      const next = at >= 0 ? argv[at + 1] : undefined;
      return `${option}: expected a value, got ${next === undefined ? 'nothing' : `the option ${next}`}${Options[flag]?.default !== undefined ? ` (default: ${Options[flag]!.default})` : ''}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(/'([^']*)'/.exec(err.message)?.[1] ?? '')}: options take the form --name VALUE or --name=VALUE (see --help)`;
    default:
      return err.message.split('\n')[0]!;
  }
}

const Loopback = new BlockList();
Loopback.addSubnet('127.0.0.0', 8, 'ipv4');
Loopback.addAddress('::1', 'ipv6');
