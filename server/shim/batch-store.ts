// Storing what a shim delivers: one batch at a time, the pod's declared probes dropped, every
// event's session checked against its node and container (session-check.ts), events-missing ranges
// filed with the sessions they overlap, counts updated, and sessions that already ended told that
// events arrived (their evidence is sealed again). No sockets: ingest.ts owns the connections.
import { describeMissing } from '../../common/missing-range.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { EventStore } from '../events/store.ts';
import type { Metrics } from '../metrics.ts';
import type { SessionEvents } from '../sessions/bus.ts';
import type { Store } from '../store/store.ts';
import type { PodResolver } from './pods.ts';
import { asMismatchAlert, claimedSession, sessionMismatch } from './session-check.ts';

export interface ShimIngestStats {
  connections: number;
  stored: number;
  duplicates: number;
  /** messages refused because they named another node */
  refusedForeignNode: number;
  /** messages refused as malformed */
  refusedMalformed: number;
  /** unrecorded-exec alerts not stored: the pod's own exec probes and lifecycle hooks */
  declaredExecs: number;
  /** events naming a session whose node or container they do not share: stored as alerts */
  sessionMismatches: number;
}

export interface ShimBatchStoreDeps {
  store: Store;
  events: EventStore;
  pods: PodResolver;
  stats: ShimIngestStats;
  sessions?: SessionEvents;
  metrics?: Pick<Metrics, 'shimLag' | 'shimLostEvents'>;
  log: (line: string) => void;
  clock: () => Date;
}

export class ShimBatchStore {
  readonly #o: ShimBatchStoreDeps;

  constructor(deps: ShimBatchStoreDeps) {
    this.#o = deps;
  }

  /** Stores one batch from the shim of `node`; returns the highest seq to ack. */
  async store(node: string, batch: ShimEvent[]): Promise<number> {
    const { pods, stats } = this.#o;
    const unknownPods = batch
      .filter((e) => e.containerId !== null && (e.kind === 'alert' || e.exec?.session === null))
      .map((e) => e.containerId!);
    // Whether an unrecorded-exec is the kubelet running the pod's probe decides whether it is kept:
    // a container that just started may be in the pod list a second later.
    const soon = batch.some((e) => e.alert?.alert === 'unrecorded-exec');
    if (unknownPods.length > 0) await pods.prepare(node, unknownPods, { soon });
    const kept = batch.filter((e) => !this.#declaredExec(e));
    stats.declaredExecs += batch.length - kept.length;
    const { events, sessions } = await this.#checkSessions(node, kept);
    const affected = await this.#sessionsMissingEvents(node, events);
    const result = await this.#o.events.insert(events, {
      receivedAt: this.#o.clock().toISOString(),
      podOf: (e) => (e.containerId ? pods.lookup(e.containerId) : null),
      alsoFor: (e) => affected.get(e) ?? [],
    });
    // Before the ack: a listener that spools them (the SIEM export) has them if the recorder dies.
    this.#o.sessions?.emit('shimEventsStored', events, sessions);
    stats.stored += result.inserted;
    stats.duplicates += result.duplicates;
    await this.#updateSessions(result.sessions);
    const last = batch.at(-1);
    if (last) {
      this.#o.metrics?.shimLag(node, Math.max(0, this.#o.clock().getTime() / 1000 - Number(last.auditTime)));
    }
    return batch.reduce((max, e) => Math.max(max, e.seq), 0);
  }

  /** New counts for each session that got events; those already ended are told events arrived. */
  async #updateSessions(ids: Iterable<string>): Promise<void> {
    const finished: string[] = [];
    for (const id of ids) {
      const session = await this.#o.store.getSession(id);
      if (!session) continue; // a marker naming no session we know: stored, counted nowhere
      await this.#o.store.updateSession(id, await this.#o.events.counts(id));
      if (session.state !== 'pending' && session.state !== 'running') finished.push(id);
    }
    if (finished.length > 0) this.#o.sessions?.emit('eventsArrived', finished);
  }

  /** The pod's own probe or hook, run by the kubelet: not a person's activity, not stored. A human
   *  running exactly that argv looks the same (deploy/README.md, "Unrecorded activity"). */
  #declaredExec(e: ShimEvent): boolean {
    return (
      e.alert?.alert === 'unrecorded-exec' &&
      e.containerId !== null &&
      this.#o.pods.isDeclaredExec(e.containerId, e.alert.argv)
    );
  }

  /** Each event that names a session as its own, checked against that session's node and container;
   *  one that fails becomes a session-mismatch alert (session-check.ts). Also the sessions named. */
  async #checkSessions(
    node: string,
    events: ShimEvent[],
  ): Promise<{ events: ShimEvent[]; sessions: Map<string, SessionRecord | undefined> }> {
    const sessions = new Map<string, SessionRecord | undefined>();
    for (const e of events) {
      const id = claimedSession(e);
      if (id !== null && !sessions.has(id)) sessions.set(id, await this.#o.store.getSession(id));
    }
    if (sessions.size === 0) return { events, sessions };
    // A container that is not the session's recorded one may still be its (restarted, or the id was
    // unknown at create): the node's pod list says.
    const elsewhere = events.flatMap((e) => {
      const id = claimedSession(e);
      const s = id === null ? undefined : sessions.get(id);
      return s && e.containerId !== null && e.containerId !== s.containerId ? [e.containerId] : [];
    });
    if (elsewhere.length > 0) await this.#o.pods.prepare(node, elsewhere, { soon: true });
    return { events: events.map((e) => this.#checked(node, e, sessions)), sessions };
  }

  #checked(node: string, e: ShimEvent, sessions: Map<string, SessionRecord | undefined>): ShimEvent {
    const id = claimedSession(e);
    if (id === null) return e;
    const s = sessions.get(id);
    const reason = sessionMismatch(e, s, (c) => this.#o.pods.container(c));
    if (reason === null) return e;
    this.#o.stats.sessionMismatches++;
    this.#o.log(
      `shim on ${node}: an ${e.kind} (${(e.exec ?? e.alert)?.argv.join(' ')}) in container ${e.containerId ?? 'unknown'} names session ${id} (${reason}); stored as a session-mismatch alert`,
    );
    return asMismatchAlert(e, id, s, reason);
  }

  /** For each events-missing alert: the sessions on the node whose time its range overlaps (any
   *  of their commands may be in it; the event store lists the alert with them), so their counts
   *  and evidence are updated. Logged and counted per delivery (a resend after a reconnect counts
   *  again; the store keeps one row). */
  async #sessionsMissingEvents(node: string, events: ShimEvent[]): Promise<Map<ShimEvent, string[]>> {
    const out = new Map<ShimEvent, string[]>();
    for (const e of events) {
      const range = e.alert?.alert === 'events-missing' ? e.alert.missing : undefined;
      if (range === undefined) continue;
      const from = range.from ?? range.to;
      const ids: string[] = [];
      let page: string | undefined;
      do {
        const list = await this.#o.store.listSessions({ node, until: range.to, limit: 500, continue: page });
        for (const s of list.items) if (s.endedAt === undefined || s.endedAt >= from) ids.push(s.id);
        page = list.continue;
      } while (page !== undefined);
      out.set(e, ids);
      this.#o.log(
        `shim on ${node}: ${describeMissing(range)}; sessions affected: ${ids.join(', ') || 'none'}`,
      );
      this.#o.metrics?.shimLostEvents(node, range.toSerial - (range.fromSerial ?? range.toSerial) + 1);
    }
    return out;
  }
}
