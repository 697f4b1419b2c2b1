// Which host pid a fork/clone created. The syscall's exit= is the child's pid in the CALLER's pid
// namespace, while every other pid in the audit record is a host pid: for a caller inside a
// container (exit=36) it names some unrelated host process. So exit= is trusted only for callers in
// the host pid namespace (NSpid has one entry; the runtime that creates containers always is). A
// containerised caller's child is never filed under a guess, nor looked up in /proc at the fork:
// its own events name it by host pid and name its parent by ppid, which is all the table needs.
// Only a child re-parented before its first event needs more: the fork is kept pending under
// (container, namespace pid), and the child's NSpid, read when its first event names an adopter
// as its parent, leads back to the fork. Without /proc (offline, or the process already gone) the
// log alone decides: a new process whose first event names its forker claims that fork; one that
// names an adopter with no fork of its own claims the latest unclaimed fork in the adopter's
// container (ambiguous when unclaimed forks of several sessions wait there). A fork also tells the
// process table that a pid was made anew (see ProcessTable #verdict). Pending forks are bounded by
// age and count.

import type { ProcEntry } from './process-entry.ts';
import { isReaperName, isRuntimeName } from './process-names.ts';
import type { ProcSource } from './procfs.ts';

export interface ForkChildrenOptions {
  proc: ProcSource | null;
  /** audit-time age after which a pending fork is forgotten */
  ttlMs?: number;
  /** pending forks kept at most (the oldest go first) */
  maxPending?: number;
}

interface Pending {
  parent: ProcEntry;
  timeMs: number;
  /** the table's event counter when the fork was read: log order, finer than audit time */
  tick: number;
  /** the caller's container id ('' for none) and the child's pid in the caller's namespace */
  container: string;
  nsPid: number;
}

const MAX_DEPTH = 32;

export class ForkChildren {
  readonly #proc: ProcSource | null;
  /** container → namespace pid → fork: numeric keys, as one is filed per fork in an exec storm */
  readonly #pending = new Map<string, Map<number, Pending>>();
  /** each forker's pending forks, oldest first (claimed or replaced ones are skipped and pruned) */
  readonly #byParent = new Map<ProcEntry, Pending[]>();
  /** every fork filed, oldest first (those since replaced or resolved are skipped at expiry) */
  #queue: (Pending | undefined)[] = [];
  #head = 0;
  #size = 0;
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(options: ForkChildrenOptions) {
    this.#proc = options.proc;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#max = options.maxPending ?? 20_000;
  }

  get pending(): number {
    return this.#size;
  }

  /** The host pid of the child `parent` forked (exit= `exitPid`), or null when it is not known
   *  (then the fork is pending). Looking a containerised caller's child up in /proc here (its
   *  children, then each one's NSpid) was the largest cost of the shim in an exec storm, and bought
   *  nothing its first event does not tell: that names it and its parent by host pid. */
  hostChild(parent: ProcEntry, exitPid: number, timeMs: number, tick: number): number | null {
    const ns = this.#nsOf(parent);
    const hostCaller = ns !== null ? ns.length === 1 : isRuntimeName(parent.name) || !maybeContained(parent);
    if (hostCaller) return exitPid;
    this.#add({ parent, timeMs, tick, container: parent.containerId ?? '', nsPid: exitPid });
    return null;
  }

  /** A process whose first event names `parent` is the child of its oldest unclaimed fork (filed
   *  after log position `afterTick`, when given): claims it. False: `parent` has no such fork. */
  claim(parent: ProcEntry, afterTick = Number.NEGATIVE_INFINITY): boolean {
    const queue = this.#byParent.get(parent);
    if (queue === undefined) return false;
    for (const p of queue) {
      if (p.tick > afterTick && this.#isLive(p)) {
        this.#delete(p);
        return true;
      }
    }
    return false;
  }

  /** Whether `parent` has an unclaimed fork filed after log position `afterTick`. */
  forkedSince(parent: ProcEntry, afterTick: number): boolean {
    return this.#byParent.get(parent)?.some((p) => p.tick > afterTick && this.#isLive(p)) ?? false;
  }

  /** How many unclaimed forks `parent` filed after `afterTick`, and the log position of the first. */
  unclaimedSince(parent: ProcEntry, afterTick: number): { count: number; firstTick: number } {
    let count = 0;
    let firstTick = Number.POSITIVE_INFINITY;
    for (const p of this.#byParent.get(parent) ?? []) {
      if (p.tick <= afterTick || !this.#isLive(p)) continue;
      count++;
      firstTick = Math.min(firstTick, p.tick);
    }
    return { count, firstTick };
  }

  /**
   * For a process re-parented before its first event (it names an adopter that forked nothing):
   * the forker of the latest unclaimed fork in `container` (null: on the host, any), claimed.
   * `sessions` counts the distinct sessions among all candidates: above 1 the pick is a guess.
   */
  orphanOf(container: string | null): { parent: ProcEntry; candidates: number; sessions: number } | null {
    const maps = container === null ? [...this.#pending.values()] : [this.#pending.get(container)];
    let best: Pending | null = null;
    let candidates = 0;
    const sessions = new Set<string | null>();
    for (const forks of maps) {
      for (const p of forks?.values() ?? []) {
        candidates++;
        sessions.add(p.parent.session);
        if (best === null || p.tick > best.tick) best = p;
      }
    }
    if (best === null) return null;
    this.#delete(best);
    return { parent: best.parent, candidates, sessions: sessions.size };
  }

  #isLive(p: Pending): boolean {
    return this.#pending.get(p.container)?.get(p.nsPid) === p;
  }

  /** For a process the table does not know, whose ppid names `byPpid`: the parent its pending fork
   *  recorded, when byPpid is a process that adopts orphans (pid 1, a subreaper, a container's init)
   *  and so may not be the process that forked it. Null: byPpid stands. */
  adoptedParent(
    pid: number,
    byPpid: ProcEntry | null,
    containerOf: (pid: number) => string | null,
  ): ProcEntry | null {
    const proc = this.#proc;
    if (this.#size === 0 || proc === null) return null;
    if (byPpid !== null && !this.#adopts(byPpid)) return null;
    const ns = proc.nsPids(pid);
    if (ns === null || ns.length < 2) return null;
    const p = this.#pending.get(containerOf(pid) ?? '')?.get(ns.at(-1)!);
    if (p === undefined) return null;
    this.#delete(p);
    return p.parent;
  }

  #adopts(entry: ProcEntry): boolean {
    return entry.pid <= 1 || isReaperName(entry.name) || this.isNamespaceInit(entry);
  }

  /** pid 1 of its own pid namespace, as live /proc shows (a container's init); false offline. */
  isNamespaceInit(entry: ProcEntry): boolean {
    const ns = this.#nsOf(entry);
    return ns !== null && ns.length > 1 && ns.at(-1) === 1;
  }

  /** NSpid, read once per entry (a process never changes its own pid namespace). */
  #nsOf(entry: ProcEntry): number[] | null {
    if (entry.ns === undefined) entry.ns = this.#proc?.nsPids(entry.pid) ?? null;
    return entry.ns;
  }

  #add(p: Pending): void {
    let forks = this.#pending.get(p.container);
    if (forks === undefined) {
      forks = new Map();
      this.#pending.set(p.container, forks);
    }
    // A later fork of the same namespace pid is the process that has it now.
    const had = forks.get(p.nsPid);
    if (had !== undefined) this.#unpin(had);
    else this.#size++;
    forks.set(p.nsPid, p);
    p.parent.pendingForks = (p.parent.pendingForks ?? 0) + 1;
    const mine = this.#byParent.get(p.parent);
    if (mine === undefined) this.#byParent.set(p.parent, [p]);
    else mine.push(p);
    this.#queue.push(p);
    while (this.#head < this.#queue.length) {
      const old = this.#queue[this.#head]!;
      const live = this.#pending.get(old.container)?.get(old.nsPid) === old;
      if (live && this.#size <= this.#max && p.timeMs - old.timeMs <= this.#ttlMs) break;
      if (live) this.#delete(old);
      this.#queue[this.#head++] = undefined;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #delete(p: Pending): void {
    const forks = this.#pending.get(p.container);
    if (forks?.get(p.nsPid) !== p) return;
    forks.delete(p.nsPid);
    if (forks.size === 0) this.#pending.delete(p.container);
    this.#size--;
    this.#unpin(p);
  }

  /** The parent no longer waits for this fork's child (ProcEntry.pendingForks). */
  #unpin(p: Pending): void {
    p.parent.pendingForks = (p.parent.pendingForks ?? 1) - 1;
    const mine = this.#byParent.get(p.parent);
    if (mine === undefined) return;
    if ((p.parent.pendingForks ?? 0) <= 0) this.#byParent.delete(p.parent);
    else if (mine.length > 2 * p.parent.pendingForks + 8) {
      this.#byParent.set(
        p.parent,
        mine.filter((q) => this.#isLive(q)),
      );
    }
  }
}

/** Without /proc for the caller: in a container's cgroup, or (offline) below a runtime. */
function maybeContained(entry: ProcEntry): boolean {
  if (entry.containerId !== null) return true;
  for (let a = entry.parent, n = 0; a !== null && n < MAX_DEPTH; a = a.parent, n++) {
    if (isRuntimeName(a.name)) return true;
  }
  return false;
}
