// A WebSocket after its handshake (ws-handshake.ts), on either side of a session: the ChannelSocket
// the relay uses, read with the byte-level frame reader (ws-frame.ts) instead of ws, so output can
// be forwarded as it came.
//
// Forwarding (forwardOutput): a binary message from the apiserver whose first payload byte is
// stdout or stderr goes to the user's socket as the same bytes, header and all, fragment by
// fragment (server-to-client frames are unmasked on both hops, so they are valid there unchanged):
// no message assembled, no copy, no new header, whole frames only. The output payload of a short
// read, or of all the full reads of one event-loop turn, is handed to the tap (the relay records
// it) before those bytes are written on. Every other message (status,
// close channel, text, anything from the user) is assembled and emitted as 'message', in wire
// order with the forwarded output. Pings are answered here and pongs dropped; neither is forwarded.
// What this side sends is framed here: masked with a fresh random key per frame by a client (never
// a key a peer chose, RFC 6455 §10.3).
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';
import { Channel } from '../../common/channel.ts';
import { ChannelEmitter, type ChannelSocket, CLOSED, OPEN, type OutputTap } from './socket.ts';
import {
  CloseCode,
  encodeHeader,
  FrameError,
  type FrameEvents,
  type FrameHeader,
  FrameReader,
  isValidCloseCode,
  Opcode,
} from './ws-frame.ts';

const CLOSING = 2;

export interface FrameSocketOptions {
  socket: Socket;
  /** Bytes read past the handshake. */
  head?: Buffer;
  /** 'client' masks what it sends and expects unmasked frames; 'server' the other way round. */
  role: 'client' | 'server';
  protocol: string;
  maxPayload: number;
}

/** Output of one read: its payload, recorded, then its whole frames, forwarded as one write. */
interface Pending {
  pieces: Buffer[];
  runs: { stream: 1 | 2; chunks: Buffer[] }[];
  /** Whether the last whole frame ends its message. */
  fin: boolean;
  /** Bytes read into it (recorded or held for a frame still being read). */
  bytes: number;
}

/** Output of at least this many bytes in one read waits for the rest of the turn's reads. */
const BATCH_FROM = 8 * 1024;

type MessageMode = 'none' | 'undecided' | 'forward' | 'assemble';

/** Random bytes for masking keys, drawn 4 at a time. */
const keys = { pool: Buffer.alloc(8192), at: 8192 };
function maskKey(): Buffer {
  if (keys.at + 4 > keys.pool.length) {
    randomFillSync(keys.pool);
    keys.at = 0;
  }
  keys.at += 4;
  return keys.pool.subarray(keys.at - 4, keys.at);
}

export class FrameSocket extends ChannelEmitter implements ChannelSocket {
  readonly protocol: string;
  readonly #socket: Socket;
  readonly #client: boolean;
  readonly #reader: FrameReader;
  #state = OPEN;
  #paused = false;
  #closeSent = false;
  #closeReceived = false;
  #closeCode: number = CloseCode.abnormal;
  #closeReason = '';
  #failed = false;

  // The message being read.
  #mode: MessageMode = 'none';
  #opcode = 0;
  #parts: Buffer[] = [];
  #stream: 1 | 2 = 1;
  #heldHeader: Buffer | null = null;
  #control: Buffer[] = [];
  /** The frame whose payload the reader is handing out. */
  #current: FrameHeader | null = null;

  // Forwarding.
  #target: FrameSocket | null = null;
  #tap: OutputTap | null = null;
  #pending: Pending | null = null;
  /**
   * Bytes of the forwarded frame still being read: a frame goes to the user only whole, so a
   * session that ends mid-frame (recording failed) never leaves the user's stream inside one.
   */
  #framePieces: Buffer[] = [];
  /** Set on the receiving socket: forwarded frames left a message open on this side's output. */
  #outOpen = false;

  readonly #events: FrameEvents = {
    // Nothing after a close frame, or after the connection was failed, counts.
    header: (h, raw) => {
      this.#current = h;
      if (!this.#closeReceived && !this.#failed) this.#header(h, raw);
    },
    payload: (bytes) => {
      if (!this.#closeReceived && !this.#failed) this.#payload(bytes);
    },
    end: (h) => {
      if (!this.#closeReceived && !this.#failed) this.#frameEnd(h);
    },
  };

  constructor(o: FrameSocketOptions) {
    super();
    this.protocol = o.protocol;
    this.#socket = o.socket;
    this.#client = o.role === 'client';
    this.#reader = new FrameReader({ masked: !this.#client, maxPayload: o.maxPayload });
    const s = o.socket;
    s.setTimeout(0);
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.#read(chunk));
    s.on('end', () => this.#peerEnded());
    s.on('error', () => s.destroy());
    s.on('close', () => this.#closed());
    s.on('drain', () => this.emit('drain'));
    if (o.head && o.head.length > 0) s.unshift(o.head);
    s.resume();
  }

  get readyState(): number {
    return this.#state;
  }
  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }
  get isPaused(): boolean {
    return this.#paused;
  }

  /**
   * From now on stdout/stderr messages read here go to `to` as they came, their payload handed to
   * `tap` first. False when `to` cannot take frames as bytes (then everything stays a 'message').
   */
  forwardOutput(to: ChannelSocket, tap: OutputTap): boolean {
    if (!(to instanceof FrameSocket) || to.#client || !this.#client) return false;
    this.#target = to;
    this.#tap = tap;
    return true;
  }

  send(data: Buffer, _options?: { binary?: boolean }, cb?: (err?: Error) => void): void {
    if (this.#state !== OPEN) {
      if (cb) process.nextTick(cb, new Error('the WebSocket is not open'));
      return;
    }
    // Our own message may not land inside one forwarded in fragments: end that one first.
    if (this.#outOpen) {
      this.#outOpen = false;
      this.#socket.write(encodeHeader({ fin: true, opcode: Opcode.continuation, length: 0 }));
    }
    this.#frame(Opcode.binary, data, cb && ((err) => cb(err ?? undefined)));
  }

  pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }
  resume(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  close(code: number = CloseCode.normal): void {
    if (this.#state === CLOSED) return;
    if (!this.#closeSent && this.#state === OPEN) {
      this.#state = CLOSING;
      this.#sendClose(code);
    }
    if (this.#closeReceived) this.#socket.end();
  }

  terminate(): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSING;
    this.#socket.destroy();
  }

  #frame(opcode: number, data: Buffer, cb?: (err?: Error | null) => void): void {
    const s = this.#socket;
    if (this.#client) {
      const mask = maskKey();
      const head = encodeHeader({ fin: true, opcode, length: data.length, mask });
      const out = Buffer.allocUnsafe(head.length + data.length);
      head.copy(out);
      for (let i = 0; i < data.length; i++) out[head.length + i] = data[i]! ^ mask[i & 3]!;
      s.write(out, cb);
      return;
    }
    const head = encodeHeader({ fin: true, opcode, length: data.length });
    if (data.length < 1024) s.write(Buffer.concat([head, data]), cb);
    else {
      s.cork();
      s.write(head);
      s.write(data, cb);
      s.uncork();
    }
  }

  #sendClose(code: number): void {
    this.#closeSent = true;
    const body = Buffer.allocUnsafe(2);
    body.writeUInt16BE(code);
    if (this.#outOpen) {
      this.#outOpen = false;
      this.#socket.write(encodeHeader({ fin: true, opcode: Opcode.continuation, length: 0 }));
    }
    this.#frame(Opcode.close, code === CloseCode.noStatus ? Buffer.alloc(0) : body);
  }

  #read(chunk: Buffer): void {
    if (this.#failed || this.#closeReceived) return;
    try {
      this.#reader.push(chunk, this.#events);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.#fail(err);
    }
    const p = this.#pending;
    if (!p || this.#flushSoon) return;
    // A short read (a keystroke's echo, a prompt) goes now. A full one (bulk output: TLS hands out
    // a read per 16 KiB record) waits for the other reads of this event-loop turn, so a turn's
    // output is one recording write and one socket write, as the message path batched it.
    if (p.bytes < BATCH_FROM) this.#flushOutput();
    else {
      this.#flushSoon = true;
      setImmediate(this.#flushTurn);
    }
  }

  #flushSoon = false;
  readonly #flushTurn = () => {
    this.#flushSoon = false;
    this.#flushOutput();
  };

  /** The peer broke the protocol: close with its code, say why, stop reading. */
  #fail(err: FrameError): void {
    this.#flushOutput();
    this.#failed = true;
    this.#closeCode = err.closeCode;
    if (this.#state === OPEN) {
      this.#state = CLOSING;
      this.#sendClose(err.closeCode);
    }
    this.#socket.end();
    const socket = this.#socket;
    setTimeout(() => socket.destroy(), 5000).unref();
    this.emit('error', err);
  }

  #header(h: FrameHeader, raw: Buffer): void {
    if (h.opcode >= 0x8) {
      this.#control = [];
      return;
    }
    if (h.opcode !== Opcode.continuation) {
      this.#opcode = h.opcode;
      this.#parts = [];
      // Forwarded as-is: binary messages that start with their channel byte in the first frame.
      this.#mode = this.#tap && h.opcode === Opcode.binary && h.length > 0 ? 'undecided' : 'assemble';
      if (this.#mode === 'undecided') this.#heldHeader = raw;
      return;
    }
    if (this.#mode === 'forward') this.#forward(raw);
  }

  #payload(bytes: Buffer): void {
    if (this.#current!.opcode >= 0x8) {
      this.#control.push(bytes);
      return;
    }
    if (this.#mode === 'undecided') {
      const channel = bytes[0]!;
      if (channel === Channel.stdout || channel === Channel.stderr) {
        this.#mode = 'forward';
        this.#stream = channel;
        this.#forward(this.#heldHeader!);
        this.#heldHeader = null;
        this.#forward(bytes);
        if (bytes.length > 1) this.#record(bytes.subarray(1));
        return;
      }
      this.#mode = 'assemble';
      this.#heldHeader = null;
    }
    if (this.#mode === 'forward') {
      this.#forward(bytes);
      this.#record(bytes);
    } else this.#parts.push(Buffer.from(bytes));
  }

  #frameEnd(h: FrameHeader): void {
    if (h.opcode >= 0x8) {
      this.#controlFrame(h.opcode, Buffer.concat(this.#control));
      this.#control = [];
      return;
    }
    if (this.#mode === 'forward') this.#frameForwarded(h.fin);
    if (!h.fin) return;
    const mode = this.#mode;
    this.#mode = 'none';
    this.#heldHeader = null;
    if (mode === 'forward') return;
    const data = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
    this.#parts = [];
    if (this.#opcode === Opcode.text && !isUtf8(data)) {
      this.#fail(new FrameError(CloseCode.invalidPayload, 'a text message that is not UTF-8'));
      return;
    }
    this.#flushOutput();
    this.emit('message', data, this.#opcode === Opcode.binary);
  }

  #controlFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.ping) {
      if (this.#state === OPEN) this.#frame(Opcode.pong, payload);
      return;
    }
    if (opcode === Opcode.pong) return;
    // Close.
    if (payload.length === 1) throw new FrameError(CloseCode.protocolError, 'a close frame of one byte');
    let code: number = CloseCode.noStatus;
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isValidCloseCode(code))
        throw new FrameError(CloseCode.protocolError, `invalid close code ${code}`);
      if (!isUtf8(payload.subarray(2)))
        throw new FrameError(CloseCode.invalidPayload, 'a close reason that is not UTF-8');
    }
    this.#flushOutput();
    this.#closeReceived = true;
    this.#closeCode = code;
    this.#closeReason = payload.subarray(2).toString('utf8');
    if (this.#state === OPEN) {
      this.#state = CLOSING;
      this.#sendClose(code);
    }
    this.#socket.end();
  }

  /** Queues raw bytes of a forwarded frame for this read's write (adjacent views merged). */
  #forward(bytes: Buffer): void {
    this.#output().bytes += bytes.length;
    append(this.#framePieces, bytes);
  }

  /** The frame being forwarded is whole: it goes out with this read. */
  #frameForwarded(fin: boolean): void {
    const p = this.#output();
    for (const piece of this.#framePieces) append(p.pieces, piece);
    this.#framePieces = [];
    p.fin = fin;
  }

  #output(): Pending {
    this.#pending ??= { pieces: [], runs: [], fin: true, bytes: 0 };
    return this.#pending;
  }

  #record(bytes: Buffer): void {
    const runs = this.#output().runs;
    const last = runs.at(-1);
    if (last?.stream === this.#stream) last.chunks.push(bytes);
    else runs.push({ stream: this.#stream, chunks: [bytes] });
  }

  /** Hands this read's output to the tap, then writes it to the target as it came. */
  #flushOutput(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    const target = this.#target!;
    if (!this.#tap!.output(p.runs) || target.#state !== OPEN || p.pieces.length === 0) return;
    const s = target.#socket;
    if (p.pieces.length === 1) s.write(p.pieces[0]!);
    else {
      s.cork();
      for (const piece of p.pieces) s.write(piece);
      s.uncork();
    }
    target.#outOpen = !p.fin;
    this.#tap!.written();
  }

  #peerEnded(): void {
    this.#flushOutput();
    if (this.#state === OPEN) this.#state = CLOSING;
    this.#socket.end();
  }

  #closed(): void {
    if (this.#state === CLOSED) return;
    this.#flushOutput();
    this.#state = CLOSED;
    this.emit('close', this.#closeCode, this.#closeReason);
  }
}

/** Adds a view to a list of views, merged with the last where they are adjacent in memory. */
function append(pieces: Buffer[], bytes: Buffer): void {
  const last = pieces.at(-1);
  if (last && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset)
    pieces[pieces.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + bytes.length);
  else pieces.push(bytes);
}
