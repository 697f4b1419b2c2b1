// GET /api/v1/sessions/{id}/stream (WebSocket): claims the pending session (once, by its creator,
// within the stream timeout), opens the recording, opens the impersonated exec on the apiserver and
// only then completes the user's upgrade, so an apiserver refusal reaches the user as the same HTTP
// status and message the apiserver gave (what kubectl would have shown). The exec acts as the caller
// is now: the groups impersonated are the opener's, not those saved at create (a group revoked in
// between must not still open a shell); the record is updated to say so.
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { SUBPROTOCOL_V4, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import { markedCommand } from '../../common/session-marker.ts';
import { failureStatus } from '../../common/status.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { sameUser } from '../auth/user.ts';
import { HttpError, refuseUpgrade } from '../http/respond.ts';
import type { UpgradeContext } from '../http/router.ts';
import { RecordingWriter, recordingPath } from '../recording/writer.ts';
import { impersonation } from './create.ts';
import { runNodeDebug } from './node-debug-stream.ts';
import { Relay, type RelayResult } from './relay.ts';
import type { SessionServices } from './services.ts';
import { type ExecParams, openExec } from './upstream.ts';
import { requireSessionId } from './validate.ts';

export function streamHandler(services: SessionServices) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: (offered) =>
      offered.has(SUBPROTOCOL_V5) ? SUBPROTOCOL_V5 : offered.has(SUBPROTOCOL_V4) ? SUBPROTOCOL_V4 : false,
  });

  return async (ctx: UpgradeContext): Promise<void> => {
    const user = ctx.user!;
    const id = requireSessionId(ctx.params.id);
    const session = await services.store.getSession(id);
    if (!session) throw new HttpError(404, 'SESSION_NOT_FOUND', `session ${id} not found`);
    if (!sameUser(user, { username: session.user, ...(session.uid ? { uid: session.uid } : {}) })) {
      throw new HttpError(
        403,
        'SESSION_NOT_YOURS',
        `only ${session.user}, who created session ${id}, may open its stream`,
      );
    }
    if (session.state !== 'pending') {
      throw new HttpError(
        409,
        'SESSION_STREAM_USED',
        `session ${id} is ${session.state}; create a new session`,
      );
    }
    const now = services.clock();
    if (now.getTime() - Date.parse(session.startedAt) > services.streamTimeoutMs) {
      const error = `the stream was not opened within ${services.streamTimeoutMs / 1000} s of creating the session`;
      await services.store.transitionSession(id, 'pending', {
        state: 'refused',
        error,
        endedAt: now.toISOString(),
      });
      throw new HttpError(410, 'SESSION_STREAM_EXPIRED', `${error}; create a new session`);
    }
    if (!offersChannelProtocol(ctx.req)) {
      throw new HttpError(
        400,
        'SESSION_PROTOCOL',
        `offer WebSocket subprotocol ${SUBPROTOCOL_V5} (or ${SUBPROTOCOL_V4})`,
      );
    }
    const opened: SessionRecord = { ...session, state: 'running', groups: user.groups };
    if (!(await services.store.transitionSession(id, 'pending', { state: 'running', groups: user.groups }))) {
      throw new HttpError(
        409,
        'SESSION_STREAM_USED',
        `session ${id} stream was already opened; create a new session`,
      );
    }
    services.hooks.onSessionStarted?.(opened);
    // node-debug: wait for the debug pod (progress on stderr), then attach (node-debug-stream.ts).
    if (opened.kind === 'node-debug') return runNodeDebug(services, ctx, wss, opened);
    await run(services, ctx, wss, opened);
  };
}

function offersChannelProtocol(req: IncomingMessage): boolean {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  return offered.includes(SUBPROTOCOL_V5) || offered.includes(SUBPROTOCOL_V4);
}

async function run(
  services: SessionServices,
  ctx: UpgradeContext,
  wss: WebSocketServer,
  session: SessionRecord,
) {
  const { store, clock } = services;
  const id = session.id;
  const refuse = async (code: number, message: string, reason?: string) => {
    await store.updateSession(id, { state: 'refused', error: message, endedAt: clock().toISOString() });
    refuseUpgrade(ctx.socket, failureStatus(code, message, reason ? { reason } : {}));
  };
  let recording: RecordingWriter;
  try {
    recording = await RecordingWriter.open({
      path: recordingPath(services.dataDir, id),
      startedAt: clock(),
      recordInput: session.recordInput,
      title: `${session.user} ${session.namespace}/${session.pod}: ${session.command.join(' ')}`,
      env: { TERM: 'xterm-256color', SHELL: session.command[0] ?? '' },
    });
  } catch (err) {
    return refuse(503, (err as Error).message);
  }
  const exec = {
    namespace: session.namespace!,
    pod: session.pod!,
    container: session.container!,
    tty: session.tty,
    stdin: session.stdin,
    impersonate: impersonation(
      {
        username: session.user,
        groups: session.groups,
        ...(session.uid ? { uid: session.uid } : {}),
        method: 'token',
      },
      id,
    ),
    auditId: id,
  };
  const first = await openExec(services.kube, { ...exec, command: markedCommand(id, session.command) });
  if (!first.ok) {
    await recording.close();
    return refuse(
      first.status.code ?? 502,
      first.status.message ?? 'the Kubernetes API refused the exec',
      first.status.reason,
    );
  }
  let upgraded = false;
  wss.handleUpgrade(ctx.req, ctx.socket, ctx.head, (client) => {
    upgraded = true;
    startRelay({ services, session, exec, upstream: first.ws, recording, client });
  });
  // handleUpgrade (no verifyClient: synchronous) drops a socket that died meanwhile without
  // calling back: close what we opened.
  if (!upgraded) {
    first.ws.terminate();
    await recording.close();
    await store.updateSession(id, {
      state: 'interrupted',
      error: 'the user disconnected before the stream opened',
      endedAt: clock().toISOString(),
    });
  }
}

/**
 * Outside run(): closures made there would keep its whole scope (the upgrade request, its socket
 * and head) alive for as long as the session runs.
 */
function startRelay(o: {
  services: SessionServices;
  session: SessionRecord;
  exec: Omit<ExecParams, 'command'>;
  upstream: WebSocket;
  recording: RecordingWriter;
  client: WebSocket;
}): void {
  const { services, session, exec, recording } = o;
  const id = session.id;
  const relay = new Relay({
    client: o.client,
    upstream: o.upstream,
    recording,
    tty: session.tty,
    retryWithoutEnv: () => {
      services.hooks.onInferredExec?.({
        session: id,
        containerId: session.containerId,
        node: session.node,
        time: services.clock().toISOString(),
      });
      return openExec(services.kube, { ...exec, command: session.command });
    },
    finalize: (result) => finish(services, id, recording, result),
  });
  services.live.add(id, relay, relay.done);
}

export async function finish(
  services: SessionServices,
  id: string,
  recording: RecordingWriter,
  result: RelayResult,
): Promise<void> {
  const { bytes, sha256 } = await recording.close();
  const state =
    result.outcome === 'exited' ? 'ended' : result.outcome === 'upstream-refused' ? 'refused' : 'interrupted';
  await services.store.updateSession(id, {
    state,
    endedAt: services.clock().toISOString(),
    recordingBytes: bytes,
    recordingSha256: sha256,
    ...(result.inferred ? { attribution: 'inferred' as const } : {}),
    ...(result.outcome === 'exited' ? { exitCode: result.exitCode ?? null } : {}),
    ...(result.message ? { error: result.message } : {}),
  });
  services.hooks.onSessionEnded?.(id, state);
}
