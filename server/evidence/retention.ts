// Retention: recordings older than the configured age are deleted (rows, files, evidence),
// except sessions on legal hold. Nothing is deleted while a session is still pending/running.
import type { SessionRecord } from '../../common/wire.ts';
import type { SignatureStore } from './store.ts';

export interface RetentionStore extends Pick<SignatureStore, 'deleteEvidence'> {
  /** finished sessions (any state but pending/running) whose endedAt, else startedAt, is before `before` */
  listSessionsEndedBefore(before: string): Promise<SessionRecord[]>;
  getSession(id: string): Promise<SessionRecord | null>;
  /** removes the session's rows, events and recording file */
  deleteSession(id: string): Promise<void>;
}

export interface SweepOptions {
  now: Date;
  maxAgeDays: number;
}

export interface SweepResult {
  cutoff: string;
  deleted: string[];
  /** old enough to go, kept because of a legal hold */
  held: string[];
}

const DAY_MS = 86_400_000;

export function createRetention(options: { store: RetentionStore }) {
  const { store } = options;
  return {
    async sweep({ now, maxAgeDays }: SweepOptions): Promise<SweepResult> {
      if (!(maxAgeDays > 0)) throw new RangeError(`maxAgeDays must be positive, got ${maxAgeDays}`);
      const cutoff = new Date(now.getTime() - maxAgeDays * DAY_MS).toISOString();
      const result: SweepResult = { cutoff, deleted: [], held: [] };
      for (const listed of await store.listSessionsEndedBefore(cutoff)) {
        // Re-read just before deleting: a hold placed after the listing must still win.
        const s = await store.getSession(listed.id);
        if (!s) continue;
        if (s.legalHold) {
          result.held.push(s.id);
          continue;
        }
        if (s.state === 'pending' || s.state === 'running' || (s.endedAt ?? s.startedAt) >= cutoff) continue;
        // Evidence first: a crash in between leaves a session without a bundle, never a bundle
        // vouching for a recording that is gone.
        await store.deleteEvidence(s.id);
        await store.deleteSession(s.id);
        result.deleted.push(s.id);
      }
      return result;
    },
  };
}
