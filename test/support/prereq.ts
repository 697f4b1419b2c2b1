// Gate for end-to-end tests that need root, auditd, runc, Chromium or PostgreSQL. On a laptop a missing
// prerequisite skips the suite with a printed reason; in CI (CI=true) or with
// AUDITED_EXEC_E2E=required it fails, so CI can never go green by skipping.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { auditdState, readStat } from '../../shim/audit-status.ts';

export type Prereq =
  | 'root'
  | 'runc'
  | 'auditd'
  | 'chromium'
  | 'kubectl'
  | 'asciinema'
  | 'postgres'
  | 'rsyslog';

/** Debian's PostgreSQL server binaries (scripts/install-system-deps.sh installs them). */
export const POSTGRES_BIN = process.env.AUDITED_EXEC_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

export const KUBECTL = process.env.AUDITED_EXEC_KUBECTL ?? '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

const checks: Record<Prereq, () => string | null> = {
  root: () => (process.getuid?.() === 0 ? null : 'not running as root'),
  runc: () => executable('/usr/sbin/runc') ?? executable('/usr/bin/runc'),
  auditd: () => executable('/usr/sbin/auditd') ?? executable('/usr/sbin/auditctl') ?? auditdProblem(),
  chromium: () => executable('/usr/bin/chromium'),
  kubectl: () => executable(KUBECTL),
  asciinema: () => executable('/usr/bin/asciinema'),
  postgres: () => executable(`${POSTGRES_BIN}/initdb`) ?? executable(`${POSTGRES_BIN}/pg_ctl`),
  // Debian's rsyslog with its GnuTLS driver: the SIEM export's syslog receiver.
  rsyslog: () =>
    executable('/usr/sbin/rsyslogd') ??
    readable('/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so') ??
    readable('/usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so'),
};

function readable(path: string): string | null {
  try {
    accessSync(path, constants.R_OK);
    return null;
  } catch {
    return `${path} is not installed (bash scripts/install-system-deps.sh: rsyslog-gnutls, rsyslog-relp)`;
  }
}

function executable(path: string): string | null {
  try {
    accessSync(path, constants.X_OK);
    return null;
  } catch {
    return `${path} is not installed`;
  }
}

export function e2eRequired(): boolean {
  return process.env.CI === 'true' || process.env.AUDITED_EXEC_E2E === 'required';
}

/** Returns null when every prerequisite is present, else the reason the suite cannot run. */
export function missing(...needs: Prereq[]): string | null {
  const reasons: string[] = [];
  for (const need of needs) {
    // runc and auditd only count as missing once root is known; report each separately.
    const reason = checks[need]();
    if (reason) reasons.push(reason);
  }
  return reasons.length ? reasons.join('; ') : null;
}

/**
 * For `describe.skipIf(skipE2E(...))`: true (skip, with a printed reason) when a prerequisite is
 * missing on a developer machine; throws when end-to-end tests are required.
 */
export function skipE2E(suite: string, ...needs: Prereq[]): boolean {
  const reason = missing(...needs);
  if (!reason) return false;
  if (e2eRequired()) {
    throw new Error(`${suite}: end-to-end prerequisites missing in CI: ${reason}`);
  }
  process.stderr.write(`SKIPPED ${suite}: ${reason} (set AUDITED_EXEC_E2E=required to fail instead)\n`);
  return true;
}

/**
 * Why audit records would not reach /var/log/audit/audit.log, or null. The kernel keeps naming
 * a killed auditd's pid until it next fails to deliver a record, so the pid must be a live auditd.
 */
function auditdProblem(): string | null {
  let status: string;
  try {
    status = execFileSync('/usr/sbin/auditctl', ['-s'], { stdio: 'pipe', encoding: 'utf8' });
  } catch (err) {
    return `auditctl -s failed: ${(err as Error).message.split('\n')[0]}`;
  }
  const hint = 'start it with `bash scripts/start-auditd.sh`';
  const state = auditdState(status, readStat);
  if (state === 'running') return null;
  if (state === 'stopped') return `auditd is not running; ${hint}`;
  const pid = /^pid (\d+)$/m.exec(status)?.[1];
  return `the kernel names auditd pid ${pid}, but no live auditd has that pid; ${hint}`;
}
