// The tap between the user's WebSocket and the apiserver's exec stream. Frames pass through
// unchanged (same channel protocol on both sides); output is written to the recording before it is
// forwarded, so the user never sees anything the recording lacks. If the recording fails, the
// session ends (fail closed).
import type WebSocket from 'ws';
import {
  Channel,
  decodeFrame,
  encodeFrame,
  type Frame,
  parseResize,
  SUBPROTOCOL_V5,
} from '../../common/channel.ts';
import { errorMessage } from '../../common/errors.ts';
import { exitCodeFromStatus, failureStatus } from '../../common/status.ts';
import type { RecordingWriter } from '../recording/writer.ts';
import { isEnvMissing, type UpstreamResult } from './upstream.ts';

/** Above this many buffered bytes on the receiving socket, the sending side is paused. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** Frames waiting for the recording before the sender is paused. */
const MAX_PENDING = 32;
/** Client frames kept for replay if the stream is reopened without `env`. */
const MAX_EARLY = 64 * 1024;

export type RelayOutcome =
  | 'exited'
  | 'client-closed'
  | 'upstream-closed'
  | 'upstream-refused'
  | 'recording-failed'
  | 'stopped';

export interface RelayResult {
  outcome: RelayOutcome;
  /** From the channel-3 status; null when the status carried no exit code. */
  exitCode?: number | null;
  /** Human sentence for anything but a clean exit (or the status message of a failed start). */
  message?: string;
  /** True when the stream was reopened without the env marker. */
  inferred: boolean;
}

export interface RelayOptions {
  client: WebSocket;
  upstream: WebSocket;
  recording: RecordingWriter;
  tty: boolean;
  /** Present when the command was prefixed with env: reopens the stream without it. */
  retryWithoutEnv?: () => Promise<UpstreamResult>;
  /** Runs once the session is over and before the user's socket is closed (store the outcome). */
  finalize?: (result: RelayResult) => Promise<void>;
}

type Side = 'in' | 'out';

export class Relay {
  readonly done: Promise<RelayResult>;
  readonly #o: RelayOptions;
  #upstream: WebSocket;
  #resolve!: (r: RelayResult) => void;
  #finished = false;
  #status: { exitCode: number | null; message?: string } | null = null;
  #sawUpstream = false;
  #inferred = false;
  #retrying = false;
  #queued: Buffer[] = [];
  #early: Buffer[] | null = [];
  #earlyBytes = 0;
  #chains: Record<Side, Promise<void>> = { in: Promise.resolve(), out: Promise.resolve() };
  #pending: Record<Side, number> = { in: 0, out: 0 };

  constructor(options: RelayOptions) {
    this.#o = options;
    this.#upstream = options.upstream;
    this.done = new Promise((r) => {
      this.#resolve = r;
    });
    const { client } = options;
    client.on('message', (data) => this.#fromClient(toBuffer(data)));
    client.on('close', () =>
      // A client that leaves right after the exit status saw the whole session.
      this.#finish(
        this.#status
          ? { outcome: 'exited', ...this.#status }
          : { outcome: 'client-closed', message: 'the user closed the connection' },
      ),
    );
    client.on('error', () =>
      this.#finish({ outcome: 'client-closed', message: 'the connection to the user broke' }),
    );
    this.#attach(options.upstream);
  }

  /** Ends the session from our side (recorder shutdown): the user is told why. */
  stop(message: string): void {
    this.#end({ outcome: 'stopped', message }, true);
  }

  #attach(ws: WebSocket): void {
    this.#upstream = ws;
    ws.on('message', (data) => {
      if (ws === this.#upstream) this.#fromUpstream(toBuffer(data));
    });
    const closed = (message: string) => {
      if (ws !== this.#upstream || this.#retrying) return;
      // Deliver everything already received before deciding how the session ended.
      void this.#chains.out.then(() => {
        if (this.#status) this.#finish({ outcome: 'exited', ...this.#status });
        else this.#end({ outcome: 'upstream-closed', message }, true);
      });
    };
    ws.on('close', () => closed('the Kubernetes API closed the exec stream before the command finished'));
    ws.on('error', (err) => closed(`the exec stream to the Kubernetes API broke: ${errorMessage(err)}`));
  }

  #fromUpstream(buf: Buffer): void {
    const frame = decodeFrame(buf);
    if (!frame) return;
    const first = !this.#sawUpstream;
    this.#sawUpstream = true;
    this.#early = null;
    if (first && frame.channel === Channel.status && this.#o.retryWithoutEnv && isEnvMissing(frame.payload)) {
      void this.#retry();
      return;
    }
    this.#enqueue('out', async () => {
      if (frame.channel === Channel.stdout || frame.channel === Channel.stderr) {
        await this.#o.recording.output(frame.channel, frame.payload);
      } else if (frame.channel === Channel.status) {
        const s = exitCodeFromStatus(frame.payload);
        this.#status = { exitCode: s.code, ...(s.message ? { message: s.message } : {}) };
      } else if (frame.channel === Channel.close && this.#o.client.protocol !== SUBPROTOCOL_V5) {
        return;
      }
      this.#send(this.#o.client, buf, 'out');
    });
  }

  #fromClient(buf: Buffer): void {
    if (this.#finished) return;
    if (this.#retrying) {
      this.#queued.push(buf);
      return;
    }
    const frame = decodeFrame(buf);
    if (!frame) return;
    this.#enqueue('in', async () => {
      await this.#recordInput(frame);
      if (frame.channel === Channel.close && this.#upstream.protocol !== SUBPROTOCOL_V5) {
        // v4 has no way to say "stdin is finished"; the apiserver side would reject channel 255.
        return;
      }
      if (this.#early) this.#remember(buf);
      this.#send(this.#upstream, buf, 'in');
    });
  }

  async #recordInput(frame: Frame): Promise<void> {
    if (frame.channel === Channel.stdin) await this.#o.recording.input(frame.payload);
    else if (frame.channel === Channel.resize) {
      const size = parseResize(frame.payload);
      if (size) await this.#o.recording.resize(size);
    }
  }

  #remember(buf: Buffer): void {
    this.#earlyBytes += buf.length;
    if (this.#earlyBytes > MAX_EARLY) this.#early = null;
    else this.#early?.push(buf);
  }

  /** The image has no `env`: reopen without the marker, replaying what the user already sent. */
  async #retry(): Promise<void> {
    this.#retrying = true;
    const replay = this.#early ?? [];
    this.#early = null;
    const old = this.#upstream;
    old.removeAllListeners('close');
    old.on('error', () => {});
    old.terminate();
    const result = await this.#o.retryWithoutEnv!();
    if (this.#finished) {
      if (result.ok) result.ws.terminate();
      return;
    }
    if (!result.ok) {
      this.#retrying = false;
      const message = result.status.message ?? 'the Kubernetes API refused the exec';
      this.#end({ outcome: 'upstream-refused', message }, true);
      return;
    }
    this.#inferred = true;
    this.#attach(result.ws);
    for (const buf of replay) result.ws.send(buf);
    this.#retrying = false;
    const queued = this.#queued;
    this.#queued = [];
    for (const buf of queued) this.#fromClient(buf);
  }

  #enqueue(side: Side, step: () => Promise<void>): void {
    this.#pending[side]++;
    this.#throttle(side);
    this.#chains[side] = this.#chains[side]
      .then(step)
      .catch((err) => {
        if (this.#o.recording.failure)
          this.#end({ outcome: 'recording-failed', message: this.#o.recording.failure.message }, true);
        else
          this.#end(
            { outcome: side === 'out' ? 'upstream-closed' : 'client-closed', message: errorMessage(err) },
            true,
          );
      })
      .finally(() => {
        this.#pending[side]--;
        this.#throttle(side);
      });
  }

  #send(to: WebSocket, buf: Buffer, side: Side): void {
    // Once the session is over nothing more is relayed (after a recording failure, not even the exit status).
    if (this.#finished || to.readyState !== to.OPEN) return;
    to.send(buf, { binary: true }, () => this.#throttle(side));
    this.#throttle(side);
  }

  /** Pauses the sending socket while the receiver's buffer or the recording queue is full. */
  #throttle(side: Side): void {
    const source = side === 'out' ? this.#upstream : this.#o.client;
    const sink = side === 'out' ? this.#o.client : this.#upstream;
    const busy = sink.bufferedAmount > HIGH_WATER || this.#pending[side] > MAX_PENDING;
    const idle = sink.bufferedAmount < LOW_WATER && this.#pending[side] <= MAX_PENDING / 2;
    if (busy && !source.isPaused) source.pause();
    else if ((idle || this.#finished) && source.isPaused) source.resume();
  }

  /** Ends abnormally: the user gets the reason as text and as a channel-3 Failure. */
  #end(result: Omit<RelayResult, 'inferred'>, tellClient: boolean): void {
    if (this.#finished) return;
    const client = this.#o.client;
    if (tellClient && client.readyState === client.OPEN && result.message) {
      const text = `\r\naudited-exec: ${result.message}\r\n`;
      client.send(encodeFrame(this.#o.tty ? Channel.stdout : Channel.stderr, text));
      client.send(encodeFrame(Channel.status, JSON.stringify(failureStatus(500, result.message))));
    }
    this.#finish(result);
  }

  #finish(result: Omit<RelayResult, 'inferred'>): void {
    if (this.#finished) return;
    this.#finished = true;
    const { client } = this.#o;
    const upstream = this.#upstream;
    for (const ws of [client, upstream]) if (ws.isPaused) ws.resume();
    // The apiserver side closes now; the user's side only after the session is stored, so a client
    // that reads the session right after the close sees its final state.
    closeSocket(upstream);
    const full: RelayResult = { ...result, inferred: this.#inferred };
    void Promise.all([this.#chains.in, this.#chains.out])
      .then(() => this.#o.finalize?.(full))
      .catch(() => {})
      .then(() => {
        closeSocket(client);
        this.#resolve(full);
      });
  }
}

function closeSocket(ws: WebSocket): void {
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
  // A peer that never answers the close handshake must not keep the session open.
  setTimeout(() => ws.terminate(), 5000).unref();
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
