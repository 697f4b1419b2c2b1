// Unrecorded activity beyond terminals, end to end with real auditd, real runc pods and the real shim
// daemon: `kubectl exec web -- sh -c id` straight to the sandbox apiserver (around the recorder, no
// tty) is stored as an unrecorded-exec alert for default/web, while web's exec liveness probe, which
// the sandbox runs through `runc exec` every 2 s as the kubelet would, reaches the recorder from the
// shim and is dropped as the pod's own declared exec. A recorded non-tty session raises nothing.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionCreateResponse } from '../../common/wire.ts';
import type { ShimAttachment } from '../../server/shim/attach.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { WEB_LIVENESS } from '../sandbox/seed.ts';
import { type Credentials, call, runStream } from '../server/client.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import type { RecorderHandle } from '../support/recorder.ts';
import { argv0, pollUntil, sessionEvents } from './shim-harness.ts';
import { type ShimRig, startShimRig } from './shim-rig.ts';

const run = promisify(execFile);
const same = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

describe.skipIf(skipE2E('unrecorded exec e2e', 'root', 'runc', 'auditd', 'kubectl'))(
  'unrecorded exec end to end (auditd, runc, kubectl)',
  () => {
    let rig: ShimRig | undefined;
    let sb: Sandbox;
    let rec: RecorderHandle;
    let shim: ShimAttachment;
    let alice: Credentials;
    /** When the first test's direct exec ran (its alert's audit time): later tests look after it. */
    let directExecAt = '';

    beforeAll(async () => {
      rig = await startShimRig('unrecorded-exec-e2e');
      ({ sb, alice } = rig);
      rec = rig.rec();
      shim = rig.shim();
    }, 120_000);

    afterAll(async () => {
      await rig?.stop();
    }, 60_000);

    it('a direct non-tty kubectl exec is unrecorded activity; the pod’s exec probe is not', async () => {
      const since = new Date(Date.now() - 1000).toISOString();
      const web = sb.podContainerId('default', 'web');
      const probesBefore = shim.ingest.stats.declaredExecs;

      const direct = await run(KUBECTL, ['exec', '-n', 'default', 'web', '--', 'sh', '-c', 'id'], {
        env: { ...process.env, KUBECONFIG: sb.kubeconfigPath, HOME: rig!.dir },
      });
      expect(direct.stdout).toContain('uid=0(root)');

      const unrecorded = () => shim.events.unrecordedAlerts({ node: sb.nodeName, since, limit: 200 });
      const page = await pollUntil(
        unrecorded,
        (p) => p.items.some((a) => a.containerId === web && same(a.argv, ['sh', '-c', 'id'])),
        'an unrecorded-exec alert for the direct kubectl exec in default/web',
      );
      directExecAt = page.items.find((a) => a.containerId === web && same(a.argv, ['sh', '-c', 'id']))!.time;
      expect(page.items.find((a) => a.containerId === web && same(a.argv, ['sh', '-c', 'id']))).toMatchObject(
        {
          alert: 'unrecorded-exec',
          session: null,
          tty: null,
          namespace: 'default',
          pod: 'web',
          node: sb.nodeName,
        },
      );

      // The liveness probe ran through runc exec meanwhile (every 2 s): the shim reported it, and the
      // recorder recognised the pod spec's probe and stored nothing.
      await pollUntil(
        async () => shim.ingest.stats.declaredExecs,
        (n) => n > probesBefore,
        "web's liveness probe reaching the recorder as a declared exec",
        20_000,
      );
      const after = await unrecorded();
      expect(after.items.filter((a) => a.containerId === web && same(a.argv, WEB_LIVENESS))).toEqual([]);
      // One alert for the exec, none for what `sh -c id` ran in place or in children.
      expect(after.items.filter((a) => a.containerId === web && a.alert === 'unrecorded-exec').length).toBe(
        1,
      );
    }, 60_000);

    it('a recorded non-tty session in the same pod raises no unrecorded activity', async () => {
      // A second of slack for clocks, but never back to the direct exec above: it can be that recent.
      const slack = new Date(Date.now() - 1000).toISOString();
      const after = directExecAt ? new Date(Date.parse(directExecAt) + 1).toISOString() : slack;
      const since = after > slack ? after : slack;
      const web = sb.podContainerId('default', 'web');
      const created = await call<SessionCreateResponse>(rec, alice, 'POST', '/api/v1/sessions', {
        kind: 'exec',
        namespace: 'default',
        pod: 'web',
        command: ['sh', '-c', 'id; echo rec-$((40+2))'],
        tty: false,
        stdin: false,
      });
      expect(created.status, created.text).toBe(201);
      const ran = await runStream(rec, alice, created.body.streamPath);
      expect(ran.stdout).toContain('rec-42');
      await pollUntil(
        () => sessionEvents(rec, alice, created.body.id),
        (items) => items.some((e) => argv0(e) === 'id'),
        'the recorded session’s id',
      );
      // The probe keeps running; once one more went through, everything of that moment is in.
      const probes = shim.ingest.stats.declaredExecs;
      await pollUntil(
        async () => shim.ingest.stats.declaredExecs,
        (n) => n > probes,
        'one more liveness probe after the session',
        20_000,
      );
      const page = await shim.events.unrecordedAlerts({ node: sb.nodeName, since, limit: 200 });
      expect(page.items.filter((a) => a.containerId === web)).toEqual([]);
    }, 60_000);
  },
);
