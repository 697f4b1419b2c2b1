// The attribution rules (docs/attribution.md), applied to process events in log order. A process's
// session is decided once, when the table first sees it: its own marker (`env AUDITED_EXEC_SESSION=<id> …`
// exec'd in the process the container runtime started), a debug pod's environment, an expected
// exec (inferred), or else its parent's session; live, an unlinked process's environment. It is
// never revisited, so a nohup'd child keeps its session after the shell exits and after it is
// re-parented.

import { markerInEnviron, markerOf } from '../common/session-marker.ts';
import type { AttributedExec, AttributionAlert } from '../common/wire.ts';
import type { Exec, ProcessEvent } from './exec-event.ts';
import { basename, isRuntimeName } from './process-names.ts';
import type { ProcEntry, ProcessTable } from './process-table.ts';
import type { ProcSource } from './procfs.ts';
import { RuntimeExecs } from './runtime-exec.ts';

export interface ExpectedExec {
  session: string;
  containerId: string;
  /** audit-time milliseconds */
  timeMs: number;
}

/** What attribution produces for each exec and alert, with the facts the shipper needs. */
export interface AttributedOutput {
  kind: 'exec' | 'alert';
  exec?: AttributedExec;
  alert?: AttributionAlert;
  containerId: string | null;
  event: Exec;
}

export interface AttributorOptions {
  table: ProcessTable;
  /** live /proc for debug-pod environments; null offline */
  proc?: ProcSource | null;
  emit: (output: AttributedOutput) => void;
  /** how far (audit time) an exec may be from an expectExec hint */
  inferWindowMs?: number;
}

export class Attributor {
  readonly #table: ProcessTable;
  readonly #proc: ProcSource | null;
  readonly #emit: (output: AttributedOutput) => void;
  readonly #windowMs: number;
  readonly #seenContainers = new Set<string>();
  readonly #runtimeExecs = new RuntimeExecs();
  #expected: ExpectedExec[] = [];

  constructor(options: AttributorOptions) {
    this.#table = options.table;
    this.#proc = options.proc ?? null;
    this.#emit = options.emit;
    this.#windowMs = options.inferWindowMs ?? 5000;
  }

  /** The server's hint that an exec without the env marker is about to start in a container. */
  expectExec(hint: ExpectedExec): void {
    this.#expected.push(hint);
  }

  handle(event: ProcessEvent): void {
    // A new entry has already taken its parent's session (ProcessTable); a fork needs nothing more.
    if (event.kind === 'fork') {
      this.#table.fork(event);
      return;
    }
    if (!event.success) return;
    const { entry, before = null } = this.#table.exec(event);
    // `runc init` and friends run in the container's cgroup, with the host's tty and environment:
    // they are never a session's root nor an unrecorded shell.
    const runtime = isRuntimeName(entry.name) || isRuntimeName(basename(event.exe));
    if (!runtime) this.#debugPod(entry);
    const declared = markerOf(event.argv);
    if (declared !== null) this.#declare(event, entry, declared, before);
    if (entry.session === null && !runtime) this.#infer(event, entry);
    if (entry.session === null && !runtime) this.#environMarker(entry);
    this.#emit({ kind: 'exec', exec: this.#wire(event, entry), containerId: entry.containerId, event });
    if (
      !runtime &&
      entry.session === null &&
      (entry.containerId !== null || underRuntime(entry)) &&
      event.tty?.startsWith('pts') &&
      !entry.ttyReported
    ) {
      entry.ttyReported = true;
      this.#alert(event, entry, 'unrecorded-tty');
    } else if (!runtime && !event.tty?.startsWith('pts')) {
      // A non-tty `runc exec` without a marker: kubectl exec around the recorder, or the pod's own
      // probe or hook (the recorder tells those apart by the pod spec).
      const unrecorded = this.#runtimeExecs.unrecorded(entry, this.#table.get(event.ppid));
      if (unrecorded) this.#alert(event, entry, 'unrecorded-exec', undefined, unrecorded.containerId);
    }
  }

  /** A marker counts only where the recorder can have put it: on the process the container runtime
   *  started (the recorder's exec, a debug pod's entry). Anywhere else it is a claim, and a claim to
   *  another session than the process's own is reported (marker-forged), never believed. */
  #declare(event: Exec, entry: ProcEntry, declared: string, before: string | null): void {
    if (this.#table.startedByRuntime(entry, before) === false) {
      if (entry.session !== declared) this.#alert(event, entry, 'marker-forged', declared);
    } else if (entry.session === null) {
      entry.session = declared;
      entry.attribution = 'marker';
      delete entry.reason;
    } else if (entry.session !== declared) {
      this.#alert(event, entry, 'marker-conflict', declared);
    }
  }

  /** Debug-node pods carry the marker in the container environment: read it once per container,
   *  from the first of its processes the shim sees (normally its main process). */
  #debugPod(entry: ProcEntry): void {
    const id = entry.containerId;
    if (id === null || this.#seenContainers.has(id)) return;
    // `runc init` is already in the container's cgroup before it execs the container's process, with
    // the runtime's environment: reading it would use up the one look for that container (the
    // caller skips runtime processes).
    this.#seenContainers.add(id);
    if (entry.session !== null || this.#proc === null) return;
    const session = markerInEnviron(this.#proc.environ(entry.pid) ?? []);
    if (session !== null) {
      entry.session = session;
      entry.attribution = 'marker';
    }
  }

  /** Live: a container process the log links to no session, whose environment still carries a
   *  session's marker (its lineage was lost: re-parented before the log showed its fork, or the
   *  rules log no forks). The environment is the process's own claim, so it is inferred. */
  #environMarker(entry: ProcEntry): void {
    // Only where the log lost the lineage: where it shows one, that is the answer (a workload's
    // own environment claiming a session is no evidence).
    if (this.#proc === null || entry.containerId === null || !lineageLost(entry)) return;
    const session = markerInEnviron(this.#proc.environ(entry.pid) ?? []);
    if (session === null) return;
    entry.session = session;
    entry.attribution = 'inferred';
    entry.reason = 'environ-marker';
  }

  #infer(event: Exec, entry: ProcEntry): void {
    if (entry.containerId === null || this.#expected.length === 0) return;
    // Drop hints no exec can match any more (the log is past their window).
    this.#expected = this.#expected.filter((h) => event.timeMs - h.timeMs <= this.#windowMs);
    if (!this.#table.parentIsRuntime(entry)) return;
    const i = this.#expected.findIndex(
      (h) => h.containerId === entry.containerId && Math.abs(event.timeMs - h.timeMs) <= this.#windowMs,
    );
    if (i < 0) return;
    entry.session = this.#expected[i]!.session;
    entry.attribution = 'inferred';
    this.#expected.splice(i, 1);
  }

  #alert(
    event: Exec,
    entry: ProcEntry,
    kind: AttributionAlert['alert'],
    declared?: string,
    containerId = entry.containerId,
  ): void {
    const alert: AttributionAlert = {
      alert: kind,
      session: entry.session,
      ...(declared !== undefined ? { declared } : {}),
      pid: event.pid,
      ppid: event.ppid,
      argv: event.argv,
      time: isoTime(event.timeMs),
      auditId: event.auditId,
      tty: event.tty,
      containerId,
    };
    this.#emit({ kind: 'alert', alert, containerId, event });
  }

  #wire(event: Exec, entry: ProcEntry): AttributedExec {
    const exec: AttributedExec = {
      session: entry.session,
      attribution: entry.attribution,
      argv: event.argv,
      pid: event.pid,
      ppid: event.ppid,
      time: isoTime(event.timeMs),
      auditId: event.auditId,
      tty: event.tty,
      cwd: event.cwd,
      exe: event.exe,
      uid: event.uid,
    };
    // Set after the literal, and only when there is one: a spread inside it costs every exec.
    if (entry.attribution === 'inferred' && entry.reason) exec.reason = entry.reason;
    return exec;
  }
}

// The last second formatted: execs come in bursts within one second, and Date's formatting was a
// tenth of the offline tool's time. Module state, but a pure function all the same.
let lastSecond = Number.NaN;
let lastPrefix = '';

/** new Date(ms).toISOString(), e.g. 2026-12-03T15:04:05.123Z. */
export function isoTime(ms: number): string {
  if (!Number.isInteger(ms)) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Years before 0 or after 9999 are written with 6 digits and a sign: not cached.
    if (iso.length !== 24) return new Date(ms).toISOString();
    lastSecond = second;
    lastPrefix = iso.slice(0, 20);
  }
  const milli = ms - second * 1000;
  return `${lastPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

/**
 * A process the runtime (runc exec, containerd-shim) started is a container process even when it
 * was gone before its cgroup could be read: a quick `kubectl exec -it … -- sh -c …` around the
 * recorder must still raise unrecorded-tty when the shim lags behind the log.
 */
function underRuntime(entry: ProcEntry): boolean {
  for (let a = entry.parent, n = 0; a !== null && n < 64; a = a.parent, n++) {
    if (isRuntimeName(a.name)) return true;
  }
  return false;
}

/** The log does not link this process, or an ancestor below the runtime that started them, to
 *  whatever made it. */
function lineageLost(entry: ProcEntry): boolean {
  for (let a: ProcEntry | null = entry, n = 0; a !== null && n < 64; a = a.parent, n++) {
    if (isRuntimeName(a.name)) return false;
    if (a.unlinked || a.parent === null) return true;
  }
  return false;
}
