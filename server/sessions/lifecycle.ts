// One session's life, the same for every kind: claim the pending session for its creator, open its
// recording and upstream through its driver, relay, store the outcome, clean up once. The driver
// (driver.ts) supplies only what differs per kind; the steps and their order are written here once,
// as is the one timer for sessions whose stream is never opened (unopened.ts).
import { SUBPROTOCOL_V4, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import { failureStatus } from '../../common/status.ts';
import { type Termination, terminationMarker, terminationStatus } from '../../common/termination.ts';
import type { SessionKind, SessionRecord, SessionState } from '../../common/wire.ts';
import { sameUser, type UserInfo } from '../auth/user.ts';
import type { RecordingWriter } from '../recording/writer.ts';
import type { InterruptedSession } from '../store/store.ts';
import {
  driverFor,
  type Opened,
  type SessionDriver,
  type SessionDrivers,
  SessionRefusal,
  SessionStop,
} from './driver.ts';
import { storeFinalState } from './final-state.ts';
import { type Handshake, Opening } from './opening.ts';
import { Relay, type RelayResult } from './relay.ts';
import type { SessionServices } from './services.ts';
import { closeSocket } from './socket.ts';
import { UnopenedSessions } from './unopened.ts';

type Stream = Extract<Opened, { stream: unknown }>;

export class SessionLifecycle {
  readonly #services: SessionServices;
  readonly #drivers: SessionDrivers;
  readonly unopened: UnopenedSessions;
  /** Sessions a moderator is ending right now: their end is stored as terminated, by whom and why. */
  readonly #terminations = new Map<string, Termination>();

  constructor(services: SessionServices, drivers: SessionDrivers) {
    this.#services = services;
    this.#drivers = drivers;
    this.unopened = new UnopenedSessions({
      ...services,
      ended: (s) => this.cleanup(s),
      log: services.log ?? (() => {}),
    });
  }

  driver(kind: SessionKind): SessionDriver {
    return driverFor(this.#drivers, kind);
  }

  /**
   * Start-up: sessions a previous run of this replica left open are marked interrupted (pending ones
   * only past the stream timeout: a plugin may still open those), then each driver removes what is
   * left of them. Sessions of other replicas are theirs (takeOver ends those of dead ones). Each
   * one marked is announced (`interrupted` on the bus).
   */
  async recover(): Promise<void> {
    const own = this.#services.replica;
    const n = await this.#interrupt(
      own ? [own] : undefined,
      'the recorder stopped while this session was open',
    );
    if (n) this.#services.log?.(`marked ${n} session(s) left open by a previous run as interrupted`);
    for (const driver of this.#drivers.values()) await driver.recover?.();
  }

  /** Sessions recorded by replicas that died (their lease ran out): ended interrupted and announced,
   *  then each driver removes what is left of them. Returns how many. */
  async takeOver(replicas: readonly string[]): Promise<number> {
    if (replicas.length === 0) return 0;
    const n = await this.#interrupt(replicas, 'the recorder replica recording this session stopped');
    if (n) for (const driver of this.#drivers.values()) await driver.recover?.();
    return n;
  }

  async #interrupt(replicas: readonly string[] | undefined, error: string): Promise<number> {
    const { store, clock, streamTimeoutMs, events } = this.#services;
    let marked: InterruptedSession[];
    try {
      // On a full disk the marks are held in memory and stored once there is room (store/pending.ts).
      marked = await store.interruptStale({
        pendingBefore: new Date(clock().getTime() - streamTimeoutMs).toISOString(),
        running: true,
        error,
        endedAt: clock().toISOString(),
        ...(replicas ? { replicas } : {}),
      });
    } catch (err) {
      this.#services.log?.(`warning: could not mark sessions left open as interrupted: ${errorMessage(err)}`);
      return 0;
    }
    // Only a started session's end is announced, as `ended` is (a pending one was never exported).
    for (const m of marked) if (m.was === 'running') events.emit('interrupted', m.session);
    return marked.length;
  }

  /**
   * A moderator ends a session this replica records: the relay marks the recording, tells the user
   * who and why and closes the stream; the driver removes what the kind runs beyond it (a debug
   * pod); the end is stored as terminated. Resolves with the stored record, or undefined when the
   * session is not live here (it ended meanwhile, or another replica records it).
   */
  async terminate(session: SessionRecord, t: Termination): Promise<SessionRecord | undefined> {
    const { live, store } = this.#services;
    if (!live.has(session.id)) return undefined;
    this.#terminations.set(session.id, t);
    try {
      // The relay's side is synchronous: the stream is closed before the driver is asked.
      const ended = live.terminate(session.id, {
        marker: terminationMarker(t),
        status: terminationStatus(t),
      });
      await this.driver(session.kind)
        .terminate?.(session)
        .catch((err) => this.#services.log?.(`session ${session.id}: terminate: ${errorMessage(err)}`));
      if (!(await ended)) return undefined;
      return await store.getSession(session.id);
    } finally {
      this.#terminations.delete(session.id);
    }
  }

  /** Starts the unopened-session timer. */
  start(): void {
    this.unopened.start();
  }

  /** Stops the timer; live sessions are ended by LiveSessions.stopAll. */
  close(): void {
    this.unopened.close();
  }

  /** The driver's cleanup, once per session; a failure is logged, never thrown at the session's end. */
  async cleanup(session: SessionRecord): Promise<void> {
    try {
      await this.driver(session.kind).cleanup(session);
    } catch (err) {
      this.#services.log?.(`session ${session.id}: cleanup failed: ${errorMessage(err)}`);
    }
  }

  /**
   * The stream request: claims the session, then opens it. Resolves once it relays or has ended;
   * refusals before the claim are thrown with their codes (the router answers the upgrade).
   */
  async open(o: {
    user: UserInfo;
    id: string;
    offersProtocol: boolean;
    handshake: Handshake;
  }): Promise<void> {
    const session = await this.#claim(o.user, o.id, o.offersProtocol);
    await this.#run(session, o.handshake);
  }

  /** Pending, its creator's, within the stream timeout, spoken in our protocol: then running, once. */
  async #claim(user: UserInfo, id: string, offersProtocol: boolean): Promise<SessionRecord> {
    const { store, clock, streamTimeoutMs } = this.#services;
    const session = await store.getSession(id);
    if (!session) throw new AuditedExecError('SESSION_NOT_FOUND', `session ${id} not found`);
    if (!sameUser(user, { username: session.user, ...(session.uid ? { uid: session.uid } : {}) })) {
      throw new AuditedExecError(
        'SESSION_NOT_YOURS',
        `only ${session.user}, who created session ${id}, may open its stream`,
      );
    }
    const used = (what: string) =>
      new AuditedExecError('SESSION_STREAM_USED', `session ${id} ${what}; create a new session`);
    if (session.state !== 'pending') throw used(`is ${session.state}`);
    const now = clock();
    if (now.getTime() - Date.parse(session.startedAt) > streamTimeoutMs) {
      const error = `the stream was not opened within ${streamTimeoutMs / 1000} s of creating the session`;
      const patch = { state: 'refused' as const, error, endedAt: now.toISOString() };
      if (await store.transitionSession(id, 'pending', patch)) await this.cleanup({ ...session, ...patch });
      throw new AuditedExecError('SESSION_STREAM_EXPIRED', `${error}; create a new session`);
    }
    if (!offersProtocol) throw new AuditedExecError('SESSION_PROTOCOL', PROTOCOL_MESSAGE);
    // The exec acts as the caller is now: a group revoked since create must not still open a shell.
    const claimed = {
      state: 'running' as const,
      groups: user.groups,
      ...(this.#services.replica ? { replica: this.#services.replica } : {}),
    };
    if (!(await store.transitionSession(id, 'pending', claimed))) throw used('stream was already opened');
    const running: SessionRecord = { ...session, ...claimed };
    this.#services.events.emit('started', running);
    return running;
  }

  async #run(session: SessionRecord, handshake: Handshake): Promise<void> {
    const driver = this.driver(session.kind);
    const opening = new Opening(this.#services, session, handshake);
    let done!: () => void;
    this.#services.live.add(session.id, opening, new Promise<void>((r) => (done = r)));
    let opened: Opened | undefined;
    try {
      opened = await driver.open(opening);
      const recording = opening.openedRecording;
      if (!recording) throw new Error(`the ${session.kind} driver opened no recording`);
      if ('ended' in opened) {
        // Ran without a stream (a replayed log): what it sent stands, even if the user left since.
        await this.#storeEnd(opening.session, recording, opened.ended);
        closeSocket(opening.handOver());
        done();
        return;
      }
      const { client, early } = opening.connect();
      this.#relay({ session: opening.session, opened, recording, client, early, done }, opening);
    } catch (err) {
      if (opened && 'stream' in opened) opened.stream.terminate();
      await this.#endEarly(opening, this.#refusal(session, err));
      done();
    }
  }

  /** Outside #run: closures made there would keep the opening (and its scope) for the whole session. */
  #relay(
    o: {
      session: SessionRecord;
      opened: Stream;
      recording: RecordingWriter;
      client: Parameters<typeof closeSocket>[0];
      early: Buffer[];
      done: () => void;
    },
    opening: Opening,
  ): void {
    const { session, opened, recording } = o;
    const reopen = opened.reopenWithoutMarker;
    const relay = new Relay({
      client: o.client,
      upstream: opened.stream,
      recording,
      tty: session.tty,
      early: o.early,
      ...(reopen ? { retryWithoutEnv: () => this.#reopen(session, reopen) } : {}),
      finalize: async (result) =>
        this.#storeEnd(session, recording, opened.settle ? await opened.settle(result) : result),
    });
    opening.relaying(relay);
    void relay.done.then(o.done);
  }

  #reopen(session: SessionRecord, reopen: NonNullable<Stream['reopenWithoutMarker']>) {
    this.#services.events.emit('inferredExec', {
      session: session.id,
      containerId: session.containerId,
      node: session.node,
      time: this.#services.clock().toISOString(),
    });
    return reopen();
  }

  /** #finish, its failure logged: the user's socket closes after it either way. */
  async #storeEnd(session: SessionRecord, recording: RecordingWriter, result: RelayResult): Promise<void> {
    try {
      await this.#finish(session, recording, result);
    } catch (err) {
      this.#services.log?.(`session ${session.id}: storing its end failed: ${errorMessage(err)}`);
    }
  }

  /** The relay (or a replay) ended: store the outcome and the recording's digest, then clean up. */
  async #finish(session: SessionRecord, recording: RecordingWriter, result: RelayResult): Promise<void> {
    const { bytes, sha256 } = await recording.close();
    const t = result.outcome === 'terminated' ? this.#terminations.get(session.id) : undefined;
    const patch: Partial<SessionRecord> = {
      state: finalState(result),
      ...(t ? { terminatedBy: t.by, terminationReason: t.reason } : {}),
      endedAt: this.#services.clock().toISOString(),
      recordingBytes: bytes,
      recordingSha256: sha256,
      ...(result.inferred ? { attribution: 'inferred' as const } : {}),
      ...(result.outcome === 'exited' ? { exitCode: result.exitCode ?? null } : {}),
      ...(result.message ? { error: result.message } : {}),
    };
    const ended = { ...session, ...patch };
    const after = async () => {
      this.#services.events.emit('ended', ended, result.outcome);
      await this.cleanup(ended);
    };
    const { store, log = () => {} } = this.#services;
    const write = await storeFinalState({ store, id: session.id, patch, log });
    if (write.first) return after();
    // The database is down: the user is told now; the rest follows once the end is stored.
    void write.landed.then(after).catch((err) => log(`session ${session.id}: ${errorMessage(err)}`));
  }

  /** Ends a claimed session before any relay: stored, cleaned up, and the user told why. */
  async #endEarly(opening: Opening, refused: SessionRefusal): Promise<void> {
    const recording = opening.openedRecording;
    const t = this.#terminations.get(opening.session.id);
    // A moderator's termination while the session opened (a debug pod starting) is told as such.
    const refusal = t ? { state: 'terminated' as const, status: terminationStatus(t) } : refused;
    try {
      if (t) recording?.marker(terminationMarker(t));
    } catch {
      // A recording that failed is closed as it is; the record says who ended the session.
    }
    await recording
      ?.close()
      .catch((err) => this.#services.log?.(`session ${opening.session.id}: ${errorMessage(err)}`));
    const patch = {
      state: refusal.state,
      error: refusal.status.message ?? 'the session ended before it started',
      endedAt: this.#services.clock().toISOString(),
      ...(t ? { terminatedBy: t.by, terminationReason: t.reason } : {}),
    };
    const ended = { ...opening.session, ...patch };
    try {
      await this.#services.store.updateSession(ended.id, patch);
      this.#services.events.emit('ended', ended, `${refusal.state}-before-relay`);
      await this.cleanup(ended);
    } finally {
      opening.refuse(refusal.status);
    }
  }

  #refusal(session: SessionRecord, err: unknown): SessionRefusal {
    if (err instanceof SessionRefusal) return err;
    if (err instanceof SessionStop) return new SessionRefusal('interrupted', failureStatus(500, err.message));
    this.#services.log?.(
      `session ${session.id}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return new SessionRefusal('refused', failureStatus(500, errorMessage(err)));
  }
}

const PROTOCOL_MESSAGE = `offer WebSocket subprotocol ${SUBPROTOCOL_V5} (or ${SUBPROTOCOL_V4})`;

function finalState(result: RelayResult): SessionState {
  if (result.outcome === 'exited') return 'ended';
  if (result.outcome === 'terminated') return 'terminated';
  return result.outcome === 'upstream-refused' ? 'refused' : 'interrupted';
}
