// Moves one session's frames between the local stdio and the recorder's WebSocket, with
// backpressure both ways, until the remote exit status arrives or the connection is lost.
import type { Readable, Writable } from 'node:stream';
import type WebSocket from 'ws';
import {
  Channel,
  decodeFrame,
  encodeFrame,
  encodeResize,
  SUBPROTOCOL_V5,
  type TerminalSize,
} from '../common/channel.ts';
import { exitCodeFromStatus } from '../common/status.ts';
import { TERMINATED_EXIT_CODE, type Termination, terminationOf } from '../common/termination.ts';

export const LOST_MESSAGE = 'connection to the recorder was lost; the session was recorded up to this point';

/** Pause local stdin while this much is queued on the socket (bytes). */
const STDIN_HIGH_WATER = 1 << 20;

export interface ResizeSource {
  size(): TerminalSize;
  /** Subscribes; returns the unsubscribe function. */
  onResize(listener: (size: TerminalSize) => void): () => void;
}

/**
 * A socket whose messages and close are held from the moment it is created until someone listens:
 * the recorder may send output in the same TCP segment as the 101, before the caller's await resumes.
 */
export interface ChannelSocket {
  ws: WebSocket;
  listen(onMessage: (data: Buffer) => void, onClose: (code: number, reason: Buffer) => void): void;
}

export function bufferedSocket(ws: WebSocket): ChannelSocket {
  const held: Buffer[] = [];
  let closed: [number, Buffer] | null = null;
  let onMessage: ((data: Buffer) => void) | null = null;
  let onClose: ((code: number, reason: Buffer) => void) | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const buf = isBinary ? data : Buffer.from(data);
    if (onMessage) onMessage(buf);
    else held.push(buf);
  });
  ws.once('close', (code: number, reason: Buffer) => {
    if (onClose) onClose(code, reason);
    else closed = [code, reason];
  });
  // 'close' always follows 'error'; this listener only keeps an error from being thrown.
  ws.on('error', () => {});
  return {
    ws,
    listen(m, c) {
      onMessage = m;
      for (const b of held.splice(0)) m(b);
      onClose = c;
      if (closed) c(...closed);
    },
  };
}

export interface StreamOptions {
  socket: ChannelSocket;
  /** null unless -i */
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  /** present only when a TTY was requested and the local side is a terminal */
  terminal?: ResizeSource;
}

export interface StreamResult {
  /** the remote command's exit code, or 1 when it has none (kubectl's code for errors) */
  exitCode: number;
  /** a sentence for stderr when the session did not end with an exit code */
  error?: string;
  /** true when the connection broke before the exit status */
  lost: boolean;
  /** A moderator ended the session: who and why (the recorder's SESSION_TERMINATED status). */
  terminated?: Termination;
}

export function pumpStream(opts: StreamOptions): Promise<StreamResult> {
  const { socket, stdin, stdout, stderr, terminal } = opts;
  const { ws } = socket;
  const v5 = ws.protocol === SUBPROTOCOL_V5;
  let status: { code: number | null; message?: string } | null = null;
  let terminated: Termination | undefined;
  let paused = 0;
  const cleanups: Array<() => void> = [];

  const send = (frame: Buffer, done?: () => void) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(frame, { binary: true }, () => done?.());
  };

  // Output: when the local side is slow, stop reading the socket; TCP then slows the recorder.
  const write = (out: Writable, data: Buffer) => {
    if (out.write(data)) return;
    if (paused++ === 0) ws.pause();
    out.once('drain', () => {
      if (--paused === 0) ws.resume();
    });
  };

  if (terminal) {
    send(encodeResize(terminal.size()));
    cleanups.push(terminal.onResize((size) => send(encodeResize(size))));
  }

  if (stdin) {
    const onData = (chunk: Buffer | string) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      send(encodeFrame(Channel.stdin, data), () => {
        if (stdin.isPaused() && ws.bufferedAmount < STDIN_HIGH_WATER / 2) stdin.resume();
      });
      if (ws.bufferedAmount >= STDIN_HIGH_WATER) stdin.pause();
    };
    // v4 has no way to say "no more input"; the remote then sees EOF only when the session ends.
    const onEnd = () => {
      if (v5) send(encodeFrame(Channel.close, Buffer.from([Channel.stdin])));
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    cleanups.push(() => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    });
  }

  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const frame = decodeFrame(data);
      if (!frame) return;
      if (frame.channel === Channel.stdout) write(stdout, frame.payload);
      else if (frame.channel === Channel.stderr) write(stderr, frame.payload);
      else if (frame.channel === Channel.status) {
        status = exitCodeFromStatus(frame.payload);
        terminated = terminationOf(parseJson(frame.payload));
      }
    };
    socket.listen(onMessage, (code: number, reasonBuf: Buffer) => {
      for (const c of cleanups) c();
      const reason = reasonBuf.toString('utf8').trim();
      if (terminated) resolve({ exitCode: TERMINATED_EXIT_CODE, lost: false, terminated });
      else if (status) {
        if (status.code !== null) resolve({ exitCode: status.code, lost: false });
        else resolve({ exitCode: 1, lost: false, error: status.message ?? 'the command could not be run' });
      } else if (code === 1000 && reason) {
        resolve({ exitCode: 1, lost: false, error: `the recorder ended the session: ${reason}` });
      } else {
        resolve({ exitCode: 1, lost: true, error: reason ? `${LOST_MESSAGE} (${reason})` : LOST_MESSAGE });
      }
    });
  });
}

function parseJson(payload: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
