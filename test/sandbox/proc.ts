// One running process as the exec/attach stream sees it, over node-pty (tty) or pipes. The runtimes
// hand these out; exec-stream.ts only knows this interface.
import { spawn as spawnChild } from 'node:child_process';
import { spawn as spawnPty } from 'node-pty';
import type { TerminalSize } from '../../common/channel.ts';

export type OutputStream = 'stdout' | 'stderr';

export interface Proc {
  readonly pid: number;
  readonly tty: boolean;
  write(data: Buffer): void;
  /** stdin reached EOF (v5 close frame for channel 0, or the client went away) */
  endStdin(): void;
  resize(size: TerminalSize): void;
  /**
   * Subscribes to output; returns the unsubscribe function. `fromStart` (a container's log) also
   * gets what a main process (holdEarlyOutput) printed before that subscription.
   */
  onOutput(cb: (stream: OutputStream, data: Buffer) => void, opts?: { fromStart?: boolean }): () => void;
  /**
   * Stops (and restarts) reading the process's output: a stream whose client reads slowly holds
   * the process back, as the kubelet does (the container blocks on a full pipe), instead of
   * buffering without bound.
   */
  pauseOutput(): void;
  resumeOutput(): void;
  /** Resolves with the exit code once all output has been delivered (128+n for signal n). */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnOptions {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  tty: boolean;
  size?: TerminalSize;
  /** A container's main process: keep its first output for the log collector (onOutput fromStart). */
  holdEarlyOutput?: boolean;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/**
 * Output subscribers. A main process holds what it prints until its log collector subscribes
 * (fromStart), as the kubelet captures a container's output from its first byte even though the
 * collector starts after the process; attach streams and everything else see only new output.
 */
class Listeners {
  readonly #set = new Set<(stream: OutputStream, data: Buffer) => void>();
  #early: [OutputStream, Buffer][] | null;
  #earlyBytes = 0;
  constructor(holdEarly = false) {
    this.#early = holdEarly ? [] : null;
  }
  add(cb: (stream: OutputStream, data: Buffer) => void, opts: { fromStart?: boolean } = {}): () => void {
    this.#set.add(cb);
    if (opts.fromStart) {
      const early = this.#early;
      this.#early = null;
      for (const [stream, data] of early ?? []) cb(stream, data);
    }
    return () => this.#set.delete(cb);
  }
  emit(stream: OutputStream, data: Buffer): void {
    if (this.#early) {
      this.#early.push([stream, data]);
      this.#earlyBytes += data.length;
      // Bounded: a collector that never comes must not hold a chatty process's output forever.
      if (this.#earlyBytes > 1 << 20) this.#early = null;
    }
    for (const cb of this.#set) cb(stream, data);
  }
}

export function spawnProc(opts: SpawnOptions): Proc {
  return opts.tty ? spawnTty(opts) : spawnPipes(opts);
}

function spawnTty(opts: SpawnOptions): Proc {
  const listeners = new Listeners(opts.holdEarlyOutput);
  const pty = spawnPty(opts.file, opts.args, {
    name: 'xterm',
    cols: opts.size?.width || 80,
    rows: opts.size?.height || 24,
    cwd: opts.cwd ?? '/',
    env: opts.env,
    encoding: null,
  });
  pty.onData((d: string | Buffer) => listeners.emit('stdout', typeof d === 'string' ? Buffer.from(d) : d));
  const exited = new Promise<number>((resolve) => {
    pty.onExit(({ exitCode, signal }) => resolve(signal ? 128 + signal : exitCode));
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    pid: pty.pid,
    tty: true,
    write: (data) => {
      if (!done) pty.write(data as unknown as string);
    },
    // A terminal has no half-close: EOF is ^D at the start of a line, as a user would type it.
    endStdin: () => {
      if (!done) pty.write('\x04');
    },
    resize: (size) => {
      if (!done && size.width > 0 && size.height > 0) pty.resize(size.width, size.height);
    },
    onOutput: (cb, o) => listeners.add(cb, o),
    pauseOutput: () => pty.pause(),
    resumeOutput: () => pty.resume(),
    exited,
    kill: (signal = 'SIGKILL') => {
      if (!done) pty.kill(signal);
    },
  };
}

function spawnPipes(opts: SpawnOptions): Proc {
  const listeners = new Listeners(opts.holdEarlyOutput);
  const child = spawnChild(opts.file, opts.args, {
    cwd: opts.cwd ?? '/',
    env: opts.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => listeners.emit('stdout', d));
  child.stderr.on('data', (d: Buffer) => listeners.emit('stderr', d));
  child.stdin.on('error', () => {}); // EPIPE when the process exits before reading
  const exited = new Promise<number>((resolve) => {
    // 'close' fires after stdout/stderr ended, so every byte is out before the status.
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? (SIGNALS[signal] ?? 1) : 1)));
    child.on('error', () => resolve(127));
  });
  return {
    pid: child.pid ?? -1,
    tty: false,
    write: (data) => {
      if (child.stdin.writable) child.stdin.write(data);
    },
    endStdin: () => child.stdin.end(),
    resize: () => {},
    onOutput: (cb, o) => listeners.add(cb, o),
    pauseOutput: () => {
      child.stdout.pause();
      child.stderr.pause();
    },
    resumeOutput: () => {
      child.stdout.resume();
      child.stderr.resume();
    },
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
