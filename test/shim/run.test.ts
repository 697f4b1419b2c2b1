import { describe, expect, it } from 'vitest';
import { auditdState, backlogLimit, lostCount } from '../../shim/audit-status.ts';
import { runConfigFrom } from '../../shim/config.ts';
import { checkRules, rulesHint } from '../../shim/run.ts';

describe('daemon start checks', () => {
  it('knows when the loaded rules cover 64- and 32-bit execve', () => {
    const ours = [
      '-a always,exit -F arch=b64 -S execve,execveat -F key=audited-exec',
      '-a always,exit -F arch=b32 -S execve,execveat -F key=audited-exec',
      '-a always,exit -F arch=b64 -S clone,fork,vfork -F success=1 -F key=audited-exec-fork',
    ].join('\n');
    expect(checkRules(ours)).toEqual({ execB64: true, execB32: true, fork: true, enough: true });
    expect(checkRules('-a always,exit -F arch=b64 -S execve -F key=ae_exec')).toMatchObject({
      execB32: false,
      enough: false,
    });
    expect(checkRules('No rules')).toMatchObject({ enough: false });
  });

  it('warns when the fork rules are missing, and says what goes unlinked', () => {
    const execOnly = checkRules(
      '-a always,exit -F arch=b64 -S execve -F key=a\n-a always,exit -F arch=b32 -S execve -F key=a',
    );
    expect(execOnly).toMatchObject({ enough: true, fork: false });
    expect(rulesHint(execOnly)).toMatch(
      /no fork\/clone rule: a child whose shell exits before its first exec/,
    );
    expect(rulesHint(checkRules('-a always,exit -F arch=b64 -S execve -F key=a'))).toMatch(
      /no execve rule for b32/,
    );
  });

  it('reads the lost counter from auditctl -s', () => {
    expect(lostCount('enabled 1\nfailure 1\npid 4820\nlost 17\nbacklog 0\n')).toBe(17);
    // backlog (the queue's fill) must not be read as backlog_limit (its size)
    expect(backlogLimit('pid 4820\nbacklog_limit 64\nlost 17\nbacklog 3\n')).toBe(64);
    expect(backlogLimit('backlog 3\n')).toBeNull();
  });

  it('tells a live auditd from a stopped one and from a killed one the kernel still names', () => {
    const stats: Record<number, string> = {
      4820: '4820 (auditd) S 1 4820 4820 0 -1',
      4821: '4821 (auditd) Z 1 4821 4821 0 -1',
      4822: '4822 (sshd: a (b)) S 1 4822 4822 0 -1',
    };
    const stat = (pid: number) => stats[pid] ?? null;
    expect(auditdState('enabled 1\npid 4820\nlost 0\n', stat)).toBe('running');
    expect(auditdState('enabled 1\npid 0\nlost 0\n', stat)).toBe('stopped');
    expect(auditdState('enabled 1\npid 4821\n', stat)).toBe('dead');
    expect(auditdState('enabled 1\npid 4822\n', stat)).toBe('dead');
    expect(auditdState('enabled 1\npid 9999\n', stat)).toBe('dead');
  });

  it('turns flags and env into settings', () => {
    const c = runConfigFrom({ server: 'https://rec:8443' }, { NODE_NAME: 'node-a' });
    expect(c).toMatchObject({ serverUrl: 'wss://rec:8443/api/v1/shim', node: 'node-a', caFile: null });
    expect(() => runConfigFrom({}, {})).toThrow(/--server/);
  });
});
