// Session records as rows of the PostgreSQL sessions table: the columns of ../rows.ts, as
// PostgreSQL types (bigint comes back as a string, jsonb already parsed), and the keyset page query.
import type { SessionQuery, SessionRecord } from '../../../common/wire.ts';
import { badCursor } from '../errors.ts';
import { COLUMNS, recordFromColumns } from '../rows.ts';
import { DEFAULT_PAGE, decodeCursor, MAX_PAGE } from '../store.ts';

/** Undefined fields are left out (absent on insert, untouched on update); columns are quoted. */
export function toPgRow(record: Partial<SessionRecord>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [field, column, kind] of COLUMNS) {
    const v = record[field];
    if (v === undefined) continue;
    // jsonb parameters go as JSON text: pg would send a JS array as a PostgreSQL array.
    out.push([`"${column}"`, v === null ? null : kind === 'json' ? JSON.stringify(v) : v]);
  }
  return out;
}

export function fromPgRow(row: Record<string, unknown>): SessionRecord {
  // jsonb comes back parsed, booleans as booleans; bigint as a string.
  return recordFromColumns(row, (v, kind) => (kind === 'int' ? Number(v) : v));
}

/** The SELECT for one page, with $n parameters. */
export function pgListQuery(filter: SessionQuery): { sql: string; args: unknown[]; limit: number } {
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: (n: string) => string, ...values: unknown[]) => {
    where.push(sql(`$${args.length + 1}`));
    args.push(...values);
  };
  for (const key of ['user', 'namespace', 'pod', 'node', 'state'] as const) {
    const v = filter[key];
    if (v !== undefined) add((n) => `"${key}" = ${n}`, v);
  }
  if (filter.since) add((n) => `started_at >= ${n}`, filter.since);
  if (filter.until) add((n) => `started_at < ${n}`, filter.until);
  if (filter.continue !== undefined) {
    const c = decodeCursor(filter.continue);
    if (!c) throw badCursor('STORE_BAD_CURSOR');
    where.push(`(started_at, id) < ($${args.length + 1}, $${args.length + 2})`);
    args.push(c.startedAt, c.id);
  }
  const sql =
    `SELECT * FROM sessions${where.length ? ` WHERE ${where.join(' AND ')}` : ''}` +
    ` ORDER BY started_at DESC, id DESC LIMIT ${limit + 1}`;
  return { sql, args, limit };
}
