// The contract every session kind implements (drivers/exec, drivers/node-debug; attach next). A
// driver knows its target: how to create it as the user at POST, how to open the upstream stream
// at the user's stream request, and what to remove afterwards. The steps every kind shares (claim,
// recording, relay, finish, the unopened-session timer) are written once, in lifecycle.ts.
import type { Status } from '../../common/status.ts';
import type { SessionCreateRequest, SessionKind, SessionRecord } from '../../common/wire.ts';
import type { UserInfo } from '../auth/user.ts';
import type { RecordingWriter } from '../recording/writer.ts';
import type { RelayResult } from './relay.ts';
import type { ChannelSocket } from './socket.ts';
import type { UpstreamResult } from './upstream.ts';

/** What the session record gets from its target at create. */
export type SessionTarget = Partial<
  Pick<SessionRecord, 'namespace' | 'pod' | 'container' | 'containerId' | 'node' | 'image' | 'profile'>
>;

export interface CreateContext {
  /** Validated, and allowed by the policy. */
  request: SessionCreateRequest;
  user: UserInfo;
  /** The session id: also the Audit-ID of every request made for it. */
  id: string;
}

/** The lifecycle's side of a stream being opened, for its driver. */
export interface OpenContext {
  /** Claimed: running, its groups the opener's. */
  readonly session: SessionRecord;
  /** Aborted when the user leaves or the recorder stops before the relay starts; reason: SessionStop. */
  readonly signal: AbortSignal;
  /** Opens the recording (once; the lifecycle closes it). Nothing the user sees before it is recorded. */
  recording(title: string): Promise<RecordingWriter>;
  /** Completes the user's WebSocket upgrade now; frames they send meanwhile go to the relay. Throws a SessionRefusal when they left. */
  accept(): ChannelSocket;
  /** A line on the user's stderr, never recorded (once accepted). */
  tell(text: string): void;
  /** Stores part of the record (e.g. the container id learnt at start). */
  update(patch: Partial<SessionRecord>): Promise<void>;
}

/** What `open` yields: a stream to relay, or a session that already ran without one. */
export type Opened =
  | {
      stream: ChannelSocket;
      /** The command carried the env marker: reopens the stream without it (image without `env`). */
      reopenWithoutMarker?: () => Promise<UpstreamResult>;
      /** Runs when the relay ends, before the outcome is stored: may replace it. */
      settle?: (result: RelayResult) => Promise<RelayResult>;
    }
  | { ended: RelayResult };

/**
 * Thrown by `open` to end a claimed session before any relay. Before the upgrade completes the
 * user gets `status` as the HTTP answer (what kubectl would show); after, as a channel-3 Failure.
 */
export class SessionRefusal extends Error {
  readonly state: 'refused' | 'interrupted';
  readonly status: Status;
  constructor(state: 'refused' | 'interrupted', status: Status) {
    super(status.message);
    this.state = state;
    this.status = status;
  }
}

/** Why the lifecycle aborted an opening session (`OpenContext.signal.reason`). */
export class SessionStop extends Error {
  readonly why: 'client-gone' | 'stopped';
  constructor(why: 'client-gone' | 'stopped', message: string) {
    super(message);
    this.why = why;
  }
}

/** How a kind reads its own fields of POST /api/v1/sessions; validate.ts checks the shared ones. */
export interface RequestShape {
  /** The command when the request names none; without it a command is required. */
  readonly defaultCommand?: readonly string[];
  /** Checks the kind's target fields (namespace/pod, node/image/profile) and copies them to `req`. */
  target(body: Record<string, unknown>, req: SessionCreateRequest): void;
}

export interface SessionDriver {
  readonly kind: SessionKind;
  /** POST: the target, reached or created as the user (throws refusals with their codes). */
  create(c: CreateContext): Promise<SessionTarget>;
  /** The stream: opens the upstream as the session's user (throws SessionRefusal). */
  open(c: OpenContext): Promise<Opened>;
  /** Once per session with a target, after its final state is stored, however it ended. */
  cleanup(session: SessionRecord): Promise<void>;
  /**
   * A moderator ended the session and the lifecycle has closed its stream: whatever the kind runs
   * beyond that stream goes too (a debug pod). Absent: closing the stream is all (exec, as when
   * kubectl goes away). Cleanup still runs afterwards.
   */
  terminate?(session: SessionRecord): Promise<void>;
  /** Start-up: removes what a crashed run left behind (logs what it did). */
  recover?(): Promise<void>;
}

export type SessionDrivers = ReadonlyMap<SessionKind, SessionDriver>;

export function driverFor(drivers: SessionDrivers, kind: SessionKind): SessionDriver {
  const driver = drivers.get(kind);
  if (!driver) throw new Error(`no session driver for kind ${kind}`);
  return driver;
}
