// Which processes a container runtime started in an already running container (`runc exec`,
// `crun exec`: kubectl exec, exec probes, lifecycle hooks), told apart from a container's own start
// (`runc run`/`create`), from nothing but the audit log: the runtime's argv names its verb and the
// container, and the exec'd process's execve names the runtime as its parent (runc clones the
// process that execs the command with CLONE_PARENT, so its ppid is the `runc exec` process itself).
// A process exec'd that way without a session is unrecorded activity (`unrecorded-exec`), reported
// once per process; what is a declared probe or hook is decided by the recorder, which has the pod spec.

import type { ProcEntry } from './process-table.ts';

const VERBS = new Set(['exec', 'run', 'create', 'start', 'init', 'kill', 'delete', 'state', 'ps', 'list']);
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** For a runtime's argv: null unless it is an exec into a container; else the container id it names
 *  (a 64-hex operand after the verb, as containerd, CRI-O and the sandbox pass it), or '' when none. */
export function runtimeExecTarget(argv: readonly string[]): string | null {
  const verb = argv.findIndex((a, i) => i > 0 && VERBS.has(a));
  if (verb < 0 || argv[verb] !== 'exec') return null;
  return argv.slice(verb + 1).find((a) => CONTAINER_ID.test(a)) ?? '';
}

export class RuntimeExecs {
  /** `runc exec` processes → the container they exec into ('' when their argv does not say) */
  readonly #execs = new WeakMap<ProcEntry, string>();
  readonly #reported = new WeakSet<ProcEntry>();

  /** A runtime process exec'd with this argv. */
  runtime(entry: ProcEntry, argv: readonly string[]): void {
    const target = runtimeExecTarget(argv);
    if (target === null) this.#execs.delete(entry);
    else this.#execs.set(entry, target);
  }

  /**
   * For an exec with no session whose parent (the event's ppid, `parent`) is a runtime exec: the
   * container to report it in, once per process (a shell exec'ing its last command in place is the
   * same process). Null when it is not to be reported.
   */
  unrecorded(entry: ProcEntry, parent: ProcEntry | undefined): { containerId: string | null } | null {
    if (entry.session !== null || parent === undefined || this.#reported.has(entry)) return null;
    const target = this.#execs.get(parent);
    if (target === undefined) return null;
    this.#reported.add(entry);
    return { containerId: entry.containerId ?? (target || null) };
  }
}
