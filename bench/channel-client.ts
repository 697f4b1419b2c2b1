// One exec stream as a benchmark sees it: either through the recorder (POST a session, open its
// stream) or straight at the sandbox apiserver (the baseline), both over the same v5 channel
// protocol, so every comparison differs only by the recorder in the path.
import { request } from 'node:https';
import WebSocket from 'ws';
import { Channel, decodeFrame, encodeFrame, SUBPROTOCOL_V5 } from '../common/channel.ts';

export interface Endpoint {
  url: string;
  caPem: string;
  token: string;
}

export interface ExecSpec {
  command: string[];
  tty: boolean;
  stdin: boolean;
  namespace?: string;
  pod?: string;
}

export interface ChannelStream {
  ws: WebSocket;
  /** Called with every stdout (or stderr) payload; the first listener also gets what came before it. */
  onOutput(fn: (chunk: Buffer) => void): void;
  send(channel: number, payload: Buffer | string): void;
  /** Resolves with the close code once the stream ended. */
  closed: Promise<number>;
  sessionId?: string;
}

export function postJson<T>(ep: Endpoint, path: string, body: unknown): Promise<{ status: number; body: T }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, ep.url),
      {
        method: 'POST',
        ca: ep.caPem,
        agent: false,
        headers: { Authorization: `Bearer ${ep.token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as T });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export function getText(ep: Endpoint, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, ep.url),
      { ca: ep.caPem, agent: false, headers: { Authorization: `Bearer ${ep.token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function openWs(url: string, ep: Endpoint): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [SUBPROTOCOL_V5], {
      ca: ep.caPem,
      headers: { Authorization: `Bearer ${ep.token}` },
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`stream refused: HTTP ${res.statusCode}`)),
    );
    ws.once('error', reject);
  });
}

function wrap(ws: WebSocket, sessionId?: string): ChannelStream {
  const listeners: ((c: Buffer) => void)[] = [];
  // Output that comes before anyone listens (a stream is opened, then others, then read) is kept
  // for the first listener: dropped, a benchmark waiting for it would wait forever.
  let held: Buffer[] | null = [];
  ws.on('message', (data: Buffer) => {
    const f = decodeFrame(data);
    if (f && (f.channel === Channel.stdout || f.channel === Channel.stderr)) {
      if (listeners.length === 0) held?.push(f.payload);
      for (const l of listeners) l(f.payload);
    }
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  return {
    ws,
    onOutput: (fn) => {
      listeners.push(fn);
      const early = held ?? [];
      held = null;
      for (const c of early) fn(c);
    },
    send: (channel, payload) => ws.send(encodeFrame(channel, payload)),
    closed,
    ...(sessionId ? { sessionId } : {}),
  };
}

/** Through the recorder: POST /api/v1/sessions, then the stream. */
export async function openRecorded(rec: Endpoint, spec: ExecSpec): Promise<ChannelStream> {
  const created = await postJson<{ id: string; streamPath: string; message?: string }>(
    rec,
    '/api/v1/sessions',
    {
      kind: 'exec',
      namespace: spec.namespace ?? 'default',
      pod: spec.pod ?? 'web',
      command: spec.command,
      tty: spec.tty,
      stdin: spec.stdin,
    },
  );
  if (created.status !== 201) throw new Error(`session refused: ${created.status} ${created.body.message}`);
  const ws = await openWs(new URL(created.body.streamPath, rec.url.replace(/^http/, 'ws')).toString(), rec);
  return wrap(ws, created.body.id);
}

/** Straight at the apiserver, as kubectl exec would. */
export async function openDirect(api: Endpoint, spec: ExecSpec): Promise<ChannelStream> {
  const q = new URLSearchParams();
  for (const c of spec.command) q.append('command', c);
  q.set('container', 'app');
  q.set('stdin', String(spec.stdin));
  q.set('stdout', 'true');
  q.set('stderr', String(!spec.tty));
  q.set('tty', String(spec.tty));
  const path = `/api/v1/namespaces/${spec.namespace ?? 'default'}/pods/${spec.pod ?? 'web'}/exec?${q}`;
  return wrap(await openWs(new URL(path, api.url.replace(/^http/, 'ws')).toString(), api));
}
