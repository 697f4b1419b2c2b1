// The relay with a real WebSocket over TLS on the apiserver side and the real recording writer:
// frames as an apiserver may put them on the wire (fragmented, control frames between fragments,
// split across TLS records, large, UTF-8 split across frames) reach the user whole and in order,
// and the recording's output events hold exactly the bytes sent.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeAsciicast, outputText } from '../../../common/asciicast.ts';
import { Channel, SUBPROTOCOL_V5 } from '../../../common/channel.ts';
import { RecordingWriter, recordingPath, reserveRecording } from '../../../server/recording/writer.ts';
import { Relay } from '../../../server/sessions/relay.ts';
import { createPki } from '../../sandbox/ca.ts';
import { exitStatus, FakeSocket } from './fakes.ts';

/** One server-to-client frame (unmasked), as bytes. */
function frame(o: { fin: boolean; opcode: number; payload: Buffer }): Buffer {
  const n = o.payload.length;
  const head =
    n < 126
      ? Buffer.from([0, n])
      : n < 65536
        ? Buffer.from([0, 126, n >> 8, n & 0xff])
        : Buffer.concat([
            Buffer.from([0, 127]),
            (() => {
              const b = Buffer.alloc(8);
              b.writeBigUInt64BE(BigInt(n));
              return b;
            })(),
          ]);
  head[0] = (o.fin ? 0x80 : 0) | o.opcode;
  return Buffer.concat([head, o.payload]);
}
const BINARY = 0x2;
const CONTINUATION = 0x0;
const PING = 0x9;

/** A channel message as wire bytes, in `parts` fragments, with a ping between the first two. */
function fragmented(channel: number, payload: Buffer, parts: number): Buffer {
  const data = Buffer.concat([Buffer.from([channel]), payload]);
  const out: Buffer[] = [];
  const step = Math.ceil(data.length / parts);
  for (let i = 0, k = 0; i < data.length; i += step, k++) {
    out.push(
      frame({
        fin: i + step >= data.length,
        opcode: k === 0 ? BINARY : CONTINUATION,
        payload: data.subarray(i, i + step),
      }),
    );
    if (k === 0 && parts > 1) out.push(frame({ fin: true, opcode: PING, payload: Buffer.from('hi') }));
  }
  return Buffer.concat(out);
}

/** Writes the bytes in pieces of `size`, each its own TLS record, waiting for each to be flushed. */
async function dribble(socket: Socket, bytes: Buffer, size: number): Promise<void> {
  for (let i = 0; i < bytes.length; i += size) {
    await new Promise<void>((resolve, reject) =>
      socket.write(bytes.subarray(i, i + size), (err) => (err ? reject(err) : resolve())),
    );
  }
}

let dir: string;
let server: Server;
let wss: WebSocketServer;
let caPem: string;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relay-wire-'));
  const pki = await createPki(join(dir, 'pki'));
  caPem = pki.caPem;
  server = createServer({ cert: pki.server.cert, key: pki.server.key });
  wss = new WebSocketServer({ server, handleProtocols: () => SUBPROTOCOL_V5 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `wss://127.0.0.1:${(server.address() as { port: number }).port}/exec`;
});
afterAll(async () => {
  wss.close();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** Runs a session whose apiserver writes `wire` (raw frame bytes) then exits; returns what was seen. */
async function session(id: string, write: (socket: Socket) => Promise<void>) {
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const upstream = new WebSocket(url, [SUBPROTOCOL_V5], { ca: caPem, perMessageDeflate: false });
  await new Promise((r, j) => upstream.once('open', r).once('error', j));
  const apiserver = await accepted;
  const pongs: Buffer[] = [];
  apiserver.on('pong', (b) => pongs.push(b));
  await reserveRecording(dir, id);
  const recording = await RecordingWriter.open({
    path: recordingPath(dir, id),
    startedAt: new Date(),
    recordInput: true,
  });
  const client = new FakeSocket();
  const relay = new Relay({ client, upstream, recording, tty: true });
  const socket = (apiserver as unknown as { _socket: Socket })._socket;
  socket.setNoDelay(true);
  await write(socket);
  apiserver.send(exitStatus(0));
  apiserver.close(1000);
  const result = await relay.done;
  await recording.close();
  const cast = decodeAsciicast(await readFile(recordingPath(dir, id), 'utf8'));
  const forwarded = client.sent.filter((b) => b[0] === Channel.stdout);
  return { result, cast, forwarded, pongs };
}

describe('Relay on the wire', () => {
  it('forwards fragmented messages whole, answers pings between fragments, records every byte', async () => {
    const a = Buffer.from('first message, in three fragments: "quoted" \\ and \x1b[0m\r\n');
    const b = Buffer.alloc(3 * 65536 + 17, 'y'); // 64-bit length, 5 fragments
    const { result, cast, forwarded, pongs } = await session(
      '11111111-1111-4111-8111-111111111111',
      async (s) => {
        await dribble(s, fragmented(Channel.stdout, a, 3), 1 << 20);
        await dribble(s, fragmented(Channel.stdout, b, 5), 1 << 20);
      },
    );
    expect(result).toMatchObject({ outcome: 'exited', exitCode: 0 });
    expect(forwarded.map((f) => f.subarray(1))).toEqual([a, b]);
    expect(outputText(cast)).toBe(a.toString('utf8') + b.toString('utf8'));
    expect(pongs.map(String)).toEqual(['hi', 'hi']);
  });

  it('takes frames cut across TLS records at every byte, and UTF-8 cut across frames, without U+FFFD', async () => {
    // Characters split between messages at every possible byte, and one 6 MiB message of whole ones.
    const text = 'é€😀 plain x';
    const bytes = Buffer.from(text.repeat(20));
    const cuts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 1 + (i % 5)) cuts.push(bytes.subarray(i, i + 1 + (i % 5)));
    const big = Buffer.alloc(3 << 21, '€');
    const { cast, forwarded } = await session('22222222-2222-4222-8222-222222222222', async (s) => {
      // One byte per TLS record for the small messages: every header and payload split everywhere.
      await dribble(s, Buffer.concat(cuts.map((c) => fragmented(Channel.stdout, c, 1))), 1);
      await dribble(s, fragmented(Channel.stdout, big, 1), 16 * 1024 - 3);
    });
    expect(Buffer.concat(forwarded.map((f) => f.subarray(1)))).toEqual(Buffer.concat([bytes, big]));
    const out = outputText(cast);
    expect(out).not.toContain('\ufffd');
    expect(out).toBe(bytes.toString('utf8') + big.toString('utf8'));
  });

  it('ends on the close handshake with the exit status, the recording complete', async () => {
    const payload = Buffer.from('last words\r\n');
    const { result, cast } = await session('33333333-3333-4333-8333-333333333333', async (s) => {
      await dribble(s, fragmented(Channel.stdout, payload, 2), 3);
    });
    expect(result).toMatchObject({ outcome: 'exited', exitCode: 0 });
    expect(outputText(cast)).toBe('last words\r\n');
  });
});
