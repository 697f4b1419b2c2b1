// A minimal client for the recorder's API, as the plugin speaks it: HTTPS JSON plus a v5
// channel WebSocket. Used by the server's integration tests.
import { request } from 'node:https';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { Channel, decodeFrame, encodeFrame, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import { exitCodeFromStatus } from '../../common/status.ts';
import type { SessionCreateResponse } from '../../common/wire.ts';

export interface Credentials {
  token?: string;
  cert?: string;
  key?: string;
}

export interface Target {
  url: string;
  caPem: string;
}

export interface JsonAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export function call<T = Record<string, unknown>>(
  rec: Target,
  creds: Credentials,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonAnswer<T>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, rec.url),
      {
        method,
        ca: rec.caPem,
        ...(creds.cert ? { cert: creds.cert, key: creds.key } : {}),
        headers: {
          ...(creds.token ? { Authorization: `Bearer ${creds.token}` } : {}),
          ...(payload ? { 'Content-Type': 'application/json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, text, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** POST /api/v1/sessions for a non-tty exec session, `true` in default/web unless `body` says
 *  otherwise: the session most tests need and do not care about. */
export function createExecSession<T = SessionCreateResponse>(
  rec: Target,
  creds: Credentials,
  body: Record<string, unknown> = {},
): Promise<JsonAnswer<T>> {
  return call<T>(rec, creds, 'POST', '/api/v1/sessions', {
    kind: 'exec',
    namespace: 'default',
    pod: 'web',
    command: ['true'],
    tty: false,
    stdin: false,
    ...body,
  });
}

/** A session of `creds`'s that runs until it is ended (a "tick" a second), once its first output
 *  reached them: its id, and its stream, which settles when the session ends. */
export async function runningSession(
  rec: Target,
  creds: Credentials,
): Promise<{ id: string; stream: Promise<StreamResult> }> {
  const created = await createExecSession(rec, creds, {
    command: ['sh', '-c', 'while :; do echo tick; sleep 1; done'],
  });
  expect(created.status).toBe(201);
  let ticked!: () => void;
  const started = new Promise<void>((r) => (ticked = r));
  const stream = runStream(rec, creds, created.body.streamPath, { onStdout: () => ticked() });
  await started;
  return { id: created.body.id, stream };
}

export interface StreamResult {
  stdout: string;
  stderr: string;
  statuses: string[];
  exitCode: number | null | undefined;
  closeCode: number;
  protocol: string;
}

export interface StreamOptions {
  /** Frames to send right after open (already encoded), e.g. stdin or resize. */
  send?: Buffer[];
  /** Called for every stdout chunk; return frames to send in reply. */
  onStdout?: (text: string, ws: WebSocket) => void;
  protocols?: string[];
}

/** Opens the session stream and collects everything until the server closes it. */
export function runStream(
  rec: Target,
  creds: Credentials,
  path: string,
  o: StreamOptions = {},
): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(new URL(path, rec.url.replace(/^http/, 'ws')), o.protocols ?? [SUBPROTOCOL_V5], {
      ca: rec.caPem,
      ...(creds.cert ? { cert: creds.cert, key: creds.key } : {}),
      headers: creds.token ? { Authorization: `Bearer ${creds.token}` } : {},
    });
    const out: StreamResult = {
      stdout: '',
      stderr: '',
      statuses: [],
      exitCode: undefined,
      closeCode: 0,
      protocol: '',
    };
    ws.on('open', () => {
      out.protocol = ws.protocol;
      for (const f of o.send ?? []) ws.send(f);
    });
    ws.on('message', (data: Buffer) => {
      const f = decodeFrame(data);
      if (!f) return;
      if (f.channel === Channel.stdout) {
        const text = f.payload.toString('utf8');
        out.stdout += text;
        o.onStdout?.(text, ws);
      } else if (f.channel === Channel.stderr) out.stderr += f.payload.toString('utf8');
      else if (f.channel === Channel.status) {
        out.statuses.push(f.payload.toString('utf8'));
        out.exitCode = exitCodeFromStatus(f.payload).code;
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), {
            status: res.statusCode,
            body: Buffer.concat(chunks).toString(),
          }),
        ),
      );
    });
    ws.on('error', reject);
    ws.on('close', (code) => {
      out.closeCode = code;
      resolve(out);
    });
  });
}

export function stdinFrame(text: string): Buffer {
  return encodeFrame(Channel.stdin, text);
}

export function closeStdinFrame(): Buffer {
  return encodeFrame(Channel.close, Buffer.from([Channel.stdin]));
}
