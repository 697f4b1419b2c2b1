// The storage contract suite: the behaviour every engine owes the recorder, written once against
// the interfaces of server/store/store.ts. An engine's test file passes its own factory:
//
//   describeStoreContract('sqlite', { open: async () => ... })      (../sqlite-contract.test.ts)
//   describeStoreContract('postgres', { open: async () => ... })    (the PostgreSQL store, #16)
//
// Each `open` gives a fresh, empty store; `sibling` opens another store on the same database (as a
// second replica would); `dispose` closes both and removes the database.
import type { SessionRecord } from '../../../../common/wire.ts';
import type { RecorderStore } from '../../../../server/store/store.ts';

export interface OpenedStore {
  store: RecorderStore;
  sibling(): Promise<RecorderStore>;
  dispose(): Promise<void>;
}

export interface StoreFactory {
  open(): Promise<OpenedStore>;
}

/** Session ids are lower-case UUIDs (common/session-marker.ts); n picks one. */
export function sessionId(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${hex}`;
}

const T0 = Date.UTC(2026, 0, 1);

export function at(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

export function sessionRecord(n: number, o: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: sessionId(n),
    kind: 'exec',
    state: 'ended',
    user: 'alice',
    groups: ['dev', 'system:authenticated'],
    namespace: 'default',
    pod: 'web-0',
    container: 'app',
    node: 'node-1',
    command: ['sh', '-c', 'echo hi'],
    tty: true,
    stdin: true,
    attribution: 'marker',
    auditId: sessionId(n),
    startedAt: at(n),
    endedAt: at(n + 0.5),
    exitCode: 0,
    recordInput: false,
    ...o,
  };
}
