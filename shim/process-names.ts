// Names of the processes that decide how the table reads a lineage: container runtimes (never a
// session's root, never an unrecorded shell) and reapers (they adopt orphans, so a child naming one
// as its parent may have been re-parented rather than reused).

const REAPERS = new Set(['init', 'systemd', 'tini', 'dumb-init', 'catatonit', 'conmon', 'runc', 'crun']);
// runc's own stages re-exec from a memfd and rename themselves: runc:[0:PARENT] → [1:CHILD] → [2:INIT].
const RUNTIMES = new Set(['runc', 'crun', 'conmon', 'runc:[0:PARENT]', 'runc:[1:CHILD]', 'runc:[2:INIT]']);

export function basename(path: string | null | undefined): string | null {
  if (!path) return null;
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1) || null;
}

/** A process's name: the base name of the first path that names anything (`exe="/"` of runc's
 *  stages, re-executed from a memfd, or an empty argv[0] names nothing), else its comm as is. */
export function processName(paths: (string | null | undefined)[], comm: string | null): string | null {
  for (const p of paths) {
    const name = basename(p);
    if (name !== null) return interned(name);
  }
  return comm ? interned(comm) : null;
}

// The process table keeps a name per process, 200,000 of them offline, from a few hundred programs:
// one string per program, never a slice that keeps its whole audit line alive.
const NAMES = new Map<string, string>();
const MAX_NAMES = 8192;

function interned(name: string): string {
  const known = NAMES.get(name);
  if (known !== undefined) return known;
  if (NAMES.size >= MAX_NAMES) return name;
  // A flat copy of its own (a slice would keep the audit line it came from); JSON keeps even a
  // lone surrogate as it was.
  const copy = JSON.parse(JSON.stringify(name)) as string;
  NAMES.set(copy, copy);
  return copy;
}

export function isRuntimeName(name: string | null): boolean {
  return name !== null && (RUNTIMES.has(name) || name.startsWith('containerd-shim'));
}

export function isReaperName(name: string | null): boolean {
  return name !== null && (REAPERS.has(name) || name.startsWith('containerd-shim'));
}
