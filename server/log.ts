// Structured logs: one JSON object per line, {time, level, msg, ...fields}, on stdout by default, so
// a cluster's log collector can ship them to a SIEM without parsing prose. Session events use the
// same field names as the store (session, user, namespace, pod, node) so they join up.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Keys the logger owns: a field with one of these names is renamed rather than overwriting it. */
const RESERVED = new Set(['time', 'level', 'msg']);

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. {session: id}). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; default process.stdout. */
  write?: (line: string) => void;
  /** Default: the wall clock. */
  now?: () => Date;
  fields?: LogFields;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in RANK;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const o = {
    level: 'info' as LogLevel,
    write: (line: string) => void process.stdout.write(line),
    now: () => new Date(),
    fields: {},
    ...options,
  };
  const min = RANK[o.level];
  const emit = (level: LogLevel, msg: string, fields: LogFields | undefined) => {
    if (RANK[level] < min) return;
    o.write(`${formatLine({ time: o.now().toISOString(), level, msg }, { ...o.fields, ...fields })}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ ...o, fields: { ...o.fields, ...fields } }),
  };
}

/** One log line without the newline. Never throws: a value JSON cannot hold is logged as text. */
export function formatLine(head: { time: string; level: LogLevel; msg: string }, fields: LogFields): string {
  const out: LogFields = { ...head };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[RESERVED.has(key) ? `field.${key}` : key] = value instanceof Error ? describeError(value) : value;
  }
  try {
    return JSON.stringify(out, replacer());
  } catch {
    return JSON.stringify({ ...head, fields: String(fields) });
  }
}

function describeError(err: Error): LogFields {
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(code !== undefined ? { code } : {}), stack: err.stack };
}

/** bigint → string, cycles → "[Circular]": a log line must always be written. */
function replacer(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}
