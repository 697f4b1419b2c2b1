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

function positiveMs(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new AuditedExecError(
      'SHIM_CONFIG',
      `${flag} must be a positive number of milliseconds, not "${v}".`,
    );
  return n;
}
