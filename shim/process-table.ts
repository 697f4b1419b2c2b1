// The node's processes as the audit log shows them, keyed by pid but trusted only while the lineage
// is consistent: a later event for the same pid with another parent (that is not a reaper the
// process could have been re-parented to) is a new process that reused the pid. Parents come from
// fork/clone events where the rules provide them, from the execve ppid otherwise, and from /proc
// (through ProcSource) for live parents the log never showed. Dead processes stay while they have
// descendants in the table, then go; the table is bounded.

import { containerIdFromCgroup } from './cgroup.ts';
import type { Exec, Fork } from './exec-event.ts';
import { ForkChildren } from './fork-children.ts';
import type { ProcEntry, SavedProcess } from './process-entry.ts';
import { basename, isReaperName, isRuntimeName } from './process-names.ts';
import type { ProcSource } from './procfs.ts';

export type { ProcEntry, SavedProcess } from './process-entry.ts';

export interface Resolved {
  entry: ProcEntry;
  /** true when this event made the entry (a new process, or a pid reused) */
  created: boolean;
}

export interface ProcessTableOptions {
  /** live /proc for unknown parents and container ids; null offline */
  proc?: ProcSource | null;
  /** sweep() evicts down to this many entries when the log is the only clock (offline) */
  maxEntries?: number;
  /** offline: audit-time idleness after which a childless entry may be evicted */
  idleMs?: number;
}

const MAX_PROC_DEPTH = 32;
/** How long (audit time) a process shown alive stays trusted as the parent an event names, without
 *  asking /proc again. A pid is reused only after its holder exited and the allocator came round
 *  to it, and the new holder's own fork or exec (which replaces the entry) comes before its
 *  children's events in the log; this spares a /proc read per exec of a busy parent. */
const PROVEN_MS = 1000;

export class ProcessTable {
  readonly #entries = new Map<number, ProcEntry>();
  readonly #proc: ProcSource | null;
  readonly #forks: ForkChildren;
  readonly #opts: { maxEntries: number; idleMs: number };

  constructor(options: ProcessTableOptions = {}) {
    this.#proc = options.proc ?? null;
    this.#forks = new ForkChildren({ proc: this.#proc });
    this.#opts = { maxEntries: 200_000, idleMs: 3_600_000, ...options };
  }

  get size(): number {
    return this.#entries.size;
  }

  get(pid: number): ProcEntry | undefined {
    return this.#entries.get(pid);
  }

  /** The child of a fork/clone, or null when its host pid cannot be known yet (ForkChildren). A
   *  fork always makes a new process, unless the child's own execve was logged first (the parent's
   *  syscall exit can be audited after the child already ran). */
  fork(event: Fork): Resolved | null {
    const parent = this.#parentOf(
      event.parentPid,
      event.ppid,
      event.timeMs,
      basename(event.exe) ?? event.comm,
    );
    const child = this.#forks.hostChild(parent, event.childPid, event.timeMs);
    if (child === null) return null;
    const existing = this.#entries.get(child);
    if (existing && existing.ppid === event.parentPid && existing.firstSeenMs >= event.timeMs - 5000) {
      existing.lastSeenMs = Math.max(existing.lastSeenMs, event.timeMs);
      return { entry: existing, created: false };
    }
    return { entry: this.#create(child, parent, parent.name, event.timeMs), created: true };
  }

  exec(event: Exec): Resolved {
    const name = basename(event.argv[0]) ?? basename(event.exe) ?? event.comm;
    const existing = this.#entries.get(event.pid);
    if (existing && this.#sameLineage(existing, event.ppid)) {
      existing.ppid = event.ppid;
      existing.name = name;
      existing.lastSeenMs = Math.max(existing.lastSeenMs, event.timeMs);
      existing.provenMs = Math.max(existing.provenMs, event.timeMs);
      if (existing.containerId === null) existing.containerId = this.#containerOf(event.pid);
      return { entry: existing, created: false };
    }
    const parent = this.#parentFor(event.pid, event.ppid, event.timeMs);
    return { entry: this.#create(event.pid, parent, name, event.timeMs, event.ppid), created: true };
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

  /** A process (not pid 1) whose parent is a container runtime: the first process of an exec. */
  parentIsRuntime(entry: ProcEntry): boolean {
    return entry.parent !== null && isRuntimeName(entry.parent.name);
  }

  /** Drops dead childless entries. Live: dead means gone from /proc or its pid reused with another
   *  parent. Offline: idle for idleMs of audit time, and only while above maxEntries. */
  sweep(nowMs: number): number {
    const before = this.#entries.size;
    const proc = this.#proc;
    if (proc === null && before <= this.#opts.maxEntries) return 0;
    const live = proc?.pids?.() ?? null;
    for (const entry of this.#entries.values()) {
      if (entry.children > 0 || (entry.pendingForks ?? 0) > 0) continue;
      const dead =
        proc !== null ? !this.#alive(proc, entry, live) : nowMs - entry.lastSeenMs > this.#opts.idleMs;
      if (dead) this.#remove(entry);
    }
    if (proc === null && this.#entries.size > this.#opts.maxEntries) {
      // Still too many: the oldest childless ones go first (Map order is creation order).
      for (const entry of this.#entries.values()) {
        if (this.#entries.size <= this.#opts.maxEntries) break;
        if (entry.children === 0) this.#remove(entry);
      }
    }
    return before - this.#entries.size;
  }

  #alive(proc: ProcSource, entry: ProcEntry, live: ReadonlySet<number> | null): boolean {
    if (live !== null && !live.has(entry.pid)) return false;
    const stat = proc.stat(entry.pid);
    return stat !== null && this.#consistent(entry, stat);
  }

  #consistent(entry: ProcEntry, stat: { ppid: number; comm: string }): boolean {
    return (
      stat.ppid === entry.ppid ||
      stat.ppid <= 1 ||
      isReaperName(stat.comm) ||
      this.#sameLineage(entry, stat.ppid)
    );
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

  #sameLineage(entry: ProcEntry, ppid: number): boolean {
    if (entry.ppid === ppid || ppid <= 1) return true;
    const newParent = this.#entries.get(ppid);
    // Orphans go to pid 1 or to a child subreaper (containerd-shim, systemd --user, tini…), which
    // is an ancestor or a known reaper...
    if (newParent !== undefined && isReaperName(newParent.name)) return true;
    for (let a = entry.parent, n = 0; a !== null && n < MAX_PROC_DEPTH; a = a.parent, n++) {
      if (a.pid === ppid) return true;
    }
    // ...or, in a container, to the init of its pid namespace: whatever the image runs as pid 1
    // (sleep, nginx…), which is not an ancestor of an exec'd shell (runc exec's parent is runc).
    // A reused pid is told apart by its fork event, which the rules log.
    if (entry.containerId === null) return false;
    const parentContainer = newParent !== undefined ? newParent.containerId : this.#containerOf(ppid);
    return parentContainer === entry.containerId;
  }

  #parentOf(pid: number, ppid: number, timeMs: number, name: string | null): ProcEntry {
    const known = this.#entries.get(pid);
    if (known && this.#sameLineage(known, ppid)) {
      known.provenMs = Math.max(known.provenMs, timeMs);
      return known;
    }
    const grandparent = this.#parentFor(pid, ppid, timeMs);
    return this.#create(pid, grandparent, name, timeMs, ppid);
  }

  /** The parent of a process the table does not know: its ppid's entry, unless that process adopts
   *  orphans and this one's fork is pending (ForkChildren). */
  #parentFor(pid: number, ppid: number, timeMs: number): ProcEntry | null {
    const byPpid = this.#lookup(ppid, timeMs, 0);
    return this.#forks.adoptedParent(pid, byPpid, (p) => this.#containerOf(p)) ?? byPpid;
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
      containerId: parent?.containerId ?? null,
      // Decided once, here, for every entry however it was first seen (fork, exec, or as the
      // unknown parent of one): the nearest attributed ancestor's session.
      session: parent?.session ?? null,
      attribution: parent?.session ? 'ancestry' : null,
      ttyReported: parent?.ttyReported ?? false,
      firstSeenMs: timeMs,
      lastSeenMs: timeMs,
      provenMs: timeMs,
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
