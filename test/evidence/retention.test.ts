import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../common/wire.ts';
import { createRetention, type RetentionStore } from '../../server/evidence/retention.ts';
import { sessionRecord } from './fixture.ts';

function store(sessions: SessionRecord[]) {
  const rows = new Map(sessions.map((s) => [s.id, s]));
  const log: string[] = [];
  const s: RetentionStore = {
    listSessionsEndedBefore: async (before) =>
      [...rows.values()].filter((r) => (r.endedAt ?? r.startedAt) < before && r.state !== 'running'),
    getSession: async (id) => rows.get(id) ?? null,
    deleteSession: async (id) => {
      log.push(`session ${id}`);
      rows.delete(id);
    },
    deleteEvidence: async (id) => {
      log.push(`evidence ${id}`);
    },
  };
  return { s, rows, log };
}

const id = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;

describe('retention sweep', () => {
  it('deletes what is older than maxAgeDays, keeps legal holds and younger sessions', async () => {
    const { s, rows, log } = store([
      sessionRecord({ id: id(1), endedAt: '2026-01-01T00:00:00.000Z' }),
      sessionRecord({ id: id(2), endedAt: '2026-01-02T00:00:00.000Z', legalHold: true }),
      sessionRecord({ id: id(3), endedAt: '2026-11-20T00:00:00.000Z' }),
    ]);
    const result = await createRetention({ store: s }).sweep({
      now: new Date('2026-11-24T00:00:00Z'),
      maxAgeDays: 90,
    });
    expect(result).toEqual({ cutoff: '2026-08-26T00:00:00.000Z', deleted: [id(1)], held: [id(2)] });
    expect([...rows.keys()]).toEqual([id(2), id(3)]);
    expect(log).toEqual([`evidence ${id(1)}`, `session ${id(1)}`]);
  });

  it('honours a hold placed between listing and deleting', async () => {
    const { s, rows } = store([sessionRecord({ id: id(4), endedAt: '2026-01-01T00:00:00.000Z' })]);
    const list = s.listSessionsEndedBefore;
    s.listSessionsEndedBefore = async (b) => {
      const found = await list(b);
      rows.set(id(4), { ...rows.get(id(4))!, legalHold: true });
      return found;
    };
    const result = await createRetention({ store: s }).sweep({
      now: new Date('2026-11-24T00:00:00Z'),
      maxAgeDays: 1,
    });
    expect(result.held).toEqual([id(4)]);
    expect(rows.has(id(4))).toBe(true);
  });

  it('refuses a non-positive age', async () => {
    await expect(
      createRetention({ store: store([]).s }).sweep({ now: new Date(), maxAgeDays: 0 }),
    ).rejects.toThrow(/maxAgeDays must be positive/);
  });
});
