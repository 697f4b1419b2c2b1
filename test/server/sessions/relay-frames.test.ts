// The relay with raw WebSockets on both sides (ws-handshake.ts, frame-socket.ts), over real TLS,
// the way the recorder runs: the apiserver and the user are raw TLS peers here, so the test sees
// every byte. Output frames reach the user as the very bytes the apiserver sent (fragments, 64-bit
// lengths, TLS records of one byte), pings between fragments are answered and not forwarded, the
// recording holds every output byte, input is re-masked with a key of our own, and a peer that
// breaks the framing is refused with the close code ws would send. A user who stops reading pauses
// the apiserver's stream (the forwarding path's backpressure) and loses nothing.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../../common/asciicast.ts';
import { Channel, SUBPROTOCOL_V5 } from '../../../common/channel.ts';
import { failureStatus } from '../../../common/status.ts';
import { RecordingWriter, recordingPath, reserveRecording } from '../../../server/recording/writer.ts';
import type { FrameSocket } from '../../../server/sessions/frame-socket.ts';
import { Relay, type RelayResult } from '../../../server/sessions/relay.ts';
import { CloseCode, FrameReader, Opcode } from '../../../server/sessions/ws-frame.ts';
import { acceptWebSocket, connectWebSocket } from '../../../server/sessions/ws-handshake.ts';
import { createPki } from '../../sandbox/ca.ts';
import { frame } from './wire-frame.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const msg = (channel: number, text: string | Buffer) =>
  Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(text) ? text : Buffer.from(text)]);

/** A channel message in `parts` fragments, a ping after the first. */
function fragmented(data: Buffer, parts: number): Buffer {
  const out: Buffer[] = [];
  const step = Math.ceil(data.length / parts);
  for (let i = 0, k = 0; i < data.length; i += step, k++) {
    const last = i + step >= data.length;
    out.push(
      frame({
        fin: last,
        opcode: k === 0 ? Opcode.binary : Opcode.continuation,
        payload: data.subarray(i, i + step),
      }),
    );
    if (k === 0 && !last) out.push(frame({ opcode: Opcode.ping, payload: Buffer.from('hi') }));
  }
  return Buffer.concat(out);
}

/** Bytes a raw peer receives, and the frames in them (read with the reader under test's rules). */
class Peer {
  readonly bytes: Buffer[] = [];
  readonly frames: { opcode: number; fin: boolean; mask: Buffer | null; payload: Buffer }[] = [];
  readonly closed: Promise<void>;
  readonly socket: Duplex;
  readonly #reader: FrameReader;
  #parts: Buffer[] = [];
  #waiters: (() => void)[] = [];

  constructor(socket: Duplex, masked: boolean) {
    this.socket = socket;
    // Masks are kept: the reader unmasks a copy.
    this.#reader = new FrameReader({ masked, maxPayload: 1 << 30 });
    socket.on('data', (c: Buffer) => {
      this.bytes.push(Buffer.from(c));
      this.#reader.push(c, {
        header: () => {
          this.#parts = [];
        },
        payload: (b) => this.#parts.push(Buffer.from(b)),
        end: (h) => {
          this.frames.push({
            opcode: h.opcode,
            fin: h.fin,
            mask: h.mask,
            payload: Buffer.concat(this.#parts),
          });
          for (const w of this.#waiters.splice(0)) w();
        },
      });
    });
    this.closed = new Promise((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
  }

  async until(test: () => boolean): Promise<void> {
    while (!test()) await new Promise<void>((r) => this.#waiters.push(r));
  }

  /** Writes `bytes` in TLS records of `size`, each flushed before the next. */
  async write(bytes: Buffer, size = bytes.length): Promise<void> {
    for (let i = 0; i < bytes.length; i += size) {
      await new Promise<void>((resolve, reject) =>
        this.socket.write(bytes.subarray(i, i + size), (err) => (err ? reject(err) : resolve())),
      );
    }
  }
}

let dir: string;
let caPem: string;
let apiserver: Server;
let recorder: Server;
const apiPeers: Peer[] = [];
const sockets = new Set<Duplex>();
let ids = 0;
const accepted: ((ws: FrameSocket) => void)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relay-frames-'));
  const pki = await createPki(join(dir, 'pki'));
  caPem = pki.caPem;
  const tls = { cert: pki.server.cert, key: pki.server.key };
  // The apiserver: answers the upgrade by hand, then is a raw peer.
  apiserver = createServer(tls);
  apiserver.on('upgrade', (req, socket: Duplex) => {
    sockets.add(socket);
    const accept = createHash('sha1')
      .update(req.headers['sec-websocket-key'] + GUID)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${SUBPROTOCOL_V5}\r\n\r\n`,
    );
    (socket as TLSSocket).setNoDelay(true);
    apiPeers.push(new Peer(socket, true));
  });
  // The recorder's edge: the user's upgrade accepted as the stream route does.
  recorder = createServer(tls);
  recorder.on('upgrade', (req, socket, head) => {
    sockets.add(socket);
    const ws = acceptWebSocket({
      req,
      socket,
      head,
      maxPayload: 16 << 20,
      protocol: (offered) => (offered.has(SUBPROTOCOL_V5) ? SUBPROTOCOL_V5 : null),
    });
    if (ws) accepted.shift()?.(ws);
  });
  for (const s of [apiserver, recorder]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const s of [apiserver, recorder]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await rm(dir, { recursive: true, force: true });
});

const port = (s: Server) => (s.address() as { port: number }).port;

/** A raw TLS user that upgrades by hand; resolves once the 101 is read, with what followed it. */
async function rawUser(): Promise<{ peer: Peer; client: FrameSocket }> {
  const client = new Promise<FrameSocket>((r) => accepted.push(r));
  const socket = connect({ host: '127.0.0.1', port: port(recorder), ca: caPem, servername: 'localhost' });
  socket.setNoDelay(true);
  await new Promise<void>((r, j) => socket.once('secureConnect', r).once('error', j));
  socket.write(
    'GET /stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Protocol: ${SUBPROTOCOL_V5}\r\n\r\n`,
  );
  let head = Buffer.alloc(0);
  await new Promise<void>((resolve) => {
    const onData = (c: Buffer) => {
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      expect(head.subarray(0, 12).toString()).toBe('HTTP/1.1 101');
      socket.off('data', onData);
      const rest = head.subarray(end + 4);
      if (rest.length) socket.unshift(rest);
      resolve();
    };
    socket.on('data', onData);
  });
  return { peer: new Peer(socket, false), client: await client };
}

async function session(id: string) {
  const user = await rawUser();
  const opened = await connectWebSocket({
    url: `wss://127.0.0.1:${port(apiserver)}/exec`,
    protocols: [SUBPROTOCOL_V5],
    request: { ca: caPem, servername: 'localhost', headers: {} },
    handshakeTimeoutMs: 10_000,
    maxPayload: 16 << 20,
  });
  if (!opened.ok) throw new Error('upstream refused');
  await new Promise<void>((r) => setImmediate(r));
  const api = apiPeers.at(-1)!;
  await reserveRecording(dir, id);
  const recording = await RecordingWriter.open({
    path: recordingPath(dir, id),
    startedAt: new Date(),
    recordInput: true,
  });
  const relay = new Relay({ client: user.client, upstream: opened.socket, recording, tty: false });
  const result = relay.done.then(async (r: RelayResult) => {
    await recording.close();
    return r;
  });
  const cast = async () => decodeAsciicast(await readFile(recordingPath(dir, id), 'utf8'));
  return { user: user.peer, userSocket: user.client, upstream: opened.socket, api, result, cast, relay };
}

describe('Relay between raw WebSockets', () => {
  it('forwards output frames as the bytes the apiserver sent, cut into one-byte TLS records, and records every byte', async () => {
    const s = await session('44444444-4444-4444-8444-444444444444');
    const a = msg(Channel.stdout, 'first, in three fragments: "quoted" \\ and \x1b[0m é€😀\r\n');
    const b = msg(Channel.stderr, Buffer.alloc(3 * 65536 + 17, 'y')); // 64-bit length
    const c = msg(Channel.stdout, 'é€😀'.repeat(10));
    const wire = [fragmented(a, 3), fragmented(b, 5), fragmented(c, 1)];
    await s.api.write(wire[0]!, 1);
    await s.api.write(wire[1]!, 16 * 1024 - 3);
    await s.api.write(wire[2]!, 1);
    await s.user.until(() => s.user.frames.filter((f) => f.fin).length >= 3);
    // The same bytes, less the pings (answered by the recorder, not passed on).
    const sent = Buffer.concat(wire.map((w) => Buffer.from(w)));
    const withoutPings = Buffer.concat(
      [fragmented(a, 3), fragmented(b, 5), fragmented(c, 1)].map((w) => stripPings(w)),
    );
    expect(sent.length).toBeGreaterThan(withoutPings.length);
    expect(Buffer.concat(s.user.bytes)).toEqual(withoutPings);
    await s.api.until(() => s.api.frames.filter((f) => f.opcode === Opcode.pong).length === 2);
    expect(s.api.frames.filter((f) => f.opcode === Opcode.pong).map((f) => f.payload.toString())).toEqual([
      'hi',
      'hi',
    ]);
    await s.api.write(frame({ opcode: Opcode.binary, payload: msg(Channel.status, '{"status":"Success"}') }));
    await s.api.write(frame({ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]) }));
    expect(await s.result).toMatchObject({ outcome: 'exited', exitCode: 0 });
    const cast = await s.cast();
    expect(outputText(cast)).toBe(
      a.subarray(1).toString() + b.subarray(1).toString() + c.subarray(1).toString(),
    );
    // The user got the status, then a close handshake.
    await s.user.until(() => s.user.frames.some((f) => f.opcode === Opcode.close));
    const status = s.user.frames.find((f) => f.payload[0] === Channel.status && f.opcode === Opcode.binary);
    expect(status?.payload.subarray(1).toString()).toBe('{"status":"Success"}');
  });

  it('re-masks input with a key of its own, records it unmasked, and answers the user’s pings itself', async () => {
    const s = await session('55555555-5555-4555-8555-555555555555');
    const userMask = Buffer.from([0, 0, 0, 0]); // the most predictable key a client can choose
    const keys = msg(Channel.stdin, 'ls -la\r');
    await s.user.write(
      Buffer.concat([
        frame({ fin: false, opcode: Opcode.binary, payload: keys.subarray(0, 3), mask: userMask }),
        frame({ opcode: Opcode.ping, payload: Buffer.from('u'), mask: userMask }),
        frame({ opcode: Opcode.continuation, payload: keys.subarray(3), mask: userMask }),
      ]),
      2,
    );
    await s.api.until(() => s.api.frames.some((f) => f.opcode === Opcode.binary));
    const got = s.api.frames.find((f) => f.opcode === Opcode.binary)!;
    expect(got.payload).toEqual(keys);
    expect(got.mask).not.toBeNull();
    expect(got.mask).not.toEqual(userMask);
    await s.user.until(() => s.user.frames.some((f) => f.opcode === Opcode.pong));
    expect(s.api.frames.some((f) => f.opcode === Opcode.ping)).toBe(false);
    // The user closes: the apiserver is told with a close frame, and the session ends.
    await s.user.write(frame({ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]), mask: userMask }));
    expect(await s.result).toMatchObject({ outcome: 'client-closed' });
    await s.api.until(() => s.api.frames.some((f) => f.opcode === Opcode.close));
    const cast = await s.cast();
    expect(
      cast.events
        .filter((e) => e.code === 'i')
        .map((e) => e.data)
        .join(''),
    ).toBe('ls -la\r');
  });

  const refusals: [string, Buffer, number][] = [
    ['RSV1 set', frame({ opcode: Opcode.binary, payload: msg(1, 'x'), rsv: 0x40 }), CloseCode.protocolError],
    ['opcode 3', frame({ opcode: 3, payload: msg(1, 'x') }), CloseCode.protocolError],
    [
      'a masked frame from a server',
      frame({ opcode: Opcode.binary, payload: msg(1, 'x'), mask: Buffer.alloc(4, 7) }),
      CloseCode.protocolError,
    ],
    ['a message over 16 MiB', Buffer.from([0x82, 127, 0, 0, 0, 0, 0x01, 0, 0, 1]), CloseCode.tooBig],
    [
      'a text message that is not UTF-8',
      frame({ opcode: Opcode.text, payload: Buffer.from([1, 0xc3]) }),
      CloseCode.invalidPayload,
    ],
  ];
  for (const [what, bad, code] of refusals) {
    it(`closes the apiserver's stream with ${code} on ${what}; what came before reached the user`, async () => {
      const s = await session(`66666666-6666-4666-8666-${String(++ids).padStart(12, '0')}`);
      const before = frame({ opcode: Opcode.binary, payload: msg(Channel.stdout, 'before\r\n') });
      const after = frame({ opcode: Opcode.binary, payload: msg(Channel.stdout, 'after\r\n') });
      await s.api.write(Buffer.concat([before, bad, after]));
      const result = await s.result;
      expect(result.outcome).toBe('upstream-closed');
      expect(result.message).toMatch(/broke/);
      await s.api.until(() => s.api.frames.some((f) => f.opcode === Opcode.close));
      expect(s.api.frames.find((f) => f.opcode === Opcode.close)!.payload.readUInt16BE(0)).toBe(code);
      await s.user.until(() => s.user.frames.some((f) => f.opcode === Opcode.close));
      expect(s.user.frames[0]!.payload.toString()).toBe('\x01before\r\n');
      expect(s.user.frames.some((f) => f.payload.includes('after'))).toBe(false);
      const recorded = outputText(await s.cast());
      expect(recorded).toContain('before\r\n');
      expect(recorded).not.toContain('after');
    });
  }

  it('ends a forwarded fragmented message before a message of its own (a moderator ends the session mid-message)', async () => {
    const s = await session('88888888-8888-4888-8888-888888888888');
    await s.api.write(frame({ fin: false, opcode: Opcode.binary, payload: msg(Channel.stdout, 'half a') }));
    await s.user.until(() => s.user.frames.length === 1);
    s.relay.terminate({
      marker: 'terminated by mod',
      status: failureStatus(500, 'ended by mod'),
    });
    expect((await s.result).outcome).toBe('terminated');
    await s.user.until(() => s.user.frames.some((f) => f.opcode === Opcode.close));
    // The fragment, an empty final continuation, the status as a message of its own, the close.
    expect(s.user.frames.map((f) => [f.opcode, f.fin, f.payload[0] ?? null])).toEqual([
      [Opcode.binary, false, Channel.stdout],
      [Opcode.continuation, true, null],
      [Opcode.binary, true, Channel.status],
      [Opcode.close, true, 0x03],
    ]);
    const cast = await s.cast();
    expect(outputText(cast)).toBe('half a');
    expect(cast.events.at(-1)).toMatchObject({ code: 'm', data: 'terminated by mod' });
  });

  it('a user who stops reading pauses the apiserver’s stream, with little held, and on resuming gets every byte', async () => {
    const s = await session('99999999-9999-4999-8999-999999999999');
    s.user.socket.pause();
    // Distinct bytes per frame, so a lost, doubled or reordered frame shows.
    const payload = (i: number) => msg(Channel.stdout, Buffer.alloc(64 * 1024 - 1, `frame ${i};`));
    const sent: Buffer[] = [];
    const send = (): boolean => {
      const p = payload(sent.length);
      sent.push(p);
      return s.api.socket.write(frame({ opcode: Opcode.binary, payload: p }));
    };
    // Write until the recorder stops reading the apiserver (or far more than it may hold).
    while (!s.upstream.isPaused && sent.length < 2048) {
      if (!send()) await Promise.race([once(s.api.socket, 'drain'), until(() => s.upstream.isPaused)]);
    }
    expect(s.upstream.isPaused).toBe(true);
    // What waits for the user: the relay's high-water mark (2 MiB) and the reads of one turn.
    const held = s.userSocket.bufferedAmount;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(4 << 20);
    // More output while paused stays with the apiserver; then the user reads again.
    for (let i = 0; i < 16; i++) send();
    s.user.socket.resume();
    await s.user.until(() => s.user.frames.length >= sent.length);
    expect(s.user.frames.length).toBe(sent.length);
    expect(Buffer.concat(s.user.frames.map((f) => f.payload)).equals(Buffer.concat(sent))).toBe(true);
    await s.api.write(frame({ opcode: Opcode.binary, payload: msg(Channel.status, '{"status":"Success"}') }));
    await s.api.write(frame({ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]) }));
    expect(await s.result).toMatchObject({ outcome: 'exited', exitCode: 0 });
    const recorded = outputText(await s.cast());
    expect(recorded.length).toBe(sent.reduce((n, p) => n + p.length - 1, 0));
    expect(recorded === sent.map((p) => p.subarray(1).toString()).join('')).toBe(true);
  });

  it('closes the user’s stream with 1002 on an unmasked frame', async () => {
    const s = await session('77777777-7777-4777-8777-777777777777');
    await s.user.write(frame({ opcode: Opcode.binary, payload: msg(Channel.stdin, 'x') }));
    expect((await s.result).outcome).toBe('client-closed');
    await s.user.until(() => s.user.frames.some((f) => f.opcode === Opcode.close));
    expect(s.user.frames.find((f) => f.opcode === Opcode.close)!.payload.readUInt16BE(0)).toBe(
      CloseCode.protocolError,
    );
    expect(s.api.frames.some((f) => f.opcode === Opcode.binary)).toBe(false);
  });
});

/** Resolves once `test` holds (checked every few ms; vitest's timeout bounds the wait). */
async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((r) => setTimeout(r, 5));
}

/** The wire without its ping frames (this test's pings are 'hi', unmasked). */
function stripPings(wire: Buffer): Buffer {
  const ping = frame({ opcode: Opcode.ping, payload: Buffer.from('hi') });
  const out: Buffer[] = [];
  let at = 0;
  for (let i = wire.indexOf(ping); i >= 0; i = wire.indexOf(ping, at)) {
    out.push(wire.subarray(at, i));
    at = i + ping.length;
  }
  out.push(wire.subarray(at));
  return Buffer.concat(out);
}
