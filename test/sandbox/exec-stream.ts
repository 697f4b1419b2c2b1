// pods/exec and pods/attach over WebSocket (v5/v4.channel.k8s.io): frames in, process I/O out, the
// exit status on channel 3, then close 1000 — what the kubelet's streaming server does.
import type { WebSocket } from 'ws';
import {
  Channel,
  decodeFrame,
  encodeFrame,
  parseResize,
  SUBPROTOCOL_V4,
  SUBPROTOCOL_V5,
} from '../../common/channel.ts';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import { exitStatusPayload } from '../../common/status.ts';
import type { Proc } from './proc.ts';
import { EXEC_START_FAILED } from './runtime.ts';

export interface StreamOptions {
  command: string[];
  container: string;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export function parseStreamQuery(url: URL): StreamOptions {
  const flag = (k: string): boolean => {
    const v = url.searchParams.get(k);
    return v === 'true' || v === '1';
  };
  return {
    command: url.searchParams.getAll('command'),
    container: url.searchParams.get('container') ?? '',
    stdin: flag('stdin'),
    stdout: flag('stdout'),
    stderr: flag('stderr'),
    tty: flag('tty'),
  };
}

/** Prefers v5 when offered (it has the stdin close frame); v4 otherwise. */
export function chooseSubprotocol(offered: Set<string>): string | false {
  if (offered.has(SUBPROTOCOL_V5)) return SUBPROTOCOL_V5;
  if (offered.has(SUBPROTOCOL_V4)) return SUBPROTOCOL_V4;
  return false;
}

/**
 * The channel-3 Status for a command that never started: the kubelet's
 * apierrors.NewInternalError(fmt.Errorf("error executing command in container: %v", err)).
 */
export function startFailurePayload(runtimeMessage: string): string {
  const cause = `error executing command in container: ${runtimeMessage}`;
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${cause}`,
    reason: 'InternalError',
    details: { causes: [{ message: cause }] },
    code: 500,
  });
}

/** Output buffered for a slow client above which an exec's process is no longer read. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export interface StreamSession {
  /** resolves when the stream is over (process exited or client went away) */
  done: Promise<void>;
}

/**
 * Wires a started (or failing-to-start) process to the socket. `start` runs after the handshake so a
 * start failure reaches the client as a channel-3 Status, like the kubelet's.
 * `owned`: exec (the process dies with the stream) vs attach (the main process outlives it).
 */
export function runStream(
  ws: WebSocket,
  opts: StreamOptions,
  start: () => Promise<Proc>,
  owned: boolean,
): StreamSession {
  const v5 = ws.protocol === SUBPROTOCOL_V5;
  const done = new Promise<void>((resolve) => {
    let proc: Proc | null = null;
    let finished = false;
    let unsubscribe = (): void => {};
    const pending: Buffer[] = [];
    let paused = false;
    const finish = (payload: string | null): void => {
      if (finished) return;
      finished = true;
      unsubscribe();
      if (payload !== null && ws.readyState === ws.OPEN) {
        ws.send(encodeFrame(Channel.status, payload));
        ws.close(1000);
      }
      resolve();
    };
    const handle = (data: Buffer): void => {
      const frame = decodeFrame(data);
      if (!frame || !proc) return;
      if (frame.channel === Channel.stdin && opts.stdin) proc.write(frame.payload);
      else if (frame.channel === Channel.resize && opts.tty) {
        const size = parseResize(frame.payload);
        if (size) proc.resize(size);
      } else if (v5 && frame.channel === Channel.close && frame.payload[0] === Channel.stdin) proc.endStdin();
    };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const buf = isBinary ? data : Buffer.from(data);
      if (proc) handle(buf);
      else pending.push(buf);
    });
    ws.on('close', () => {
      // Read what the process still writes (to nowhere), or it never sees its pipe close.
      if (proc && paused) proc.resumeOutput();
      paused = false;
      if (proc && owned && !finished) proc.kill(proc.tty ? 'SIGHUP' : 'SIGTERM');
      finish(null);
    });
    ws.on('error', () => ws.terminate());
    start().then(
      (p) => {
        proc = p;
        if (finished) {
          if (owned) p.kill(p.tty ? 'SIGHUP' : 'SIGTERM');
          return;
        }
        // Flow control as the kubelet's: an exec whose client reads slowly stops being read, so
        // the process blocks on its full pipe; nothing piles up here. (An attach only watches a
        // main process, which must not stall for it.)
        const drained = (): void => {
          if (paused && ws.bufferedAmount < LOW_WATER) {
            paused = false;
            p.resumeOutput();
          }
        };
        unsubscribe = p.onOutput((stream, data) => {
          if (ws.readyState !== ws.OPEN) return;
          const channel = stream === 'stderr' && !opts.tty ? Channel.stderr : Channel.stdout;
          if ((channel === Channel.stdout && opts.stdout) || (channel === Channel.stderr && opts.stderr)) {
            const frame = encodeFrame(channel, data);
            if (!owned) ws.send(frame);
            else if (ws.bufferedAmount + frame.length <= LOW_WATER) ws.send(frame);
            else {
              ws.send(frame, drained);
              if (!paused && ws.bufferedAmount > HIGH_WATER) {
                paused = true;
                p.pauseOutput();
              }
            }
          }
        });
        for (const buf of pending.splice(0)) handle(buf);
        // Without stdin the process must not wait on a pipe nobody writes to.
        if (!opts.stdin && owned && !p.tty) p.endStdin();
        void p.exited.then((code) => finish(exitStatusPayload(code)));
      },
      (err: unknown) => {
        const message =
          err instanceof AuditedExecError && err.code === EXEC_START_FAILED
            ? err.message
            : `failed to start the command: ${errorMessage(err)}`;
        finish(startFailurePayload(message));
      },
    );
  });
  return { done };
}
