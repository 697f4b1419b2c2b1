// The tap between the user's WebSocket and the apiserver's exec stream. Frames pass through
// unchanged (same channel protocol on both sides); output is written to the recording before it is
// forwarded, so the user never sees anything the recording lacks. If the recording fails, the
// session ends (fail closed).
// Where both sockets are raw (frame-socket.ts), stdout/stderr frames go from the apiserver's socket
// to the user's as the bytes that came, each read's payload recorded first (the tap below: one
// synchronous write per run of one stream, then the write to the user). Every other message, and
// all output where a side is not raw, comes here as a message: output messages of one event-loop
// turn are recorded as one event, then forwarded one by one.
import type { RawData } from 'ws';
import { Channel, decodeFrame, encodeFrame, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import { errorMessage } from '../../common/errors.ts';
import { exitCodeFromStatus, failureStatus, type Status } from '../../common/status.ts';
import type { RecordingWriter } from '../recording/writer.ts';
import { type ChannelSocket, closeSocket, OPEN } from './socket.ts';
import { isEnvMissing, type UpstreamResult } from './upstream.ts';

/** What the relay writes to: the recording (recording/writer.ts). */
export type RecordingSink = Pick<
  RecordingWriter,
  'output' | 'outputFrames' | 'clientFrame' | 'failure' | 'marker'
>;

/** Above this many buffered bytes on the receiving socket, the sending side is paused. */
const HIGH_WATER = 2 * 1024 * 1024;
const LOW_WATER = 512 * 1024;
/** Client frames kept for replay if the stream is reopened without `env`. */
const MAX_EARLY = 64 * 1024;

export type RelayOutcome =
  | 'exited'
  | 'client-closed'
  | 'upstream-closed'
  | 'upstream-refused'
  | 'recording-failed'
  | 'stopped'
  | 'terminated';

export interface RelayResult {
  outcome: RelayOutcome;
  /** From the channel-3 status; null when the status carried no exit code. */
  exitCode?: number | null;
  /** Human sentence for anything but a clean exit (or the status message of a failed start). */
  message?: string;
  /** True when the stream was reopened without the env marker. */
  inferred: boolean;
  /** True once any stdout/stderr bytes came from upstream (node debug falls back to the log without). */
  sawOutput?: boolean;
}

export interface RelayOptions {
  client: ChannelSocket;
  upstream: ChannelSocket;
  recording: RecordingSink;
  tty: boolean;
  /** Present when the command was prefixed with env: reopens the stream without it. */
  retryWithoutEnv?: () => Promise<UpstreamResult>;
  /** Runs once the session is over and before the user's socket is closed (store the outcome). */
  finalize?: (result: RelayResult) => Promise<void>;
  /** Frames the user sent before the relay started (resize, early keystrokes): relayed first. */
  early?: readonly Buffer[];
}

type Side = 'in' | 'out';

export class Relay {
  readonly done: Promise<RelayResult>;
  readonly #o: RelayOptions;
  #upstream: ChannelSocket;
  #resolve!: (r: RelayResult) => void;
  #finished = false;
  #status: { exitCode: number | null; message?: string } | null = null;
  #sawUpstream = false;
  #sawOutput = false;
  #inferred = false;
  #retrying = false;
  #queued: Buffer[] = [];
  #early: Buffer[] | null = [];
  #earlyBytes = 0;
  /** Output frames of this turn, recorded and forwarded together by #flush. */
  #batch: Buffer[] = [];
  #flushing: NodeJS.Immediate | null = null;

  constructor(options: RelayOptions) {
    this.#o = options;
    this.#upstream = options.upstream;
    this.done = new Promise((r) => {
      this.#resolve = r;
    });
    const { client } = options;
    client.on('message', (data: RawData) => this.#fromClient(toBuffer(data)));
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
    // Through the relay's own path, so they are recorded like any other frame.
    for (const buf of options.early ?? []) this.#fromClient(buf);
  }

  /** Ends the session from our side (recorder shutdown): the user is told why. */
  stop(message: string): void {
    this.#end({ outcome: 'stopped', message }, true);
  }

  /**
   * Ends the session at a moderator's request: the output so far, then `marker`, in the recording;
   * the user gets `status` on channel 3 (their plugin prints who and why), and the exec stream closes.
   */
  terminate(o: { marker: string; status: Status }): void {
    // The command's exit status arrived already: the session ends as it finished.
    if (this.#finished || this.#status) return;
    this.#flush();
    if (this.#finished) return;
    try {
      this.#o.recording.marker(o.marker);
    } catch {
      // A recording that failed ends the session anyway; the store says it was terminated.
    }
    this.#end({ outcome: 'terminated', message: o.status.message ?? o.marker }, o.status);
  }

  #attach(ws: ChannelSocket): void {
    this.#upstream = ws;
    ws.on('message', (data: RawData) => {
      if (ws === this.#upstream) this.#fromUpstream(toBuffer(data));
    });
    const closed = (message: string) => {
      if (ws !== this.#upstream || this.#retrying) return;
      // Deliver everything already received before deciding how the session ended.
      this.#flush();
      if (this.#status) this.#finish({ outcome: 'exited', ...this.#status });
      else this.#end({ outcome: 'upstream-closed', message }, true);
    };
    ws.on('close', () => closed('the Kubernetes API closed the exec stream before the command finished'));
    ws.on('error', (err: unknown) =>
      closed(`the exec stream to the Kubernetes API broke: ${errorMessage(err)}`),
    );
    ws.forwardOutput?.(this.#o.client, {
      output: (runs) => ws === this.#upstream && this.#tapOutput(runs),
      written: () => this.#forwarded(),
    });
  }

  /** Output the upstream socket forwards as it came: recorded here first. False: not forwarded. */
  #tapOutput(runs: readonly { stream: 1 | 2; chunks: readonly Buffer[] }[]): boolean {
    if (this.#finished) return false;
    this.#sawUpstream = true;
    this.#early = null;
    if (runs.length > 0) this.#sawOutput = true;
    // Output that came as messages before it goes first.
    this.#flush();
    if (this.#finished) return false;
    try {
      for (const run of runs) this.#o.recording.output(run.stream, run.chunks);
      return true;
    } catch (err) {
      this.#recordingFailed(err);
      return false;
    }
  }

  /** Forwarded output backs up on the user's socket: the apiserver's waits until it drained. */
  #forwarded(): void {
    const client = this.#o.client;
    if (client.bufferedAmount <= HIGH_WATER || this.#upstream.isPaused || this.#finished) return;
    this.#upstream.pause();
    client.once('drain', () => this.#throttle('out'));
  }

  #fromUpstream(buf: Buffer): void {
    if (this.#finished || buf.length === 0) return;
    const channel = buf[0]!;
    const first = !this.#sawUpstream;
    this.#sawUpstream = true;
    // Kept for a retry only until upstream spoke: then the stream is the one that stays.
    const early = this.#early;
    this.#early = null;
    if (channel === Channel.stdout || channel === Channel.stderr) {
      if (buf.length > 1) this.#sawOutput = true;
      this.#batch.push(buf);
      this.#flushing ??= setImmediate(() => this.#flush());
      return;
    }
    const payload = buf.subarray(1);
    if (first && channel === Channel.status && this.#o.retryWithoutEnv && isEnvMissing(payload)) {
      void this.#retry(early ?? []);
      return;
    }
    // Anything else keeps its place after the output before it.
    this.#flush();
    if (this.#finished) return;
    if (channel === Channel.status) {
      const s = exitCodeFromStatus(payload);
      this.#status = { exitCode: s.code, ...(s.message ? { message: s.message } : {}) };
    } else if (channel === Channel.close && this.#o.client.protocol !== SUBPROTOCOL_V5) {
      return;
    }
    this.#send(this.#o.client, buf, 'out');
  }

  /** Records this turn's output frames (one event per run of one stream), then forwards them. */
  #flush(): void {
    this.#flushing = null;
    const batch = this.#batch.splice(0);
    if (batch.length === 0 || !this.#record(batch) || this.#finished) return;
    for (const buf of batch) this.#send(this.#o.client, buf, 'out');
  }

  /** False (and the session ended) when the recording failed. */
  #record(batch: Buffer[]): boolean {
    try {
      this.#o.recording.outputFrames(batch);
      return true;
    } catch (err) {
      this.#recordingFailed(err);
      return false;
    }
  }

  #recordingFailed(err: unknown): void {
    const failure = this.#o.recording.failure;
    this.#end({ outcome: 'recording-failed', message: failure?.message ?? errorMessage(err) }, true);
  }

  #fromClient(buf: Buffer): void {
    if (this.#finished) return;
    if (this.#retrying) {
      this.#queued.push(buf);
      return;
    }
    const frame = decodeFrame(buf);
    if (!frame) return;
    try {
      this.#o.recording.clientFrame(buf);
    } catch (err) {
      this.#recordingFailed(err);
      return;
    }
    if (frame.channel === Channel.close && this.#upstream.protocol !== SUBPROTOCOL_V5) {
      // v4 has no way to say "stdin is finished"; the apiserver side would reject channel 255.
      return;
    }
    if (this.#early) this.#remember(buf);
    this.#send(this.#upstream, buf, 'in');
  }

  #remember(buf: Buffer): void {
    this.#earlyBytes += buf.length;
    if (this.#earlyBytes > MAX_EARLY) this.#early = null;
    else this.#early?.push(buf);
  }

  /** The image has no `env`: reopen without the marker, replaying what the user already sent. */
  async #retry(replay: Buffer[]): Promise<void> {
    this.#retrying = true;
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

  #send(to: ChannelSocket, buf: Buffer, side: Side): void {
    // Once the session is over nothing more is relayed (after a recording failure, not even the exit status).
    if (this.#finished || to.readyState !== OPEN) return;
    // A completion callback (what resumes a paused sender) only where this frame may back it up.
    if (to.bufferedAmount + buf.length > LOW_WATER)
      to.send(buf, { binary: true }, () => this.#throttle(side));
    else to.send(buf, { binary: true });
    if (to.bufferedAmount > HIGH_WATER) this.#throttle(side);
  }

  /** Pauses the sending socket while the receiver's buffer is full. */
  #throttle(side: Side): void {
    const source = side === 'out' ? this.#upstream : this.#o.client;
    const sink = side === 'out' ? this.#o.client : this.#upstream;
    if (sink.bufferedAmount > HIGH_WATER && !this.#finished) {
      if (!source.isPaused) source.pause();
    } else if (source.isPaused && (sink.bufferedAmount < LOW_WATER || this.#finished)) source.resume();
  }

  /** Ends abnormally: the user gets the reason as text and as a channel-3 Failure (or `tellClient`, alone). */
  #end(result: Omit<RelayResult, 'inferred'>, tellClient: boolean | Status): void {
    if (this.#finished) return;
    const client = this.#o.client;
    if (typeof tellClient === 'object') {
      if (client.readyState === OPEN) client.send(encodeFrame(Channel.status, JSON.stringify(tellClient)));
    } else if (tellClient && client.readyState === OPEN && result.message) {
      const text = `\r\naudited-exec: ${result.message}\r\n`;
      client.send(encodeFrame(this.#o.tty ? Channel.stdout : Channel.stderr, text));
      client.send(encodeFrame(Channel.status, JSON.stringify(failureStatus(500, result.message))));
    }
    this.#finish(result);
  }

  #finish(result: Omit<RelayResult, 'inferred'>): void {
    if (this.#finished) return;
    // Output that arrived but can no longer be forwarded is still recorded.
    if (this.#batch.length > 0 && !this.#o.recording.failure) this.#record(this.#batch.splice(0));
    if (this.#finished) return;
    this.#finished = true;
    const { client } = this.#o;
    const upstream = this.#upstream;
    for (const ws of [client, upstream]) if (ws.isPaused) ws.resume();
    // The apiserver side closes now; the user's side only after the session is stored, so a client
    // that reads the session right after the close sees its final state.
    closeSocket(upstream);
    const full: RelayResult = { ...result, inferred: this.#inferred, sawOutput: this.#sawOutput };
    void Promise.resolve()
      .then(() => this.#o.finalize?.(full))
      .catch(() => {})
      .then(() => {
        closeSocket(client);
        this.#resolve(full);
      });
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
