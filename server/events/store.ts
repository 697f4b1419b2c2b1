// Shim events per session, in the recorder's node:sqlite database (tables in schema.ts). Inserts are
// idempotent on the audit identity, so resends after reconnects and restarts store nothing twice.
// Also the read side the API, evidence and the web UI use: a session's events, its counts,
// unrecorded activity (UNRECORDED_KINDS alerts) by pod/node/time, and argv search.
import type { SQLInputValue, StatementSync } from 'node:sqlite';
import type { AlertKind, ShimEvent } from '../../common/wire.ts';
import { badCursor } from '../store/errors.ts';
import type { SqliteStore } from '../store/sqlite.ts';
import type { UiEventSource } from '../ui/deps.ts';
import type { UnrecordedAlert } from '../ui/pages/unrecorded.ts';
import { EVENT_MIGRATIONS } from './schema.ts';

export interface PodRef {
  namespace: string;
  pod: string;
}

export interface InsertResult {
  inserted: number;
  duplicates: number;
  /** sessions that got at least one new event */
  sessions: string[];
}

export interface SessionCounts {
  commandCount: number;
  alertCount: number;
}

/** The alerts that are activity outside any session (the unrecorded-activity page): also a process
 *  that claimed a session it is not part of (marker-forged from the shim, session-mismatch from
 *  ingestion), which is listed with that session's events as well. */
export const UNRECORDED_KINDS = [
  'unrecorded-tty',
  'unrecorded-exec',
  'marker-forged',
  'session-mismatch',
] as const satisfies AlertKind[];
export type UnrecordedKind = (typeof UNRECORDED_KINDS)[number];

export interface AlertFilter {
  /** one kind only; both when absent */
  kind?: UnrecordedKind;
  pod?: string;
  node?: string;
  /** ISO-8601, inclusive */
  since?: string;
  /** ISO-8601, exclusive */
  until?: string;
  limit: number;
  continue?: string;
}

/** The session an event belongs to: the exec's, the session a marker-conflict stays in, or the
 *  session a marker-forged or session-mismatch alert claimed (its auditors must see the claim). */
export function sessionOf(e: ShimEvent): string | null {
  const a = e.alert;
  if (a?.alert === 'marker-forged' || a?.alert === 'session-mismatch') return a.declared ?? a.session ?? null;
  return (e.kind === 'exec' ? e.exec?.session : a?.session) ?? null;
}

export class EventStore {
  readonly #store: SqliteStore;
  readonly #insert: StatementSync;
  readonly #insertArgv: StatementSync;
  readonly #bySession: StatementSync;
  readonly #counts: StatementSync;

  constructor(options: { store: SqliteStore }) {
    this.#store = options.store;
    this.#store.migrate(EVENT_MIGRATIONS);
    const db = this.#store.db;
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO shim_events (node, boot_id, audit_serial, audit_time, kind, session, alert,
         container_id, namespace, pod, time, seq, received_at, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertArgv = db.prepare('INSERT INTO shim_events_argv (rowid, argv, session) VALUES (?, ?, ?)');
    // A session's own events, and the node-wide events-missing alerts whose range overlaps its
    // time on its node (the sessions table is in this database; no per-session rows, so an alert
    // also reaches a session the shim never saw a command of).
    const ofSession = `session = :session OR row IN (
        SELECT e.row FROM shim_events e JOIN sessions s ON s.id = :session
        WHERE e.alert = 'events-missing' AND e.session IS NULL AND e.node = s.node
          AND json_extract(e.body, '$.alert.missing.to') >= s.started_at
          AND (s.ended_at IS NULL OR e.time <= s.ended_at))`;
    this.#bySession = db.prepare(
      `SELECT seq, body FROM shim_events WHERE ${ofSession} ORDER BY time, audit_serial, kind DESC`,
    );
    this.#counts = db.prepare(
      `SELECT count(*) FILTER (WHERE kind = 'exec') AS commands, count(*) FILTER (WHERE kind = 'alert') AS alerts
       FROM shim_events WHERE ${ofSession}`,
    );
  }

  /** Stores a batch in one transaction; events already stored are skipped. */
  insert(
    events: readonly ShimEvent[],
    options: {
      receivedAt: string;
      podOf?: (e: ShimEvent) => PodRef | null;
      /** further sessions a node-wide event concerns (events-missing): reported in `sessions` when
       *  it is new, so their counts and evidence are brought up to date */
      alsoFor?: (e: ShimEvent) => readonly string[];
    },
  ): InsertResult {
    let inserted = 0;
    const sessions = new Set<string>();
    this.#store.transaction(() => {
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
    const db = this.#store.db;
    this.#store.transaction(() => {
      db.prepare(
        'DELETE FROM shim_events_argv WHERE rowid IN (SELECT row FROM shim_events WHERE session = ?)',
      ).run(sessionId);
      db.prepare('DELETE FROM shim_events WHERE session = ?').run(sessionId);
    });
  }

  /** Every exec and alert of the session, in audit order (the evidence SessionSource method). */
  async listEvents(sessionId: string): Promise<ShimEvent[]> {
    return this.#bySession
      .all({ session: sessionId })
      .map((row) => ({ ...JSON.parse(String(row.body)), seq: Number(row.seq) }) as ShimEvent);
  }

  counts(sessionId: string): SessionCounts {
    const row = this.#counts.get({ session: sessionId });
    return { commandCount: Number(row?.commands ?? 0), alertCount: Number(row?.alerts ?? 0) };
  }

  /** UNRECORDED_KINDS alerts, newest first, keyset-paged. */
  async unrecordedAlerts(f: AlertFilter): Promise<{ items: UnrecordedAlert[]; continue?: string }> {
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
    const rows = this.#store.db
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
      ? { items, continue: Buffer.from(JSON.stringify([last.time, last.row])).toString('base64url') }
      : { items };
  }

  /** Of these sessions, those whose attributed commands contain every term (case-insensitive). */
  async matchCommands(sessionIds: readonly string[], terms: readonly string[]): Promise<Set<string>> {
    let hits = new Set(sessionIds);
    const find = this.#store.db.prepare(
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

  /** What the web UI takes as its `events` dependency (server/ui/deps.ts UiEventSource). */
  uiSource(): UiEventSource {
    return {
      sessionEvents: async (id) =>
        (await this.listEvents(id)).map((e) => e.exec ?? e.alert).filter((x) => x !== undefined),
      matchCommands: (ids, terms) => this.matchCommands(ids, terms),
      unrecordedAlerts: (f) => this.unrecordedAlerts(f),
    };
  }
}

function decodeAlertCursor(s: string): [string, number] {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && Number.isInteger(v[1])) return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw badCursor('EVENTS_BAD_CURSOR');
}
