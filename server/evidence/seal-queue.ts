// When sessions get signed in the background. A session is signed when it ends; events the shim
// delivers after that (a nohup'd child, a process left running in the pod) extend its evidence
// with another link in the chain. Every link is a whole new bundle (recording included), so a
// process that keeps exec'ing for days must not cost a bundle per batch of events: late links come
// no sooner than LATE_FIRST_MS after the last one, and each wait doubles up to LATE_MAX_MS.
// Nothing waits on this for correctness: a download signs first whatever changed (evidence.ts).
//
// Seals run one at a time: a thousand sessions ending together must not build a thousand
// bundles at once (memory), and batches queued while one runs collapse into one more seal.
import type { SignatureDocument } from '../../common/evidence/format.ts';

/** The first late link may follow the last signature after this long... */
export const LATE_FIRST_MS = 60_000;
/** ...each later one waits twice as long as the one before, up to this. */
export const LATE_MAX_MS = 60 * 60_000;

/** How long after `head` the next late link may be signed. */
export function lateSealDelay(head: SignatureDocument): number {
  const doublings = Math.min(head.payload.version - 1, 16);
  return Math.min(LATE_MAX_MS, LATE_FIRST_MS * 2 ** doublings);
}

export interface SealQueueOptions {
  seal(id: string): Promise<unknown>;
  /** the session's latest signature, undefined when never signed */
  head(id: string): Promise<SignatureDocument | undefined>;
  log(line: string): void;
  now?: () => number;
  timers?: { set(fn: () => void, ms: number): unknown; clear(handle: unknown): void };
}

export interface SealQueue {
  /** The session ended: sign it as soon as the seals before it are done. */
  ended(id: string): void;
  /** New events for an ended session: sign again once its wait since the last signature is over. */
  lateEvents(id: string): void;
  /** Signs everything queued or waiting (shutdown), then resolves. */
  drain(): Promise<void>;
  /** Sessions waiting for their next late link (for tests and metrics). */
  readonly waiting: number;
}

export function createSealQueue(o: SealQueueOptions): SealQueue {
  const now = o.now ?? Date.now;
  const timers = o.timers ?? {
    set: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
    clear: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  };
  const queued = new Set<string>();
  /** id -> timer handle, or null while its head is being read */
  const later = new Map<string, unknown>();
  let worker: Promise<void> | null = null;

  const work = async (): Promise<void> => {
    for (let id = first(queued); id !== undefined; id = first(queued)) {
      queued.delete(id);
      await o.seal(id).catch((err) => o.log(`evidence: could not sign session ${id}: ${String(err)}`));
    }
  };
  // An id queued between the loop's last check and its end starts the next round.
  const spin = (): Promise<void> =>
    work().finally(() => {
      worker = queued.size ? spin() : null;
    });
  const enqueue = (id: string): void => {
    queued.add(id);
    worker ??= spin();
  };

  const schedule = async (id: string): Promise<void> => {
    const head = await o.head(id).catch(() => undefined);
    if (!later.has(id)) return; // drained meanwhile
    const wait = head ? Date.parse(head.payload.signedAt) + lateSealDelay(head) - now() : 0;
    if (!(wait > 0)) {
      later.delete(id);
      enqueue(id);
      return;
    }
    later.set(
      id,
      timers.set(() => {
        later.delete(id);
        enqueue(id);
      }, wait),
    );
  };

  return {
    ended: enqueue,
    lateEvents(id) {
      // Already queued or waiting: the coming seal takes these events too.
      if (queued.has(id) || later.has(id)) return;
      later.set(id, null);
      void schedule(id);
    },
    async drain() {
      for (const [id, handle] of later) {
        if (handle !== null) timers.clear(handle);
        later.delete(id);
        enqueue(id);
      }
      while (worker) await worker;
    },
    get waiting() {
      return later.size;
    },
  };
}

function first<T>(set: ReadonlySet<T>): T | undefined {
  return set.values().next().value;
}
