// Flags + environment → the daemon's settings, checked once (the core never reads the environment).

import { hostname } from 'node:os';
import { AuditedExecError } from '../common/errors.ts';

export interface RunConfig {
  /** ws(s):// URL of /api/v1/shim */
  serverUrl: string;
  tokenFile: string;
  node: string;
  auditLog: string;
  stateDir: string;
  caFile: string | null;
  /** longest wait between reconnects to the recorder (ms); the shipper's default when absent */
  maxBackoffMs?: number;
}

export function runConfigFrom(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv): RunConfig {
  const server = flags['server'] ?? env['AUDITED_EXEC_SERVER'];
  if (!server)
    throw new AuditedExecError('SHIM_CONFIG', 'No recorder URL: pass --server or set AUDITED_EXEC_SERVER.');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new AuditedExecError(
      'SHIM_CONFIG',
      `--server ${server} is not a URL; use e.g. https://recorder:8443.`,
    );
  }
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  if (!url.pathname.endsWith('/api/v1/shim')) url.pathname = `${url.pathname.replace(/\/$/, '')}/api/v1/shim`;
  return {
    serverUrl: url.toString(),
    tokenFile: flags['tokenFile'] ?? env['AUDITED_EXEC_TOKEN_FILE'] ?? '/var/run/secrets/tokens/audited-exec',
    node: flags['node'] ?? env['NODE_NAME'] ?? hostname(),
    auditLog: flags['auditLog'] ?? '/var/log/audit/audit.log',
    stateDir: flags['stateDir'] ?? '/var/lib/audited-exec-shim',
    caFile: flags['caFile'] ?? env['AUDITED_EXEC_CA_FILE'] ?? null,
    ...(flags['maxBackoff'] ? { maxBackoffMs: positiveMs(flags['maxBackoff'], '--max-backoff') } : {}),
  };
}

export interface AttributeConfig {
  inputs: string[];
  /** parser worker threads; 0: lines are parsed on the thread that attributes them */
  workers: number;
  /** progress lines on stderr */
  progress: boolean;
  /** V8 keeps its heap near what is live (--optimize-for-size): peak RSS stays flat whatever the
   *  log's size, for more CPU in GC (docs/attribution.md, offline) */
  lowMemory: boolean;
}

/** No parser workers unless asked: the thread that assembles and attributes is the bottleneck, and
 *  it still rebuilds every record a worker parsed, so on 2 cores a worker costs ~1 s of CPU and
 *  ~40 MiB of peak RSS per million records and gives no speed (measured: docs/attribution.md,
 *  "Offline on a large archive"). `--workers N` is kept for machines with cores to spare. */
export const DEFAULT_WORKERS = 0;

export function attributeConfigFrom(
  flags: { input: string[]; workers?: string; progress?: boolean; lowMemory?: boolean },
  env: NodeJS.ProcessEnv,
  stderrIsTty: boolean,
): AttributeConfig {
  const raw = flags.workers ?? env['AUDITED_EXEC_ATTRIBUTE_WORKERS'];
  let workers = DEFAULT_WORKERS;
  if (raw !== undefined) {
    workers = Number(raw);
    if (!Number.isInteger(workers) || workers < 0 || workers > 64)
      throw new AuditedExecError(
        'SHIM_CONFIG',
        `--workers must be a whole number from 0 to 64 (0: no worker threads), not "${raw}".`,
      );
  }
  const lowMemory = flags.lowMemory ?? env['AUDITED_EXEC_ATTRIBUTE_LOW_MEMORY'] !== '0';
  return { inputs: flags.input, workers, progress: flags.progress ?? stderrIsTty, lowMemory };
}

function positiveMs(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new AuditedExecError(
      'SHIM_CONFIG',
      `${flag} must be a positive number of milliseconds, not "${v}".`,
    );
  return n;
}
