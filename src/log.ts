/**
 * Structured logging: one line per event, JSON for machines (pino; the default when stderr is
 * not a terminal) or readable text on a terminal. Never pass secrets or tokens as fields; as a
 * second line of defence, fields named like credentials are redacted in both formats.
 */
import { pino } from 'pino';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. @default 'info' */
  level?: LogLevel;
  /** @default 'json', or 'text' when the stream is a terminal */
  format?: LogFormat;
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void;
}

export const LogLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function createLogger(opts: LoggerOptions = {}, base: LogFields = {}): Logger {
  const format = opts.format ?? (process.stderr.isTTY ? 'text' : 'json');
  if (format === 'json') return pinoLogger(opts, base);
  const min = LogLevels.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LogLevels.indexOf(level) < min) return;
    const all = redact({ ...base, ...fields });
    {
      const extra = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${new Date().toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ' ' + extra : ''}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  };
}

/** The process-wide logger; `main` replaces it once configuration is read. */
export let logger: Logger = createLogger({ level: (process.env.LOG_LEVEL as LogLevel) ?? 'info' });

export function setLogger(l: Logger): void {
  logger = l;
}

/** An error's message (and code, when it has one) for a log field. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

// Private:

/** Field names whose values are never logged. */
const Secret = /token|authorization|password|secret|credential|cookie/i;

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(fields)) if (Secret.test(k)) fields[k] = '[redacted]';
  return fields;
}

function pinoLogger(opts: LoggerOptions, base: LogFields): Logger {
  const write = opts.write;
  const p = pino(
    {
      level: opts.level ?? 'info',
      base: null,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    write ? { write: (line: string) => write(line.replace(/\n$/, '')) } : pino.destination({ fd: 2, sync: true }),
  );
  const wrap = (l: pino.Logger): Logger => ({
    debug: (m, f) => l.debug(redact({ ...f }), m),
    info: (m, f) => l.info(redact({ ...f }), m),
    warn: (m, f) => l.warn(redact({ ...f }), m),
    error: (m, f) => l.error(redact({ ...f }), m),
    child: (fields) => wrap(l.child(redact({ ...fields }))),
  });
  return wrap(Object.keys(base).length > 0 ? p.child(redact({ ...base })) : p);
}
