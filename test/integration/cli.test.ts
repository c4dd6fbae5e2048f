/**
 * The command line (issue "Runs anywhere"), run as users run it: `node src/main.ts` in its own
 * process. With no kubeconfig it serves the embedded demo cluster over HTTP and WebSocket; with
 * `--kubeconfig` or KUBECONFIG it serves that cluster instead; invalid configuration stops the
 * start with exit code 2 and one line naming the option and the value; `--help` lists every
 * option with its environment variable.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Options, envName } from '../../src/config.ts';
import { ControlPlane } from '../harness/control-plane.ts';
import { KubeClient } from '../harness/kube-client.ts';
import { GatewayProcess, queryData, subscribe, type Subscription } from '../harness/gateway-process.ts';
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

  it('says on one line that it serves the demo cluster and where', () => {
    const line = gw.stderr.find((l) => l.includes('GraphQL at'))!;
    assert.match(line, /serving the embedded demo cluster; GraphQL at http:\/\/127\.0\.0\.1:\d+\/graphql, explorer at http:\/\/127\.0\.0\.1:\d+\//);
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
  const cp = ControlPlane.attach();
  const cases: { name: string; args: string[]; env?: Record<string, string>; mentions: string[] }[] = [
    { name: 'an unknown flag', args: ['--bogus'], mentions: ['--bogus'] },
    { name: 'a port that is not a number', args: ['--port', 'abc'], mentions: ['--port', '"abc"'] },
    { name: 'an unknown log level', args: ['--log-level', 'loud'], mentions: ['--log-level', '"loud"'] },
    { name: 'a kubeconfig file that does not exist', args: ['--kubeconfig', '/nonexistent/kubeconfig'], mentions: ['--kubeconfig', '/nonexistent/kubeconfig'] },
    { name: 'a context the kubeconfig does not have', args: ['--kubeconfig', cp.state.kubeconfigPath, '--context', 'nope'], mentions: ['--context', '"nope"'] },
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
