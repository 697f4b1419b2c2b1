// The opening handshake on both sides, against real HTTP servers on port 0: what is accepted, and
// what is refused (and how) on each side.
import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SUBPROTOCOL_V4, SUBPROTOCOL_V5 } from '../../../common/channel.ts';
import type { FrameSocket } from '../../../server/sessions/frame-socket.ts';
import { acceptWebSocket, connectWebSocket } from '../../../server/sessions/ws-handshake.ts';

const servers: Server[] = [];
/** Upgraded sockets: the server no longer tracks them, and a half-open one keeps close() waiting. */
const upgraded = new Set<Duplex>();
afterEach(async () => {
  for (const s of upgraded) s.destroy();
  upgraded.clear();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(
  onUpgrade: (req: import('node:http').IncomingMessage, socket: Duplex, head: Buffer) => void,
) {
  const server = createServer((_req, res) => {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end('{"kind":"Status","message":"pods \\"web\\" is forbidden","reason":"Forbidden"}');
  });
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    onUpgrade(req, socket, head);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('acceptWebSocket', () => {
  it('accepts a client with the subprotocol it prefers, and answers 400 to what is not an upgrade', async () => {
    let accepted: FrameSocket | null = null;
    const url = await listen((req, socket, head) => {
      accepted = acceptWebSocket({
        req,
        socket,
        head,
        maxPayload: 1024,
        protocol: (offered) => (offered.has(SUBPROTOCOL_V5) ? SUBPROTOCOL_V5 : null),
      });
    });
    const ws = new WebSocket(url, [SUBPROTOCOL_V4, SUBPROTOCOL_V5]);
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    expect(ws.protocol).toBe(SUBPROTOCOL_V5);
    expect(accepted!.protocol).toBe(SUBPROTOCOL_V5);
    const got = new Promise<Buffer>((r) => accepted!.once('message', r));
    ws.send(Buffer.from('\x00hi'));
    expect(String(await got)).toBe('\x00hi');
    ws.close();

    // A bad key: 400, and no socket.
    accepted = null;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url.replace('ws:', 'http:'), {
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': 'short',
          'Sec-WebSocket-Version': '13',
        },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    expect(accepted).toBeNull();
  });
});

describe('connectWebSocket', () => {
  const open = (url: string, protocols = [SUBPROTOCOL_V5, SUBPROTOCOL_V4]) =>
    connectWebSocket({
      url,
      protocols,
      request: { headers: { 'Audit-ID': 'x' } },
      handshakeTimeoutMs: 10_000,
      maxPayload: 1024,
    });
  const answer = (o: { accept?: (key: string) => string; protocol?: string }) =>
    listen((req, socket) => {
      const key = String(req.headers['sec-websocket-key']);
      const accept =
        o.accept?.(key) ??
        createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
          (o.protocol ? `Sec-WebSocket-Protocol: ${o.protocol}\r\n` : '') +
          '\r\n',
      );
    });

  it('opens with the protocol the server chose and the headers given', async () => {
    let seen: Record<string, unknown> = {};
    const url = await listen((req, socket, head) => {
      seen = req.headers;
      acceptWebSocket({ req, socket, head, maxPayload: 1024, protocol: () => SUBPROTOCOL_V4 });
    });
    const r = await open(url);
    expect(r.ok && r.socket.protocol).toBe(SUBPROTOCOL_V4);
    expect(seen['audit-id']).toBe('x');
    expect(seen['sec-websocket-protocol']).toBe(`${SUBPROTOCOL_V5}, ${SUBPROTOCOL_V4}`);
    if (r.ok) r.socket.terminate();
  });

  it('gives back the status and body of a refusal', async () => {
    const url = await listen(() => {});
    // A plain GET answered 403 (the server has no upgrade for it): here, an upgrade the server refused.
    const server = servers.at(-1)!;
    server.removeAllListeners('upgrade');
    server.on('upgrade', (_req, socket: Duplex) => {
      upgraded.add(socket);
      const body = '{"message":"pods \\"web\\" is forbidden","reason":"Forbidden"}';
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
    const r = await open(url);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.refusal.status).toBe(403);
      expect(JSON.parse(r.refusal.body.toString())).toMatchObject({ reason: 'Forbidden' });
    }
  });

  it('refuses a wrong Sec-WebSocket-Accept and a subprotocol it did not offer', async () => {
    await expect(
      open(await answer({ accept: () => 'bm90IHRoZSBrZXk=', protocol: SUBPROTOCOL_V5 })),
    ).rejects.toMatchObject({
      code: 'SESSION_STREAM_HANDSHAKE',
    });
    await expect(open(await answer({ protocol: 'v1.channel.k8s.io' }))).rejects.toMatchObject({
      code: 'SESSION_STREAM_HANDSHAKE',
      message: expect.stringMatching(/not offered/),
    });
    await expect(open(await answer({}))).rejects.toMatchObject({
      message: expect.stringMatching(/no subprotocol/),
    });
  });
});
