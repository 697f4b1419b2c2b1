// Degraded mode (no root or no runc): the same API over host processes. Runs everywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './index.ts';
import { rawExec } from './test-helpers.ts';

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
});
