// `./run start` with no cluster (or `./run start --demo`): everything on this machine, then one URL
// to open and one line to paste. Runs until Ctrl-C or SIGTERM, which stop everything it started.
// Flags are the recorder's (`--listen 127.0.0.1:PORT`, …); the demo sets the cluster-facing ones.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../common/errors.ts';
import { type Demo, startDemo, tidy } from './demo.ts';

const say = (line: string) => process.stderr.write(`${line}\n`);

function instructions(d: Demo): string {
  const tls = d.recorder.tls;
  return [
    '',
    'audited-exec demo is running: a sandbox cluster, the recorder' +
      (d.noShim ? '.' : ', auditd and the node shim.'),
    '',
    '1. Open the web UI, signed in as "auditor" (the link works once, for 15 minutes):',
    `     ${d.signInUrl}`,
    `   The certificate is self-signed (SHA-256 ${tls.fingerprint}); accept it once.`,
    '',
    '2. For a recorded shell in pod default/web, paste into another terminal:',
    `     ${d.kubectlLine}`,
    '   Inside, start something that outlives the shell, then leave:',
    "     nohup sh -c 'sleep 5; touch /tmp/after-exit' >/dev/null 2>&1 &",
    '     exit',
    d.noShim
      ? `   (${d.noShim}.)`
      : '   The session page lists `touch /tmp/after-exit`, marked "after end", attributed to the session.',
    '',
    '3. Also: kubectl audited-exec sessions | events ID | play ID | export ID;',
    `   a node shell: kubectl audited-exec node/${d.sandbox.nodeName}`,
    '',
    `Logs and data: ${d.dir}`,
    `Stop: Ctrl-C (or kill ${process.pid}); stops all of it${d.noShim ? '' : ' and removes the audit rules it loaded'}.`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'audited-exec-demo-'));
  const demo = await startDemo({ dir, recorderArgs: process.argv.slice(2), say });
  process.stdout.write(instructions(demo));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping the demo…`);
    demo
      .stop()
      .then(() => tidy(dir))
      .then(
        () => {
          say(`stopped; the recordings stay in ${join(dir, 'recorder')}`);
          process.exit(0);
        },
        (err: unknown) => {
          say(`stopping failed: ${errorMessage(err)}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
}

main().catch((err) => {
  say(`demo: ${errorMessage(err)}`);
  process.exit(1);
});
