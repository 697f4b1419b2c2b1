// The WebSocket opening handshake (RFC 6455 §4) on both sides of a session, ending in a FrameSocket:
// accepting the user's upgrade, and opening the apiserver's exec stream. Written here rather than
// taken from ws so that after it the connection is ours byte for byte (frame-socket.ts forwards
// output frames as they came); the checks are the ones ws makes.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { AuditedExecError } from '../../common/errors.ts';
import { FrameSocket } from './frame-socket.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = /^[+/0-9A-Za-z]{22}==$/;

function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

function offeredProtocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface AcceptOptions {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  /** Picks the subprotocol from those offered; null answers without one. */
  protocol: (offered: Set<string>) => string | null;
  maxPayload: number;
}

/** Completes a server-side upgrade; null (the socket answered 400 or gone) when it is not one. */
export function acceptWebSocket(o: AcceptOptions): FrameSocket | null {
  const { req, socket } = o;
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  const valid =
    req.method === 'GET' &&
    (req.headers.upgrade ?? '').toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    KEY.test(key) &&
    (version === '13' || version === '8');
  if (!socket.readable || !socket.writable) {
    socket.destroy();
    return null;
  }
  if (!valid) {
    const body = 'not a WebSocket upgrade (RFC 6455)';
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    return null;
  }
  const protocol = o.protocol(new Set(offeredProtocols(req.headers['sec-websocket-protocol'])));
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
      '\r\n',
  );
  return new FrameSocket({
    socket: socket as Socket,
    head: o.head,
    role: 'server',
    protocol: protocol ?? '',
    maxPayload: o.maxPayload,
  });
}

export interface ConnectOptions {
  /** ws: or wss: */
  url: string;
  protocols: readonly string[];
  /** TLS material and headers (kube/client.ts ConnectionOptions). */
  request: RequestOptions;
  handshakeTimeoutMs: number;
  maxPayload: number;
}

/** What the server answered instead of 101: its status and body, for the caller to explain. */
export interface Refusal {
  status: number;
  body: Buffer;
}

export type ConnectResult = { ok: true; socket: FrameSocket } | { ok: false; refusal: Refusal };

/**
 * Opens a client WebSocket. Resolves with the socket, or with the server's answer when it refused
 * the upgrade; rejects (code SESSION_STREAM_HANDSHAKE) when no WebSocket came of it.
 */
export function connectWebSocket(o: ConnectOptions): Promise<ConnectResult> {
  const url = new URL(o.url);
  const secure = url.protocol === 'wss:';
  const key = randomBytes(16).toString('base64');
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) => {
      req.destroy();
      reject(new AuditedExecError('SESSION_STREAM_HANDSHAKE', why, { cause }));
    };
    const req = request(`${secure ? 'https' : 'http'}://${url.host}${url.pathname}${url.search}`, {
      ...o.request,
      agent: false,
      method: 'GET',
      headers: {
        ...o.request.headers,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Protocol': o.protocols.join(', '),
      },
    });
    req.setTimeout(o.handshakeTimeoutMs, () => fail('the WebSocket handshake timed out'));
    req.once('error', (err) => fail(err.message, err));
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () =>
        resolve({ ok: false, refusal: { status: res.statusCode ?? 502, body: Buffer.concat(chunks) } }),
      );
      res.once('error', (err) => fail(err.message, err));
    });
    req.once('upgrade', (res, socket: Socket, head: Buffer) => {
      req.setTimeout(0);
      const protocol = res.headers['sec-websocket-protocol'] ?? '';
      if ((res.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
        socket.destroy();
        return fail('invalid Upgrade header in the handshake answer');
      }
      if (res.headers['sec-websocket-accept'] !== acceptKey(key)) {
        socket.destroy();
        return fail('invalid Sec-WebSocket-Accept header in the handshake answer');
      }
      if (!o.protocols.includes(protocol)) {
        socket.destroy();
        return fail(
          protocol
            ? `the server chose subprotocol ${protocol}, not offered`
            : 'the server sent no subprotocol',
        );
      }
      resolve({
        ok: true,
        socket: new FrameSocket({ socket, head, role: 'client', protocol, maxPayload: o.maxPayload }),
      });
    });
    req.end();
  });
}
