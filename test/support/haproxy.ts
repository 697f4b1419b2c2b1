// A real load balancer in front of several recorder replicas: Debian's HAProxy in TCP mode (TLS
// passes through, so client certificates and WebSocket upgrades reach the replica), round robin,
// each replica checked on /readyz so a draining or dead one gets no new connections, as a
// Kubernetes Service with readiness probes behaves.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { e2eRequired } from './prereq.ts';

const HAPROXY = '/usr/sbin/haproxy';

export interface Balancer {
  /** https://127.0.0.1:PORT */
  url: string;
  /** HAProxy's log so far: one line per connection, and each server's state changes */
  log(): string;
  stop(): Promise<void>;
}

export function haproxyMissing(): string | null {
  return existsSync(HAPROXY)
    ? null
    : `${HAPROXY} not installed (apt-get install haproxy; scripts/install-system-deps.sh)`;
}

export function skipHaproxy(suite: string): boolean {
  const reason = haproxyMissing();
  if (!reason) return false;
  if (e2eRequired()) throw new Error(`${suite}: HAProxy missing in CI: ${reason}`);
  process.stderr.write(`SKIPPED ${suite}: ${reason} (set AUDITED_EXEC_E2E=required to fail instead)\n`);
  return true;
}

/** Round robin over the backends (127.0.0.1 ports), each health-checked on GET /readyz. */
export async function startHaproxy(backends: { name: string; port: number }[]): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
  const port = await freePort();
  const config = [
    'global',
    '  maxconn 4096',
    '  log stderr format raw local0',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  timeout connect 2s',
    '  timeout check 3s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  retries 3',
    '  option redispatch',
    'frontend recorders',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    ...backends.map(
      // Tolerant of a busy machine: a check's TLS handshake may take up to min(timeout connect,
      // inter) = 2 s before it counts as failed. Quick to see a draining one: after a first 503 the
      // next check comes 300 ms later (fastinter), the second takes it out, well within the 3 s a
      // draining replica keeps answering (server/replicas/drain.ts).
      (b) =>
        `  server ${b.name} 127.0.0.1:${b.port} check check-ssl verify none inter 2s fastinter 300ms downinter 1s fall 2 rise 2`,
    ),
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  execFileSync(HAPROXY, ['-c', '-q', '-f', file]);
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitForPort(
    port,
    () => child.exitCode !== null,
    () => err,
  );
  return {
    url: `https://127.0.0.1:${port}`,
    log: () => err,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, died: () => boolean, output: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (died()) throw new Error(`haproxy exited: ${output()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`haproxy did not listen on ${port}: ${output()}`);
}
