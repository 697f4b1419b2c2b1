// What the recording uploader does next, decided without I/O: which journaled recordings are due,
// what to do with one given the local file and the object, and how long to wait after failures.
// The uploader (recording-uploader.ts) reads the journal, the file and the store, and asks here.

/** What to do with one journaled recording. */
export type UploadStep =
  /** Put the local file: the object is missing or differs in size from the file. */
  | 'upload'
  /** The object is there already, as large as the local file (or the file is gone after an upload). */
  | 'done'
  /** Neither the file nor the object exists: nothing is left to upload (the journal entry goes). */
  | 'lost';

export function uploadStep(localSize: number | null, objectSize: number | null): UploadStep {
  if (localSize === null) return objectSize === null ? 'lost' : 'done';
  return objectSize === localSize ? 'done' : 'upload';
}

/**
 * The journaled ids to upload now: every one not still being recorded by this process (an entry
 * whose session is not live here was left by a run that ended, finished or killed), those that
 * failed least first, so one recording that keeps failing does not hold up the others.
 */
export function dueUploads(
  journaled: readonly string[],
  live: ReadonlySet<string>,
  failures: ReadonlyMap<string, number>,
): string[] {
  return journaled
    .filter((id) => !live.has(id))
    .sort((a, b) => (failures.get(a) ?? 0) - (failures.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
}

export interface RetryPolicy {
  /** The wait after the first failure; each further failure in a row doubles it. */
  initialMs: number;
  maxMs: number;
}

/** Milliseconds to wait before the next pass after `failuresInARow` failed attempts (0: none). */
export function retryDelayMs(failuresInARow: number, policy: RetryPolicy): number {
  if (failuresInARow <= 0) return 0;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failuresInARow - 1, 30));
}
