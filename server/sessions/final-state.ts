// A session's final state must reach the store even when the database is down at that moment
// (several replicas on PostgreSQL): otherwise the session stays `running` — its admission grant
// valid, its recording never uploaded or sealed — until the replica restarts. The first try is
// awaited; while the store answers STORE_UNAVAILABLE, the state is stored again with back-off in
// the background, and `landed` resolves once it is in.
import { errorMessage } from '../../common/errors.ts';
import type { SessionRecord } from '../../common/wire.ts';
import type { Store } from '../store/store.ts';

export interface FinalStateWrite {
  /** true: stored at the first try; false: the database did not answer, trying again */
  first: boolean;
  /** resolves once stored (at once when `first`) */
  landed: Promise<void>;
}

export const RETRY = { firstMs: 1000, maxMs: 30_000 };

export async function storeFinalState(o: {
  store: Pick<Store, 'updateSession'>;
  id: string;
  patch: Partial<SessionRecord>;
  log: (line: string) => void;
  retry?: typeof RETRY;
}): Promise<FinalStateWrite> {
  try {
    await o.store.updateSession(o.id, o.patch);
    return { first: true, landed: Promise.resolve() };
  } catch (err) {
    if ((err as { code?: string }).code !== 'STORE_UNAVAILABLE') throw err;
    o.log(`session ${o.id}: ${errorMessage(err)}; its end is stored once the database answers`);
    return { first: false, landed: again(o, o.retry ?? RETRY) };
  }
}

async function again(
  o: {
    store: Pick<Store, 'updateSession'>;
    id: string;
    patch: Partial<SessionRecord>;
    log: (l: string) => void;
  },
  retry: typeof RETRY,
): Promise<void> {
  for (let wait = retry.firstMs; ; wait = Math.min(wait * 2, retry.maxMs)) {
    await new Promise((r) => setTimeout(r, wait).unref?.());
    try {
      await o.store.updateSession(o.id, o.patch);
      o.log(`session ${o.id}: its end is stored now`);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'STORE_UNAVAILABLE') throw err;
    }
  }
}
