// The shim events tables, added to the recorder's own node:sqlite database through its migration
// hook (SqliteStore.migrate). One row per attributed exec or alert. The shim resends after
// reconnects and restarts, so the audit identity of a row is UNIQUE and inserts are INSERT OR
// IGNORE. `kind` is part of that identity: one audit event can yield both an exec and an alert
// (a marker conflict, a terminal outside any session).
import type { Migration } from '../store/sqlite.ts';

export const EVENT_MIGRATIONS: Migration[] = [
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
