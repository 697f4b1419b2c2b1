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
    if (name !== null) return name;
  }
  return comm || null;
}

export function isRuntimeName(name: string | null): boolean {
  return name !== null && (RUNTIMES.has(name) || name.startsWith('containerd-shim'));
}

export function isReaperName(name: string | null): boolean {
  return name !== null && (REAPERS.has(name) || name.startsWith('containerd-shim'));
}
