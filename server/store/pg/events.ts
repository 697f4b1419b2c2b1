// The shim events store of the PostgreSQL engine (EventStore, ../../events/store.ts), with the same
// rules as the embedded one (../sqlite-events.ts): one row per attributed exec or alert, the audit
// identity and kind UNIQUE so a resent batch stores nothing twice, a batch stored atomically (one
// INSERT … SELECT FROM unnest, in the order sent), node-wide events-missing alerts found by a join
// on the session's node and time. argv is a column searched with ILIKE among a few sessions' rows.
import type { ShimEvent } from '../../../common/wire.ts';
import {
  type AlertFilter,
  type AlertPage,
  type EventStore,
  type InsertOptions,
  type InsertResult,
  type SessionCounts,
  sessionOf,
  UNRECORDED_KINDS,
} from '../../events/store.ts';
import { decodeAlertCursor, encodeAlertCursor } from '../store.ts';
import type { PgDatabase } from './db.ts';

const COLUMNS = [
  ['node', 'text'],
  ['boot_id', 'text'],
  ['audit_serial', 'bigint'],
  ['audit_time', 'text'],
  ['kind', 'text'],
  ['session', 'text'],
  ['alert', 'text'],
  ['container_id', 'text'],
  ['namespace', 'text'],
  ['pod', 'text'],
  ['"time"', 'text'],
  ['seq', 'bigint'],
  ['argv', 'text'],
  ['body', 'text'],
] as const;

const INSERT = `INSERT INTO shim_events (${COLUMNS.map(([c]) => c).join(', ')}, received_at)
  SELECT ${COLUMNS.map((_, i) => `c${i}`).join(', ')}, $${COLUMNS.length + 1}
  FROM unnest(${COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})
    WITH ORDINALITY AS batch(${COLUMNS.map((_, i) => `c${i}`).join(', ')}, ord)
  ORDER BY ord
  ON CONFLICT DO NOTHING
  RETURNING node, boot_id, audit_serial, audit_time, kind`;

/** A session's own events, and the node-wide events-missing alerts whose range overlaps its time
 *  on its node ($1 is the session). */
const OF_SESSION = `session = $1 OR "row" IN (
    SELECT e."row" FROM shim_events e JOIN sessions s ON s.id = $1
    WHERE e.alert = 'events-missing' AND e.session IS NULL AND e.node = s.node
      AND ((e.body::jsonb #>> '{alert,missing,to}') COLLATE "C") >= s.started_at
      AND (s.ended_at IS NULL OR e."time" <= s.ended_at))`;

const identity = (node: unknown, boot: unknown, serial: unknown, time: unknown, kind: unknown) =>
  JSON.stringify([node, boot, String(serial), time, kind]);

/** The batch as one array per column, in COLUMNS order. */
function columnsOf(events: readonly ShimEvent[], options: InsertOptions): unknown[][] {
  const cols: unknown[][] = COLUMNS.map(() => []);
  for (const e of events) {
    const item = e.exec ?? e.alert;
    const pod = options.podOf?.(e) ?? null;
    const { seq, ...body } = e;
    const row = [
      e.node,
      e.bootId,
      e.auditSerial,
      e.auditTime,
      e.kind,
      sessionOf(e),
      e.alert?.alert ?? null,
      e.containerId,
      pod?.namespace ?? null,
      pod?.pod ?? null,
      item?.time ?? new Date(Number(e.auditTime) * 1000).toISOString(),
      seq,
      item ? item.argv.join(' ') : null,
      JSON.stringify(body),
    ];
    for (const [i, v] of row.entries()) cols[i]!.push(v);
  }
  return cols;
}

export class PgEventStore implements EventStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async insert(events: readonly ShimEvent[], options: InsertOptions): Promise<InsertResult> {
    if (events.length === 0) return { inserted: 0, duplicates: 0, sessions: [] };
    const { rows } = await this.#db.query(INSERT, [...columnsOf(events, options), options.receivedAt]);
    const stored = new Set(
      rows.map((r) => identity(r.node, r.boot_id, r.audit_serial, r.audit_time, r.kind)),
    );
    const sessions = new Set<string>();
    for (const e of events) {
      // The first of the batch's copies of an event is the one stored.
      if (!stored.delete(identity(e.node, e.bootId, e.auditSerial, e.auditTime, e.kind))) continue;
      const session = sessionOf(e);
      if (session !== null) sessions.add(session);
      for (const other of options.alsoFor?.(e) ?? []) sessions.add(other);
    }
    return { inserted: rows.length, duplicates: events.length - rows.length, sessions: [...sessions] };
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.#db.query('DELETE FROM shim_events WHERE session = $1', [sessionId]);
  }

  async listEvents(sessionId: string): Promise<ShimEvent[]> {
    const { rows } = await this.#db.query(
      `SELECT seq, body FROM shim_events WHERE ${OF_SESSION} ORDER BY "time", audit_serial, kind DESC`,
      [sessionId],
    );
    return rows.map((row) => ({ ...JSON.parse(row.body), seq: Number(row.seq) }) as ShimEvent);
  }

  async counts(sessionId: string): Promise<SessionCounts> {
    const { rows } = await this.#db.query(
      `SELECT count(*) FILTER (WHERE kind = 'exec') AS commands, count(*) FILTER (WHERE kind = 'alert') AS alerts
       FROM shim_events WHERE ${OF_SESSION}`,
      [sessionId],
    );
    return { commandCount: Number(rows[0]?.commands ?? 0), alertCount: Number(rows[0]?.alerts ?? 0) };
  }

  async unrecordedAlerts(f: AlertFilter): Promise<AlertPage> {
    const args: unknown[] = [UNRECORDED_KINDS];
    const where = ['alert = ANY($1::text[])'];
    const add = (column: string, op: string, v: string | undefined) => {
      if (v === undefined) return;
      args.push(v);
      where.push(`${column} ${op} $${args.length}`);
    };
    add('alert', '=', f.kind);
    add('pod', '=', f.pod);
    add('node', '=', f.node);
    add('"time"', '>=', f.since);
    add('"time"', '<', f.until);
    if (f.continue !== undefined) {
      const c = decodeAlertCursor(f.continue);
      args.push(c[0], c[1]);
      where.push(`("time", "row") < ($${args.length - 1}, $${args.length})`);
    }
    const limit = Math.min(Math.max(Math.trunc(f.limit), 1), 500);
    const { rows } = await this.#db.query(
      `SELECT "row", "time", node, namespace, pod, body FROM shim_events WHERE ${where.join(' AND ')}
       ORDER BY "time" DESC, "row" DESC LIMIT ${limit + 1}`,
      args,
    );
    const items = rows.slice(0, limit).map((r) => ({
      ...(JSON.parse(r.body) as ShimEvent).alert!,
      node: String(r.node),
      ...(r.namespace !== null ? { namespace: String(r.namespace) } : {}),
      ...(r.pod !== null ? { pod: String(r.pod) } : {}),
    }));
    const last = rows[limit - 1];
    return rows.length > limit && last
      ? { items, continue: encodeAlertCursor(last.time, Number(last.row)) }
      : { items };
  }

  async matchCommands(sessionIds: readonly string[], terms: readonly string[]): Promise<Set<string>> {
    let hits = new Set(sessionIds);
    for (const term of terms) {
      if (hits.size === 0) break;
      const pattern = `%${term.replace(/[%_\\]/g, '\\$&')}%`;
      const { rows } = await this.#db.query(
        "SELECT DISTINCT session FROM shim_events WHERE session = ANY($1::text[]) AND argv ILIKE $2 ESCAPE '\\'",
        [[...hits], pattern],
      );
      hits = new Set(rows.map((r) => String(r.session)));
    }
    return hits;
  }
}
