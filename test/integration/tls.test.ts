/**
 * TLS serving as Kubernetes components do it, run as users run it (`node src/main.ts` on the
 * embedded demo cluster): with --tls-cert-file and --tls-private-key-file the one port serves
 * HTTPS and WSS and refuses plain HTTP; the certificate is mounted as a Secret volume and
 * swapping the Secret switches the served certificate without a restart, while a bad new pair
 * is warned about and the old one kept. Without TLS, a non-loopback address gets a warning that
 * bearer tokens would travel in plain text. A pair that cannot be served stops the start with
 * one line naming the flag. deploy/overlays/tls renders the Secret mount, the flags and HTTPS
 * probes.
 */
import { DemoTokens } from '../../demo/src/index.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { loadAllYaml } from '@kubernetes/client-node';
import { GatewayProcess, RepoRoot } from '../harness/gateway-process.ts';
import { SecretVolume, selfSignedLocalhost, type TestCert } from '../harness/certs.ts';
import { waitFor } from '../harness/wait.ts';

/** POST a GraphQL query over HTTPS on a new connection, trusting only `ca` and checking the name `localhost`. */
function httpsQuery(url: string, query: string, ca: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/graphql`, { method: 'POST', ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json', authorization: `Bearer ${DemoTokens.admin}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ query }));
  });
}

/** The SHA-256 fingerprint of the certificate a fresh TLS connection is served. */
function servedFingerprint(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), servername: 'localhost', rejectUnauthorized: false }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

/** Open a WSS socket trusting only `ca`; send `messages` in turn, each after the previous answer; resolve with the answers. */
function wssExchange(wsUrl: string, ca: string, messages: object[]): Promise<any[]> {
  return new Promise((resolve, reject) => {
    // The URL's host is 127.0.0.1: the certificate's IP SAN is what is checked here.
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { ca });
    const answers: any[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer in time; got ${JSON.stringify(answers)}`));
    }, 10_000);
    ws.on('open', () => ws.send(JSON.stringify(messages[0])));
    ws.on('message', (data) => {
      answers.push(JSON.parse(data.toString()));
      if (answers.length < messages.length) return ws.send(JSON.stringify(messages[answers.length]));
      clearTimeout(timer);
      ws.close(1000);
      resolve(answers);
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe('--tls-cert-file and --tls-private-key-file from a Secret volume: HTTPS and WSS on the one port', () => {
  let a: TestCert;
  let b: TestCert;
  let secret: SecretVolume;
  let gw: GatewayProcess;

  before(async () => {
    a = selfSignedLocalhost();
    b = selfSignedLocalhost();
    secret = new SecretVolume();
    secret.write({ 'tls.crt': a.cert, 'tls.key': a.key });
    // All interfaces, as in a pod: with TLS on there is nothing to warn about, and callers need
    // a bearer token (--auth kubernetes is the default beyond loopback; the demo knows two).
    gw = await GatewayProcess.start(['--demo', '--host', '0.0.0.0', '--port', '0', '--tls-cert-file', secret.path('tls.crt'), '--tls-private-key-file', secret.path('tls.key')]);
  });
  after(async () => {
    if (gw) assert.deepEqual(await gw.stop(), { code: 0, signal: null });
    secret?.remove();
  });

  it('says https:// on its start line, and does not warn about plain text', () => {
    const line = gw.stderr.find((l) => l.includes('GraphQL at'))!;
    assert.match(line, /explorer at https:\/\/127\.0\.0\.1:\d+\/ · GraphQL at https:\/\/127\.0\.0\.1:\d+\/graphql/);
    assert.ok(gw.url.startsWith('https://'), gw.url);
    assert.deepEqual(gw.logs().filter((l) => l.level === 'warn' && /plain/.test(l.msg)), []);
  });

  it('answers GraphQL over HTTPS with certificate A (verified against A, name localhost)', async () => {
    const { status, body } = await httpsQuery(gw.url, '{ cluster { kinds { kind } } }', a.cert);
    assert.equal(status, 200);
    assert.deepEqual(body.data.cluster.kinds.map((k: any) => k.kind), ['Service', 'EndpointSlice', 'Pod', 'Node', 'Ingress', 'IngressClass', 'GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant']);
    assert.equal(await servedFingerprint(gw.url), a.fingerprint256);
  });

  it('speaks graphql-transport-ws over WSS: connection_init, connection_ack, then a subscription', async () => {
    assert.ok(gw.wsUrl.startsWith('wss://'), gw.wsUrl);
    const answers = await wssExchange(gw.wsUrl, a.cert, [
      { type: 'connection_init', payload: { Authorization: `Bearer ${DemoTokens.shop}` } },
      { id: '1', type: 'subscribe', payload: { query: 'subscription { endpointChanges(namespace: "shop") { type } }' } },
    ]);
    assert.deepEqual(answers[0], { type: 'connection_ack' });
    assert.deepEqual(answers[1], { id: '1', type: 'next', payload: { data: { endpointChanges: { type: 'SNAPSHOT' } } } });
  });

  it('refuses plain HTTP on the TLS port', async () => {
    const plain = gw.url.replace(/^https:/, 'http:');
    await assert.rejects(fetch(`${plain}/healthz`), (err: Error) => err.message === 'fetch failed');
  });

  it('serves certificate B once the Secret is swapped to it, without a restart', async () => {
    const pid = gw.child.pid;
    secret.write({ 'tls.crt': b.cert, 'tls.key': b.key });
    await waitFor('the gateway to serve certificate B', 10_000, async () => (await servedFingerprint(gw.url)) === b.fingerprint256);
    const { status } = await httpsQuery(gw.url, '{ cluster { ready } }', b.cert);
    assert.equal(status, 200);
    await assert.rejects(httpsQuery(gw.url, '{ cluster { ready } }', a.cert), /self-signed certificate/);
    const reloaded = gw.logs().filter((l) => l.msg === 'TLS certificate reloaded');
    assert.equal(reloaded.length, 1, 'one info line per reload');
    assert.equal(reloaded[0]!.level, 'info');
    assert.equal(reloaded[0]!.fingerprint256, b.fingerprint256);
    assert.ok(gw.running && gw.child.pid === pid);
  });

  it('keeps serving B when the Secret is swapped to garbage, and warns without key material', async () => {
    secret.write({ 'tls.crt': 'garbage\n', 'tls.key': b.key });
    const warning = JSON.parse(await gw.waitForLog(/TLS certificate not reloaded/, 10_000));
    assert.equal(warning.level, 'warn');
    assert.equal(warning.file, secret.path('tls.crt'));
    assert.match(warning.error, /^expected a PEM certificate in ".*tls\.crt", got 8 bytes that do not parse/);
    assert.equal(await servedFingerprint(gw.url), b.fingerprint256);
    assert.equal((await httpsQuery(gw.url, '{ cluster { ready } }', b.cert)).status, 200);
    const keyBody = b.key.split('\n')[1]!;
    for (const l of gw.stderr) assert.ok(!l.includes('PRIVATE KEY') && !l.includes(keyBody), `key material logged: ${l}`);
  });
});

describe('plain HTTP on a non-loopback address', () => {
  it('warns at start that bearer tokens would travel in plain text', async () => {
    const gw = await GatewayProcess.start(['--demo', '--host', '0.0.0.0', '--port', '0']);
    try {
      assert.ok(gw.url.startsWith('http://'), gw.url);
      // The warning is logged right after the serving line the start waited for: wait until it is read.
      await waitFor('the plain HTTP warning', 10_000, () => gw.logs().some((l) => l.level === 'warn'));
      const warnings = gw.logs().filter((l) => l.level === 'warn');
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.match(warnings[0]!.msg, /plain HTTP on a non-loopback address: bearer tokens .* plain text; serve TLS with --tls-cert-file and --tls-private-key-file/);
      assert.equal(warnings[0]!.host, '0.0.0.0');
    } finally {
      assert.deepEqual(await gw.stop(), { code: 0, signal: null });
    }
  });
});

describe('a key pair that cannot be served: exit code 2 and one line naming the flag', () => {
  let a: TestCert;
  let b: TestCert;
  let dir: string;
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  before(() => {
    a = selfSignedLocalhost();
    b = selfSignedLocalhost();
    dir = mkdtempSync(join(tmpdir(), 'netgraph-tls-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: { name: string; args: () => string[]; env?: () => Record<string, string>; mentions: () => string[] }[] = [
    {
      name: "certificate A with certificate B's key",
      args: () => ['--tls-cert-file', file('a.crt', a.cert), '--tls-private-key-file', file('b.key', b.key)],
      mentions: () => ['--tls-private-key-file', 'does not match', join(dir, 'a.crt')],
    },
    {
      name: 'the same mismatch given through NETGRAPH_TLS_CERT_FILE and NETGRAPH_TLS_PRIVATE_KEY_FILE',
      args: () => [],
      env: () => ({ NETGRAPH_TLS_CERT_FILE: file('a.crt', a.cert), NETGRAPH_TLS_PRIVATE_KEY_FILE: file('b.key', b.key) }),
      mentions: () => ['--tls-private-key-file', 'does not match'],
    },
    {
      name: 'a certificate file that does not exist',
      args: () => ['--tls-cert-file', join(dir, 'missing.crt'), '--tls-private-key-file', file('a.key', a.key)],
      mentions: () => ['--tls-cert-file', join(dir, 'missing.crt'), 'ENOENT'],
    },
    {
      name: 'a certificate file that is not a certificate',
      args: () => ['--tls-cert-file', file('a.key.crt', a.key), '--tls-private-key-file', file('a.key', a.key)],
      mentions: () => ['--tls-cert-file', 'expected a PEM certificate'],
    },
    {
      name: 'only --tls-cert-file',
      args: () => ['--tls-cert-file', file('a.crt', a.cert)],
      mentions: () => ['--tls-cert-file', 'expected --tls-private-key-file as well'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await GatewayProcess.run(['--demo', '--port', '0', ...c.args()], { env: c.env?.() });
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr.join('\n')}`);
      assert.equal(r.stderr.length, 1, `exactly one line on stderr, got:\n${r.stderr.join('\n')}`);
      for (const m of c.mentions()) assert.ok(r.stderr[0]!.includes(m), `${JSON.stringify(r.stderr[0])} mentions ${m}`);
      assert.ok(!r.stderr[0]!.includes('PRIVATE KEY'));
      assert.deepEqual(r.stdout, []);
    });
  }
});

describe('deploy/overlays/tls', () => {
  const kubectl = resolve(import.meta.dirname, '../control-plane/bin/kubectl');

  it('mounts Secret kube-netgraph-tls, passes both flags, and probes over HTTPS', async () => {
    assert.ok(existsSync(kubectl), `${kubectl} is built by test/control-plane/build.sh`);
    const { stdout } = await promisify(execFile)(kubectl, ['kustomize', 'deploy/overlays/tls'], { cwd: RepoRoot, maxBuffer: 16 * 1024 * 1024 });
    const objs = loadAllYaml(stdout) as any[];
    const pod = objs.find((o) => o.kind === 'Deployment').spec.template.spec;
    const volume = pod.volumes.find((v: any) => v.secret?.secretName === 'kube-netgraph-tls');
    assert.ok(volume, `a volume of Secret kube-netgraph-tls: ${JSON.stringify(pod.volumes)}`);
    const c = pod.containers[0];
    assert.deepEqual({ ...c.volumeMounts.find((m: any) => m.name === volume.name) }, { name: volume.name, mountPath: '/etc/kube-netgraph/tls', readOnly: true });
    assert.ok(c.args.includes('--tls-cert-file=/etc/kube-netgraph/tls/tls.crt') && c.args.includes('--tls-private-key-file=/etc/kube-netgraph/tls/tls.key'), `args: ${c.args.join(' ')}`);
    assert.deepEqual(
      ['readinessProbe', 'livenessProbe', 'startupProbe'].map((p) => [p, c[p].httpGet.scheme]),
      [['readinessProbe', 'HTTPS'], ['livenessProbe', 'HTTPS'], ['startupProbe', 'HTTPS']],
    );
    // The base is unchanged otherwise: the same objects, by kind and name.
    const base = loadAllYaml((await promisify(execFile)(kubectl, ['kustomize', 'deploy/base'], { cwd: RepoRoot, maxBuffer: 16 * 1024 * 1024 })).stdout) as any[];
    const ids = (os: any[]) => os.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    assert.deepEqual(ids(objs), ids(base));
  });
});
