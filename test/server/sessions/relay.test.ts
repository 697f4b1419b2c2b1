// The relay between two in-memory sockets: what is recorded, what is forwarded, how it ends.
import { describe, expect, it } from 'vitest';
import { Channel, encodeFrame } from '../../../common/channel.ts';
import { terminationStatus } from '../../../common/termination.ts';
import { RecordingFailedError } from '../../../server/recording/writer.ts';
import { type RecordingSink, Relay, type RelayOptions } from '../../../server/sessions/relay.ts';
import type { UpstreamResult } from '../../../server/sessions/upstream.ts';
import { exitStatus, FakeSocket, sentOn, stdin, stdout } from './fakes.ts';

function sink(fail = false) {
  const out: Buffer[] = [];
  const fromClient: Buffer[] = [];
  /** Output and markers in the order they were recorded. */
  const order: string[] = [];
  const s = {
    out,
    fromClient,
    order,
    failure: null as RecordingFailedError | null,
    outputFrames(frames: readonly Buffer[]) {
      if (fail) {
        s.failure = new RecordingFailedError('no disk space left for the recording');
        throw s.failure;
      }
      out.push(...frames);
      for (const f of frames) order.push(`o:${f.subarray(1).toString()}`);
    },
    output(stream: 1 | 2, chunks: Uint8Array | readonly Uint8Array[]) {
      const parts = chunks instanceof Uint8Array ? [chunks] : chunks;
      s.outputFrames([Buffer.concat([Buffer.from([stream]), ...parts])]);
    },
    clientFrame(frame: Buffer) {
      fromClient.push(frame);
    },
    marker(label: string) {
      order.push(`m:${label}`);
    },
  };
  return s satisfies RecordingSink;
}

function relay(o: Partial<RelayOptions> & { recording?: RecordingSink } = {}) {
  const client = new FakeSocket();
  const upstream = new FakeSocket();
  const recording = o.recording ?? sink();
  const finalized: unknown[] = [];
  const r = new Relay({
    client,
    upstream,
    recording,
    tty: false,
    finalize: async (result) => {
      // The user's socket is still open while the outcome is stored.
      finalized.push({ ...result, clientOpen: client.readyState === 1 });
    },
    ...o,
  });
  return { r, client, upstream, recording, finalized };
}

describe('Relay', () => {
  it('records output before forwarding it, and ends with the exit code after finalize', async () => {
    const recording = sink();
    const { r, client, upstream, finalized } = relay({ recording });
    upstream.receive(stdout('hello\n'));
    await sentOn(client, Channel.stdout, 'hello');
    expect(recording.out.map((b) => b.subarray(1).toString())).toEqual(['hello\n']);
    upstream.receive(exitStatus(3));
    upstream.hangUp();
    const result = await r.done;
    expect(result).toMatchObject({ outcome: 'exited', exitCode: 3, inferred: false, sawOutput: true });
    expect(finalized).toEqual([expect.objectContaining({ outcome: 'exited', clientOpen: true })]);
    expect(client.closeCode).toBe(1000);
  });

  it('ends at a moderator’s request: output so far, then the marker, then the status alone, the stream closed', async () => {
    const recording = sink();
    const { r, client, upstream, finalized } = relay({ recording, tty: true });
    upstream.receive(stdout('before'));
    const status = terminationStatus({ by: 'mod', reason: 'stop' });
    // Same turn as the output: the batch is recorded before the marker.
    r.terminate({ marker: 'terminated by mod: stop', status });
    const result = await r.done;
    expect(result).toMatchObject({ outcome: 'terminated', message: 'session terminated by mod: "stop"' });
    expect(recording.order).toEqual(['o:before', 'm:terminated by mod: stop']);
    expect(JSON.parse(client.textOn(Channel.status))).toEqual(status);
    // No text line of its own: the plugin prints who and why from the status.
    expect(client.textOn(Channel.stdout)).toBe('before');
    expect(upstream.closeCode).toBe(1000);
    expect(finalized).toEqual([expect.objectContaining({ outcome: 'terminated', clientOpen: true })]);
    upstream.receive(stdout('after'));
    expect(recording.order).toHaveLength(2);
  });

  it('ignores a termination once the exit status arrived', async () => {
    const recording = sink();
    const { r, upstream } = relay({ recording });
    upstream.receive(exitStatus(0));
    upstream.hangUp();
    r.terminate({ marker: 'late', status: terminationStatus({ by: 'mod', reason: 'late' }) });
    expect(await r.done).toMatchObject({ outcome: 'exited', exitCode: 0 });
    expect(recording.order).toEqual([]);
  });

  it("records the user's frames and passes them upstream", async () => {
    const recording = sink();
    const { r, client, upstream } = relay({ recording });
    client.receive(stdin('ls\n'));
    expect(upstream.sent).toEqual([stdin('ls\n')]);
    expect(recording.fromClient).toEqual([stdin('ls\n')]);
    client.hangUp();
    expect(await r.done).toMatchObject({ outcome: 'client-closed' });
    expect(upstream.closeCode).toBe(1000);
  });

  it('relays frames the user sent before it started first', async () => {
    const { r, client, upstream } = relay({ early: [stdin('a'), stdin('b')] });
    expect(upstream.sent).toEqual([stdin('a'), stdin('b')]);
    client.hangUp();
    await r.done;
  });

  it('fails closed when the recording fails: nothing unrecorded reaches the user', async () => {
    const { r, client, upstream } = relay({ recording: sink(true) });
    upstream.receive(stdout('secret'));
    const result = await r.done;
    expect(result).toMatchObject({ outcome: 'recording-failed', message: /no disk space/ });
    expect(client.textOn(Channel.stdout)).not.toContain('secret');
    expect(client.textOn(Channel.stderr)).toContain('no disk space');
    expect(JSON.parse(client.textOn(Channel.status))).toMatchObject({ status: 'Failure' });
  });

  it('reopens without the env marker when the image has no env, replaying what the user sent', async () => {
    const second = new FakeSocket();
    let reopened = 0;
    const { r, client, upstream } = relay({
      retryWithoutEnv: async (): Promise<UpstreamResult> => {
        reopened++;
        return { ok: true, ws: second, protocol: second.protocol };
      },
    });
    client.receive(stdin('x'));
    upstream.receive(
      encodeFrame(
        Channel.status,
        JSON.stringify({ status: 'Failure', message: 'exec: "env": executable file not found in $PATH' }),
      ),
    );
    await new Promise<void>((resolve) => second.once('sent', resolve));
    expect(reopened).toBe(1);
    expect(upstream.terminated).toBe(true);
    expect(second.sent).toEqual([stdin('x')]);
    second.receive(stdout('ok'));
    second.receive(exitStatus(0));
    second.hangUp();
    expect(await r.done).toMatchObject({ outcome: 'exited', exitCode: 0, inferred: true });
    expect(client.textOn(Channel.stdout)).toBe('ok');
  });

  it('ends with `stopped` and tells the user why when the recorder stops it', async () => {
    const { r, client } = relay();
    r.stop('the recorder is shutting down');
    expect(await r.done).toMatchObject({ outcome: 'stopped', message: 'the recorder is shutting down' });
    expect(client.textOn(Channel.stderr)).toContain('the recorder is shutting down');
  });

  it('says so when the apiserver closes the stream before the command finished', async () => {
    const { r, upstream } = relay();
    upstream.hangUp();
    expect(await r.done).toMatchObject({ outcome: 'upstream-closed' });
  });
});
