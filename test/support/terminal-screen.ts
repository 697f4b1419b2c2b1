// Screens for terminal tests: what a user saw (a headless xterm fed from a pty) against what a
// recording replays to, and small runners for programs as a user starts them.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import xterm from '@xterm/headless';
import { spawn as spawnPty } from 'node-pty';
import { type Asciicast, parseResizeData } from '../../common/asciicast.ts';

export const { Terminal } = xterm;
export type HeadlessTerminal = InstanceType<typeof Terminal>;

export interface ScreenSession {
  /** everything the program wrote so far */
  seen(): string;
  write(text: string): void;
  /** Resolves when `re` matches the output after offset `from`; the deadline only makes a hang readable. */
  waitFor(re: RegExp, from?: number): Promise<void>;
  /** Types `text` and waits for `expect` in the output that follows. */
  type(text: string, expect: RegExp): Promise<void>;
  /** Resizes the pty and the user's screen together. */
  resize(cols: number, rows: number): void;
  exited: Promise<number>;
  /** SIGKILL unless it has exited. */
  kill(): void;
  /** The user's screen once every byte has been drawn. */
  screen(): Promise<HeadlessTerminal>;
}

/** A program under a pty, its output drawn on a headless xterm: the user's screen. */
export function spawnScreen(
  cmd: string,
  args: string[],
  opts: { cols: number; rows: number; env: NodeJS.ProcessEnv; deadlineMs?: number },
): ScreenSession {
  const client = new Terminal({ cols: opts.cols, rows: opts.rows, allowProposedApi: true });
  const p = spawnPty(cmd, args, {
    name: 'xterm-256color',
    cols: opts.cols,
    rows: opts.rows,
    env: opts.env as Record<string, string>,
  });
  let seen = '';
  let ended = false;
  const waiters: Array<{ re: RegExp; from: number; resolve: () => void }> = [];
  const drawn: Promise<void>[] = [];
  p.onData((d) => {
    seen += d;
    drawn.push(new Promise((r) => client.write(d, r)));
    for (const w of [...waiters]) {
      if (w.re.test(seen.slice(w.from))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const exited = new Promise<number>((r) =>
    p.onExit(({ exitCode }) => {
      ended = true;
      r(exitCode);
    }),
  );
  const waitFor = (re: RegExp, from = 0) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(seen.slice(from))) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`no ${re} in ${JSON.stringify(seen.slice(from))}`)),
        opts.deadlineMs ?? 15_000,
      );
      waiters.push({
        re,
        from,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  return {
    seen: () => seen,
    write: (text) => p.write(text),
    waitFor,
    async type(text, expect) {
      const from = seen.length;
      p.write(text);
      await waitFor(expect, from);
    },
    resize(cols, rows) {
      p.resize(cols, rows);
      client.resize(cols, rows);
    },
    exited,
    kill() {
      if (!ended) p.kill('SIGKILL');
    },
    async screen() {
      await Promise.all(drawn);
      return client;
    },
  };
}

/** The recording's output, resizes applied, in a fresh headless terminal. */
export async function replay(cast: Asciicast): Promise<HeadlessTerminal> {
  const t = new Terminal({ cols: cast.header.width, rows: cast.header.height, allowProposedApi: true });
  for (const e of cast.events) {
    if (e.code === 'o') await new Promise<void>((r) => t.write(e.data, r));
    else if (e.code === 'r') {
      const size = parseResizeData(e.data);
      if (size) t.resize(size.width, size.height);
    }
  }
  return t;
}

/** Every line of the buffer (scrollback included), trailing blanks dropped. */
export function screen(t: HeadlessTerminal): string[] {
  const b = t.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
  while (lines.length && lines.at(-1) === '') lines.pop();
  return lines;
}

/** asciinema 2.2 opens /dev/tty even for `cat`, so it runs under a pty of its own. */
export function runInPty(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const p = spawnPty(cmd, args, {
      cols: 100,
      rows: 30,
      env: { ...process.env, HOME: tmpdir() } as Record<string, string>,
    });
    let output = '';
    p.onData((d) => {
      output += d;
    });
    p.onExit(({ exitCode }) => resolve({ code: exitCode, output }));
  });
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with pipes, feeds `input` to its stdin, and collects both streams. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
