// Browser sign-ins in PostgreSQL (WebSessionStore, ../../auth/web-session.ts), so a browser stays
// signed in whichever replica answers. The key is already SHA-256 of the cookie id and the token is
// stored only sealed, as in memory; the in-flight re-review promise stays in the process.
import type { WebSession, WebSessionStore } from '../../auth/web-session.ts';
import type { PgDatabase } from './db.ts';

export class PgWebSessions implements WebSessionStore {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async get(key: string): Promise<WebSession | undefined> {
    const { rows } = await this.#db.query('SELECT * FROM web_sessions WHERE key = $1', [key]);
    const r = rows[0];
    if (!r) return undefined;
    return {
      viewer: r.viewer,
      csrf: r.csrf,
      createdAt: Number(r.created_at),
      lastSeenAt: Number(r.last_seen_at),
      reviewedAt: Number(r.reviewed_at),
      ...(r.sealed_token ? { sealedToken: r.sealed_token as Buffer } : {}),
      ...(r.expires_at === null || r.expires_at === undefined ? {} : { expiresAt: Number(r.expires_at) }),
      ...(r.sealed_id_token ? { sealedIdToken: r.sealed_id_token as Buffer } : {}),
    };
  }

  async put(key: string, s: WebSession): Promise<void> {
    await this.#db.query(
      `INSERT INTO web_sessions
         (key, viewer, csrf, created_at, last_seen_at, reviewed_at, sealed_token, expires_at, sealed_id_token)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (key) DO UPDATE SET viewer = $2, csrf = $3, created_at = $4, last_seen_at = $5,
         reviewed_at = $6, sealed_token = $7, expires_at = $8, sealed_id_token = $9`,
      [
        key,
        JSON.stringify(s.viewer),
        s.csrf,
        s.createdAt,
        s.lastSeenAt,
        s.reviewedAt,
        s.sealedToken ?? null,
        s.expiresAt ?? null,
        s.sealedIdToken ?? null,
      ],
    );
  }

  async delete(key: string): Promise<void> {
    await this.#db.query('DELETE FROM web_sessions WHERE key = $1', [key]);
  }

  async prune(o: { createdBefore: number; seenBefore: number; keep: number }): Promise<void> {
    await this.#db.query('DELETE FROM web_sessions WHERE created_at <= $1 OR last_seen_at <= $2', [
      o.createdBefore,
      o.seenBefore,
    ]);
    await this.#db.query(
      `DELETE FROM web_sessions WHERE key IN (
         SELECT key FROM web_sessions ORDER BY created_at DESC, key DESC OFFSET $1)`,
      [Math.max(0, o.keep)],
    );
  }

  async count(): Promise<number> {
    const { rows } = await this.#db.query('SELECT count(*) AS n FROM web_sessions');
    return Number(rows[0]?.n ?? 0);
  }
}
