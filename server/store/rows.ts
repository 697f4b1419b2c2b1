// Session records as rows of the sessions table (every SessionRecord field is a column), and the
// table's schema.
import type { SQLInputValue } from 'node:sqlite';
import type { SessionRecord } from '../../common/wire.ts';
import type { Migration } from './sqlite-db.ts';

export type Kind = 'text' | 'int' | 'bool' | 'json';
export const COLUMNS: [keyof SessionRecord, string, Kind][] = [
  ['id', 'id', 'text'],
  ['kind', 'kind', 'text'],
  ['state', 'state', 'text'],
  ['user', 'user', 'text'],
  ['groups', 'groups', 'json'],
  ['uid', 'uid', 'text'],
  ['impersonator', 'impersonator', 'text'],
  ['reason', 'reason', 'text'],
  ['ticket', 'ticket', 'text'],
  ['namespace', 'namespace', 'text'],
  ['pod', 'pod', 'text'],
  ['container', 'container', 'text'],
  ['containerId', 'container_id', 'text'],
  ['node', 'node', 'text'],
  ['image', 'image', 'text'],
  ['profile', 'profile', 'text'],
  ['command', 'command', 'json'],
  ['tty', 'tty', 'bool'],
  ['stdin', 'stdin', 'bool'],
  ['attribution', 'attribution', 'text'],
  ['auditId', 'audit_id', 'text'],
  ['startedAt', 'started_at', 'text'],
  ['endedAt', 'ended_at', 'text'],
  ['exitCode', 'exit_code', 'int'],
  ['error', 'error', 'text'],
  ['recordInput', 'record_input', 'bool'],
  ['recordingBytes', 'recording_bytes', 'int'],
  ['recordingSha256', 'recording_sha256', 'text'],
  ['commandCount', 'command_count', 'int'],
  ['alertCount', 'alert_count', 'int'],
  ['legalHold', 'legal_hold', 'bool'],
  ['replica', 'replica', 'text'],
  ['terminatedBy', 'terminated_by', 'text'],
  ['terminationReason', 'termination_reason', 'text'],
];
/** Added with session termination, on both engines by a migration of their own. */
export const TERMINATION_COLUMNS = new Set(['terminated_by', 'termination_reason']);
/** Columns a later migration added: the first one does not make them. */
const ADDED_LATER = new Set(['replica', ...TERMINATION_COLUMNS]);
export const NOT_NULL = new Set([
  'id',
  'kind',
  'state',
  'user',
  'groups',
  'command',
  'tty',
  'stdin',
  'attribution',
  'audit_id',
  'started_at',
  'record_input',
]);

export const SESSION_MIGRATIONS: Migration[] = [
  {
    id: '0001-sessions',
    up(db) {
      const cols = COLUMNS.filter(([, c]) => !ADDED_LATER.has(c)).map(([, c, k]) => {
        const type = k === 'int' || k === 'bool' ? 'INTEGER' : 'TEXT';
        return `${c} ${type}${c === 'id' ? ' PRIMARY KEY' : NOT_NULL.has(c) ? ' NOT NULL' : ''}`;
      });
      db.exec(`CREATE TABLE sessions (${cols.join(', ')}) STRICT`);
      db.exec('CREATE INDEX sessions_started ON sessions (started_at, id)');
      for (const c of ['user', 'namespace', 'pod', 'node', 'state']) {
        db.exec(`CREATE INDEX sessions_${c} ON sessions (${c}, started_at, id)`);
      }
    },
  },
  {
    // Several replicas: a replica that takes over a dead one's sessions finds them by this.
    id: '0002-sessions-replica',
    up(db) {
      db.exec('ALTER TABLE sessions ADD COLUMN replica TEXT');
    },
  },
  {
    // A moderator ends a session: who, and why.
    id: '0003-sessions-termination',
    up(db) {
      for (const c of TERMINATION_COLUMNS) db.exec(`ALTER TABLE sessions ADD COLUMN ${c} TEXT`);
    },
  },
];

/** Undefined fields are left out (absent on insert, untouched on update). */
export function toRow(record: Partial<SessionRecord>): [string, SQLInputValue][] {
  const out: [string, SQLInputValue][] = [];
  for (const [field, column, kind] of COLUMNS) {
    const v = record[field];
    if (v !== undefined) out.push([column, encode(v, kind)]);
  }
  return out;
}

function encode(v: unknown, kind: Kind): SQLInputValue {
  if (v === undefined || v === null) return null;
  if (kind === 'json') return JSON.stringify(v);
  if (kind === 'bool') return v ? 1 : 0;
  return v as SQLInputValue;
}

export function fromRow(row: Record<string, SQLInputValue>): SessionRecord {
  return recordFromColumns(row, (v, kind) =>
    kind === 'json'
      ? JSON.parse(String(v))
      : kind === 'bool'
        ? v === 1 || v === 1n
        : kind === 'int'
          ? Number(v)
          : v,
  );
}

/**
 * A session record from a row of any engine: `decode` turns a column's non-null value into the
 * field's. A null column is an absent field, except exitCode null of an ended session, which means
 * "finished without an exit code".
 */
export function recordFromColumns(
  row: Record<string, unknown>,
  decode: (v: unknown, kind: Kind) => unknown,
): SessionRecord {
  const out: Record<string, unknown> = {};
  for (const [field, column, kind] of COLUMNS) {
    const v = row[column];
    if (v === null || v === undefined) {
      if (field === 'exitCode' && row.state === 'ended') out[field] = null;
      continue;
    }
    out[field] = decode(v, kind);
  }
  return out as unknown as SessionRecord;
}
