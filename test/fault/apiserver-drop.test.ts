// The recorder loses its connection to the apiserver mid-stream (a TCP proxy of the test's own sits
// between them and is cut): the user is told in words and gets a Failure status, the session ends
// interrupted with what was seen recorded, and once the network is back new sessions work. While
// the apiserver cannot be reached at all, a new session is refused with a clear 5xx Status.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { type Credentials, call } from '../server/client.ts';
import { type CutProxy, redirectKubeconfig, startCutProxy } from '../support/fault-proxy.ts';
import { finalState, healthy, openSession } from '../support/fault-session.ts';
import { skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';

describe.skipIf(skipE2E('fault: apiserver dropped', 'root', 'runc'))('apiserver connection dropped', () => {
  let sb: Sandbox;
  let proxy: CutProxy;
  let rec: RecorderHandle;
  let dir: string;
  let alice: Credentials;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fault-apiserver-'));
    sb = await startSandbox({ log: () => {} });
    proxy = await startCutProxy(sb.url);
    const kubeconfig = redirectKubeconfig(sb.kubeconfigFor('recorder'), join(dir, 'kubeconfig'), proxy.url);
    rec = await startRecorder({ sandbox: { kubeconfigFor: () => kubeconfig } });
    alice = { token: sb.tokens.alice! };
  }, 120_000);
  afterAll(async () => {
    await rec?.stop();
    await proxy?.close();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tells the user, ends the session interrupted, keeps what was seen, and recovers', async () => {
    const s = await openSession(rec, alice, {
      command: ['sh', '-c', 'echo before-cut; sleep 60'],
      stdin: false,
    });
    await s.waitOutput('before-cut');
    proxy.cut();
    const closed = await s.closed;
    expect(closed.code).not.toBe(1006);
    expect(s.output()).toMatch(/Kubernetes API (closed|broke)|exec stream/);
    expect(JSON.parse(s.statuses().at(-1) ?? '{}')).toMatchObject({ status: 'Failure' });
    const record = await finalState(rec, alice, s.id);
    expect(record.state).toBe('interrupted');
    expect(record.error).toMatch(/Kubernetes API/);
    const cast = decodeAsciicast((await call(rec, alice, 'GET', `/api/v1/sessions/${s.id}/recording`)).text);
    expect(outputText(cast)).toContain('before-cut');
    await healthy(rec, alice);
  }, 60_000);

  it('refuses a new session clearly while the apiserver is unreachable, and works again after', async () => {
    proxy.refuse(true);
    proxy.cut();
    try {
      // Refused at create or at stream open (where the exec is opened): a 5xx with a sentence,
      // never a hang or a reset.
      const err = await openSession(rec, alice, { command: ['true'], stdin: false }).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/refused: (HTTP )?5\d\d .*"message":"[^"]*\w+ \w+/);
    } finally {
      proxy.refuse(false);
    }
    await healthy(rec, alice);
  }, 60_000);
});
