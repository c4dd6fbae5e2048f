/**
 * Connecting: which kubeconfig is used and the one-line error for each way it can be wrong,
 * and credentials applied per request (a static token, an exec credential plugin as kubectl
 * runs it), checked against a scripted server that records the Authorization header.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, ConfigError, loadKubeConfig } from '../../src/kube/client.ts';

const dir = mkdtempSync(join(tmpdir(), 'kc-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const kubeconfig = (server: string, user: string, contexts = ['one']) =>
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: u',
    '  user:',
    ...user.split('\n').map((l) => `    ${l}`),
    'contexts:',
    ...contexts.flatMap((c) => [`- name: ${c}`, '  context:', '    cluster: c', '    user: u']),
    `current-context: ${contexts[0]}`,
    '',
  ].join('\n');

describe('choosing and loading a kubeconfig', () => {
  it('explicit file first; a context can be picked', () => {
    const p = file('two.yaml', kubeconfig('http://127.0.0.1:1', 'token: t', ['one', 'two']));
    const got = loadKubeConfig({ kubeconfig: p, context: 'two' }, {})!;
    assert.equal(got.kc.getCurrentContext(), 'two');
    assert.match(got.source.detail, /context "two", server http:\/\/127\.0\.0\.1:1/);
  });

  it('KUBECONFIG lists are merged, skipping files that do not exist as kubectl does; nothing named or found means the demo (null)', () => {
    const a = file('a.yaml', kubeconfig('http://127.0.0.1:2', 'token: a'));
    assert.equal(loadKubeConfig({}, { KUBECONFIG: `${join(dir, 'missing.yaml')}:${a}` })!.kc.getCurrentCluster()!.server, 'http://127.0.0.1:2');
    assert.equal(loadKubeConfig({}, { HOME: dir }), null);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['a missing file', () => loadKubeConfig({ kubeconfig: join(dir, 'nope.yaml') }, {}), /^--kubeconfig \S*nope\.yaml: expected a readable kubeconfig file, got no such file$/],
    ['a file that is not YAML', () => loadKubeConfig({ kubeconfig: file('bad.yaml', ':\n  - [') }, {}), /^--kubeconfig \S*bad\.yaml: expected a kubeconfig in YAML, got text that is not YAML \(/],
    ['a YAML file that is not a kubeconfig', () => loadKubeConfig({ kubeconfig: file('list.yaml', '- a\n- b\n') }, {}), /^--kubeconfig \S*list\.yaml: expected a kubeconfig \(YAML with clusters, users and contexts\), got a YAML list$/],
    ['KUBECONFIG naming only files that do not exist', () => loadKubeConfig({}, { KUBECONFIG: `${join(dir, 'x.yaml')}:${join(dir, 'y.yaml')}`, HOME: dir }), /^KUBECONFIG \S*x\.yaml:\S*y\.yaml: expected a readable kubeconfig file, got none of these files/],
    ['an unknown context', () => loadKubeConfig({ kubeconfig: file('c.yaml', kubeconfig('http://x', 'token: t')), context: 'prod' }, {}), /^--context: expected one of \["one"\] \(in \S*c\.yaml\), got "prod"$/],
    ['a context with no kubeconfig anywhere', () => loadKubeConfig({ context: 'prod' }, { HOME: dir }), /--context: "prod" given, but no kubeconfig was found/],
  ];
  for (const [name, run, message] of bad) {
    it(`${name}: one ConfigError naming the cause`, () => {
      assert.throws(run, (err: unknown) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'));
    });
  }
});

describe('credentials per request', () => {
  let server: Server;
  let url = '';
  const seen: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"gitVersion":"v1.36.3"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  it('a static token becomes a Bearer header', async () => {
    const { kc } = loadKubeConfig({ kubeconfig: file('tok.yaml', kubeconfig(url, 'token: static-token')) }, {})!;
    const c = new ApiClient(kc);
    await c.getJSON('/version', { idleTimeoutMs: 5_000 });
    c.close();
    assert.equal(seen.at(-1), 'Bearer static-token');
  });

  it('an exec credential plugin is run as kubectl runs it, and its token is sent', async () => {
    const plugin = file('plugin.sh', '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n');
    chmodSync(plugin, 0o755);
    const user = ['exec:', '  apiVersion: client.authentication.k8s.io/v1', `  command: ${plugin}`, '  interactiveMode: Never'].join('\n');
    const { kc } = loadKubeConfig({ kubeconfig: file('exec.yaml', kubeconfig(url, user)) }, {})!;
    const c = new ApiClient(kc);
    await c.getJSON('/version', { idleTimeoutMs: 5_000 });
    c.close();
    assert.equal(seen.at(-1), 'Bearer from-exec');
  });
});
