// One process as the table keeps it, and what a restart keeps of it.

import type { Attribution, InferredReason } from '../common/wire.ts';
import type { Launch } from './runtime-argv.ts';

export interface ProcEntry {
  pid: number;
  ppid: number;
  /** the parent entry when it was known at creation; kept so a dead parent outlives its children */
  parent: ProcEntry | null;
  /** executable name (argv[0]/exe basename or comm) for reaper and runtime checks */
  name: string | null;
  containerId: string | null;
  session: string | null;
  attribution: Attribution | null;
  /** why attribution is `inferred` when the table itself was unsure (InferredReason) */
  reason?: InferredReason;
  /** a runtime process: the container its exec/run/create call names (runtime-argv.ts) */
  launches?: Launch;
  /** the log showed it fork: an adopter that forks may be the parent of any new pid that names it */
  forked?: boolean;
  /** its first event named an adopter that made no fork for it, and no fork linked it elsewhere:
   *  the log lost its lineage (live, its environment may still say its session) */
  unlinked?: boolean;
  /** the table's event counter when this process last showed itself alive (its own event, or a
   *  child's naming it): a fork read later may have made its pid anew, one read earlier cannot */
  aliveTick?: number;
  /** an unrecorded-tty alert already covers this process tree */
  ttyReported: boolean;
  /** NSpid from /proc once read (host pid first, own namespace's last); null: could not be read */
  ns?: number[] | null;
  firstSeenMs: number;
  lastSeenMs: number;
  /** audit time at which this process was last shown alive as itself: made, or made a syscall
   *  whose lineage matched, or read from /proc (see #lookup) */
  provenMs: number;
  children: number;
  /** forks of this process whose child is not known yet (ForkChildren): the child's first event
   *  may still be in the log behind, naming this process by ppid, so it is kept while there are any */
  pendingForks?: number;
  removed: boolean;
}

/** What a restart keeps of a process that belongs to a session (or is covered by an alert): the
 *  daemon saves these with its checkpoint, so a process whose session root the new run never sees
 *  (it exec'd before the restart) still lands in its session. */
export interface SavedProcess {
  pid: number;
  ppid: number;
  name: string | null;
  containerId: string | null;
  session: string | null;
  attribution: Attribution | null;
  reason?: InferredReason;
  ttyReported: boolean;
  lastSeenMs: number;
}
