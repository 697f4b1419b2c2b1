// One claimed session while it opens: what its driver sees (OpenContext), and what the lifecycle
// needs afterwards (the user's socket, the frames they sent meanwhile, the recording). It lets go
// of the upgrade request as soon as it is answered: a session may run for hours, and the request,
// its socket and head must not stay in memory with it.
import { Channel, encodeFrame } from '../../common/channel.ts';
import { errorMessage } from '../../common/errors.ts';
import { failureStatus, type Status } from '../../common/status.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { codedStatus } from '../http/respond.ts';
import { RecordingWriter, recordingHere } from '../recording/writer.ts';
import { type OpenContext, SessionRefusal, SessionStop } from './driver.ts';
import type { Ending, SessionServices, Stoppable } from './services.ts';
import { type ChannelSocket, OPEN } from './socket.ts';

export const USER_LEFT = 'the user disconnected before the stream opened';

/** The user's side of a stream request, before the WebSocket upgrade is answered. */
export interface Handshake {
  /** Completes the upgrade; null when the socket died meanwhile. */
  accept(): ChannelSocket | null;
  /** Answers the upgrade with `status` as its HTTP response. */
  refuse(status: Status): void;
}

export class Opening implements OpenContext, Stoppable {
  readonly session: SessionRecord;
  readonly #services: Pick<SessionServices, 'store' | 'clock' | 'dataDir'>;
  readonly #abort = new AbortController();
  #handshake: Handshake | null;
  #client: ChannelSocket | null = null;
  #early: Buffer[] = [];
  #recording: RecordingWriter | null = null;
  #relay: Stoppable | null = null;

  constructor(
    services: Pick<SessionServices, 'store' | 'clock' | 'dataDir'>,
    session: SessionRecord,
    handshake: Handshake,
  ) {
    this.#services = services;
    this.session = { ...session };
    this.#handshake = handshake;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The recording once opened. */
  get openedRecording(): RecordingWriter | null {
    return this.#recording;
  }

  async recording(title: string): Promise<RecordingWriter> {
    if (this.#recording) return this.#recording;
    const s = this.session;
    try {
      this.#recording = await RecordingWriter.open({
        path: await recordingHere(this.#services.dataDir, s.id),
        startedAt: this.#services.clock(),
        recordInput: s.recordInput,
        title,
        env: { TERM: 'xterm-256color', SHELL: s.command[0] ?? '' },
      });
    } catch (err) {
      throw new SessionRefusal('refused', codedStatus(503, 'RECORDING_FAILED', errorMessage(err)));
    }
    return this.#recording;
  }

  accept(): ChannelSocket {
    if (this.#client) return this.#client;
    const handshake = this.#handshake;
    this.#handshake = null;
    const client = handshake?.accept() ?? null;
    if (!client) throw new SessionRefusal('interrupted', failureStatus(500, USER_LEFT));
    this.#client = client;
    client.on('message', this.#keep);
    client.once('close', this.#gone);
    return client;
  }

  tell(text: string): void {
    const client = this.#client;
    if (client?.readyState !== OPEN) return;
    client.send(encodeFrame(Channel.stderr, `${text}${this.session.tty ? '\r\n' : '\n'}`));
  }

  async update(patch: Partial<SessionRecord>): Promise<void> {
    await this.#services.store.updateSession(this.session.id, patch);
    Object.assign(this.session, patch);
  }

  /** Shutdown: aborts the opening, or ends the relay once there is one. */
  stop(message: string): void {
    if (this.#relay) this.#relay.stop(message);
    else this.#abort.abort(new SessionStop('stopped', message));
  }

  /** A moderator ends the session: the relay's own terminate, or the opening aborted (lifecycle.ts stores it as terminated). */
  terminate(ending: Ending): void {
    if (this.#relay) this.#relay.terminate(ending);
    else this.#abort.abort(new SessionStop('stopped', ending.status.message ?? ending.marker));
  }

  /**
   * The user's socket for the relay (accepted now unless the driver did) and what they sent
   * meanwhile. Throws a SessionRefusal when the session can no longer start.
   */
  connect(): { client: ChannelSocket; early: Buffer[] } {
    if (this.signal.aborted) {
      throw new SessionRefusal('interrupted', failureStatus(500, errorMessage(this.signal.reason)));
    }
    const client = this.handOver();
    if (client.readyState !== OPEN) throw new SessionRefusal('interrupted', failureStatus(500, USER_LEFT));
    return { client, early: this.#early.splice(0) };
  }

  /** The user's socket, no longer watched by the opening (the relay or the lifecycle takes it). */
  handOver(): ChannelSocket {
    const client = this.accept();
    this.#release(client);
    return client;
  }

  /** From now on stop() ends `relay`. */
  relaying(relay: Stoppable): void {
    this.#relay = relay;
  }

  /** Tells the user why the session ends before any relay: on the stream if accepted, else as the HTTP answer. */
  refuse(status: Status): void {
    const client = this.#client;
    const handshake = this.#handshake;
    this.#handshake = null;
    if (!client) {
      handshake?.refuse(status);
      return;
    }
    this.#release(client);
    if (client.readyState !== OPEN) return;
    client.send(encodeFrame(Channel.status, JSON.stringify(status)));
    client.close(1000);
  }

  readonly #keep = (data: Buffer) => {
    this.#early.push(data);
  };

  readonly #gone = () => {
    this.#abort.abort(new SessionStop('client-gone', USER_LEFT));
  };

  #release(client: ChannelSocket): void {
    client.off('message', this.#keep);
    client.off('close', this.#gone);
  }
}
