// The stream of a node-debug session. Unlike exec, the user's WebSocket is accepted at once: the debug
// pod may take a while to start, and the user sees why on stderr ("waiting for pod … (3s): …"). Those
// lines and kubectl's attach hint are not recorded. Once the container runs, the recorder attaches
// as the user and the relay records exactly as for exec; when the session ends, however it ends, the
// pod is deleted (as the recorder, see node-debug.ts).
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { Channel, encodeFrame } from '../../common/channel.ts';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import { failureStatus } from '../../common/status.ts';
import type { SessionRecord, SessionState } from '../../common/wire.ts';
import type { UpgradeContext } from '../http/router.ts';
import { RecordingWriter, recordingPath } from '../recording/writer.ts';
import { impersonation } from './create.ts';
import { waitForDebugContainer } from './node-debug.ts';
import { nodeDebugSettings, removeDebugPod } from './node-debug-create.ts';
import { containerEnded, replayEndedContainer } from './node-debug-logs.ts';
import { progressLine } from './node-debug-start.ts';
import { Relay } from './relay.ts';
import type { SessionServices } from './services.ts';
import { finish } from './stream.ts';
import { openChannelStream } from './upstream.ts';

/** Progress lines go out at most this often (every poll may see a new reason, though). */
const PROGRESS_EVERY_MS = 2000;
/** kubectl attach's hint for a tty: the prompt was printed before anyone was attached. */
const ATTACH_HINT = "If you don't see a command prompt, try pressing enter.";

export function attachPath(s: {
  namespace: string;
  pod: string;
  container: string;
  stdin: boolean;
  tty: boolean;
}) {
  const q = new URLSearchParams({
    container: s.container,
    stdin: String(s.stdin),
    stdout: 'true',
    stderr: String(!s.tty),
    tty: String(s.tty),
  });
  return `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/pods/${encodeURIComponent(s.pod)}/attach?${q}`;
}

export async function runNodeDebug(
  services: SessionServices,
  ctx: UpgradeContext,
  wss: WebSocketServer,
  session: SessionRecord,
): Promise<void> {
  const { store, clock } = services;
  const id = session.id;
  const ref = { namespace: session.namespace!, pod: session.pod!, container: session.container! };
  let client: WebSocket | null = null;
  wss.handleUpgrade(ctx.req, ctx.socket, ctx.head, (ws) => {
    client = ws;
  });
  // handleUpgrade (no verifyClient) is synchronous: no client now means the socket already died.
  const user = client as WebSocket | null;
  if (!user) {
    await store.updateSession(id, {
      state: 'interrupted',
      error: 'the user disconnected before the stream opened',
      endedAt: clock().toISOString(),
    });
    await removeDebugPod(services, ref, id);
    return;
  }

  // Frames the user sends while we wait (resize, early keystrokes) are replayed into the relay.
  const early: Buffer[] = [];
  const keep = (data: Buffer) => early.push(data);
  user.on('message', keep);
  const abort = new AbortController();
  const gone = () =>
    abort.abort(
      new AuditedExecError('NODE_DEBUG_CLIENT_GONE', 'the user disconnected before the debug pod started'),
    );
  user.once('close', gone);
  let current: { stop(message: string): void } = {
    stop: (message) => abort.abort(new AuditedExecError('NODE_DEBUG_STOPPED', message)),
  };
  let done!: () => void;
  services.live.add(id, { stop: (m) => current.stop(m) }, new Promise<void>((r) => (done = r)));

  const eol = session.tty ? '\r\n' : '\n';
  const say = (text: string) => {
    if (user.readyState === user.OPEN) user.send(encodeFrame(Channel.stderr, `${text}${eol}`));
  };
  /** Ends a session that never attached: the user gets a channel-3 Failure; the pod goes. */
  const endEarly = async (state: SessionState, code: number, message: string) => {
    user.off('close', gone);
    // Stored and cleaned up before the user's socket closes, as the relay does for sessions that ran.
    await store.updateSession(id, { state, error: message, endedAt: clock().toISOString() });
    await removeDebugPod(services, ref, id);
    if (user.readyState === user.OPEN) {
      user.send(encodeFrame(Channel.status, JSON.stringify(failureStatus(code, message))));
      user.close(1000);
    }
    done();
  };

  const settings = nodeDebugSettings(services);
  const podName = `${ref.namespace}/${ref.pod}`;
  // kubectl debug's "Creating debugging pod …" line, on stderr so it stays out of the recording.
  say(
    `debug pod ${podName} (container ${ref.container}, profile ${session.profile}, image ${session.image}) on node ${session.node}`,
  );
  let lastSaid = Number.NEGATIVE_INFINITY;
  let lastDetail = '';
  let started: Awaited<ReturnType<typeof waitForDebugContainer>>;
  try {
    started = await waitForDebugContainer({
      kube: services.kube,
      ref,
      auditId: id,
      settings,
      signal: abort.signal,
      onProgress: (elapsed, detail) => {
        if (elapsed - lastSaid < PROGRESS_EVERY_MS && detail === lastDetail) return;
        lastSaid = elapsed;
        lastDetail = detail;
        say(progressLine(podName, elapsed, detail));
      },
    });
    if (started.containerId) await store.updateSession(id, { containerId: started.containerId });
  } catch (err) {
    const code = (err as AuditedExecError).code;
    const state =
      code === 'NODE_DEBUG_CLIENT_GONE' || code === 'NODE_DEBUG_STOPPED' ? 'interrupted' : 'refused';
    return endEarly(state, code === 'NODE_DEBUG_TIMEOUT' ? 504 : 500, errorMessage(err));
  }

  let recording: RecordingWriter;
  try {
    recording = await RecordingWriter.open({
      path: recordingPath(services.dataDir, id),
      startedAt: clock(),
      recordInput: session.recordInput,
      title: `${session.user} node/${session.node}: ${session.command.join(' ') || `${session.image} (default command)`}`,
      env: { TERM: 'xterm-256color', SHELL: session.command[0] ?? '' },
    });
  } catch (err) {
    return endEarly('refused', 503, errorMessage(err));
  }
  const imp = impersonation(
    {
      username: session.user,
      groups: session.groups,
      ...(session.uid ? { uid: session.uid } : {}),
      method: 'token',
    },
    id,
  );
  const replayLog = (exitCode: number | null, sendStatus: boolean) =>
    replayEndedContainer({
      kube: services.kube,
      ref,
      impersonate: imp,
      auditId: id,
      recording,
      user,
      exitCode,
      tty: session.tty,
      sendStatus,
    });
  if (started.state === 'terminated') {
    // Nothing left to attach to: the container's log stands in for its stream, as in kubectl debug.
    user.off('message', keep);
    user.off('close', gone);
    const result = await replayLog(started.exitCode ?? null, true);
    await finish(services, id, recording, result);
    await removeDebugPod(services, ref, id);
    if (user.readyState === user.OPEN) user.close(1000);
    done();
    return;
  }
  const upstream = await openChannelStream(
    services.kube,
    attachPath({ ...ref, ...session }),
    imp,
    id,
    'attach',
  );
  if (!upstream.ok || user.readyState !== user.OPEN || abort.signal.aborted) {
    if (upstream.ok) upstream.ws.terminate();
    await recording.close();
    if (!upstream.ok) {
      const s = upstream.status;
      return endEarly('refused', s.code ?? 502, s.message ?? 'the Kubernetes API refused the attach');
    }
    return endEarly('interrupted', 500, errorMessage(abort.signal.reason ?? 'the user disconnected'));
  }
  if (session.tty) say(ATTACH_HINT);
  user.off('message', keep);
  user.off('close', gone);
  const relay = new Relay({
    client: user,
    upstream: upstream.ws,
    recording,
    tty: session.tty,
    finalize: async (result) => {
      let final = result;
      if (
        result.outcome === 'exited' &&
        !result.sawOutput &&
        (await containerEnded(services.kube, ref, id).catch(() => false))
      ) {
        final = await replayLog(result.exitCode ?? null, false);
      }
      await finish(services, id, recording, final);
      await removeDebugPod(services, ref, id);
    },
  });
  current = relay;
  void relay.done.then(done);
  // Through the relay's own listener, so resizes and input are recorded like any other frame.
  for (const data of early.splice(0)) user.emit('message', data, true);
}
