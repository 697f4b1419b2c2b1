// The SIEM export of one recorder replica: the session events it sees become audited-exec.event/v1
// events (common/siem-event.ts), appended to the spool, and one delivery loop per sink pushes them.
//
// Which replica exports what (so that, with several, each event leaves once): a session's start and
// end are exported by the replica that records it (the bus only tells that replica); a shim's
// commands and alerts by the replica that ingested them, before it acks them to the shim (a shim
// that resends to another replica after a lost ack makes that replica send them too, with the same
// ids); a break-glass use by the replica whose admission webhook allowed it. A session whose
// recorder died ends interrupted on the replica whose recover or takeover marked it in the store
// (one per session: the store's update decides), and that replica exports its session.ended.

import {
  type BreakGlassUse,
  breakGlassEvent,
  type SiemEvent,
  sessionEndedEvent,
  sessionStartedEvent,
  shimEventToSiem,
} from '../../common/siem-event.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import { sessionOf } from '../events/store.ts';
import type { SessionEvents } from '../sessions/bus.ts';
import { Delivery } from './delivery.ts';
import { openSink } from './open-sink.ts';
import type { SinkSpec } from './sink-spec.ts';
import { Spool } from './spool.ts';

export interface SiemExportOptions {
  /** <dataDir>/siem */
  dir: string;
  sinks: readonly SinkSpec[];
  spoolBytes: number;
  /** This replica's id: the events' observer.name. */
  replica: string;
  events: SessionEvents;
  log: (line: string) => void;
}

/** What /metrics says per sink. */
export interface SinkFigures {
  sink: string;
  backlog: number;
  delivered: number;
  failures: number;
  dropped: number;
  failing: boolean;
}

export class SiemExport {
  readonly #spool: Spool;
  readonly #deliveries: Delivery[];
  readonly #unsubscribe: (() => void)[];
  readonly #replica: string;

  private constructor(o: SiemExportOptions, spool: Spool, deliveries: Delivery[]) {
    this.#spool = spool;
    this.#deliveries = deliveries;
    this.#replica = o.replica;
    const bus = o.events;
    this.#unsubscribe = [
      bus.on('started', (s) => this.#append(sessionStartedEvent(s, this.#replica))),
      bus.on('ended', (s) => this.#append(sessionEndedEvent(s, this.#replica))),
      // Its recorder died: the same session.ended (same id) its end would have been, from here.
      bus.on('interrupted', (s) => this.#append(sessionEndedEvent(s, this.#replica))),
      bus.on('shimEventsStored', (events, sessions) => this.#shimEvents(events, sessions)),
      bus.on('breakGlass', (use: BreakGlassUse) => this.#append(breakGlassEvent(use, this.#replica))),
    ];
  }

  /** Opens the spool and every sink (secrets and CAs read now), and starts delivering. */
  static async start(o: SiemExportOptions): Promise<SiemExport> {
    const sinks = await Promise.all(o.sinks.map((spec) => openSink(spec)));
    const spool = new Spool({
      dir: o.dir,
      sinks: sinks.map((s) => s.name),
      maxBytes: o.spoolBytes,
      log: o.log,
    });
    const deliveries = o.sinks.map(
      (spec, i) =>
        new Delivery({ sink: sinks[i]!, spool, batch: spec.batch, retryMaxMs: spec.retryMaxMs, log: o.log }),
    );
    const exporter = new SiemExport(o, spool, deliveries);
    for (const d of deliveries) d.start();
    const backlog = deliveries.map((d) => `${d.name} ${spool.backlog(d.name)}`).join(', ');
    o.log(
      `siem: exporting to ${o.sinks.map((s) => `${s.name} (${s.type})`).join(', ')}; backlog: ${backlog}`,
    );
    return exporter;
  }

  figures(): SinkFigures[] {
    return this.#deliveries.map((d) => ({
      sink: d.name,
      backlog: this.#spool.backlog(d.name),
      delivered: d.figures.delivered,
      failures: d.figures.failures,
      dropped: this.#spool.figures.dropped.get(d.name) ?? 0,
      failing: d.failing,
    }));
  }

  /** Events that could not be spooled at all (the disk was full). */
  get unwritable(): number {
    return this.#spool.figures.unwritable;
  }

  /** Stops subscribing and delivering; what is not acknowledged stays spooled for the next start. */
  async close(): Promise<void> {
    for (const off of this.#unsubscribe) off();
    await Promise.all(this.#deliveries.map((d) => d.stop()));
    this.#spool.close();
  }

  #shimEvents(events: readonly ShimEvent[], sessions: ReadonlyMap<string, SessionRecord | undefined>): void {
    for (const e of events) {
      const event = shimEventToSiem(e, this.#replica, sessions.get(sessionOf(e) ?? ''));
      if (event) this.#append(event);
    }
  }

  #append(event: SiemEvent): void {
    this.#spool.append(JSON.stringify(event));
  }
}
