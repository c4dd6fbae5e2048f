/**
 * Structured logging: one line per event, JSON for machines (the default when stderr is not a
 * terminal) or readable text on a terminal. Never pass secrets or tokens as fields.
 */
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
  const min = LogLevels.indexOf(opts.level ?? 'info');
  const format = opts.format ?? (process.stderr.isTTY ? 'text' : 'json');
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LogLevels.indexOf(level) < min) return;
    const all = { ...base, ...fields };
    if (format === 'json') {
      write(JSON.stringify({ level, time: new Date().toISOString(), msg, ...all }));
    } else {
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
