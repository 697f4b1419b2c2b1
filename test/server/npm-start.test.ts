// `npm start` is the README's way to run the recorder: SIGTERM to npm (a service manager, a
// terminal closing) must stop the recorder too, not leave it orphaned holding its port.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(process.platform !== 'linux')('npm start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the recorder when npm gets SIGTERM', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: x',
        'contexts: [{name: x, context: {cluster: x, user: x}}]',
        'clusters: [{name: x, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: x, user: {token: t}}]',
      ].join('\n'),
    );
    const dataDir = join(dir, 'data');
    const npm = spawn(
      'npm',
      ['start', '--', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--kubeconfig', kubeconfig],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    npm.stdout!.on('data', (c) => (out += c));
    npm.stderr!.on('data', (c) => (out += c));
    // The recorder, wherever it runs under npm: the process whose command line has this data dir.
    const recorders = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
        .map(Number)
        .filter((pid) => {
          try {
            const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
            return cmd.includes('server/main.ts') && cmd.includes(dataDir);
          } catch {
            return false;
          }
        });
    let recorder: number | undefined;
    try {
      await until('the recorder to listen', () => out.includes('listening on'));
      recorder = recorders()[0];
      expect(recorder, out).toBeDefined();
      npm.kill('SIGTERM');
      await until(`the recorder (pid ${recorder}) to exit`, () => !existsSync(`/proc/${recorder}`), 15_000);
      expect(out).toContain('SIGTERM: taking no new sessions');
    } finally {
      if (recorder && existsSync(`/proc/${recorder}`)) process.kill(recorder, 'SIGKILL');
    }
  }, 60_000);
});
