// The sign-in throttle's store contract (SignInFailureStore in server/ui/sign-in-limit.ts). Run for
// the in-memory default in test/ui/sign-in-limit.test.ts; an engine that shares the count between
// replicas runs it with its own factory.
import { describe, expect, it } from 'vitest';
import type { SignInFailureStore } from '../../../../server/ui/sign-in-limit.ts';

export function describeSignInFailureContract(engine: string, open: () => Promise<SignInFailureStore>): void {
  describe(`${engine}: sign-in failures`, () => {
    it('gives back an address’s failures after a time, oldest first', async () => {
      const store = await open();
      for (const t of [100, 200, 300]) await store.add('10.0.0.1', t, 10);
      expect(await store.recent('10.0.0.1', 150)).toEqual([200, 300]);
      expect(await store.recent('10.0.0.1', 0)).toEqual([100, 200, 300]);
      expect(await store.recent('10.0.0.2', 0)).toEqual([]);
    });

    it('keeps only the latest failures it is asked to keep', async () => {
      const store = await open();
      for (const t of [1, 2, 3, 4]) await store.add('a', t, 2);
      expect(await store.recent('a', 0)).toEqual([3, 4]);
    });

    it('forgets a cleared address, and only that one', async () => {
      const store = await open();
      await store.add('a', 1, 5);
      await store.add('b', 1, 5);
      await store.clear('a');
      expect(await store.recent('a', 0)).toEqual([]);
      expect(await store.recent('b', 0)).toEqual([1]);
    });
  });
}
