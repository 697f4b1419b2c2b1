// The opt-in init container's script, taken from the rendered manifest and run against the host's
// real auditd twice: a restarted pod must load the rules again without failing on "Rule exists".
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/prereq.ts';
import { type Loose, render } from './manifests.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = `deploytest-${process.pid}`;

function initScript(): { script: string; defaultRules: string } {
  const ds = render(join(ROOT, 'deploy/overlays/with-audit-rules')).find(
    (o) => o.kind === 'DaemonSet',
  ) as Loose;
  const init = ds.spec.template.spec.initContainers[0];
  expect(init.command).toEqual(['/bin/sh', '-c']);
  const script = init.args[0] as string;
  const defaultRules = /AUDIT_RULES:-([^}]+)\}/.exec(script)![1]!;
  return { script, defaultRules };
}

const skip = skipE2E('deploy: audit rules loader', 'root', 'auditd', 'kubectl');

describe.skipIf(skip)('deploy: audit rules loader', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-rules-'));
  afterAll(() => {
    execFileSync('/usr/sbin/auditctl', ['-D', '-k', KEY], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the image copy of deploy/auditd/audited-exec.rules', () => {
    const { defaultRules } = initScript();
    expect(defaultRules).toBe('/app/deploy/auditd/audited-exec.rules');
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toContain(
      'COPY deploy/auditd/audited-exec.rules ./deploy/auditd/audited-exec.rules',
    );
  });

  it('is idempotent across restarts', () => {
    const { script } = initScript();
    const rules = join(dir, 'test.rules');
    // Same shapes as the real file (an always rule and a never rule with a mask), a private key.
    writeFileSync(
      rules,
      `## test rules\n-a always,exit -F arch=b64 -S execve -F key=${KEY}\n-a never,exit -F arch=b64 -S clone -F a0&0x10000 -F key=${KEY}\n`,
    );
    const run = () =>
      execFileSync('/bin/sh', ['-c', script], { env: { ...process.env, AUDIT_RULES: rules }, stdio: 'pipe' });
    const loaded = () =>
      execFileSync('/usr/sbin/auditctl', ['-l'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`key=${KEY}`));
    run();
    expect(loaded()).toHaveLength(2);
    run();
    expect(loaded()).toHaveLength(2);
  });
});
