// Adapts a store that keeps shim events (`listEvents(id) → ShimEvent[]`, the method evidence
// also reads) to what the UI shows: the session's attributed execs and alerts, de-duplicated
// (the shim resends after reconnects) and in audit order.
import { eventKey } from '../../common/evidence/events.ts';
import type { ShimEvent } from '../../common/wire.ts';
import type { EventStore } from '../events/store.ts';
import type { UiEventSource } from './deps.ts';

export interface ShimEventStore {
  listEvents(sessionId: string): Promise<ShimEvent[]>;
}

export function hasShimEvents(store: unknown): store is ShimEventStore {
  return typeof (store as Partial<ShimEventStore> | null)?.listEvents === 'function';
}

/** ShimEvents → the /events items (AttributedExec | AttributionAlert). Pure. */
export function eventItems(events: readonly ShimEvent[]): unknown[] {
  const unique = new Map<string, ShimEvent>();
  for (const e of events) unique.set(eventKey(e), e);
  return [...unique.values()]
    .sort(
      (a, b) =>
        Number(a.auditTime) - Number(b.auditTime) ||
        a.auditSerial - b.auditSerial ||
        (a.kind === b.kind ? 0 : a.kind === 'exec' ? -1 : 1),
    )
    .map((e) => (e.kind === 'exec' ? e.exec : e.alert))
    .filter((x) => x !== undefined);
}

export function eventsFromStore(store: ShimEventStore): UiEventSource {
  return {
    sessionEvents: async (id) => eventItems(await store.listEvents(id)),
    async matchCommands(ids, terms) {
      const hits = new Set<string>();
      await Promise.all(
        ids.map(async (id) => {
          const text = (await store.listEvents(id))
            .map((e) => (e.exec ?? e.alert)?.argv.join(' ') ?? '')
            .join('\n')
            .toLowerCase();
          if (terms.every((t) => text.includes(t))) hits.add(id);
        }),
      );
      return hits;
    },
  };
}

/** An event store as the UI's source: it orders, de-duplicates, searches and pages itself. */
export function uiEventSource(events: EventStore): UiEventSource {
  return {
    sessionEvents: async (id) =>
      (await events.listEvents(id)).map((e) => e.exec ?? e.alert).filter((x) => x !== undefined),
    matchCommands: (ids, terms) => events.matchCommands(ids, terms),
    unrecordedAlerts: (f) => events.unrecordedAlerts(f),
  };
}
