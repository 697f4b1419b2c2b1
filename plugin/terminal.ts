// The local terminal during `-it`: raw mode in, window size out, and a restore that runs on every
// exit path (normal end, error, signal, process exit) exactly once.
import { spawnSync } from 'node:child_process';
import type { TerminalSize } from '../common/channel.ts';
import type { CliContext } from './cli.ts';
import type { ResizeSource } from './stream.ts';

export const NOT_A_TTY_WARNING = 'Unable to use a TTY - input is not a terminal or the right kind of file';

export interface LocalTerminal extends ResizeSource {
  /** Idempotent; safe to call from an exit handler. */
  restore(): void;
}

/** kubectl's rule: a TTY only with -i -t and a terminal on stdin. */
export function wantsTty(
  flags: { stdin: boolean; tty: boolean },
  stdinIsTty: boolean,
): {
  tty: boolean;
  warn: boolean;
} {
  if (!flags.stdin || !flags.tty) return { tty: false, warn: false };
  return stdinIsTty ? { tty: true, warn: false } : { tty: false, warn: true };
}

/**
 * libuv's raw mode keeps ONLCR, so a remote "\n" meant as cursor-down (full-screen programs) would
 * gain a "\r". kubectl's raw mode (cfmakeraw) turns output processing off; we do the same with
 * stty on our own stdin. setRawMode(false) restores the saved termios, OPOST included.
 */
function keepOutputRaw(stdin: CliContext['stdin']): void {
  if ((stdin as { fd?: number }).fd !== 0) return;
  spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

export function enterRawTerminal(ctx: Pick<CliContext, 'stdin' | 'stdout'>): LocalTerminal {
  const { stdin, stdout } = ctx;
  let restored = false;
  stdin.setRawMode?.(true);
  keepOutputRaw(stdin);
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    stdin.setRawMode?.(false);
  };
  // Last resort: whatever else happens, the user gets a cooked terminal back.
  process.once('exit', restore);
  const size = (): TerminalSize => ({ width: stdout.columns || 80, height: stdout.rows || 24 });
  return {
    restore,
    size,
    onResize(listener) {
      // Node emits 'resize' on a TTY stdout when SIGWINCH arrives, after refreshing columns/rows.
      const onResize = () => listener(size());
      stdout.on('resize', onResize);
      return () => stdout.off('resize', onResize);
    },
  };
}
