// The replicas sharing one PostgreSQL database (ReplicaRegistry, ../store.ts): one row each, its
// heartbeat upserted; a row whose heartbeat is older than the lease names a dead replica.
import type { ReplicaInfo, ReplicaRegistry } from '../store.ts';
import type { PgDatabase } from './db.ts';

export class PgReplicaRegistry implements ReplicaRegistry {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async heartbeat(id: string, url: string, at: string): Promise<void> {
    await this.#db.query(
      `INSERT INTO replicas (id, url, heartbeat_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET url = $2, heartbeat_at = $3`,
      [id, url, at],
    );
  }

  async remove(id: string): Promise<void> {
    await this.#db.query('DELETE FROM replicas WHERE id = $1', [id]);
  }

  async list(): Promise<ReplicaInfo[]> {
    const { rows } = await this.#db.query('SELECT id, url, heartbeat_at FROM replicas ORDER BY id');
    return rows.map((r) => ({ id: r.id, url: r.url, heartbeatAt: r.heartbeat_at }));
  }
}
