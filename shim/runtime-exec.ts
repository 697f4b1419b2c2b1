// Which processes a container runtime started in an already running container (`runc exec`,
// `crun exec`: kubectl exec, exec probes, lifecycle hooks), told apart from a container's own start
// (`runc run`/`create`), from nothing but the audit log: the runtime's argv names its verb and the
// container (runtime-argv.ts), and the exec'd process's execve names the runtime as its parent (runc clones the
// process that execs the command with CLONE_PARENT, so its ppid is the `runc exec` process itself).
// A process exec'd that way without a session is unrecorded activity (`unrecorded-exec`), reported
// once per process; what is a declared probe or hook is decided by the recorder, which has the pod spec.

import type { ProcEntry } from './process-entry.ts';

export class RuntimeExecs {
  readonly #reported = new WeakSet<ProcEntry>();

  /**
   * For an exec with no session whose parent (the event's ppid, `parent`) is a runtime's exec call
   * (ProcEntry.launches, read from its argv by the process table): the container to report it in,
   * once per process (a shell exec'ing its last command in place is the same process). Null when
   * it is not to be reported.
   */
  unrecorded(entry: ProcEntry, parent: ProcEntry | undefined): { containerId: string | null } | null {
    if (entry.session !== null || this.#reported.has(entry)) return null;
    const launch = parent?.launches;
    if (launch === undefined || launch.init) return null;
    this.#reported.add(entry);
    return { containerId: entry.containerId ?? launch.container };
  }
}
