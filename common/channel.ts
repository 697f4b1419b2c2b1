// The Kubernetes remote-command channel protocol (v4/v5.channel.k8s.io) over WebSocket.
// Each binary message is one channel byte followed by payload. The recorder, the sandbox
// apiserver and the plugin all speak it, so the relay can tap frames instead of translating.

export const SUBPROTOCOL_V5 = 'v5.channel.k8s.io';
export const SUBPROTOCOL_V4 = 'v4.channel.k8s.io';
export const SUBPROTOCOLS = [SUBPROTOCOL_V5, SUBPROTOCOL_V4] as const;

export const Channel = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  status: 3,
  resize: 4,
  /** v5 only: payload is one byte naming the channel the sender will write no more to. */
  close: 255,
} as const;
export type ChannelId = (typeof Channel)[keyof typeof Channel];

export interface Frame {
  channel: number;
  payload: Buffer;
}

export function encodeFrame(channel: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = channel;
  body.copy(out, 1);
  return out;
}

/** Returns null for an empty message (which carries no channel and is ignored by kubectl). */
export function decodeFrame(data: Buffer): Frame | null {
  if (data.length === 0) return null;
  return { channel: data[0]!, payload: data.subarray(1) };
}

export interface TerminalSize {
  width: number;
  height: number;
}

/**
 * client-go sends {"Width":W,"Height":H}, client-node {"height":H,"width":W}: keys are matched
 * case-insensitively. Returns null for anything that is not a sane size.
 */
export function parseResize(payload: Buffer | string): TerminalSize | null {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  let width: unknown;
  let height: unknown;
  for (const [key, v] of Object.entries(value)) {
    const k = key.toLowerCase();
    if (k === 'width') width = v;
    else if (k === 'height') height = v;
  }
  if (!isDimension(width) || !isDimension(height)) return null;
  return { width, height };
}

function isDimension(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

export function encodeResize(size: TerminalSize): Buffer {
  return encodeFrame(Channel.resize, JSON.stringify({ Width: size.width, Height: size.height }));
}
