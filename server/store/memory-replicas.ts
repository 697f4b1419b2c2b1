// The replica registry of an engine only one process uses (the embedded SQLite store): the
// heartbeats live in that process, which is the only replica there is.
import type { ReplicaInfo, ReplicaRegistry } from './store.ts';

export class MemoryReplicaRegistry implements ReplicaRegistry {
  readonly #replicas = new Map<string, ReplicaInfo>();

  async heartbeat(id: string, url: string, at: string): Promise<void> {
    this.#replicas.set(id, { id, url, heartbeatAt: at });
  }

  async remove(id: string): Promise<void> {
    this.#replicas.delete(id);
  }

  async list(): Promise<ReplicaInfo[]> {
    return [...this.#replicas.values()].map((r) => ({ ...r })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
