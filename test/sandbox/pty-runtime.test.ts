// Degraded mode (no root or no runc): the same API over host processes. Runs everywhere.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Channel, decodeFrame, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import { type Sandbox, startSandbox } from './index.ts';
import { rawExec } from './test-helpers.ts';

/** Bytes the process has written so far (/proc/PID/io wchar), null once it is gone. */
function written(pid: number): number | null {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
  } catch {
    return null;
  }
}

describe('sandbox in pty (degraded) mode', () => {
  let sb: Sandbox;
  const logged: string[] = [];
  beforeAll(async () => {
    sb = await startSandbox({ runtime: 'pty', log: (l) => logged.push(l) });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it('announces the degraded mode', () => {
    expect(sb.runtime).toBe('pty');
    expect(logged.join('\n')).toContain('SANDBOX DEGRADED MODE');
    expect(sb.podContainerId('default', 'web')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('execs with separate streams and exit codes', async () => {
    const r = await rawExec(
      sb,
      `/api/v1/namespaces/default/pods/web/exec?${new URLSearchParams([
        ['command', 'sh'],
        ['command', '-c'],
        ['command', 'echo out; echo err >&2; exit 5'],
        ['stdout', 'true'],
        ['stderr', 'true'],
      ])}`,
      { token: sb.tokens.alice! },
    );
    expect(r).toMatchObject({ stdout: 'out\n', stderr: 'err\n' });
    expect(r.status.details.causes).toEqual([{ reason: 'ExitCode', message: '5' }]);
  });

  it('has no env in the noenv image', async () => {
    const r = await rawExec(sb, '/api/v1/namespaces/default/pods/noenv/exec?command=env&stdout=true', {
      token: sb.tokens.alice!,
    });
    expect(r.status.message).toContain('executable file not found in $PATH');
  });

  it('holds a process back while its exec client does not read, as the kubelet does', async () => {
    const bytes = 32 << 20; // far more than the socket buffers between us hold
    const q = new URLSearchParams([
      ['command', 'sh'],
      ['command', '-c'],
      ['command', `echo $$; exec head -c ${bytes} /dev/zero`],
      ['stdout', 'true'],
    ]);
    const url = new URL(`/api/v1/namespaces/default/pods/web/exec?${q}`, sb.url.replace(/^https/, 'wss'));
    const ws = new WebSocket(url, [SUBPROTOCOL_V5], {
      ca: sb.caPem,
      headers: { Authorization: `Bearer ${sb.tokens.alice!}` },
    });
    let out = Buffer.alloc(0);
    let received = 0;
    let status = '';
    const firstLine = new Promise<number>((resolve) => {
      ws.on('message', (data: Buffer) => {
        const f = decodeFrame(data);
        if (f?.channel === Channel.status) status = f.payload.toString();
        if (f?.channel !== Channel.stdout) return;
        received += f.payload.length;
        if (out.length < 64) out = Buffer.concat([out, f.payload.subarray(0, 64)]);
        const nl = out.indexOf('\n');
        if (nl > 0) resolve(Number(out.subarray(0, nl).toString()));
      });
    });
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    const pid = await firstLine;
    ws.pause();
    // Unread output must stop the writer (blocked on its full pipe), not pile up in the sandbox:
    // without flow control all 32 MiB are read and buffered and `head` is gone in a moment.
    // Stalled = no byte written over five looks 50 ms apart.
    const deadline = Date.now() + 20_000;
    let last = -1;
    for (let same = 0; same < 5 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
      const now = written(pid);
      if (now === null) break;
      same = now === last ? same + 1 : 0;
      last = now;
    }
    const stalledAt = written(pid);
    expect(stalledAt, 'head ran to the end although nobody read its output').not.toBeNull();
    expect(stalledAt).toBeLessThan(bytes / 2);
    ws.resume();
    await closed;
    expect(received).toBe(bytes + `${pid}\n`.length);
    expect(JSON.parse(status)).toMatchObject({ status: 'Success' });
  });
});
