// The WebSocket surface the session code uses, on either side of a session: frame-socket.ts in
// production, an in-memory pair in tests (test/server/sessions/fakes.ts).

/** WebSocket readyState values (ws and the browser's). */
import { EventEmitter } from 'node:events';

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 3;

/** The relay's side of forwarding output as it came (frame-socket.ts). */
export interface OutputTap {
  /**
   * The stdout/stderr payload of one read, in runs of one stream, before any of it is forwarded:
   * recorded here. False: forward none of it (the session is over).
   */
  output(runs: readonly { stream: 1 | 2; chunks: readonly Buffer[] }[]): boolean;
  /** The read's frames were written to the user's socket. */
  written(): void;
}

export interface ChannelSocket {
  readonly protocol: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly isPaused: boolean;
  send(data: Buffer, options?: { binary?: boolean }, cb?: (err?: Error) => void): void;
  pause(): void;
  resume(): void;
  close(code?: number): void;
  terminate(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  removeAllListeners(event?: string): unknown;
  /**
   * Where both ends are raw WebSockets: stdout/stderr messages read here go to `to` as the same
   * bytes, their payload handed to `tap` first; false (or absent) where they cannot, and every
   * message stays a 'message' event.
   */
  forwardOutput?(to: ChannelSocket, tap: OutputTap): boolean;
}

/** An EventEmitter whose listener methods take what ChannelSocket declares (EventEmitter's generic
 *  listeners do not assign to it): the base of a ChannelSocket implementation. */
export class ChannelEmitter extends EventEmitter {
  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }
  override once(event: string, listener: (...args: never[]) => void): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }
  override off(event: string, listener: (...args: never[]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }
}

export function closeSocket(ws: ChannelSocket): void {
  if (ws.readyState === OPEN || ws.readyState === CONNECTING) ws.close(1000);
  if (ws.readyState === CLOSED) return;
  // A peer that never answers the close handshake must not keep the session open (cleared on
  // close: finished sessions must not stay in memory for the grace period).
  const timer = setTimeout(() => ws.terminate(), 5000).unref();
  ws.once('close', () => clearTimeout(timer));
}
