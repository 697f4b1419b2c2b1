// The PostgreSQL schema, step by step (applied by PgDatabase.migrate under its advisory lock). Text
// columns that are sorted or compared by range are COLLATE "C": ISO times and ids order bytewise,
// as in SQLite, whatever the database's locale.
import { COLUMNS, NOT_NULL, TERMINATION_COLUMNS } from '../rows.ts';
import type { PgMigration } from './db.ts';

const TYPES = { text: 'text COLLATE "C"', int: 'bigint', bool: 'boolean', json: 'jsonb' } as const;

function sessionsTable(): string {
  const cols = COLUMNS.filter(([, c]) => !TERMINATION_COLUMNS.has(c)).map(([, c, k]) => {
    const constraint = c === 'id' ? ' PRIMARY KEY' : NOT_NULL.has(c) ? ' NOT NULL' : '';
    return `"${c}" ${TYPES[k]}${constraint}`;
  });
  const indexes = ['user', 'namespace', 'pod', 'node', 'state'].map(
    (c) => `CREATE INDEX sessions_${c} ON sessions ("${c}", started_at, id);`,
  );
  return [
    `CREATE TABLE sessions (${cols.join(', ')});`,
    'CREATE INDEX sessions_started ON sessions (started_at, id);',
    ...indexes,
  ].join('\n');
}

export const PG_MIGRATIONS: PgMigration[] = [
  { id: '0001-sessions', sql: sessionsTable() },
  {
    // One row per attributed exec or alert; the audit identity (and kind) is UNIQUE, so a resent
    // batch stores nothing twice (sqlite-events.ts has the same rule). body is the event as sent.
    id: '0100-shim-events',
    sql: `CREATE TABLE shim_events (
        "row" bigserial PRIMARY KEY,
        node text COLLATE "C" NOT NULL,
        boot_id text COLLATE "C" NOT NULL,
        audit_serial bigint NOT NULL,
        audit_time text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL,
        session text COLLATE "C",
        alert text COLLATE "C",
        container_id text,
        namespace text COLLATE "C",
        pod text COLLATE "C",
        "time" text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        received_at text NOT NULL,
        argv text,
        body text NOT NULL,
        UNIQUE (node, boot_id, audit_serial, audit_time, kind)
      );
      CREATE INDEX shim_events_session ON shim_events (session, "time", "row");
      CREATE INDEX shim_events_alerts ON shim_events (alert, "time", "row") WHERE alert IS NOT NULL;`,
  },
  {
    // The chain's documents as signed (text, byte for byte); the bundles are in the object store.
    id: '0200-evidence-signatures',
    sql: `CREATE TABLE evidence_signatures (
        session text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        doc text NOT NULL,
        PRIMARY KEY (session, version)
      );`,
  },
  {
    id: '0300-web-sessions',
    sql: `CREATE TABLE web_sessions (
        key text COLLATE "C" PRIMARY KEY,
        viewer jsonb NOT NULL,
        csrf text NOT NULL,
        created_at bigint NOT NULL,
        last_seen_at bigint NOT NULL,
        reviewed_at bigint NOT NULL,
        sealed_token bytea
      );
      CREATE INDEX web_sessions_created ON web_sessions (created_at, key);`,
  },
  {
    id: '0400-sign-in-failures',
    sql: `CREATE TABLE sign_in_failures (
        id bigserial PRIMARY KEY,
        address text COLLATE "C" NOT NULL,
        at bigint NOT NULL
      );
      CREATE INDEX sign_in_failures_address ON sign_in_failures (address, at);
      CREATE INDEX sign_in_failures_at ON sign_in_failures (at);`,
  },
  {
    id: '0500-replicas',
    sql: `CREATE TABLE replicas (
        id text COLLATE "C" PRIMARY KEY,
        url text NOT NULL,
        heartbeat_at text COLLATE "C" NOT NULL
      );`,
  },
  {
    // An OIDC sign-in ends when its ID token does, which is also its logout hint (auth/web-session.ts).
    id: '0510-web-session-oidc',
    sql: 'ALTER TABLE web_sessions ADD COLUMN expires_at bigint, ADD COLUMN sealed_id_token bytea;',
  },
  {
    // A moderator ends a session: who, and why.
    id: '0600-sessions-termination',
    sql: [...TERMINATION_COLUMNS].map((c) => `ALTER TABLE sessions ADD COLUMN "${c}" text;`).join('\n'),
  },
];
