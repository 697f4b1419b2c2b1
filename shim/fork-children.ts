// Which host pid a fork/clone created. The syscall's exit= is the child's pid in the CALLER's pid
// namespace, while every other pid in the audit record is a host pid: for a caller inside a
// container (exit=36) it names some unrelated host process. So exit= is trusted only for callers in
// the host pid namespace (NSpid has one entry; the runtime that creates containers always is). A
// containerised caller's live children are matched on their innermost pid; a child already gone (a
// short-lived subshell) is never filed under a guess: it is left pending, and its own events name
// it by their ppid. Only a child re-parented before its first event needs the pending record: its
// NSpid then leads back to the fork. Pending forks are bounded by age and count.

import { isReaperName, isRuntimeName } from './process-names.ts';
import type { ProcEntry } from './process-table.ts';
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
}

const MAX_DEPTH = 32;

export class ForkChildren {
  readonly #proc: ProcSource | null;
  readonly #pending = new Map<string, Pending>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(options: ForkChildrenOptions) {
    this.#proc = options.proc;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#max = options.maxPending ?? 20_000;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** The host pid of the child `parent` forked (exit= `exitPid`), or null when it cannot be known
   *  now (then the fork is pending). */
  hostChild(parent: ProcEntry, exitPid: number, timeMs: number): number | null {
    const ns = this.#nsOf(parent);
    const hostCaller = ns !== null ? ns.length === 1 : isRuntimeName(parent.name) || !maybeContained(parent);
    if (hostCaller) return exitPid;
    const proc = this.#proc;
    if (ns !== null && proc !== null) {
      for (const kid of proc.children(parent.pid) ?? []) {
        if (proc.nsPids(kid)?.at(-1) === exitPid) return kid;
      }
    }
    this.#add(keyOf(parent.containerId, exitPid), { parent, timeMs });
    return null;
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
    if (this.#pending.size === 0 || proc === null) return null;
    if (byPpid !== null && !this.#adopts(byPpid)) return null;
    const ns = proc.nsPids(pid);
    if (ns === null || ns.length < 2) return null;
    const key = keyOf(containerOf(pid), ns.at(-1)!);
    const p = this.#pending.get(key);
    if (p === undefined) return null;
    this.#pending.delete(key);
    return p.parent;
  }

  #adopts(entry: ProcEntry): boolean {
    return entry.pid <= 1 || isReaperName(entry.name) || this.#nsOf(entry)?.at(-1) === 1;
  }

  /** NSpid, read once per entry (a process never changes its own pid namespace). */
  #nsOf(entry: ProcEntry): number[] | null {
    if (entry.ns === undefined) entry.ns = this.#proc?.nsPids(entry.pid) ?? null;
    return entry.ns;
  }

  #add(key: string, p: Pending): void {
    // Re-inserted so Map order stays arrival order, which expiry relies on.
    this.#pending.delete(key);
    this.#pending.set(key, p);
    for (const [k, old] of this.#pending) {
      if (this.#pending.size <= this.#max && p.timeMs - old.timeMs <= this.#ttlMs) break;
      this.#pending.delete(k);
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

function keyOf(containerId: string | null, nsPid: number): string {
  return `${containerId ?? ''}:${nsPid}`;
}
