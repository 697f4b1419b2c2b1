// The node's processes as the audit log shows them, keyed by pid. A later event for a known pid
// that names another parent is either the same process, re-parented when its parent died, or a new
// process that reused the pid; #verdict decides from what the log shows (docs/attribution.md):
// a fork the log read after the process last showed itself alive may have made the pid anew; an
// orphan goes only to an adopter (pid 1, a container's init, a subreaper, an ancestor); with fork
// rules loaded, a pid the log saw no fork make was not made anew. Where the log cannot decide
// (execve-only rules), a session is kept but marked inferred, never silently. Parents come from
// fork/clone events where the rules provide them, from the execve ppid otherwise, and from /proc
// (through ProcSource) for live parents the log never showed. Offline, the runtime's own argv says
// which container a process is in. Dead processes stay while they have descendants in the table,
// then go; the table is bounded. Offline, where the bound drops processes the log may still name,
// those in a session go last, and what a dropped one's session was is remembered (bounded too), so
// a later child of it is attributed, marked inferred (`dropped-from-table`), never silently lost.

import { containerIdFromCgroup } from './cgroup.ts';
import type { Exec, Fork, ProcessEvent } from './exec-event.ts';
import { ForkChildren } from './fork-children.ts';
import type { ProcEntry, SavedProcess } from './process-entry.ts';
import { isReaperName, isRuntimeName, processName } from './process-names.ts';
import type { ProcSource } from './procfs.ts';
import { containerLaunchedBy } from './runtime-argv.ts';

export type { ProcEntry, SavedProcess } from './process-entry.ts';

export interface Resolved {
  entry: ProcEntry;
  /** true when this event made the entry (a new process, or a pid reused) */
  created: boolean;
  /** the program the process ran before this exec (null: the table did not know the process) */
  before?: string | null;
}

export interface ProcessTableOptions {
  /** live /proc for unknown parents and container ids; null offline */
  proc?: ProcSource | null;
  /** sweep() evicts down to this many entries when the log is the only clock (offline) */
  maxEntries?: number;
  /** offline: audit-time idleness after which a childless entry may be evicted */
  idleMs?: number;
  /** offline: processes in a session the bound dropped that are remembered (the oldest forgotten) */
  maxDropped?: number;
}

const MAX_PROC_DEPTH = 32;

/** What the table keeps of a process in a session that its offline bound dropped. */
interface DroppedProcess {
  ppid: number;
  name: string | null;
  containerId: string | null;
  session: string;
  ttyReported: boolean;
}

/** How long (audit time) a process shown alive stays trusted as the parent an event names, without
 *  asking /proc again. A pid is reused only after its holder exited and the allocator came round
 *  to it, and the new holder's own fork or exec (which replaces the entry) comes before its
 *  children's events in the log; this spares a /proc read per exec of a busy parent. */
const PROVEN_MS = 1000;

/** The parent #parentFor found for a process new to the table. */
interface ParentFound {
  entry: ProcEntry | null;
  /** the pick among several sessions' forks was a guess */
  unsure?: NonNullable<ProcEntry['reason']>;
  /** nothing in the log links it to the process that made it (ProcEntry.unlinked) */
  unlinked?: boolean;
}

/** same: the process it was; new: another process that reused the pid; unsure: the log cannot tell
 *  (kept as the same process, its session marked inferred) */
type Verdict = 'same' | 'new' | 'unsure';

export class ProcessTable {
  readonly #entries = new Map<number, ProcEntry>();
  /** events read, in log order: the clock for "was this fork read after that process last lived" */
  #tick = 0;
  /** the log has fork events: the rules log every fork, so a pid no fork made was not made anew */
  #forksSeen = false;
  /** the pipeline's answer for the next event about this pid (see ambiguous()) */
  #decided: { pid: number; verdict: Verdict } | null = null;
  readonly #proc: ProcSource | null;
  readonly #forks: ForkChildren;
  readonly #opts: { maxEntries: number; idleMs: number; maxDropped: number };
  /** offline: processes in a session the bound dropped, until their pid is seen anew */
  readonly #dropped = new Map<number, DroppedProcess>();
  #forgotten = 0;

  constructor(options: ProcessTableOptions = {}) {
    this.#proc = options.proc ?? null;
    this.#forks = new ForkChildren({ proc: this.#proc });
    this.#opts = { maxEntries: 200_000, idleMs: 3_600_000, maxDropped: 20_000, ...options };
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Processes in a session the offline bound dropped and then forgot (past maxDropped): a later
   *  child of one of them has no session. The run says how many, so the loss is never silent. */
  get forgottenSessionProcesses(): number {
    return this.#forgotten;
  }

  get(pid: number): ProcEntry | undefined {
    return this.#entries.get(pid);
  }

  /** The child of a fork/clone, or null when its host pid cannot be known yet (ForkChildren). A
   *  fork always makes a new process, unless the child's own execve was logged first (the parent's
   *  syscall exit can be audited after the child already ran). */
  fork(event: Fork): Resolved | null {
    this.#tick++;
    this.#forksSeen = true;
    const parent = this.#parentOf(
      event.parentPid,
      event.ppid,
      event.timeMs,
      processName([event.exe], event.comm),
    );
    parent.forked = true;
    const child = this.#forks.hostChild(parent, event.childPid, event.timeMs, this.#tick);
    if (child === null) return null;
    const existing = this.#entries.get(child);
    if (existing && existing.ppid === event.parentPid && existing.firstSeenMs >= event.timeMs - 5000) {
      existing.lastSeenMs = Math.max(existing.lastSeenMs, event.timeMs);
      return { entry: existing, created: false };
    }
    return { entry: this.#create(child, parent, parent.name, event.timeMs), created: true };
  }

  exec(event: Exec): Resolved {
    this.#tick++;
    const name = processName([event.argv[0], event.exe], event.comm);
    const launch = containerLaunchedBy(event.argv);
    const existing = this.#known(event.pid, event.ppid, event.timeMs);
    const verdict = existing ? this.#verdict(existing, event.ppid, event.timeMs) : 'new';
    if (existing && verdict !== 'new') {
      const before = existing.name;
      this.#alive(existing, event.timeMs);
      this.#reparent(existing, event.ppid, verdict);
      existing.name = name;
      if (launch) existing.launches = launch;
      if (existing.containerId === null) existing.containerId = this.#containerOf(event.pid);
      return { entry: existing, created: false, before };
    }
    const parent = this.#parentFor(event.pid, event.ppid, event.timeMs);
    const entry = this.#create(event.pid, parent.entry, name, event.timeMs, event.ppid);
    if (parent.unsure) this.#markUnsure(entry, parent.unsure);
    if (parent.unlinked) entry.unlinked = true;
    if (launch) entry.launches = launch;
    return { entry, created: true, before: null };
  }

  /**
   * When the log cannot yet tell what `event` is about: a known process, named with an adopter as
   * its parent, while that adopter has forks read since the process last lived whose children have
   * not shown themselves. Either it is one of those children (its pid reused) or the old process
   * re-parented, and the two differ in session. The log soon tells: each fork's child names the
   * adopter in its own first event — all of them, or all but this one. The pipeline holds the event
   * (Lookahead) and passes the answer to decide(). `forks`: how many children are awaited, `since`:
   * the log position of the first of those forks.
   */
  ambiguous(event: ProcessEvent): { adopter: number; forks: number; since: number } | null {
    if (event.kind === 'exec' && !event.success) return null;
    const pid = event.kind === 'exec' ? event.pid : event.parentPid;
    const entry = this.#entries.get(pid);
    if (entry === undefined) return null;
    const adopter = this.#entries.get(event.ppid);
    if (adopter === undefined || adopter.session === entry.session) return null;
    // An adopter that forks at all: the fork that made this pid may not be in the log yet (the
    // child can exec before its parent's clone returns and is audited).
    const { count, firstTick } = this.#forks.unclaimedSince(adopter, entry.aliveTick ?? -1);
    if ((count === 0 && adopter.forked !== true) || !this.#adopts(event.ppid, adopter)) return null;
    return { adopter: event.ppid, forks: count, since: Math.min(firstTick, this.#tick) };
  }

  /** Whether an event about `pid` naming `adopter` may be the first event of a child of a fork the
   *  adopter made at log position `since` or later: a pid the table does not know, or knows as
   *  another parent's, or has not seen alive since. */
  mayBeNewChild(pid: number, adopter: number, since: number): boolean {
    const e = this.#entries.get(pid);
    return e === undefined || e.ppid !== adopter || (e.aliveTick ?? -1) < since;
  }

  /** The answer for the next event about `pid`: re-parented ('same') or its pid reused ('new');
   *  null takes back an answer no event used. */
  decide(pid: number, verdict: 'same' | 'new' | null): void {
    this.#decided = verdict === null ? null : { pid, verdict };
  }

  /** The entries a restart needs (see SavedProcess), parents before children. */
  snapshot(): SavedProcess[] {
    const out: SavedProcess[] = [];
    for (const e of this.#entries.values()) {
      if (e.session === null && !e.ttyReported) continue;
      out.push({
        pid: e.pid,
        ppid: e.ppid,
        name: e.name,
        containerId: e.containerId,
        session: e.session,
        attribution: e.attribution,
        ...(e.reason ? { reason: e.reason } : {}),
        ttyReported: e.ttyReported,
        lastSeenMs: e.lastSeenMs,
      });
    }
    return out;
  }

  /** Puts saved entries back (before any event is read); pids already in the table win. */
  restore(saved: readonly SavedProcess[]): void {
    for (const s of saved) {
      if (this.#entries.has(s.pid)) continue;
      const parent = this.#entries.get(s.ppid) ?? null;
      const entry: ProcEntry = {
        ...s,
        parent,
        firstSeenMs: s.lastSeenMs,
        // from before the restart: /proc decides whether it is still this process
        provenMs: Number.NEGATIVE_INFINITY,
        children: 0,
        removed: false,
      };
      if (parent) parent.children++;
      this.#entries.set(s.pid, entry);
    }
  }

  /**
   * Whether the container runtime started this process: its parent is a runtime process, and the
   * topmost of the unbroken line of runtime processes above it runs outside any container (a
   * workload that names a binary of its own "runc" is inside its container), and the process ran
   * nothing but the runtime before (`before`: its program before this exec, null if unknown).
   * null: its parent is unknown to the log and to /proc, so nothing can be said.
   */
  startedByRuntime(entry: ProcEntry, before: string | null): boolean | null {
    // The runtime's own process (runc init) execs the command in place: a process that ran
    // anything else first (a shell that exec'd its last command) was not started by the runtime.
    if (before !== null && !isRuntimeName(before)) return false;
    let a = entry.parent;
    if (a === null) return null;
    if (!isRuntimeName(a.name)) return false;
    let top = a;
    for (let n = 0; a !== null && isRuntimeName(a.name) && n < MAX_PROC_DEPTH; a = a.parent, n++) top = a;
    return top.containerId === null;
  }

  /** A process (not pid 1) whose parent is a container runtime: the first process of an exec. */
  parentIsRuntime(entry: ProcEntry): boolean {
    return entry.parent !== null && isRuntimeName(entry.parent.name);
  }

  /** Drops dead childless entries. Live: dead means gone from /proc or its pid reused with another
   *  parent. Offline (no /proc to tell the dead), only while above maxEntries: first the childless
   *  ones idle for idleMs of audit time that are in no session, then the oldest childless ones in
   *  no session, then the oldest childless ones in a session, remembered (#dropped). */
  sweep(nowMs: number): number {
    const before = this.#entries.size;
    const proc = this.#proc;
    if (proc === null) {
      if (before > this.#opts.maxEntries) this.#sweepOffline(nowMs);
      return before - this.#entries.size;
    }
    const live = proc.pids?.() ?? null;
    for (const entry of this.#entries.values()) {
      if (entry.children > 0 || (entry.pendingForks ?? 0) > 0) continue;
      if (!this.#inProc(proc, entry, live)) this.#remove(entry);
    }
    return before - this.#entries.size;
  }

  #sweepOffline(nowMs: number): void {
    const max = this.#opts.maxEntries;
    for (const entry of this.#entries.values()) {
      const childless = entry.children === 0 && (entry.pendingForks ?? 0) === 0;
      if (childless && entry.session === null && nowMs - entry.lastSeenMs > this.#opts.idleMs)
        this.#remove(entry);
    }
    // Still too many: the oldest first (Map order is creation order), those in a session last.
    for (const inSession of [false, true]) {
      for (const entry of this.#entries.values()) {
        if (this.#entries.size <= max) return;
        if (entry.children === 0 && (entry.session !== null) === inSession) this.#drop(entry);
      }
    }
  }

  /** Removes an entry the offline bound gives up on; one in a session is remembered. */
  #drop(entry: ProcEntry): void {
    if (entry.session !== null) {
      if (this.#dropped.size >= this.#opts.maxDropped) {
        this.#dropped.delete(this.#dropped.keys().next().value!);
        this.#forgotten++;
      }
      this.#dropped.set(entry.pid, {
        ppid: entry.ppid,
        name: entry.name,
        containerId: entry.containerId,
        session: entry.session,
        ttyReported: entry.ttyReported,
      });
    }
    this.#remove(entry);
  }

  /** The entry for `pid`, or the process in a session the bound dropped, back in the table when
   *  the event is its own (same parent, or an adopter's) and nothing made the pid anew since. */
  #known(pid: number, ppid: number, timeMs: number): ProcEntry | undefined {
    const known = this.#entries.get(pid);
    if (known !== undefined) return known;
    const dropped = this.#dropped.get(pid);
    if (dropped === undefined || (dropped.ppid !== ppid && !this.#adopts(ppid, this.#entries.get(ppid))))
      return undefined;
    return this.#restore(pid, timeMs) ?? undefined;
  }

  /** A dropped process in a session, back in the table: its session kept, marked inferred. */
  #restore(pid: number, timeMs: number): ProcEntry | null {
    const dropped = this.#dropped.get(pid);
    if (dropped === undefined) return null;
    const entry = this.#create(pid, null, dropped.name, timeMs, dropped.ppid);
    entry.containerId = dropped.containerId;
    entry.session = dropped.session;
    entry.attribution = 'inferred';
    entry.reason = 'dropped-from-table';
    entry.ttyReported = dropped.ttyReported;
    return entry;
  }

  #inProc(proc: ProcSource, entry: ProcEntry, live: ReadonlySet<number> | null): boolean {
    if (live !== null && !live.has(entry.pid)) return false;
    const stat = proc.stat(entry.pid);
    return stat !== null && this.#consistent(entry, stat);
  }

  #consistent(entry: ProcEntry, stat: { ppid: number; comm: string }): boolean {
    return stat.ppid <= 1 || isReaperName(stat.comm) || this.#verdict(entry, stat.ppid) !== 'new';
  }

  #remove(entry: ProcEntry): void {
    let e: ProcEntry | null = entry;
    // Removing the last child of a dead parent may free the parent too.
    while (e !== null && !e.removed && e.children === 0) {
      if (this.#entries.get(e.pid) === e) this.#entries.delete(e.pid);
      e.removed = true;
      const parent: ProcEntry | null = e.parent;
      if (parent === null) break;
      parent.children--;
      if (parent.children > 0 || this.#entries.get(parent.pid) === parent) break;
      e = parent;
    }
  }

  /** Whether the process the table knows as `entry` is still the one an event names with `ppid`.
   *  `timeMs`: the event's time, to look a parent the table does not know up in /proc (live). */
  #verdict(entry: ProcEntry, ppid: number, timeMs?: number): Verdict {
    if (this.#decided !== null && this.#decided.pid === entry.pid) {
      const { verdict } = this.#decided;
      this.#decided = null;
      return verdict;
    }
    const newParent =
      this.#entries.get(ppid) ??
      (timeMs === undefined ? undefined : (this.#lookup(ppid, timeMs, 0) ?? undefined));
    // A fork read after this process last lived may have made the pid anew: the new parent's own.
    // (The new process's first event then claims that fork: #parentFor.)
    if (newParent !== undefined && this.#forks.forkedSince(newParent, entry.aliveTick ?? -1)) return 'new';
    if (entry.ppid === ppid) return 'same';
    // A runtime's exec call takes in no orphans of another lineage: a process it names as its child
    // that the table knew under another parent is a new one whose pid came round (its fork can be
    // logged after its exec), never the old process re-parented.
    if (newParent?.launches?.init === false && !this.#isAncestor(entry, ppid)) return 'new';
    if (this.#adopts(ppid, newParent) || this.#isAncestor(entry, ppid)) {
      return this.#forksSeen || entry.session === null ? 'same' : 'unsure';
    }
    // Nobody but an adopter takes in an orphan, so this parent made the pid (by a fork the rules do
    // not log, such as clone3) — unless it adopts under a name the table does not know. Inside one
    // container that cannot be ruled out: the session is kept, marked inferred.
    if (entry.containerId === null) return 'new';
    const parentContainer = newParent !== undefined ? newParent.containerId : this.#containerOf(ppid);
    if (parentContainer !== entry.containerId) return 'new';
    return entry.session === null ? 'same' : 'unsure';
  }

  /** Processes that take in orphans: pid 1, known reapers and subreapers, a container's init (the
   *  process a runtime's run/create started, or pid 1 of its namespace in /proc). */
  #adopts(pid: number, entry: ProcEntry | undefined): boolean {
    if (pid <= 1) return true;
    if (entry === undefined) return false;
    if (isReaperName(entry.name) || this.#forks.isNamespaceInit(entry)) return true;
    return !isRuntimeName(entry.name) && launchAbove(entry)?.init === true;
  }

  #isAncestor(entry: ProcEntry, pid: number): boolean {
    for (let a = entry.parent, n = 0; a !== null && n < MAX_PROC_DEPTH; a = a.parent, n++) {
      if (a.pid === pid) return true;
    }
    return false;
  }

  #alive(entry: ProcEntry, timeMs: number): void {
    entry.lastSeenMs = Math.max(entry.lastSeenMs, timeMs);
    entry.provenMs = Math.max(entry.provenMs, timeMs);
    entry.aliveTick = this.#tick;
  }

  #reparent(entry: ProcEntry, ppid: number, verdict: Verdict): void {
    if (verdict === 'unsure' && entry.ppid !== ppid) this.#markUnsure(entry, 'pid-reuse-undecidable');
    entry.ppid = ppid;
  }

  #markUnsure(entry: ProcEntry, reason: NonNullable<ProcEntry['reason']>): void {
    if (entry.session === null || entry.attribution === 'marker') return;
    entry.attribution = 'inferred';
    entry.reason = reason;
  }

  #parentOf(pid: number, ppid: number, timeMs: number, name: string | null): ProcEntry {
    const known = this.#known(pid, ppid, timeMs);
    const verdict = known ? this.#verdict(known, ppid, timeMs) : 'new';
    if (known && verdict !== 'new') {
      this.#alive(known, timeMs);
      this.#reparent(known, ppid, verdict);
      return known;
    }
    const parent = this.#parentFor(pid, ppid, timeMs);
    const entry = this.#create(pid, parent.entry, name, timeMs, ppid);
    if (parent.unsure) this.#markUnsure(entry, parent.unsure);
    if (parent.unlinked) entry.unlinked = true;
    return entry;
  }

  /**
   * The parent of a process the table does not know (its first event names `ppid`): the process
   * whose fork made it. That is its ppid, which claims the fork, unless its ppid is an adopter
   * that made no fork: then it was re-parented before its first event, and its forker is found
   * by its namespace pid in /proc (live), or else among the unclaimed forks in the container.
   */
  #parentFor(pid: number, ppid: number, timeMs: number): ParentFound {
    const byPpid = this.#lookup(ppid, timeMs, 0) ?? this.#restore(ppid, timeMs);
    if (byPpid !== null) byPpid.aliveTick = this.#tick;
    const adopted = this.#forks.adoptedParent(pid, byPpid, (p) => this.#containerOf(p));
    if (adopted !== null) return { entry: adopted };
    if (byPpid !== null && (this.#forks.claim(byPpid) || isRuntimeName(byPpid.name)))
      return { entry: byPpid };
    if (!this.#adopts(ppid, byPpid ?? undefined)) return { entry: byPpid, unlinked: byPpid === null };
    if (!this.#forksSeen) return { entry: byPpid, unlinked: true };
    const orphan = this.#forks.orphanOf(byPpid?.containerId ?? null);
    if (orphan === null) return { entry: byPpid, unlinked: true };
    return orphan.sessions > 1
      ? { entry: orphan.parent, unsure: 'orphan-ambiguous' }
      : { entry: orphan.parent };
  }

  /** The entry for a pid the event names as a parent: from the table, else from /proc while alive. */
  #lookup(pid: number, timeMs: number, depth: number): ProcEntry | null {
    if (pid <= 0) return null;
    const known = this.#entries.get(pid);
    if (known && timeMs - known.provenMs <= PROVEN_MS) return known;
    const stat = this.#proc?.stat(pid) ?? null;
    // A parent named by a new event is alive right now: an entry whose recorded parent /proc
    // contradicts is an earlier process that had this pid (pids wrap within seconds under load).
    if (known && (stat === null || this.#consistent(known, stat))) {
      if (stat !== null) known.provenMs = Math.max(known.provenMs, timeMs);
      return known;
    }
    if (stat === null) return null;
    const parent =
      depth < MAX_PROC_DEPTH && stat.ppid > 0 ? this.#lookup(stat.ppid, timeMs, depth + 1) : null;
    return this.#create(pid, parent, stat.comm, timeMs, stat.ppid);
  }

  #create(
    pid: number,
    parent: ProcEntry | null,
    name: string | null,
    timeMs: number,
    ppid?: number,
  ): ProcEntry {
    // A process made at this pid: whatever the bound dropped there is gone.
    this.#dropped.delete(pid);
    const old = this.#entries.get(pid);
    if (old) {
      // pid reused: the old process is gone; keep its object alive only for its own children.
      this.#entries.delete(pid);
      if (old.children === 0) this.#remove(old);
    }
    const entry: ProcEntry = {
      pid,
      ppid: ppid ?? parent?.pid ?? 0,
      parent,
      name,
      containerId: parent?.containerId ?? parent?.launches?.container ?? null,
      // Decided once, here, for every entry however it was first seen (fork, exec, or as the
      // unknown parent of one): the nearest attributed ancestor's session, as sure as it was.
      session: parent?.session ?? null,
      attribution: parent?.session
        ? parent.attribution === 'inferred' && parent.reason
          ? 'inferred'
          : 'ancestry'
        : null,
      ...(parent?.session && parent.attribution === 'inferred' && parent.reason
        ? { reason: parent.reason }
        : {}),
      ttyReported: parent?.ttyReported ?? false,
      firstSeenMs: timeMs,
      lastSeenMs: timeMs,
      provenMs: timeMs,
      aliveTick: this.#tick,
      children: 0,
      removed: false,
    };
    if (entry.containerId === null) entry.containerId = this.#containerOf(pid);
    if (parent) parent.children++;
    this.#entries.set(pid, entry);
    return entry;
  }

  #containerOf(pid: number): string | null {
    const cgroup = this.#proc?.cgroup(pid) ?? null;
    return cgroup === null ? null : containerIdFromCgroup(cgroup);
  }
}

/** The runtime call a process came out of: the launch of the nearest ancestor above an unbroken
 *  line of runtime processes (runc run → runc init → runc:[1:CHILD] → the container's process). */
function launchAbove(entry: ProcEntry): ProcEntry['launches'] {
  for (let a = entry.parent, n = 0; a !== null && n < MAX_PROC_DEPTH; a = a.parent, n++) {
    if (a.launches) return a.launches;
    if (!isRuntimeName(a.name)) return undefined;
  }
  return undefined;
}
