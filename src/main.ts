/**
 * The command line: `npm start -- [options]`, or `node_modules/.bin/node src/main.ts [options]`
 * (Node 24: the project's own, from npm; `node src/start.js` checks the version first and says so
 * on one line when the `node` on the PATH is older). Parses configuration, starts the gateway,
 * and turns SIGTERM/SIGINT into the one shutdown path; a second signal exits at once. Gives the
 * young generation back when idle (server/idle-gc.ts).
 * An invalid option is one line on stderr and exit code 2; a start that cannot succeed as
 * configured (a kubeconfig that was named but cannot be used, missing permissions) is one line
 * and exit code 1.
 */
import { ConfigError, helpText, parseConfig } from './config.ts';
import { startGateway, StartupError } from './app.ts';
import { createLogger, errorText, setLogger } from './log.ts';
import { IdleCollector } from './server/idle-gc.ts';
import { graphqlJitPatched } from './patch-graphql-jit.js';

let cfg;
try {
  cfg = parseConfig(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`kube-netgraph: ${errorText(err)} (see --help)\n`);
  process.exit(2);
}
if (cfg === 'help') {
  process.stdout.write(helpText() + '\n');
  process.exit(0);
}

const log = createLogger({ level: cfg.logLevel, format: cfg.logFormat ?? undefined });
setLogger(log);
// graphql-jit's leaf code is rewritten at install (src/patch-graphql-jit.js): without it the
// answers are the same, each with more CPU and garbage. Said once, for a tree installed by hand.
if (!graphqlJitPatched()) log.warn('graphql-jit is not patched: queries answer the same but cost more; run `node src/patch-graphql-jit.js` (npm start and npm test run it)');

// Installed before the start, so that a signal never meets the default action (an abrupt
// kill) once the gateway has said it is serving. A signal during the start exits at once:
// nothing is served yet that a drain would wait for.
let gateway: Awaited<ReturnType<typeof startGateway>> | null = null;
// The process's own memory: the young generation given back when idle (server/idle-gc.ts),
// started once the gateway serves.
const idle = new IdleCollector();
let signals = 0;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (++signals > 1) {
      log.warn('second signal: exiting now', { signal: sig });
      process.exit(130);
    }
    idle.stop();
    if (gateway === null) {
      log.info('shutting down while starting', { signal: sig });
      process.exit(0);
    }
    log.info('shutting down', { signal: sig });
    gateway
      .stop(cfg.shutdownDelaySeconds * 1000)
      .then(() => process.exit(0))
      .catch((err) => {
        log.error('shutdown failed', { error: errorText(err) });
        process.exit(1);
      });
  });
}

try {
  gateway = await startGateway(cfg, { logger: log });
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`kube-netgraph: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof StartupError) {
    process.stderr.write(`kube-netgraph: ${err.message}\n`);
    process.exit(1);
  }
  log.error('failed to start', { error: errorText(err) });
  process.exit(1);
}

process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: errorText(err) }));

idle.start();
