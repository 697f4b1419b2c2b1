// The container a runtime process starts or enters, read from its own argv as the audit log shows
// it: `runc [global flags] exec|run|create [flags] <id> [command…]` (crun alike). containerd runs
// `runc … exec --process FILE --detach --pid-file FILE <id>`; the sandbox `runc --root R exec <id> CMD`.
// Offline, this is how the log itself says which processes share a container: /proc's cgroup is
// gone, but every container process descends from the runtime call that made or entered it.

import { basename } from './process-names.ts';

const RUNTIMES = new Set(['runc', 'crun']);
const SUBCOMMANDS = new Set(['exec', 'run', 'create']);
const CONTAINER_ID = /^[0-9a-f]{64}$/;
/** flags that take a value (the next argument unless written --flag=value) */
const GLOBAL_VALUE_FLAGS = new Set(['--root', '--log', '--log-format', '--criu', '--rootless']);
const SUB_VALUE_FLAGS = new Set([
  '--bundle',
  '-b',
  '--console-socket',
  '--pid-file',
  '--preserve-fds',
  '--pidfd-socket',
  '--cwd',
  '--env',
  '-e',
  '--process',
  '-p',
  '--process-label',
  '--apparmor',
  '--user',
  '-u',
  '--additional-gids',
  '-g',
  '--cap',
  '-c',
  '--cgroup',
]);

export interface Launch {
  /** the 64-hex container id (null: the call names it otherwise, e.g. a short id) */
  container: string | null;
  /** run/create: the call makes the container's init; exec enters a running container */
  init: boolean;
}

/** What a runtime's exec/run/create call starts, or null for any other argv (init, kill, list…). */
export function containerLaunchedBy(argv: readonly string[]): Launch | null {
  if (!RUNTIMES.has(basename(argv[0]) ?? '')) return null;
  let i = skipFlags(argv, 1, GLOBAL_VALUE_FLAGS);
  const sub = argv[i] ?? '';
  if (!SUBCOMMANDS.has(sub)) return null;
  i = skipFlags(argv, i + 1, SUB_VALUE_FLAGS);
  const id = argv[i];
  if (id === undefined) return null;
  return { container: CONTAINER_ID.test(id) ? id : null, init: sub !== 'exec' };
}

function skipFlags(argv: readonly string[], from: number, valued: ReadonlySet<string>): number {
  let i = from;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const arg = argv[i]!;
    i += valued.has(arg) ? 2 : 1;
  }
  return i;
}
