// RFC 6455 framing as bytes: a reader that walks frame headers as bytes stream in (cut anywhere,
// down to one byte per read) and hands out payload as views of the bytes read, and the header
// encoder. No sockets: frame-socket.ts puts it on a connection. The reader enforces what ws's
// Receiver enforces (RSV clear, known opcodes, control frames short and whole, fragments in order,
// masking by role, a maximum message size), with the close code ws would send.
import { AuditedExecError } from '../../common/errors.ts';

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** Close codes the reader fails a connection with (RFC 6455 §7.4.1). */
export const CloseCode = {
  normal: 1000,
  protocolError: 1002,
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  tooBig: 1009,
} as const;

export interface FrameHeader {
  fin: boolean;
  opcode: number;
  /** Payload bytes of this frame. */
  length: number;
  /** The masking key, or null for an unmasked frame. */
  mask: Buffer | null;
}

export interface FrameEvents {
  /**
   * A frame's header is complete. `raw` is its bytes as on the wire: a view of the read when the
   * header lay within it, else a copy.
   */
  header(h: FrameHeader, raw: Buffer): void;
  /** Payload of the current frame, unmasked (in place), a view of the read. Never empty. */
  payload(bytes: Buffer): void;
  /** The current frame's payload is complete. */
  end(h: FrameHeader): void;
}

/** The peer broke the protocol: the connection is failed with `closeCode`. */
export class FrameError extends AuditedExecError {
  declare readonly code: 'SESSION_STREAM_PROTOCOL';
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super('SESSION_STREAM_PROTOCOL', message);
    this.name = 'FrameError';
    this.closeCode = closeCode;
  }
}

export interface FrameReaderOptions {
  /** True where frames must be masked (a server reading a client), false where they must not. */
  masked: boolean;
  /** Largest message (all its fragments) accepted; more fails the connection with 1009. */
  maxPayload: number;
}

const MAX_SAFE_HIGH = 2 ** 21; // 2^53 / 2^32: the high word of a 64-bit length JavaScript can hold

export class FrameReader {
  readonly #o: FrameReaderOptions;
  /** Header bytes gathered so far (at most 14). */
  readonly #head = Buffer.alloc(14);
  #headLen = 0;
  /** The frame whose payload is being read, or null while reading a header. */
  #frame: FrameHeader | null = null;
  #remaining = 0;
  /** Payload bytes of the current frame already handed out (the mask's position). */
  #done = 0;
  /** Opcode of the data message under way (text or binary), or -1 between messages. */
  #message = -1;
  #messageBytes = 0;

  constructor(options: FrameReaderOptions) {
    this.#o = options;
  }

  /** True between the first and the last fragment of a data message. */
  get inMessage(): boolean {
    return this.#message !== -1;
  }

  /** Walks `chunk`; events fire in wire order. Throws FrameError at the first violation. */
  push(chunk: Buffer, events: FrameEvents): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#frame === null) {
        at = this.#readHeader(chunk, at, events);
        continue;
      }
      const n = Math.min(this.#remaining, chunk.length - at);
      const bytes = chunk.subarray(at, at + n);
      if (this.#frame.mask) unmask(bytes, this.#frame.mask, this.#done);
      at += n;
      this.#done += n;
      this.#remaining -= n;
      events.payload(bytes);
      if (this.#remaining === 0) this.#endFrame(events);
    }
  }

  /** Reads header bytes from `chunk` at `at`; returns where reading stopped. */
  #readHeader(chunk: Buffer, at: number, events: FrameEvents): number {
    const start = at;
    const startLen = this.#headLen;
    let need = this.#headLen < 2 ? 2 : headerLength(this.#head);
    while (this.#headLen < need && at < chunk.length) {
      this.#head[this.#headLen++] = chunk[at++]!;
      if (this.#headLen === 2) {
        this.#checkFirstBytes();
        need = headerLength(this.#head);
      }
    }
    if (this.#headLen < need) return at;
    const raw =
      startLen === 0 ? chunk.subarray(start, at) : Buffer.from(this.#head.subarray(0, this.#headLen));
    this.#headLen = 0;
    const h = this.#parse(raw);
    this.#frame = h;
    this.#remaining = h.length;
    this.#done = 0;
    events.header(h, raw);
    if (h.length === 0) this.#endFrame(events);
    return at;
  }

  #checkFirstBytes(): void {
    const b0 = this.#head[0]!;
    const b1 = this.#head[1]!;
    if (b0 & 0x70) throw new FrameError(CloseCode.protocolError, 'RSV bits set: no extension was agreed');
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const control = opcode >= 0x8;
    if (control) {
      if (opcode !== Opcode.close && opcode !== Opcode.ping && opcode !== Opcode.pong)
        throw new FrameError(CloseCode.protocolError, `invalid opcode ${opcode}`);
      if (!fin) throw new FrameError(CloseCode.protocolError, 'a control frame must not be fragmented');
      if ((b1 & 0x7f) > 125)
        throw new FrameError(CloseCode.protocolError, 'a control frame payload is at most 125 bytes');
    } else if (opcode === Opcode.continuation) {
      if (this.#message === -1)
        throw new FrameError(CloseCode.protocolError, 'a continuation frame outside a message');
    } else if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#message !== -1)
        throw new FrameError(CloseCode.protocolError, 'a new message before the last one ended');
    } else throw new FrameError(CloseCode.protocolError, `invalid opcode ${opcode}`);
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.#o.masked)
      throw new FrameError(
        CloseCode.protocolError,
        this.#o.masked ? 'MASK must be set' : 'MASK must be clear',
      );
  }

  #parse(raw: Buffer): FrameHeader {
    const opcode = raw[0]! & 0x0f;
    const len7 = raw[1]! & 0x7f;
    let length = len7;
    let at = 2;
    if (len7 === 126) {
      length = raw.readUInt16BE(2);
      at = 4;
    } else if (len7 === 127) {
      const high = raw.readUInt32BE(2);
      if (high >= MAX_SAFE_HIGH)
        throw new FrameError(CloseCode.tooBig, 'unsupported frame: payload length > 2^53 - 1');
      length = high * 2 ** 32 + raw.readUInt32BE(6);
      at = 10;
    }
    const mask = raw[1]! & 0x80 ? Buffer.from(raw.subarray(at, at + 4)) : null;
    if (opcode < 0x8) {
      if (this.#messageBytes + length > this.#o.maxPayload)
        throw new FrameError(CloseCode.tooBig, `a message over ${this.#o.maxPayload} bytes`);
      this.#messageBytes += length;
      if (opcode !== Opcode.continuation) this.#message = opcode;
    }
    return { fin: (raw[0]! & 0x80) !== 0, opcode, length, mask };
  }

  #endFrame(events: FrameEvents): void {
    const h = this.#frame!;
    this.#frame = null;
    if (h.opcode < 0x8 && h.fin) {
      this.#message = -1;
      this.#messageBytes = 0;
    }
    events.end(h);
  }
}

/** Header bytes, given the first two. */
function headerLength(head: Buffer): number {
  const len7 = head[1]! & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (head[1]! & 0x80 ? 4 : 0);
}

/** XORs `bytes` with `mask`, starting at the mask's byte `offset` (mod 4). In place. */
export function unmask(bytes: Buffer, mask: Buffer, offset: number): void {
  for (let i = 0; i < bytes.length; i++) bytes[i]! ^= mask[(offset + i) & 3]!;
}

/** A frame header; masked when `mask` is given (the payload must then be masked with it). */
export function encodeHeader(o: { fin: boolean; opcode: number; length: number; mask?: Buffer }): Buffer {
  const n = o.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + ext + (o.mask ? 4 : 0));
  out[0] = (o.fin ? 0x80 : 0) | o.opcode;
  out[1] = (o.mask ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(n, 2);
  else if (ext === 8) {
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  if (o.mask) o.mask.copy(out, 2 + ext);
  return out;
}

/** Close codes a peer may send (RFC 6455 §7.4; ws's isValidStatusCode). */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}
