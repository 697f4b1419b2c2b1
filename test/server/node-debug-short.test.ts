// A node-debug command that finishes before the recorder attaches (a short non-interactive one):
// like kubectl debug, its output comes from the container's log, and it is recorded like any other.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import type { SessionCreateResponse, SessionRecord } from '../../common/wire.ts';
import { recordingPath } from '../../server/recording/writer.ts';
import { defaultPolicy, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';
import { type Credentials, call, runStream } from './client.ts';

const NS = 'audited-exec';

describe.skipIf(skipE2E('server node-debug short commands', 'root', 'runc'))(
  'short node-debug commands',
  () => {
    let sb: Sandbox;
    let rec: RecorderHandle;
    let alice: Credentials;

    beforeAll(async () => {
      sb = await startSandbox({ runtime: 'runc', log: () => {} });
      rec = await startRecorder({
        sandbox: sb,
        settings: { debugNamespace: NS, debugImage: 'busybox:1.36' },
      });
      alice = { token: sb.tokens.alice! };
    });
    afterAll(async () => {
      await rec?.stop();
      await sb?.stop();
    });

    const run = async (command: string[], tty = false) => {
      const created = await call<SessionCreateResponse>(rec, alice, 'POST', '/api/v1/sessions', {
        kind: 'node-debug',
        node: sb.nodeName,
        tty,
        stdin: false,
        command,
      });
      expect(created.status, created.text).toBe(201);
      const { id, streamPath } = created.body;
      const result = await runStream(rec, alice, streamPath);
      const text = outputText(decodeAsciicast(await readFile(recordingPath(rec.dataDir, id), 'utf8')));
      const session = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body;
      return { result, text, session };
    };

    it('records output printed before the attach when the command ends right after it', async () => {
      // Printed at once, before the recorder can attach; the exit comes after the attach with nothing more.
      const { result, text, session } = await run([
        'sh',
        '-c',
        'echo before-attach-$((6*7)); sleep 2; exit 2',
      ]);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toContain('before-attach-42');
      expect(text).toContain('before-attach-42');
      expect(text.match(/before-attach-42/g)).toHaveLength(1);
      expect(session).toMatchObject({ state: 'ended', exitCode: 2 });
    });

    it("says why when the user may not read the ended container's log, and keeps the exit code", async () => {
      const policy = defaultPolicy();
      for (const rule of policy.rules) {
        if (rule.resources?.includes('pods/log'))
          rule.resources = rule.resources.filter((r) => r !== 'pods/log');
      }
      sb.setRbac(policy);
      try {
        const { result, session } = await run(['sh', '-c', 'echo secret; exit 5']);
        expect(result.exitCode).toBe(5);
        expect(result.stdout).not.toContain('secret');
        expect(result.stderr).toMatch(
          /its log could not be read \(HTTP 403\).*cannot get resource "pods\/log"/,
        );
        expect(session).toMatchObject({ state: 'ended', exitCode: 5 });
        expect(session.error).toContain('HTTP 403');
      } finally {
        sb.setRbac(defaultPolicy());
      }
    });

    for (const tty of [false, true]) {
      it(`records and shows the output of a command that ended before the attach (tty ${tty})`, async () => {
        const created = await call<SessionCreateResponse>(rec, alice, 'POST', '/api/v1/sessions', {
          kind: 'node-debug',
          node: sb.nodeName,
          tty,
          stdin: false,
          command: ['sh', '-c', 'echo short-lived-$((6*7)); echo on-stderr >&2; exit 4'],
        });
        expect(created.status, created.text).toBe(201);
        const { id, streamPath } = created.body;
        const result = await runStream(rec, alice, streamPath);
        expect(result.exitCode).toBe(4);
        expect(result.stdout + result.stderr).toContain('short-lived-42');
        const cast = decodeAsciicast(await readFile(recordingPath(rec.dataDir, id), 'utf8'));
        expect(outputText(cast)).toContain('short-lived-42');
        expect(outputText(cast)).toContain('on-stderr');
        const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body;
        expect(s).toMatchObject({ state: 'ended', exitCode: 4 });
      });
    }
  },
);
