// The `sessions` table, laid out like `kubectl get`: upper-case headers, columns padded by three
// spaces, ages in kubectl's HumanDuration. Pure: the caller passes "now".
import { AuditedExecError } from '../common/errors.ts';
import type { SessionRecord } from '../common/wire.ts';
import { layoutTable, oneLine, truncate } from './table.ts';

export interface TableOptions {
  now: Date;
  wide: boolean;
}

interface Column {
  header: string;
  cell: (s: SessionRecord, now: Date) => string;
}

const ID_SHORT = 8;
const REASON_SHORT = 40;

const col = (header: string, cell: Column['cell']): Column => ({ header, cell });

const USER = col('USER', (s) => s.user);
const KIND = col('KIND', (s) => s.kind);
const TARGET = col('TARGET', (s) =>
  s.kind === 'node-debug' ? `node/${s.node ?? '?'}` : `${s.namespace ?? '?'}/${s.pod ?? '?'}`,
);
const STARTED = col('STARTED', (s, now) => humanDuration(now.getTime() - Date.parse(s.startedAt)));
const DURATION = col('DURATION', (s) =>
  s.endedAt ? humanDuration(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : '-',
);
const EXIT = col('EXIT', exitCell);
const COMMANDS = col('COMMANDS', (s) => (s.commandCount === undefined ? '-' : String(s.commandCount)));

const NORMAL: Column[] = [
  col('ID', (s) => s.id.slice(0, ID_SHORT)),
  USER,
  KIND,
  TARGET,
  STARTED,
  DURATION,
  EXIT,
  COMMANDS,
  col('REASON', (s) => truncate(s.reason ?? '', REASON_SHORT)),
];

const WIDE: Column[] = [
  col('ID', (s) => s.id),
  USER,
  KIND,
  TARGET,
  col('CONTAINER', (s) => s.container ?? '-'),
  col('NODE', (s) => s.node ?? '-'),
  STARTED,
  DURATION,
  col('STATE', (s) => s.state),
  EXIT,
  COMMANDS,
  col('ALERTS', (s) => (s.alertCount === undefined ? '-' : String(s.alertCount))),
  col('TICKET', (s) => s.ticket ?? '-'),
  col('REASON', (s) => oneLine(s.reason ?? '')),
];

/** "3" for an ended session, else what it is doing: running, lost (interrupted), refused, pending. */
function exitCell(s: SessionRecord): string {
  switch (s.state) {
    case 'ended':
      return s.exitCode === undefined || s.exitCode === null ? 'error' : String(s.exitCode);
    case 'interrupted':
      return 'lost';
    default:
      return s.state;
  }
}

export function formatSessionsTable(sessions: readonly SessionRecord[], opts: TableOptions): string {
  const columns = opts.wide ? WIDE : NORMAL;
  return layoutTable(
    columns.map((c) => c.header),
    sessions.map((s) => columns.map((c) => c.cell(s, opts.now))),
  );
}

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${days / 365}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** --since: a duration back from now ("90m", "2h30m", "7d") or a time (RFC 3339 / ISO-8601). */
export function parseSince(value: string, now: Date): string {
  const v = value.trim();
  if (/^(\d+(\.\d+)?[smhdw])+$/.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    return new Date(now.getTime() - ms).toISOString();
  }
  const t = Date.parse(v);
  if (/^\d{4}-\d{2}-\d{2}/.test(v) && Number.isFinite(t)) return new Date(t).toISOString();
  throw new AuditedExecError(
    'USAGE',
    `invalid --since "${value}": give a duration like 30m, 2h or 7d, or a time like 2026-11-20T09:00:00Z`,
  );
}
