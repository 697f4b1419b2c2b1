// The shim events store of the embedded engine (EventStore, server/events/store.ts), in the
// recorder's own node:sqlite database. One row per attributed exec or alert. The shim resends after
// reconnects and restarts, so the audit identity of a row is UNIQUE and inserts are INSERT OR
// IGNORE. `kind` is part of that identity: one audit event can yield both an exec and an alert
// (a marker conflict, a terminal outside any session). The sessions table is in the same database:
// a session's node-wide events-missing alerts are found by a join on its node and time.
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import type { ShimEvent } from '../../common/wire.ts';
import {
  type AlertFilter,
  type AlertPage,
  type EventStore,
  type InsertOptions,
  type InsertResult,
  type SessionCounts,
  sessionOf,
  UNRECORDED_KINDS,
} from '../events/store.ts';
import type { Migration, SqliteDatabase } from './sqlite-db.ts';
import { decodeAlertCursor, encodeAlertCursor } from './store.ts';

const EVENT_MIGRATIONS: Migration[] = [
  {
    id: '0100-shim-events',
    up(db) {
      db.exec(`CREATE TABLE shim_events (
        row INTEGER PRIMARY KEY,
        node TEXT NOT NULL,
        boot_id TEXT NOT NULL,
        audit_serial INTEGER NOT NULL,
        audit_time TEXT NOT NULL,
        kind TEXT NOT NULL,
        session TEXT,
        alert TEXT,
        container_id TEXT,
        namespace TEXT,
        pod TEXT,
        time TEXT NOT NULL,
        seq INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (node, boot_id, audit_serial, audit_time, kind)
      ) STRICT`);
      // The session's events in audit order; the UNIQUE index serves the node-wide lookups.
      db.exec('CREATE INDEX shim_events_session ON shim_events (session, time, row)');
      db.exec('CREATE INDEX shim_events_alerts ON shim_events (alert, time, row) WHERE alert IS NOT NULL');
      // Substring search over argv for the UI: trigram FTS5 answers LIKE '%term%' from the index.
      db.exec(
        "CREATE VIRTUAL TABLE shim_events_argv USING fts5(argv, session UNINDEXED, tokenize = 'trigram')",
      );
    },
  },
];

export class SqliteEventStore implements EventStore {
  readonly #db: SqliteDatabase;
  readonly #insert: StatementSync;
  readonly #insertArgv: StatementSync;
  readonly #bySession: StatementSync;
  readonly #counts: StatementSync;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    db.migrate(EVENT_MIGRATIONS);
    const h = db.handle;
    this.#insert = h.prepare(
      `INSERT OR IGNORE INTO shim_events (node, boot_id, audit_serial, audit_time, kind, session, alert,
         container_id, namespace, pod, time, seq, received_at, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertArgv = h.prepare('INSERT INTO shim_events_argv (rowid, argv, session) VALUES (?, ?, ?)');
    // A session's own events, and the node-wide events-missing alerts whose range overlaps its
    // time on its node (the sessions table is in this database; no per-session rows, so an alert
    // also reaches a session the shim never saw a command of).
    const ofSession = `session = :session OR row IN (
        SELECT e.row FROM shim_events e JOIN sessions s ON s.id = :session
        WHERE e.alert = 'events-missing' AND e.session IS NULL AND e.node = s.node
          AND json_extract(e.body, '$.alert.missing.to') >= s.started_at
          AND (s.ended_at IS NULL OR e.time <= s.ended_at))`;
    this.#bySession = h.prepare(
      `SELECT seq, body FROM shim_events WHERE ${ofSession} ORDER BY time, audit_serial, kind DESC`,
    );
    this.#counts = h.prepare(
      `SELECT count(*) FILTER (WHERE kind = 'exec') AS commands, count(*) FILTER (WHERE kind = 'alert') AS alerts
       FROM shim_events WHERE ${ofSession}`,
    );
  }

  async insert(events: readonly ShimEvent[], options: InsertOptions): Promise<InsertResult> {
    let inserted = 0;
    const sessions = new Set<string>();
    this.#db.transaction(() => {
      for (const e of events) {
        const item = e.exec ?? e.alert;
        const session = sessionOf(e);
        const pod = options.podOf?.(e) ?? null;
        const { seq, ...body } = e;
        const r = this.#insert.run(
          e.node,
          e.bootId,
          e.auditSerial,
          e.auditTime,
          e.kind,
          session,
          e.alert?.alert ?? null,
          e.containerId,
          pod?.namespace ?? null,
          pod?.pod ?? null,
          item?.time ?? new Date(Number(e.auditTime) * 1000).toISOString(),
          seq,
          options.receivedAt,
          JSON.stringify(body),
        );
        if (Number(r.changes) !== 1) continue;
        inserted++;
        if (item) this.#insertArgv.run(r.lastInsertRowid, item.argv.join(' '), session);
        if (session !== null) sessions.add(session);
        for (const other of options.alsoFor?.(e) ?? []) sessions.add(other);
      }
    });
    return { inserted, duplicates: events.length - inserted, sessions: [...sessions] };
  }

  /** Retention: the session's events and their search rows go with it. */
  async deleteSession(sessionId: string): Promise<void> {
    const db = this.#db.handle;
    this.#db.transaction(() => {
      db.prepare(
        'DELETE FROM shim_events_argv WHERE rowid IN (SELECT row FROM shim_events WHERE session = ?)',
      ).run(sessionId);
      db.prepare('DELETE FROM shim_events WHERE session = ?').run(sessionId);
    });
  }

  async listEvents(sessionId: string): Promise<ShimEvent[]> {
    return this.#bySession
      .all({ session: sessionId })
      .map((row) => ({ ...JSON.parse(String(row.body)), seq: Number(row.seq) }) as ShimEvent);
  }

  async counts(sessionId: string): Promise<SessionCounts> {
    const row = this.#counts.get({ session: sessionId });
    return { commandCount: Number(row?.commands ?? 0), alertCount: Number(row?.alerts ?? 0) };
  }

  async unrecordedAlerts(f: AlertFilter): Promise<AlertPage> {
    const where = [`alert IN (${UNRECORDED_KINDS.map((k) => `'${k}'`).join(', ')})`];
    const args: SQLInputValue[] = [];
    const add = (sql: string, v: string | undefined) => {
      if (v === undefined) return;
      where.push(sql);
      args.push(v);
    };
    add('alert = ?', f.kind);
    add('pod = ?', f.pod);
    add('node = ?', f.node);
    add('time >= ?', f.since);
    add('time < ?', f.until);
    if (f.continue !== undefined) {
      const c = decodeAlertCursor(f.continue);
      where.push('(time, row) < (?, ?)');
      args.push(c[0], c[1]);
    }
    const limit = Math.min(Math.max(Math.trunc(f.limit), 1), 500);
    const rows = this.#db.handle
      .prepare(
        `SELECT row, time, node, namespace, pod, body FROM shim_events WHERE ${where.join(' AND ')}
         ORDER BY time DESC, row DESC LIMIT ${limit + 1}`,
      )
      .all(...args);
    const items = rows.slice(0, limit).map((r) => {
      const e = JSON.parse(String(r.body)) as ShimEvent;
      return {
        ...e.alert!,
        node: String(r.node),
        ...(r.namespace !== null ? { namespace: String(r.namespace) } : {}),
        ...(r.pod !== null ? { pod: String(r.pod) } : {}),
      };
    });
    const last = rows[limit - 1];
    return rows.length > limit && last
      ? { items, continue: encodeAlertCursor(last.time, last.row) }
      : { items };
  }

  async matchCommands(sessionIds: readonly string[], terms: readonly string[]): Promise<Set<string>> {
    let hits = new Set(sessionIds);
    const find = this.#db.handle.prepare(
      "SELECT DISTINCT session FROM shim_events_argv WHERE session IN (SELECT value FROM json_each(?)) AND argv LIKE ? ESCAPE '\\'",
    );
    for (const term of terms) {
      if (hits.size === 0) break;
      const pattern = `%${term.replace(/[%_\\]/g, '\\$&')}%`;
      const found = find.all(JSON.stringify([...hits]), pattern).map((r) => String(r.session));
      hits = new Set(found);
    }
    return hits;
  }
}
