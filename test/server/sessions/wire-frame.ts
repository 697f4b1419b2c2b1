// One WebSocket frame as bytes, for the tests that speak the wire themselves: any opcode, masked or
// not, RSV bits as given (to build what a peer must refuse).
import { encodeHeader } from '../../../server/sessions/ws-frame.ts';

export function frame(o: {
  fin?: boolean;
  opcode: number;
  payload: Buffer;
  mask?: Buffer;
  rsv?: number;
}): Buffer {
  const head = encodeHeader({
    fin: o.fin ?? true,
    opcode: o.opcode,
    length: o.payload.length,
    ...(o.mask ? { mask: o.mask } : {}),
  });
  head[0]! |= o.rsv ?? 0;
  const body = Buffer.from(o.payload);
  if (o.mask) for (let i = 0; i < body.length; i++) body[i]! ^= o.mask[i & 3]!;
  return Buffer.concat([head, body]);
}
