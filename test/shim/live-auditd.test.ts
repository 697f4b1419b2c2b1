// End-to-end against this machine's auditd: run a command with awkward arguments and check the
// parser's argv equals the real one. Loads its own rule (unique key) and removes it afterwards.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributeLines } from '../../shim/offline.ts';
import { skipE2E } from '../support/prereq.ts';

const LOG = '/var/log/audit/audit.log';
const RULE = ['-a', 'always,exit', '-F', 'arch=b64', '-S', 'execve', '-F', 'key=ae_shim_e2e'];

describe.skipIf(skipE2E('shim live auditd', 'root', 'auditd'))('shim live auditd', () => {
  beforeAll(() => {
    execFileSync('auditctl', RULE);
  });
  afterAll(() => {
    execFileSync('auditctl', ['-d', ...RULE.slice(1)]);
  });

  it('decodes a real exec with spaces, quotes, non-ASCII and a split argument exactly', async () => {
    const session = crypto.randomUUID();
    const token = `ae-shim-${process.pid}-${Date.now()}`;
    const argv = ['/bin/true', token, 'two words', `it's "quoted"`, 'ünï cödé', 'x'.repeat(8000)];
    const before = statSync(LOG);
    // Other suites load auditd too: a rotation meanwhile moves our lines into audit.log.1.
    const since = () => {
      const now = statSync(LOG);
      if (now.ino === before.ino) return readFileSync(LOG).subarray(before.size);
      return Buffer.concat([readFileSync(`${LOG}.1`).subarray(before.size), readFileSync(LOG)]);
    };
    execFileSync('/usr/bin/env', [`AUDITED_EXEC_SESSION=${session}`, ...argv]);
    // auditd writes asynchronously: wait until our exec's PROCTITLE-terminated event is in the log.
    let found: ReturnType<typeof attributeLines>['output'] = [];
    for (let i = 0; i < 100 && found.length < 2; i++) {
      const text = since().toString('utf8');
      const res = attributeLines(text.split('\n'));
      found = res.output.filter((o) => !('alert' in o) && o.argv.includes(token));
      if (found.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    const env = found.find((o) => o.argv[0] === '/usr/bin/env');
    const child = found.find((o) => o.argv[0] === '/bin/true');
    // (A marker from a process the container runtime did not start is a claim, not a session:
    // whether this one counts depends on what else the log shows of the test runner.)
    expect(env).toMatchObject({ ppid: process.pid });
    expect(env?.argv).toEqual(['/usr/bin/env', `AUDITED_EXEC_SESSION=${session}`, ...argv]);
    expect(child).toMatchObject({ argv, exe: '/usr/bin/true', uid: 0 });
  });
});
