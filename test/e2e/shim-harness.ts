// What the shim end-to-end suites share: the real shim daemon as a child process, recorded tty
// sessions driven over the recorder's API, and polling an API until a result is there.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { Channel, decodeFrame, encodeFrame, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import type { SessionCreateResponse, SessionEventList } from '../../common/wire.ts';
import { type Credentials, call } from '../server/client.ts';

const ROOT = resolve(import.meta.dirname, '../..');
export const AUDIT_LOG = '/var/log/audit/audit.log';
export type StoredEvent = SessionEventList['items'][number];

export interface ShimChild {
  stderr(): string;
  /** Resolves when stderr has a line matching `re` written after `from` chars (default: any). */
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<void>;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<unknown>;
}

export function spawnShim(o: {
  url: string;
  caFile: string;
  tokenFile: string;
  node: string;
  stateDir: string;
}): ShimChild {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      'shim/main.ts',
      'run',
      `--server=${o.url}`,
      `--token-file=${o.tokenFile}`,
      `--node=${o.node}`,
      `--audit-log=${AUDIT_LOG}`,
      `--state-dir=${o.stateDir}`,
      `--ca-file=${o.caFile}`,
      '--max-backoff=1000',
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  const listeners = new Set<() => void>();
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    stderr: () => err,
    waitFor(re, timeoutMs = 20_000, from = 0) {
      return new Promise((resolveWait, reject) => {
        const check = () => {
          if (re.test(err.slice(from))) {
            listeners.delete(check);
            clearTimeout(timer);
            resolveWait();
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`shim did not log ${re} in ${timeoutMs} ms:\n${err.slice(-3000)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    kill: (signal) => void child.kill(signal),
    exited,
  };
}

export function writeFiles(dir: string, files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    out[name] = join(dir, name);
    writeFileSync(out[name], text);
  }
  return out;
}

interface Target {
  url: string;
  caPem: string;
}

export interface TtySession {
  id: string;
  /** Types text into the session's terminal. */
  type(text: string): void;
  /** Resolves once the terminal showed `text` (typed input echoes, so compute it: $((1+1))). */
  waitOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the close code once the recorder ended the stream. */
  closed: Promise<number>;
}

/** A recorded interactive session (`bash`, tty) in default/web, as the plugin would open it. */
export async function openTtySession(rec: Target, creds: Credentials, pod = 'web'): Promise<TtySession> {
  const created = await call<SessionCreateResponse>(rec, creds, 'POST', '/api/v1/sessions', {
    kind: 'exec',
    namespace: 'default',
    pod,
    command: ['bash'],
    tty: true,
    stdin: true,
  });
  if (created.status !== 201) throw new Error(`session refused: ${created.text}`);
  const ws = new WebSocket(
    new URL(created.body.streamPath, rec.url.replace(/^http/, 'ws')),
    [SUBPROTOCOL_V5],
    {
      ca: rec.caPem,
      headers: { Authorization: `Bearer ${creds.token}` },
    },
  );
  let output = '';
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    const f = decodeFrame(data);
    if (f?.channel === Channel.stdout || f?.channel === Channel.stderr) {
      output += f.payload.toString('utf8');
      for (const w of waiters) w();
    }
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise<void>((r, reject) => {
    ws.once('open', () => r());
    ws.once('error', reject);
  });
  return {
    id: created.body.id,
    type: (text) => ws.send(encodeFrame(Channel.stdin, text)),
    waitOutput(text, timeoutMs = 20_000) {
      return new Promise((r, reject) => {
        const check = () => {
          if (!output.includes(text)) return;
          waiters.delete(check);
          clearTimeout(timer);
          r();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`session never showed ${JSON.stringify(text)}; output so far:\n${output}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closed,
  };
}

/** Asks `get` again until `done` holds of its answer or the deadline passes (eventual consistency:
 *  the shim ships what auditd wrote; nothing to await but the API itself). */
export async function pollUntil<T>(
  get: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await get();
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last answer: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await get();
  }
  return last;
}

/** Every event of the session, following `continue` across pages. */
export async function sessionEvents(rec: Target, creds: Credentials, id: string): Promise<StoredEvent[]> {
  const items: StoredEvent[] = [];
  let next: string | undefined;
  do {
    const query = `limit=5000${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
    const r = await call<SessionEventList>(rec, creds, 'GET', `/api/v1/sessions/${id}/events?${query}`);
    if (r.status !== 200) throw new Error(`GET events: ${r.status} ${r.text}`);
    items.push(...r.body.items);
    next = r.body.continue;
  } while (next);
  return items;
}

export const argv0 = (e: StoredEvent): string | undefined => e.exec?.argv[0]?.split('/').at(-1);
