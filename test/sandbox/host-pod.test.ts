// A `kubectl debug node`-style pod: hostPID + privileged + hostPath / at /host sees the host.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/prereq.ts';
import { type Sandbox, startSandbox } from './index.ts';
import { kubectl, kubectlTerminal } from './test-helpers.ts';

describe.skipIf(skipE2E('sandbox host pod', 'root', 'runc', 'kubectl'))('sandbox host pods', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ runtime: 'runc' });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it('shares the host pid namespace and mounts the host root', async () => {
    await sb.createPod('default', {
      metadata: { name: 'hostview' },
      spec: {
        hostPID: true,
        containers: [
          {
            name: 'debugger',
            image: 'busybox',
            command: ['sleep', 'infinity'],
            env: [{ name: 'AUDITED_EXEC_SESSION', value: 'abc' }],
            securityContext: { privileged: true },
            volumeMounts: [{ name: 'host-root', mountPath: '/host' }],
          },
        ],
        volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
      },
    });
    const r = await kubectl(sb.kubeconfigFor('admin'), [
      'exec',
      'hostview',
      '--',
      'sh',
      '-c',
      `cat /host/etc/hostname; tr '\\0' ' ' < /proc/${process.pid}/cmdline; echo; cat /proc/self/environ | tr '\\0' '\\n' | grep AUDITED`,
    ]);
    expect(r.stderr, r.stdout).toBe('');
    const [hostname, cmdline, env] = r.stdout.split('\n');
    expect(hostname).toBe((await readFile('/etc/hostname', 'utf8')).trim());
    expect(cmdline).toContain('node'); // this test process, seen from inside the pod
    expect(env).toBe('AUDITED_EXEC_SESSION=abc');
    await sb.deletePod('default', 'hostview');
    expect((await kubectl(sb.kubeconfigFor('admin'), ['get', 'pod', 'hostview'])).code).toBe(1);
  });

  it('attaches to the main bash of a tty pod and reports its exit', async () => {
    await sb.createPod('default', {
      metadata: { name: 'attachme' },
      spec: {
        containers: [{ name: 'debugger', image: 'sandbox/bash', stdin: true, tty: true }],
        restartPolicy: 'Never',
      },
    });
    const t = kubectlTerminal(sb.kubeconfigFor('admin'), ['attach', '-it', 'attachme', '-c', 'debugger']);
    try {
      await t.waitFor(/If you don't see a command prompt/);
      const mark = t.output.length;
      t.write('echo attached-$((6*7)); tty\r');
      await t.waitFor(/attached-42[\s\S]*\/dev\/pts\/0/, mark);
      t.write('exit 0\r');
      expect(await t.exited).toBe(0);
    } finally {
      t.kill();
    }
    const phase = async () =>
      JSON.parse((await kubectl(sb.kubeconfigFor('admin'), ['get', 'pod', 'attachme', '-o', 'json'])).stdout)
        .status.phase;
    for (let i = 0; i < 50 && (await phase()) !== 'Succeeded'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await phase()).toBe('Succeeded');
  });

  it('serves real `kubectl debug node` (protobuf pod create, watch, attach to bash)', async () => {
    const t = kubectlTerminal(sb.kubeconfigFor('admin'), [
      'debug',
      `node/${sb.nodeName}`,
      '-it',
      '--image=busybox',
    ]);
    try {
      await t.waitFor(/If you don't see a command prompt/, 0, 20_000);
      const mark = t.output.length;
      t.write('echo dbg-$((2+3)); chroot /host cat /etc/hostname; exit\r');
      await t.waitFor(/dbg-5/, mark);
      expect(await t.exited).toBe(0);
      expect(t.output.slice(mark)).toContain((await readFile('/etc/hostname', 'utf8')).trim());
    } finally {
      t.kill();
    }
    const pods = JSON.parse((await kubectl(sb.kubeconfigFor('admin'), ['get', 'pods', '-o', 'json'])).stdout);
    const dbg = pods.items.find((p: { metadata: { name: string } }) =>
      p.metadata.name.startsWith('node-debugger-'),
    );
    expect(dbg.spec).toMatchObject({
      hostPID: true,
      volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
    });
  });
});
