// The job lock contract (JobLock in server/store/store.ts), for every engine: a periodic job runs on
// one replica at a time, so two stores on one database are two replicas here.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobLock } from '../../../../server/store/store.ts';
import type { OpenedStore, StoreFactory } from './factory.ts';

/** A promise and the function that settles it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

export function describeJobContract(engine: string, factory: StoreFactory): void {
  describe(`${engine}: job locks`, () => {
    let opened: OpenedStore;
    let jobs: JobLock;
    beforeEach(async () => {
      opened = await factory.open();
      jobs = opened.store.jobs;
    });
    afterEach(() => opened.dispose());

    it('runs the job and gives back its value', async () => {
      expect(await jobs.exclusive('retention', async () => 42)).toEqual({ ran: true, value: 42 });
    });

    it('does not run a job while it runs elsewhere, and runs other jobs', async () => {
      const other = (await opened.sibling()).jobs;
      const hold = gate();
      const started = gate();
      const first = jobs.exclusive('retention', async () => {
        started.open();
        await hold.opened;
        return 'first';
      });
      await started.opened;
      expect(await other.exclusive('retention', async () => 'second')).toEqual({ ran: false });
      expect(await jobs.exclusive('retention', async () => 'again')).toEqual({ ran: false });
      expect(await other.exclusive('sealing', async () => 'other job')).toEqual({
        ran: true,
        value: 'other job',
      });
      hold.open();
      expect(await first).toEqual({ ran: true, value: 'first' });
      expect(await other.exclusive('retention', async () => 'now')).toEqual({ ran: true, value: 'now' });
    });

    it('never runs one job on two stores at once', async () => {
      const stores = [jobs, (await opened.sibling()).jobs, (await opened.sibling()).jobs];
      let running = 0;
      let most = 0;
      let runs = 0;
      const job = async () => {
        running++;
        most = Math.max(most, running);
        runs++;
        await new Promise((r) => setTimeout(r, 5));
        running--;
      };
      await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.exclusive('unopened', job)));
      expect(most).toBe(1);
      expect(runs).toBeGreaterThan(0);
    });

    it('releases the lock when the job throws', async () => {
      const failure = new Error('the job failed');
      await expect(
        jobs.exclusive('retention', async () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      const other = (await opened.sibling()).jobs;
      expect(await other.exclusive('retention', async () => 'after')).toEqual({ ran: true, value: 'after' });
      expect(await jobs.exclusive('retention', async () => 'mine')).toEqual({ ran: true, value: 'mine' });
    });
  });
}
