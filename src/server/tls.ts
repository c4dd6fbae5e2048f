/**
 * The serving certificate, reloaded as Kubernetes components reload theirs
 * (k8s.io/apiserver `dynamiccertificates`): the key pair is read from two PEM files at start,
 * then re-read whenever their directory changes (a Secret volume swaps its `..data` symlink, so
 * the directory is watched, not the files) and every `checkIntervalMs` as a fallback for
 * mounts that send no events. A new pair is served once both files parse and the key matches
 * the certificate; a bad pair is logged (never its contents) and the old one kept.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { dirname } from 'node:path';
import { createSecureContext } from 'node:tls';
import { errorText, type Logger } from '../log.ts';

export interface KeyPair {
  /** The certificate file's bytes: the leaf, then any intermediates. */
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The leaf's SHA-256 fingerprint, for logs. */
  readonly fingerprint256: string;
  /** The leaf's expiry, for logs. */
  readonly validTo: string;
}

/** Which of the two files is at fault. */
export type KeyPairFile = 'cert' | 'key';

export type KeyPairLoad =
  | { phase: 'ok'; pair: KeyPair }
  | { phase: 'invalid'; file: KeyPairFile; message: string };

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/**
 * Read and check a key pair: both files readable, the certificate PEM, the key an unencrypted
 * private key matching it, and the two accepted by node:tls. Never throws; says which
 * file is at fault in one line without any key material.
 */
export function loadKeyPair(files: TlsFiles): KeyPairLoad {
  const read = readPair(files);
  return read.phase === 'ok' ? checkKeyPair(read.cert, read.key, files) : read;
}

export interface ServingCertificateOptions extends TlsFiles {
  /** The pair loaded at start (`loadKeyPair`), served until the files change. */
  pair: KeyPair;
  /** Fallback re-read of both files, in case the directory sends no events. @default 60_000 // 60 seconds */
  checkIntervalMs?: number;
  /** After a change event, wait this long for more events before re-reading, so a pair written file by file is read whole. @default 200 // ms */
  settleMs?: number;
  logger: Logger;
}

export class ServingCertificate {
  private readonly options: ServingCertificateOptions;
  private pair: KeyPair;
  /** The contents last refused, so a bad pair is warned about once, not at every check. */
  private refused: { cert: Buffer; key: Buffer } | null = null;
  private watchers: FSWatcher[] = [];
  private interval: NodeJS.Timeout | null = null;
  private settle: NodeJS.Timeout | null = null;
  private onReload: ((pair: KeyPair) => void) | null = null;

  constructor(options: ServingCertificateOptions) {
    this.options = options;
    this.pair = options.pair;
  }

  /** The pair being served. */
  get current(): KeyPair {
    return this.pair;
  }

  /**
   * Watch the files; `onReload` is called with each new pair that parses and matches (the
   * server passes it to `setSecureContext`). If it throws, the error is logged and the
   * previous pair stays current. Watching a directory that cannot be watched is logged; the
   * interval still checks.
   */
  start(onReload: (pair: KeyPair) => void): void {
    if (this.onReload) return;
    this.onReload = onReload;
    for (const dir of new Set([dirname(this.options.certFile), dirname(this.options.keyFile)])) {
      try {
        const w = watch(dir, { persistent: false }, () => this.changed());
        w.on('error', (err) => {
          this.options.logger.warn('TLS certificate directory watch failed; checking every interval instead', { dir, error: errorText(err) });
          w.close();
        });
        this.watchers.push(w);
      } catch (err) {
        this.options.logger.warn('cannot watch the TLS certificate directory; checking every interval instead', { dir, error: errorText(err) });
      }
    }
    this.interval = setInterval(() => this.check(), this.options.checkIntervalMs ?? 60_000);
    this.interval.unref();
  }

  /** Stop watching. Safe to call twice. */
  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.interval) clearInterval(this.interval);
    if (this.settle) clearTimeout(this.settle);
    this.interval = this.settle = null;
    this.onReload = null;
  }

  /**
   * Re-read both files now and serve them if they changed and are good: 'unchanged' when they
   * hold what is served (or what was already refused), 'reloaded', or 'refused' (logged).
   */
  check(): 'unchanged' | 'reloaded' | 'refused' {
    const read = readPair(this.options);
    if (read.phase === 'ok') {
      if (read.cert.equals(this.pair.cert) && read.key.equals(this.pair.key)) {
        this.refused = null;
        return 'unchanged';
      }
      if (this.refused && read.cert.equals(this.refused.cert) && read.key.equals(this.refused.key)) return 'unchanged';
    }
    const loaded = read.phase === 'ok' ? checkKeyPair(read.cert, read.key, this.options) : read;
    if (loaded.phase === 'invalid') {
      // An unreadable file is warned about at every check: it is likely to be transient.
      if (read.phase === 'ok') this.refused = { cert: read.cert, key: read.key };
      this.options.logger.warn('TLS certificate not reloaded: keeping the one being served', {
        file: loaded.file === 'cert' ? this.options.certFile : this.options.keyFile,
        error: loaded.message,
        servingFingerprint256: this.pair.fingerprint256,
      });
      return 'refused';
    }
    try {
      this.onReload?.(loaded.pair);
    } catch (err) {
      this.refused = { cert: loaded.pair.cert, key: loaded.pair.key };
      this.options.logger.warn('TLS certificate not reloaded: keeping the one being served', { file: this.options.certFile, error: errorText(err) });
      return 'refused';
    }
    const previous = this.pair;
    this.pair = loaded.pair;
    this.refused = null;
    this.options.logger.info('TLS certificate reloaded', {
      certFile: this.options.certFile,
      fingerprint256: loaded.pair.fingerprint256,
      validTo: loaded.pair.validTo,
      previousFingerprint256: previous.fingerprint256,
    });
    return 'reloaded';
  }

  // Private:

  private changed(): void {
    if (!this.onReload) return;
    if (this.settle) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = null;
      this.check();
    }, this.options.settleMs ?? 200);
    this.settle.unref();
  }
}

// Private:

type ReadPair = { phase: 'ok'; cert: Buffer; key: Buffer } | { phase: 'invalid'; file: KeyPairFile; message: string };

function readPair(files: TlsFiles): ReadPair {
  const read = (path: string): Buffer | string => {
    try {
      return readFileSync(path);
    } catch (err) {
      return `cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`;
    }
  };
  const cert = read(files.certFile);
  if (typeof cert === 'string') return { phase: 'invalid', file: 'cert', message: cert };
  const key = read(files.keyFile);
  if (typeof key === 'string') return { phase: 'invalid', file: 'key', message: key };
  return { phase: 'ok', cert, key };
}

/** Errors from OpenSSL name the routine, never the input; keep their first line only. */
function reason(err: unknown): string {
  return errorText(err).split('\n')[0]!;
}

function checkKeyPair(cert: Buffer, key: Buffer, files: TlsFiles): KeyPairLoad {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return { phase: 'invalid', file: 'cert', message: `expected a PEM certificate in ${JSON.stringify(files.certFile)}, got ${cert.length} bytes that do not parse (${reason(err)})` };
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return { phase: 'invalid', file: 'key', message: `expected an unencrypted PEM private key in ${JSON.stringify(files.keyFile)}, got ${key.length} bytes that do not parse (${reason(err)})` };
  }
  if (!x509.checkPrivateKey(privateKey)) {
    return { phase: 'invalid', file: 'key', message: `the private key in ${JSON.stringify(files.keyFile)} does not match the certificate in ${JSON.stringify(files.certFile)} (subject ${JSON.stringify(x509.subject.replace(/\n/g, ', '))})` };
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    return { phase: 'invalid', file: 'cert', message: `${JSON.stringify(files.certFile)} and ${JSON.stringify(files.keyFile)} are not a usable pair (${reason(err)})` };
  }
  return { phase: 'ok', pair: { cert, key, fingerprint256: x509.fingerprint256, validTo: new Date(x509.validTo).toISOString() } };
}
