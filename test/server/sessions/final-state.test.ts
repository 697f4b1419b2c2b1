import { describe, expect, it } from 'vitest';
import { AuditedExecError } from '../../../common/errors.ts';
import { storeFinalState } from '../../../server/sessions/final-state.ts';

const down = () => new AuditedExecError('STORE_UNAVAILABLE', 'the database db:5432/ae does not answer');

describe('a session’s final state', () => {
  it('is stored at once when the database answers', async () => {
    const writes: unknown[] = [];
    const w = await storeFinalState({
      store: { updateSession: async (_id, p) => void writes.push(p) },
      id: 's1',
      patch: { state: 'ended' },
      log: () => {},
    });
    expect(w.first).toBe(true);
    await w.landed;
    expect(writes).toEqual([{ state: 'ended' }]);
  });

  it('while the database is down: says so, keeps trying, and lands once it answers', async () => {
    let failures = 3;
    const writes: unknown[] = [];
    const lines: string[] = [];
    const w = await storeFinalState({
      store: {
        updateSession: async (_id, p) => {
          if (failures-- > 0) throw down();
          writes.push(p);
        },
      },
      id: 's2',
      patch: { state: 'ended', exitCode: 3 },
      log: (l) => lines.push(l),
      retry: { firstMs: 5, maxMs: 20 },
    });
    expect(w.first).toBe(false);
    expect(writes).toEqual([]);
    await w.landed;
    expect(writes).toEqual([{ state: 'ended', exitCode: 3 }]);
    expect(lines).toEqual([
      'session s2: the database db:5432/ae does not answer; its end is stored once the database answers',
      'session s2: its end is stored now',
    ]);
  });

  it('passes any other failure on', async () => {
    await expect(
      storeFinalState({
        store: {
          updateSession: async () => {
            throw new Error('constraint');
          },
        },
        id: 's3',
        patch: {},
        log: () => {},
      }),
    ).rejects.toThrow('constraint');
  });
});
