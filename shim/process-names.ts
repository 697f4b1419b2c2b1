// Names of the processes that decide how the table reads a lineage: container runtimes (never a
// session's root, never an unrecorded shell) and reapers (they adopt orphans, so a child naming one
// as its parent may have been re-parented rather than reused).

const REAPERS = new Set(['init', 'systemd', 'tini', 'dumb-init', 'catatonit', 'conmon', 'runc', 'crun']);
const RUNTIMES = new Set(['runc', 'crun', 'conmon', 'runc:[2:INIT]', 'runc:[1:CHILD]']);

export function basename(path: string | null | undefined): string | null {
  if (!path) return null;
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

export function isRuntimeName(name: string | null): boolean {
  return name !== null && (RUNTIMES.has(name) || name.startsWith('containerd-shim'));
}

export function isReaperName(name: string | null): boolean {
  return name !== null && (REAPERS.has(name) || name.startsWith('containerd-shim'));
}
