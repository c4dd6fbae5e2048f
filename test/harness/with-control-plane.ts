/**
 * Runs a command with a real control plane up: starts etcd, kube-apiserver and
 * kube-controller-manager once, exports CONTROL_PLANE_STATE (the state file) to the command,
 * and stops the control plane when the command ends, fails, or this process is interrupted.
 *
 *   node test/harness/with-control-plane.ts [--run-dir DIR] -- node --test ...
 *
 * Exits with the command's exit code.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ControlPlane } from './control-plane.ts';

const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
if (dashdash < 0 || dashdash === argv.length - 1) {
  console.error('usage: with-control-plane.ts [--run-dir DIR] -- COMMAND [ARGS...]');
  process.exit(2);
}
const own = argv.slice(0, dashdash);
const command = argv.slice(dashdash + 1);
const runDirFlag = own.indexOf('--run-dir');
const runDir = resolve(runDirFlag >= 0 ? own[runDirFlag + 1]! : `.tmp/control-plane-${process.pid}`);

let cp: ControlPlane | undefined;
let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= cp ? cp.stop() : Promise.resolve());

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    console.error(`control-plane: ${sig}, stopping`);
    void stop().finally(() => process.exit(130));
  });
}

try {
  const t0 = Date.now();
  cp = await ControlPlane.start({ runDir });
  const { startMs, version, apiServerUrl } = cp.state;
  console.log(
    `control-plane: kubernetes ${version} at ${apiServerUrl} ready in ${Date.now() - t0} ms ` +
      `(etcd ${startMs.etcd} ms, kube-apiserver ${startMs.apiServer} ms, kube-controller-manager ${startMs.controllerManager} ms); logs in ${runDir}/logs`,
  );
} catch (err) {
  console.error(`control-plane: failed to start: ${(err as Error).message}`);
  await stop();
  process.exit(1);
}

const child = spawn(command[0]!, command.slice(1), {
  stdio: 'inherit',
  env: { ...process.env, CONTROL_PLANE_STATE: cp.stateFile },
});
const code: number = await new Promise((res) => {
  child.on('error', (err) => {
    console.error(`control-plane: could not run ${command[0]}: ${err.message}`);
    res(127);
  });
  child.on('exit', (c, sig) => res(c ?? (sig ? 128 : 1)));
});
await stop();
process.exit(code);
