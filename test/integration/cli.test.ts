/**
 * The command line, run as users run it: `node src/main.ts` in its own process. With nothing
 * named it serves the demo cluster, and its first line says so in capitals; with `--kubeconfig`
 * or KUBECONFIG it serves that cluster instead, without loading the demo package; a kubeconfig
 * that was named but cannot be used stops the start with exit code 1 and one line naming the
 * file and the reason; an invalid option stops it with exit code 2 and one line naming the
 * option and the value; `--help` lists every option with its environment variable; the start
 * command refuses a Node older than 24 on one line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Options, envName } from '../../src/config.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { GatewayProcess, RecordModulesHook, RepoRoot, queryData, subscribe, type Subscription } from '../harness/gateway-process.ts';
import { waitFor } from '../harness/wait.ts';

describe('npm start with no kubeconfig: the embedded demo cluster', () => {
  let gw: GatewayProcess;

  before(async () => {
    // HOME is an empty temp dir and KUBECONFIG / KUBERNETES_SERVICE_HOST are unset (gateway-process.ts).
    gw = await GatewayProcess.start(['--port', '0', '--demo-churn-per-second', '50']);
  });
  after(async () => {
    await gw?.stop();
  });

  it('its first line says it serves the DEMO cluster, not a real one, why, and where the explorer is', () => {
    const first = JSON.parse(gw.stderr[0]!).msg as string;
    assert.match(first, /^serving the DEMO cluster \(generated, not a real cluster; no kubeconfig was named: no --kubeconfig, no KUBECONFIG, not in a cluster, no ~\/\.kube\/config\); explorer at http:\/\/127\.0\.0\.1:\d+\/ · GraphQL at http:\/\/127\.0\.0\.1:\d+\/graphql$/);
  });

  it('answers queries over HTTP once synced', async () => {
    let data: any;
    await waitFor('cluster.ready', 30_000, async () => {
      data = await queryData(gw.url, '{ cluster { ready } services { totalCount } nodes { totalCount } }');
      return data.cluster.ready;
    });
    assert.ok(data.services.totalCount > 0, `services: ${data.services.totalCount}`);
    assert.ok(data.nodes.totalCount > 0, `nodes: ${data.nodes.totalCount}`);
    const shop = await queryData(gw.url, '{ services(namespace: "shop") { totalCount } }');
    assert.ok(shop.services.totalCount > 0, 'the demo has Services in namespace shop');
  });

  it('streams endpoint churn over WebSocket: SNAPSHOTs first, then CHANGE sets', async () => {
    let sub: Subscription | undefined;
    try {
      sub = subscribe(gw.wsUrl, 'subscription { endpointChanges(namespace: "shop") { type name added { address } removed { address } } }');
      await sub.until('a CHANGE after the snapshots', (rs) => rs.some((r) => r.endpointChanges.type === 'CHANGE'), 30_000);
      const types = sub.results.map((r) => r.endpointChanges.type as string);
      const firstChange = types.indexOf('CHANGE');
      assert.ok(firstChange > 0, `at least one SNAPSHOT before the first CHANGE, got ${types.slice(0, 5).join(', ')}`);
      assert.ok(types.slice(0, firstChange).every((t) => t === 'SNAPSHOT'), `only SNAPSHOTs before the first CHANGE, got ${types.slice(0, firstChange).join(', ')}`);
      assert.deepEqual(sub.errors, []);
    } finally {
      await sub?.dispose();
    }
  });
});

describe('npm start with a kubeconfig: that cluster instead of the demo', () => {
  const cp = ControlPlane.attach();
  const kube = KubeClient.admin(cp.state);
  const ns = `cli-${randomBytes(3).toString('hex')}`;
  const name = `svc-${randomBytes(3).toString('hex')}`;

  before(async () => {
    await kube.ensureNamespace(ns);
    await kube.createService({ namespace: ns, name, selector: { app: name } });
  });
  after(async () => {
    await kube.req('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
  });

  const servesTheControlPlane = async (gw: GatewayProcess) => {
    const line = gw.stderr.find((l) => l.includes('GraphQL at'))!;
    assert.ok(line.includes(cp.state.kubeconfigPath) && line.includes(cp.state.apiServerUrl), `startup line names the kubeconfig and server: ${line}`);
    assert.equal(gw.logs().find((l) => 'url' in l)?.cluster, 'kubeconfig');
    let svc: any = null;
    await waitFor(`${ns}/${name} in the gateway`, 30_000, async () => {
      svc = (await queryData(gw.url, 'query($ns: String!, $n: String!) { service(namespace: $ns, name: $n) { metadata { namespace name } } }', { ns, n: name })).service;
      return svc !== null;
    });
    assert.deepEqual(svc.metadata, { namespace: ns, name });
  };

  it('--kubeconfig FILE', async () => {
    const gw = await GatewayProcess.start(['--port', '0', '--kubeconfig', cp.state.kubeconfigPath]);
    try {
      await servesTheControlPlane(gw);
    } finally {
      assert.deepEqual(await gw.stop(), { code: 0, signal: null });
    }
  });

  it('a start on a real cluster never loads the demo package (demo/), which a --demo start does load and says so first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netgraph-modules-'));
    const demoDir = `file://${resolve(RepoRoot, 'demo')}/`;
    const loadedBy = async (args: string[], file: string) => {
      const gw = await GatewayProcess.start(['--port', '0', ...args], { nodeArgs: ['--import', RecordModulesHook], env: { NETGRAPH_TEST_MODULES_FILE: join(dir, file) } });
      const first = JSON.parse(gw.stderr[0]!).msg as string;
      assert.deepEqual(await gw.stop(), { code: 0, signal: null });
      return { first, modules: readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l !== '') };
    };
    try {
      const real = await loadedBy(['--kubeconfig', cp.state.kubeconfigPath], 'real.txt');
      assert.ok(real.modules.some((u) => u.endsWith('/src/kube/reflector.ts')) && real.modules.some((u) => u.endsWith('/src/app.ts')), `the hook recorded the gateway's own modules: ${real.modules.length} modules`);
      assert.deepEqual(real.modules.filter((u) => u.startsWith(demoDir)), [], 'no module of demo/ is loaded');
      const demo = await loadedBy(['--demo', '--demo-churn-per-second', '0'], 'demo.txt');
      assert.ok(demo.modules.includes(`${demoDir}src/index.ts`), 'the demo start loads demo/src/index.ts (so the hook would see it)');
      assert.match(demo.first, /^serving the DEMO cluster \(generated, not a real cluster; --demo was given\); explorer at http/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm start\'s entry (src/start.js) serves the cluster without loading client-node\'s generated API clients or undici', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netgraph-modules-'));
    try {
      const file = join(dir, 'start.txt');
      const gw = await GatewayProcess.start(['--port', '0', '--kubeconfig', cp.state.kubeconfigPath], {
        entry: join(RepoRoot, 'src/start.js'),
        nodeArgs: ['--import', RecordModulesHook],
        env: { NETGRAPH_TEST_MODULES_FILE: file },
      });
      try {
        await servesTheControlPlane(gw);
      } finally {
        assert.deepEqual(await gw.stop(), { code: 0, signal: null });
      }
      const modules = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
      assert.ok(modules.some((u) => u.endsWith('/src/slim-client-node-gen.js')), 'config.js\'s import of the generated index was narrowed');
      assert.deepEqual(modules.filter((u) => /\/@kubernetes\/client-node\/dist\/(index\.js|gen\/index\.js|gen\/models\/)/.test(u)), []);
      assert.ok(modules.some((u) => u.endsWith('/src/slim-undici.js')), 'client-node\'s imports of undici were narrowed');
      assert.deepEqual(modules.filter((u) => u.includes('/node_modules/undici/')), [], 'no module of undici is loaded');
      // The start checks that graphql-jit's leaf code was rewritten at install, and found it so.
      assert.ok(modules.some((u) => u.endsWith('/src/patch-graphql-jit.js')), 'the start looked at graphql-jit');
      assert.deepEqual(gw.stderr.filter((l) => l.includes('graphql-jit is not patched')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('KUBECONFIG in the environment', async () => {
    const gw = await GatewayProcess.start(['--port', '0'], { env: { KUBECONFIG: cp.state.kubeconfigPath } });
    try {
      await servesTheControlPlane(gw);
    } finally {
      assert.deepEqual(await gw.stop(), { code: 0, signal: null });
    }
  });
});

describe('invalid configuration: exit code 2 and one line naming the option and the value', () => {
  const cases: { name: string; args: string[]; env?: Record<string, string>; mentions: string[] }[] = [
    { name: 'an unknown flag', args: ['--bogus'], mentions: ['--bogus'] },
    { name: 'a port that is not a number', args: ['--port', 'abc'], mentions: ['--port', '"abc"'] },
    { name: 'an unknown log level', args: ['--log-level', 'loud'], mentions: ['--log-level', '"loud"'] },
    { name: 'a negative --max-depth (a value that starts with a dash)', args: ['--max-depth', '-1'], mentions: ['--max-depth: expected an integer from 1 to 100, got "-1"'] },
    { name: 'a negative limit set through its environment variable', args: [], env: { NETGRAPH_MAX_COST: '-5' }, mentions: ['NETGRAPH_MAX_COST: expected an integer', '"-5"'] },
    { name: 'a flag whose value is missing', args: ['--port'], mentions: ['--port: expected a value, got nothing'] },
    { name: 'a value given to a switch', args: ['--demo=yes'], mentions: ['--demo', '"yes"'] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await GatewayProcess.run(c.args, { env: c.env });
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr.join('\n')}`);
      assert.equal(r.stderr.length, 1, `exactly one line on stderr, got:\n${r.stderr.join('\n')}`);
      for (const m of c.mentions) assert.ok(r.stderr[0]!.includes(m), `${JSON.stringify(r.stderr[0])} mentions ${m}`);
      assert.deepEqual(r.stdout, []);
    });
  }
});

describe('a kubeconfig that was named but cannot be used: exit code 1 and one line naming the file and the reason, never the demo', () => {
  const cp = ControlPlane.attach();
  const dir = mkdtempSync(join(tmpdir(), 'netgraph-kubeconfigs-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  after(() => rmSync(dir, { recursive: true, force: true }));
  const notYaml = file('not-yaml', '{ clusters: [unclosed\n');
  const plainText = file('plain.txt', 'hello world\n');
  const noContext = file('no-context.yaml', 'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts: []\nusers: []\n');
  const aDirectory = join(dir, 'a-directory');
  mkdirSync(aDirectory);
  const cases: { name: string; args: string[]; env?: Record<string, string>; line: RegExp }[] = [
    { name: 'KUBECONFIG naming a file that does not exist', args: [], env: { KUBECONFIG: '/nonexistent' }, line: /^kube-netgraph: KUBECONFIG \/nonexistent: expected a readable kubeconfig file, got no such file/ },
    { name: '--kubeconfig naming a file that does not exist', args: ['--kubeconfig', '/nonexistent/kubeconfig'], line: /^kube-netgraph: --kubeconfig \/nonexistent\/kubeconfig: expected a readable kubeconfig file, got no such file$/ },
    { name: '--kubeconfig naming a directory', args: ['--kubeconfig', aDirectory], line: new RegExp(`^kube-netgraph: --kubeconfig ${aDirectory}: expected a readable kubeconfig file, got a directory$`) },
    { name: '--kubeconfig naming a file that is not YAML', args: ['--kubeconfig', notYaml], line: new RegExp(`^kube-netgraph: --kubeconfig ${notYaml}: expected a kubeconfig in YAML, got text that is not YAML \\(`) },
    { name: 'KUBECONFIG naming a text file that is YAML but not a kubeconfig', args: [], env: { KUBECONFIG: plainText }, line: new RegExp(`^kube-netgraph: KUBECONFIG ${plainText}: expected a kubeconfig \\(YAML with clusters, users and contexts\\), got a YAML string$`) },
    { name: 'a kubeconfig without a current context', args: ['--kubeconfig', noContext], line: new RegExp(`^kube-netgraph: kubeconfig ${noContext}: expected a current-context \\(or --context\\), got none$`) },
    { name: 'a context the kubeconfig does not have', args: ['--kubeconfig', cp.state.kubeconfigPath, '--context', 'nope'], line: /^kube-netgraph: --context: expected one of \[.*\] \(in .*\), got "nope"$/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await GatewayProcess.run(c.args, { env: c.env });
      assert.equal(r.code, 1, `exit code; stderr: ${r.stderr.join('\n')}`);
      assert.equal(r.stderr.length, 1, `exactly one line on stderr, got:\n${r.stderr.join('\n')}`);
      assert.match(r.stderr[0]!, c.line);
      assert.deepEqual(r.stdout, []);
    });
  }
});

describe('an installation without the demo package (as the image is built)', () => {
  it('--demo and a start with nothing named exit 1 with one line saying the demo is not installed', async () => {
    // What deploy/Dockerfile copies: src/, schema/, package.json and production node_modules (linked here).
    const image = mkdtempSync(join(tmpdir(), 'netgraph-image-'));
    try {
      cpSync(join(RepoRoot, 'src'), join(image, 'src'), { recursive: true });
      cpSync(join(RepoRoot, 'schema'), join(image, 'schema'), { recursive: true });
      cpSync(join(RepoRoot, 'package.json'), join(image, 'package.json'));
      symlinkSync(join(RepoRoot, 'node_modules'), join(image, 'node_modules'));
      for (const [args, says] of [[['--demo'], '--demo: '], [[], 'no kubeconfig was named (--kubeconfig, KUBECONFIG, ~/.kube/config) and the demo cluster: ']] as const) {
        const r = await GatewayProcess.run(['--port', '0', ...args], { entry: join(image, 'src/main.ts') });
        assert.equal(r.code, 1, r.stderr.join('\n'));
        assert.deepEqual(r.stderr, [`kube-netgraph: ${says}the demo package (demo/) is not installed here; name a kubeconfig or run in a cluster`]);
      }
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  });
});

describe('the start command on a Node older than 24', () => {
  it('exits 1 with one line naming the version found and the command to use', async () => {
    // The version is reported as 20.19.2 by a preloaded module: the same check, whatever Node this machine has.
    const r = await GatewayProcess.run(['--help'], { entry: resolve(RepoRoot, 'src/start.js'), nodeArgs: ['--import', 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.19.2"})'] });
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout, []);
    assert.equal(r.stderr.length, 1, r.stderr.join('\n'));
    assert.match(r.stderr[0]!, /^kube-netgraph: needs Node\.js 24 or newer, got Node\.js 20\.19\.2 \(.*\); run `npm start`, which brings Node 24 from npm, or node_modules\/\.bin\/node src\/main\.ts$/);
  });

  it('on Node 24 it runs the gateway (--help answers)', async () => {
    const r = await GatewayProcess.run(['--help'], { entry: resolve(RepoRoot, 'src/start.js') });
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.match(r.stdout[0] ?? '', /^Usage: /);
  });
});

describe('--help', () => {
  it('exits 0 and lists every option with its environment variable', async () => {
    const r = await GatewayProcess.run(['--help']);
    assert.equal(r.code, 0);
    assert.deepEqual(r.stderr, []);
    const text = r.stdout.join('\n');
    assert.match(text, /^Usage: /);
    // The options users reach for, spelled out, and every option the parser knows.
    const names = new Set(['host', 'port', 'kubeconfig', 'context', 'demo', 'namespaces', 'nodes', 'log-level', 'max-depth', 'shutdown-delay-seconds', ...Object.keys(Options)]);
    for (const name of names) {
      if (name === 'help') continue;
      const at = r.stdout.findIndex((l) => new RegExp(`^\\s+--${name}\\b`).test(l));
      assert.ok(at >= 0, `--${name} is listed`);
      assert.match(r.stdout[at + 1] ?? '', new RegExp(`^\\s+env ${envName(name)}$`), `--${name} is followed by its variable ${envName(name)}`);
    }
    assert.match(text, /--help/);
  });
});

describe('a signal while the gateway is still starting', () => {
  it('SIGTERM before the start has finished exits 0 with one log line, never by the default action', async () => {
    // An API server that accepts connections and never answers: the start waits on its first request.
    const silentSockets = new Set<Socket>();
    const silent = createServer((s) => silentSockets.add(s));
    const connected = new Promise<void>((res) => silent.once('connection', () => res()));
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const dir = mkdtempSync(join(tmpdir(), 'netgraph-silent-'));
    const kubeconfig = join(dir, 'config');
    const port = (silent.address() as AddressInfo).port;
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: silent',
      'clusters: [{ name: silent, cluster: { server: "https://127.0.0.1:' + port + '", insecure-skip-tls-verify: true } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: silent, context: { cluster: silent, user: u } }]',
    ].join('\n'));
    const gw = GatewayProcess.spawn(['--port', '0', '--kubeconfig', kubeconfig]);
    try {
      await connected;
      assert.ok(gw.running, 'still starting while the API server does not answer');
      gw.signal('SIGTERM');
      const status = await gw.exited;
      assert.deepEqual(status, { code: 0, signal: null }, gw.stderr.join('\n'));
      assert.ok(gw.logs().some((l) => l.msg === 'shutting down while starting' && l.signal === 'SIGTERM'), gw.stderr.join('\n'));
    } finally {
      await gw.kill();
      silent.close();
      for (const s of silentSockets) s.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
