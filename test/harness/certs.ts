/**
 * Certificates for the TLS tests, made with the `openssl` CLI (Node's crypto cannot issue
 * X.509 certificates), and a directory laid out as the kubelet lays out a Secret volume, so
 * a test swaps certificates the way Kubernetes does.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM private key (unencrypted). */
  readonly key: string;
  /** As `X509Certificate.fingerprint256` and `getPeerCertificate().fingerprint256` spell it. */
  readonly fingerprint256: string;
}

/**
 * A fresh self-signed certificate for CN localhost with SAN DNS:localhost, IP:127.0.0.1 (P-256,
 * valid one day). Throws, saying so, when `openssl` is not on PATH: the TLS tests need it.
 */
export function selfSignedLocalhost(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'netgraph-cert-'));
  try {
    const [certFile, keyFile] = [join(dir, 'tls.crt'), join(dir, 'tls.key')];
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('openssl: expected the openssl CLI on PATH to generate test certificates, got none (apt-get install openssl)');
      }
      throw new Error(`openssl req failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
    }
    const cert = readFileSync(certFile, 'utf8');
    return { cert, key: readFileSync(keyFile, 'utf8'), fingerprint256: new X509Certificate(cert).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A directory written as the kubelet writes a Secret volume (AtomicWriter): the files live in a
 * timestamped directory, `..data` links to it, and each name (`tls.crt`) links to
 * `..data/<name>`. `write` replaces every file at once by renaming a new `..data` link over
 * the old one, so a reader sees the old set or the new set, never a mix.
 */
export class SecretVolume {
  readonly dir: string;
  private generation = 0;

  constructor(dir: string = mkdtempSync(join(tmpdir(), 'netgraph-secret-'))) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  write(files: Readonly<Record<string, string>>): void {
    const old = readdirSync(this.dir).filter((n) => n.startsWith('..gen-'));
    const gen = `..gen-${++this.generation}`;
    mkdirSync(join(this.dir, gen));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(this.dir, gen, name), content, { mode: 0o600 });
    symlinkSync(gen, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    for (const o of old) rmSync(join(this.dir, o), { recursive: true, force: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
