/**
 * The serving certificate without a gateway: which key pairs load and which file a bad one
 * blames (src/server/tls.ts); how ServingCertificate moves between pairs (a good new pair is
 * handed over once, a bad one is warned about once and the old one kept); the TLS flags'
 * "both or neither"; and which listen addresses count as loopback (src/config.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, isLoopbackHost, parseConfig, type Config } from '../../src/config.ts';
import { ServingCertificate, loadKeyPair, type KeyPair } from '../../src/server/tls.ts';
import { createLogger } from '../../src/log.ts';
import { SecretVolume, selfSignedLocalhost, type TestCert } from '../harness/certs.ts';
import { waitFor } from '../harness/wait.ts';

describe('isLoopbackHost', () => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['localhost', true],
    ['LocalHost', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['[::]', false],
    ['10.1.2.3', false],
    ['128.0.0.1', false],
    ['fe80::1', false],
    ['gateway.example', false],
    ['localhost.example', false],
  ];
  for (const [host, loopback] of cases) {
    it(`${host}: ${loopback ? 'loopback' : 'not loopback'}`, () => assert.equal(isLoopbackHost(host), loopback));
  }
});

describe('--tls-cert-file and --tls-private-key-file: both or neither', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env) as Config;

  it('neither: plain HTTP (tls null)', () => {
    assert.equal(parse([]).tls, null);
  });
  it('both flags', () => {
    assert.deepEqual(parse(['--tls-cert-file', '/c.pem', '--tls-private-key-file', '/k.pem']).tls, { certFile: '/c.pem', keyFile: '/k.pem' });
  });
  it('both variables', () => {
    assert.deepEqual(parse([], { NETGRAPH_TLS_CERT_FILE: '/c.pem', NETGRAPH_TLS_PRIVATE_KEY_FILE: '/k.pem' }).tls, { certFile: '/c.pem', keyFile: '/k.pem' });
  });
  const halves: { name: string; argv: string[]; env?: NodeJS.ProcessEnv; message: string }[] = [
    { name: 'only the certificate flag', argv: ['--tls-cert-file', '/c.pem'], message: '--tls-cert-file: expected --tls-private-key-file as well (both or neither), got only "/c.pem"' },
    { name: 'only the key flag', argv: ['--tls-private-key-file', '/k.pem'], message: '--tls-private-key-file: expected --tls-cert-file as well (both or neither), got only "/k.pem"' },
    { name: 'only the key variable', argv: [], env: { NETGRAPH_TLS_PRIVATE_KEY_FILE: '/k.pem' }, message: 'NETGRAPH_TLS_PRIVATE_KEY_FILE: expected --tls-cert-file as well (both or neither), got only "/k.pem"' },
  ];
  for (const c of halves) {
    it(`${c.name}: ConfigError`, () => {
      assert.throws(() => parse(c.argv, c.env), (err: unknown) => err instanceof ConfigError && err.message === c.message);
    });
  }
});

describe('loadKeyPair', () => {
  let a: TestCert;
  let b: TestCert;
  let dir: string;
  const file = (name: string, content: string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  before(() => {
    a = selfSignedLocalhost();
    b = selfSignedLocalhost();
    dir = mkdtempSync(join(tmpdir(), 'netgraph-tls-unit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a matching pair: ok, with the leaf fingerprint', () => {
    const loaded = loadKeyPair({ certFile: file('a.crt', a.cert), keyFile: file('a.key', a.key) });
    assert.equal(loaded.phase, 'ok');
    assert.equal(loaded.phase === 'ok' && loaded.pair.fingerprint256, a.fingerprint256);
  });

  it('each bad pair blames one file, on one line, without key material', () => {
    const cases: { name: string; cert: () => string; key: () => string; file: 'cert' | 'key'; message: RegExp }[] = [
      { name: 'missing certificate file', cert: () => join(dir, 'nope.crt'), key: () => file('a.key', a.key), file: 'cert', message: /^cannot read ".*nope\.crt": ENOENT$/ },
      { name: 'missing key file', cert: () => file('a.crt', a.cert), key: () => join(dir, 'nope.key'), file: 'key', message: /^cannot read ".*nope\.key": ENOENT$/ },
      { name: 'a directory as the certificate', cert: () => dir, key: () => file('a.key', a.key), file: 'cert', message: /^cannot read ".*": EISDIR$/ },
      { name: 'garbage certificate', cert: () => file('g.crt', 'not a certificate\n'), key: () => file('a.key', a.key), file: 'cert', message: /^expected a PEM certificate in ".*g\.crt", got 18 bytes that do not parse/ },
      { name: 'a key where the certificate goes', cert: () => file('k.crt', a.key), key: () => file('a.key', a.key), file: 'cert', message: /^expected a PEM certificate/ },
      { name: 'garbage key', cert: () => file('a.crt', a.cert), key: () => file('g.key', 'not a key\n'), file: 'key', message: /^expected an unencrypted PEM private key in ".*g\.key", got 10 bytes/ },
      { name: "another certificate's key", cert: () => file('a.crt', a.cert), key: () => file('b.key', b.key), file: 'key', message: /^the private key in ".*b\.key" does not match the certificate in ".*a\.crt" \(subject "CN=localhost"\)$/ },
    ];
    for (const c of cases) {
      const loaded = loadKeyPair({ certFile: c.cert(), keyFile: c.key() });
      assert.equal(loaded.phase, 'invalid', c.name);
      if (loaded.phase !== 'invalid') continue;
      assert.equal(loaded.file, c.file, c.name);
      assert.match(loaded.message, c.message, c.name);
      assert.ok(!loaded.message.includes('\n') && !loaded.message.includes('PRIVATE KEY'), `${c.name}: ${loaded.message}`);
    }
  });
});

describe('ServingCertificate', () => {
  let a: TestCert;
  let b: TestCert;
  let volume: SecretVolume;
  let lines: string[];
  let reloaded: KeyPair[];
  let serving: ServingCertificate;
  const logger = () => createLogger({ format: 'json', level: 'info', write: (l) => lines.push(l) });
  const logged = () => lines.map((l) => JSON.parse(l) as { level: string; msg: string; [k: string]: unknown });

  const startWith = (c: TestCert, o: { settleMs?: number; onReload?: (p: KeyPair) => void } = {}) => {
    volume = new SecretVolume();
    volume.write({ 'tls.crt': c.cert, 'tls.key': c.key });
    const files = { certFile: volume.path('tls.crt'), keyFile: volume.path('tls.key') };
    const loaded = loadKeyPair(files);
    assert.equal(loaded.phase, 'ok');
    lines = [];
    reloaded = [];
    // Events wait out settleMs (an hour unless given), so check() runs only when the test calls it.
    serving = new ServingCertificate({ ...files, pair: (loaded as { pair: KeyPair }).pair, logger: logger(), checkIntervalMs: 3_600_000, settleMs: o.settleMs ?? 3_600_000 });
    serving.start(o.onReload ?? ((p) => reloaded.push(p)));
  };
  const stop = () => {
    serving?.stop();
    volume?.remove();
  };

  before(() => {
    a = selfSignedLocalhost();
    b = selfSignedLocalhost();
  });

  it('unchanged files: nothing to do', () => {
    try {
      startWith(a);
      assert.equal(serving.check(), 'unchanged');
      assert.deepEqual(reloaded, []);
      assert.deepEqual(lines, []);
    } finally {
      stop();
    }
  });

  it('a new good pair is handed over once and logged once; then a bad pair is refused once and the good one kept', () => {
    try {
      startWith(a);
      volume.write({ 'tls.crt': b.cert, 'tls.key': b.key });
      assert.equal(serving.check(), 'reloaded');
      assert.equal(serving.check(), 'unchanged');
      assert.deepEqual(reloaded.map((p) => p.fingerprint256), [b.fingerprint256]);
      assert.equal(serving.current.fingerprint256, b.fingerprint256);

      volume.write({ 'tls.crt': 'garbage\n', 'tls.key': b.key });
      assert.equal(serving.check(), 'refused');
      assert.equal(serving.check(), 'unchanged', 'the same bad pair is not warned about again');
      volume.write({ 'tls.crt': a.cert, 'tls.key': b.key });
      assert.equal(serving.check(), 'refused', 'a different bad pair is');
      assert.equal(serving.current.fingerprint256, b.fingerprint256);
      assert.equal(reloaded.length, 1);

      assert.deepEqual(
        logged().map((l) => [l.level, l.msg]),
        [
          ['info', 'TLS certificate reloaded'],
          ['warn', 'TLS certificate not reloaded: keeping the one being served'],
          ['warn', 'TLS certificate not reloaded: keeping the one being served'],
        ],
      );
      assert.equal(logged()[0]!.fingerprint256, b.fingerprint256);
      assert.equal(logged()[0]!.previousFingerprint256, a.fingerprint256);
      assert.match(String(logged()[2]!.error), /does not match the certificate/);
      for (const l of lines) assert.ok(!l.includes('PRIVATE KEY') && !l.includes(b.key.split('\n')[1]!), `no key material in ${l}`);
    } finally {
      stop();
    }
  });

  it('when setSecureContext throws, the pair is refused and the old one stays current', () => {
    try {
      startWith(a, {
        onReload: () => {
          throw new Error('refused by the server');
        },
      });
      volume.write({ 'tls.crt': b.cert, 'tls.key': b.key });
      assert.equal(serving.check(), 'refused');
      assert.equal(serving.current.fingerprint256, a.fingerprint256);
      assert.equal(logged()[0]!.error, 'refused by the server');
    } finally {
      stop();
    }
  });

  it('a Secret volume swap is picked up from the directory watch, without calling check()', async () => {
    try {
      startWith(a, { settleMs: 20 });
      volume.write({ 'tls.crt': b.cert, 'tls.key': b.key });
      await waitFor('the swapped pair to be handed over', 10_000, () => reloaded.length === 1, 20);
      assert.equal(reloaded[0]!.fingerprint256, b.fingerprint256);
    } finally {
      stop();
    }
  });
});
