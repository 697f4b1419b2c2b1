// A recorded session as the fault tests drive it: open (POST + stream), write frames, wait for
// output, see how it ended. Shared by test/fault/*.test.ts.
import WebSocket from 'ws';
import { Channel, decodeFrame, encodeFrame, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import type { SessionCreateResponse, SessionRecord } from '../../common/wire.ts';
import { type Credentials, call, type Target } from '../server/client.ts';

export interface FaultSession {
  id: string;
  ws: WebSocket;
  output(): string;
  statuses(): string[];
  /** Resolves once stdout/stderr so far contains `text`. */
  waitOutput(text: string, timeoutMs?: number): Promise<void>;
  type(text: string): void;
  closed: Promise<{ code: number; reason: string }>;
}

export async function openSession(
  rec: Target,
  creds: Credentials,
  body: { command: string[]; tty?: boolean; stdin?: boolean; pod?: string },
): Promise<FaultSession> {
  const created = await call<SessionCreateResponse>(rec, creds, 'POST', '/api/v1/sessions', {
    kind: 'exec',
    namespace: 'default',
    pod: body.pod ?? 'web',
    tty: body.tty ?? false,
    stdin: body.stdin ?? true,
    command: body.command,
  });
  if (created.status !== 201) throw new Error(`session refused: ${created.status} ${created.text}`);
  const ws = new WebSocket(
    new URL(created.body.streamPath, rec.url.replace(/^http/, 'ws')),
    [SUBPROTOCOL_V5],
    {
      ca: rec.caPem,
      headers: { Authorization: `Bearer ${creds.token}` },
      maxPayload: 128 * 1024 * 1024,
    },
  );
  let out = '';
  const statuses: string[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    const f = decodeFrame(data);
    if (f?.channel === Channel.stdout || f?.channel === Channel.stderr) out += f.payload.toString('utf8');
    if (f?.channel === Channel.status) statuses.push(f.payload.toString('utf8'));
    for (const w of waiters) w();
  });
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_q, res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => reject(new Error(`stream refused: HTTP ${res.statusCode} ${body}`)));
    });
    ws.once('error', reject);
  });
  return {
    id: created.body.id,
    ws,
    output: () => out,
    statuses: () => statuses,
    waitOutput(text, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!out.includes(text)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`never saw ${JSON.stringify(text)}; output: ${JSON.stringify(out.slice(-500))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    type: (text) => ws.send(encodeFrame(Channel.stdin, text)),
    closed,
  };
}

/** A short session that must work: proves the server still serves after a fault. */
export async function healthy(rec: Target, creds: Credentials): Promise<void> {
  const s = await openSession(rec, creds, {
    command: ['sh', '-c', 'read x; echo "healthy-$x"'],
    stdin: true,
  });
  s.type('ok\n');
  await s.waitOutput('healthy-ok');
  const { code } = await s.closed;
  if (code !== 1000) throw new Error(`healthy session closed with ${code}`);
}

export async function sessionRecord(rec: Target, creds: Credentials, id: string): Promise<SessionRecord> {
  const r = await call<SessionRecord>(rec, creds, 'GET', `/api/v1/sessions/${id}`);
  if (r.status !== 200) throw new Error(`GET session ${id}: ${r.status} ${r.text}`);
  return r.body;
}

/** Polls the session until it leaves pending/running (finalization is asynchronous to the close). */
export async function finalState(
  rec: Target,
  creds: Credentials,
  id: string,
  timeoutMs = 15_000,
): Promise<SessionRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await sessionRecord(rec, creds, id);
    if ((s.state !== 'running' && s.state !== 'pending') || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}
