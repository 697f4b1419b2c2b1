// A debug container that ended before the recorder could attach (a short non-interactive command)
// leaves no stream to relay. kubectl debug then prints the container's log instead; so do we, as the
// user (their RBAC decides whether they may read it) and recorded before it is sent, like any output.
import { Channel, encodeFrame } from '../../../../common/channel.ts';
import { errorMessage } from '../../../../common/errors.ts';
import { exitStatusPayload, failureStatus } from '../../../../common/status.ts';
import type { Impersonation, KubeClient } from '../../../kube/client.ts';
import type { RecordingWriter } from '../../../recording/writer.ts';
import type { RelayResult } from '../../relay.ts';
import { type ChannelSocket, OPEN } from '../../socket.ts';
import { containerStart, type PodLike } from './start.ts';

/** One channel frame at most this big, as the kubelet chunks its stream. */
const FRAME_BYTES = 32 * 1024;

export function logPath(ref: { namespace: string; pod: string; container: string }): string {
  const q = new URLSearchParams({ container: ref.container });
  return `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.pod)}/log?${q}`;
}

/**
 * Reads the ended container's log as the user, records it, then sends it and the exit status.
 * A log the user may not read ends the session with the exit code and says why on stderr; a log
 * that cannot be recorded is not sent (fail closed).
 */
export async function replayEndedContainer(o: {
  kube: KubeClient;
  ref: { namespace: string; pod: string; container: string };
  impersonate: Impersonation;
  auditId: string;
  recording: RecordingWriter;
  user: ChannelSocket;
  exitCode: number | null;
  tty: boolean;
  /** false when the attach already forwarded the exit status */
  sendStatus?: boolean;
}): Promise<RelayResult> {
  const send = (frame: Buffer) => {
    if (o.user.readyState === OPEN) o.user.send(frame);
  };
  const stderr = (text: string) => send(encodeFrame(Channel.stderr, `${text}${o.tty ? '\r\n' : '\n'}`));
  const ended = (message?: string): RelayResult => {
    if (o.exitCode !== null && o.sendStatus !== false) {
      send(encodeFrame(Channel.status, exitStatusPayload(o.exitCode)));
    }
    return { outcome: 'exited', exitCode: o.exitCode, inferred: false, ...(message ? { message } : {}) };
  };
  let res: Awaited<ReturnType<KubeClient['request']>>;
  try {
    res = await o.kube.request({ path: logPath(o.ref), impersonate: o.impersonate, auditId: o.auditId });
  } catch (err) {
    const message = `the container ended before the recorder attached, and its log could not be read: ${errorMessage(err)}`;
    stderr(message);
    return ended(message);
  }
  if (res.status !== 200) {
    const reason = (res.body as { message?: string } | undefined)?.message ?? res.text.slice(0, 200);
    const message = `the container ended before the recorder attached, and its log could not be read (HTTP ${res.status}): ${reason}`;
    stderr(message);
    return ended(message);
  }
  if (res.bytes.length > 0) {
    try {
      o.recording.output(1, res.bytes);
    } catch (err) {
      const message = `the recording could not be written: ${errorMessage(err)}`;
      send(encodeFrame(Channel.status, JSON.stringify(failureStatus(500, message))));
      return { outcome: 'recording-failed', exitCode: null, inferred: false, message };
    }
    for (let at = 0; at < res.bytes.length; at += FRAME_BYTES) {
      send(encodeFrame(Channel.stdout, res.bytes.subarray(at, at + FRAME_BYTES)));
    }
  }
  return ended();
}

/**
 * Whether the debug container has ended, read as the recorder. An attach that raced a command's
 * exit forwards only the exit status: the output is then in the log, as if the attach never came.
 */
export async function containerEnded(
  kube: KubeClient,
  ref: { namespace: string; pod: string; container: string },
  auditId: string,
): Promise<boolean> {
  const res = await kube.request<PodLike>({
    path: `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.pod)}`,
    auditId,
  });
  return (
    res.status === 200 &&
    res.body !== undefined &&
    containerStart(res.body, ref.container).state === 'terminated'
  );
}
