// This replica among the others sharing the store: it heartbeats into the replica registry, and
// tells which replica is alive (a heartbeat within the lease) and which are dead (their sessions
// are taken over: ended interrupted). One recorder alone is a registry of one.
import { errorMessage } from '../../common/errors.ts';
import type { ReplicaInfo, ReplicaRegistry } from '../store/store.ts';

export interface ReplicaSelf {
  /** --replica-id: stable across restarts where the platform allows (a StatefulSet's pod name) */
  id: string;
  /** where the other replicas reach this one (https://pod-ip:port) */
  url: string;
}

export const LEASE_MS = 20_000;
export const HEARTBEAT_MS = 5_000;

export class ReplicaPresence {
  readonly self: ReplicaSelf;
  readonly #registry: ReplicaRegistry;
  readonly #clock: () => Date;
  readonly #leaseMs: number;
  readonly #everyMs: number;
  readonly #log: (line: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  /** Since when this replica's heartbeats have been stored without a failure (null: failing). */
  #healthySince: number | null = null;

  constructor(o: {
    self: ReplicaSelf;
    registry: ReplicaRegistry;
    clock?: () => Date;
    leaseMs?: number;
    everyMs?: number;
    log?: (line: string) => void;
  }) {
    this.self = o.self;
    this.#registry = o.registry;
    this.#clock = o.clock ?? (() => new Date());
    this.#leaseMs = o.leaseMs ?? LEASE_MS;
    this.#everyMs = o.everyMs ?? HEARTBEAT_MS;
    this.#log = o.log ?? (() => {});
  }

  /** The first heartbeat (awaited: a replica is known before it takes sessions), then one per period. */
  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#everyMs).unref();
  }

  async beat(): Promise<void> {
    try {
      await this.#registry.heartbeat(this.self.id, this.self.url, this.#clock().toISOString());
      if (this.#failing) this.#log(`replica ${this.self.id}: heartbeat stored again`);
      this.#failing = false;
      this.#healthySince ??= this.#clock().getTime();
    } catch (err) {
      if (!this.#failing) this.#log(`replica ${this.self.id}: heartbeat failed: ${errorMessage(err)}`);
      this.#failing = true;
      this.#healthySince = null;
    }
  }

  /** Stops heartbeating and leaves the registry (a clean stop: nothing of it to take over). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#registry.remove(this.self.id).catch(() => {});
  }

  /** Drops dead replicas from the registry once what they left was taken over. */
  async forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) if (id !== this.self.id) await this.#registry.remove(id);
  }

  /** The replica `id` while it is alive; undefined when it is unknown or its lease ran out. */
  async alive(id: string): Promise<ReplicaInfo | undefined> {
    const all = await this.#registry.list();
    return all.find((r) => r.id === id && this.#isAlive(r));
  }

  /**
   * Replicas other than this one whose lease ran out. None while this replica has not itself been
   * heartbeating for a whole lease: after the store was unreachable for everyone (an outage longer
   * than the lease), every other replica must get a lease's time to heartbeat again before its
   * silence means anything, or replicas would end each other's live sessions.
   */
  async dead(): Promise<string[]> {
    const since = this.#healthySince;
    if (since === null || this.#clock().getTime() - since < this.#leaseMs) return [];
    const all = await this.#registry.list();
    return all.filter((r) => r.id !== this.self.id && !this.#isAlive(r)).map((r) => r.id);
  }

  #isAlive(r: ReplicaInfo): boolean {
    return this.#clock().getTime() - Date.parse(r.heartbeatAt) <= this.#leaseMs;
  }
}
