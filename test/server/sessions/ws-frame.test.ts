// The byte-level frame reader: frames cut anywhere, control frames between fragments, and every
// refusal with the close code ws would send.
import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  FrameError,
  type FrameHeader,
  FrameReader,
  Opcode,
} from '../../../server/sessions/ws-frame.ts';
import { frame } from './wire-frame.ts';

interface Seen {
  frames: { h: FrameHeader; raw: Buffer; payload: Buffer }[];
}

/** Feeds `wire` in pieces of `size` bytes; returns the frames seen (payload joined per frame). */
function read(wire: Buffer, size: number, o = { masked: false, maxPayload: 1 << 20 }): Seen {
  const reader = new FrameReader(o);
  const seen: Seen = { frames: [] };
  let parts: Buffer[] = [];
  let current: { h: FrameHeader; raw: Buffer } | null = null;
  for (let i = 0; i < wire.length; i += size) {
    reader.push(Buffer.from(wire.subarray(i, i + size)), {
      header: (h, raw) => {
        current = { h, raw: Buffer.from(raw) };
        parts = [];
      },
      payload: (b) => {
        if (b.length === 0) throw new Error('an empty payload event');
        parts.push(Buffer.from(b));
      },
      end: () => seen.frames.push({ ...current!, payload: Buffer.concat(parts) }),
    });
  }
  return seen;
}

function refusal(wire: Buffer, o = { masked: false, maxPayload: 1 << 20 }): FrameError {
  try {
    read(wire, wire.length, o);
  } catch (err) {
    if (err instanceof FrameError) return err;
    throw err;
  }
  throw new Error('no refusal');
}

describe('FrameReader', () => {
  const big = Buffer.alloc(70_000, 'b'); // a 64-bit length
  const wire = Buffer.concat([
    frame({ fin: false, opcode: Opcode.binary, payload: Buffer.from('\x01he') }),
    frame({ opcode: Opcode.ping, payload: Buffer.from('ping') }),
    frame({ fin: false, opcode: Opcode.continuation, payload: Buffer.alloc(0) }),
    frame({ opcode: Opcode.continuation, payload: Buffer.from('llo') }),
    frame({ opcode: Opcode.binary, payload: big }),
    frame({ opcode: Opcode.close, payload: Buffer.from([0x03, 0xe8]) }),
  ]);

  it('reads the same frames whatever the reads are cut to, down to one byte', () => {
    const whole = read(wire, wire.length);
    expect(whole.frames.map((f) => [f.h.opcode, f.h.fin, f.payload.length])).toEqual([
      [Opcode.binary, false, 3],
      [Opcode.ping, true, 4],
      [Opcode.continuation, false, 0],
      [Opcode.continuation, true, 3],
      [Opcode.binary, true, 70_000],
      [Opcode.close, true, 2],
    ]);
    // The raw headers put back with the payloads are the wire.
    expect(Buffer.concat(whole.frames.flatMap((f) => [f.raw, f.payload]))).toEqual(wire);
    for (const size of [1, 2, 3, 7, 13, 1000]) {
      const cut = read(wire, size);
      expect(cut.frames.map((f) => [f.h.opcode, f.h.fin, f.raw, f.payload])).toEqual(
        whole.frames.map((f) => [f.h.opcode, f.h.fin, f.raw, f.payload]),
      );
    }
  });

  it('unmasks masked frames in place, the mask position carried across reads', () => {
    const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const payload = Buffer.from('\x00some keystrokes typed by a user');
    const masked = frame({ opcode: Opcode.binary, payload, mask });
    for (const size of [1, 3, 5, masked.length]) {
      const seen = read(masked, size, { masked: true, maxPayload: 1024 });
      expect(seen.frames[0]!.payload).toEqual(payload);
      expect(seen.frames[0]!.h.mask).toEqual(mask);
    }
  });

  it('refuses what ws refuses, with its close code', () => {
    const p = Buffer.from('\x01x');
    const cases: [string, Buffer, number, { masked: boolean; maxPayload: number }?][] = [
      ['RSV1', frame({ opcode: Opcode.binary, payload: p, rsv: 0x40 }), CloseCode.protocolError],
      ['RSV3', frame({ opcode: Opcode.binary, payload: p, rsv: 0x10 }), CloseCode.protocolError],
      ['opcode 3', frame({ opcode: 3, payload: p }), CloseCode.protocolError],
      ['opcode 0xb', frame({ opcode: 0xb, payload: p }), CloseCode.protocolError],
      ['continuation first', frame({ opcode: Opcode.continuation, payload: p }), CloseCode.protocolError],
      [
        'new message mid-message',
        Buffer.concat([
          frame({ fin: false, opcode: Opcode.binary, payload: p }),
          frame({ opcode: Opcode.binary, payload: p }),
        ]),
        CloseCode.protocolError,
      ],
      ['fragmented ping', frame({ fin: false, opcode: Opcode.ping, payload: p }), CloseCode.protocolError],
      ['long ping', frame({ opcode: Opcode.ping, payload: Buffer.alloc(126) }), CloseCode.protocolError],
      [
        'masked from a server',
        frame({ opcode: Opcode.binary, payload: p, mask: Buffer.alloc(4, 1) }),
        CloseCode.protocolError,
      ],
      [
        'unmasked from a client',
        frame({ opcode: Opcode.binary, payload: p }),
        CloseCode.protocolError,
        { masked: true, maxPayload: 1024 },
      ],
      [
        'over the maximum',
        frame({ opcode: Opcode.binary, payload: Buffer.alloc(2000) }),
        CloseCode.tooBig,
        { masked: false, maxPayload: 1024 },
      ],
      [
        'over the maximum across fragments',
        Buffer.concat([
          frame({ fin: false, opcode: Opcode.binary, payload: Buffer.alloc(600) }),
          frame({ opcode: Opcode.continuation, payload: Buffer.alloc(600) }),
        ]),
        CloseCode.tooBig,
        { masked: false, maxPayload: 1024 },
      ],
      ['length over 2^53', Buffer.from([0x82, 127, 0x00, 0x20, 0, 0, 0, 0, 0, 0]), CloseCode.tooBig],
    ];
    for (const [what, bytes, code, o] of cases) {
      const err = refusal(bytes, o);
      expect({ what, code: err.closeCode, errCode: err.code }).toEqual({
        what,
        code,
        errCode: 'SESSION_STREAM_PROTOCOL',
      });
    }
  });

  it('reads up to the refusal and hands out nothing of the refused frame', () => {
    const ok = frame({ opcode: Opcode.binary, payload: Buffer.from('\x01ok') });
    const bad = frame({ opcode: Opcode.binary, payload: Buffer.from('\x01no'), rsv: 0x20 });
    const reader = new FrameReader({ masked: false, maxPayload: 1024 });
    const payloads: string[] = [];
    expect(() =>
      reader.push(Buffer.concat([ok, bad]), {
        header: () => {},
        payload: (b) => payloads.push(b.toString()),
        end: () => {},
      }),
    ).toThrow(FrameError);
    expect(payloads).toEqual(['\x01ok']);
  });
});
