// Helpers for the sandbox's own tests (and usable by others): real kubectl, raw HTTPS requests with
// repeated headers, a raw v5 exec client, and a node-pty driven terminal.
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { dirname, join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { WebSocket } from 'ws';
import { Channel, decodeFrame, encodeFrame, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import { KUBECTL } from '../support/prereq.ts';
import type { Sandbox } from './index.ts';

/** Parsed JSON answers: the tests read them field by field. */
// biome-ignore lint/suspicious/noExplicitAny: test-only convenience for JSON bodies
export type Json = any;

// kubectl keeps a discovery cache under $HOME: one per sandbox (beside its kubeconfigs, removed by
// stop()) avoids stale answers from another sandbox on a reused port.
function kubectlHome(kubeconfig: string): string {
  return join(dirname(kubeconfig), 'kubectl-home');
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(kubeconfig: string, args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      args,
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: kubectlHome(kubeconfig),
          KUBECONFIG: kubeconfig,
        },
        timeout: timeoutMs,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface Credentials {
  token?: string;
  cert?: { cert: string; key: string };
}

/** One HTTPS request; headers as [name, value] pairs so names may repeat (Impersonate-Group). */
export function apiRequest(
  sb: Sandbox,
  opts: { method?: string; path: string; creds?: Credentials; headers?: [string, string][]; body?: unknown },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Json }> {
  const url = new URL(opts.path, sb.url);
  // Raw header arrays get no automatic Host header.
  const headers: string[] = ['Host', url.host];
  if (opts.creds?.token) headers.push('Authorization', `Bearer ${opts.creds.token}`);
  for (const [k, v] of opts.headers ?? []) headers.push(k, v);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (body) headers.push('Content-Type', 'application/json');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        ca: sb.caPem,
        headers,
        ...(opts.creds?.cert ? { cert: opts.creds.cert.cert, key: opts.creds.cert.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  status: Json;
  upgradeStatus?: number;
  upgradeBody?: Json;
}

/** A raw v5.channel.k8s.io exec/attach client with arbitrary headers (impersonation, Audit-ID). */
export function rawExec(
  sb: Sandbox,
  path: string,
  opts: { token: string; headers?: Record<string, string | string[]>; stdin?: string },
): Promise<ExecResult> {
  const url = new URL(path, sb.url.replace(/^https/, 'wss'));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [SUBPROTOCOL_V5], {
      ca: sb.caPem,
      headers: { Authorization: `Bearer ${opts.token}`, ...(opts.headers ?? {}) },
    });
    const out: ExecResult = { stdout: '', stderr: '', status: null };
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        out.upgradeStatus = res.statusCode;
        out.upgradeBody = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        resolve(out);
      });
    });
    ws.on('open', () => {
      if (opts.stdin !== undefined) {
        ws.send(encodeFrame(Channel.stdin, opts.stdin));
        ws.send(Buffer.from([Channel.close, Channel.stdin]));
      }
    });
    ws.on('message', (data: Buffer) => {
      const f = decodeFrame(data);
      if (!f) return;
      if (f.channel === Channel.stdout) out.stdout += f.payload.toString();
      else if (f.channel === Channel.stderr) out.stderr += f.payload.toString();
      else if (f.channel === Channel.status) out.status = JSON.parse(f.payload.toString());
    });
    ws.on('close', () => resolve(out));
    ws.on('error', (err) => {
      if (out.upgradeStatus === undefined) reject(err);
    });
  });
}

/** A program under a real pseudo-terminal, with awaitable output. */
export class Terminal {
  readonly #pty;
  output = '';
  readonly exited: Promise<number>;
  #waiters: { re: RegExp; from: number; resolve: () => void }[] = [];

  constructor(file: string, args: string[], env: Record<string, string>, size = { cols: 80, rows: 24 }) {
    this.#pty = spawnPty(file, args, { name: 'xterm', cols: size.cols, rows: size.rows, env, cwd: '/' });
    this.#pty.onData((d) => {
      this.output += d;
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.re.test(this.output.slice(w.from))) return true;
        w.resolve();
        return false;
      });
    });
    this.exited = new Promise((resolve) => this.#pty.onExit(({ exitCode }) => resolve(exitCode)));
  }

  /** Resolves when output written after offset `from` matches. */
  waitFor(re: RegExp, from = 0, timeoutMs = 15_000): Promise<void> {
    if (re.test(this.output.slice(from))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${re} in terminal output: ${JSON.stringify(this.output.slice(-500))}`,
            ),
          ),
        timeoutMs,
      );
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push({ re, from, resolve: done });
    });
  }

  write(s: string): void {
    this.#pty.write(s);
  }

  resize(cols: number, rows: number): void {
    this.#pty.resize(cols, rows);
  }

  kill(): void {
    try {
      this.#pty.kill('SIGKILL');
    } catch {}
  }
}

export function kubectlTerminal(kubeconfig: string, args: string[]): Terminal {
  return new Terminal(KUBECTL, args, {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: kubectlHome(kubeconfig),
    KUBECONFIG: kubeconfig,
    TERM: 'xterm',
  });
}
