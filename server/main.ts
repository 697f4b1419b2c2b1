// audited-exec-server: wires settings to the recorder and handles signals. Nothing else.
import { setFlagsFromString } from 'node:v8';
import { errorMessage } from '../common/errors.ts';
import { createRecorder } from './app.ts';
import { CALLBACK_PATH } from './auth/oidc/open.ts';
import { parseSettings } from './config.ts';

// Bulk output arrives as a fresh ArrayBuffer per TLS read. V8's default heuristic starts a full
// mark-compact each time such off-heap memory grows by a fixed step, whatever the heap size: 47 of
// them per 512 MiB relayed, 0.8 CPU-s of GC threads on a 11 MB heap. Counting external memory in
// the global allocation limit instead (V8 13+, Node 24) leaves 1 and gives bulk output +10-15%;
// peak RSS over a 1 GiB session 162 -> 166 MiB. Older V8 lacks the flag and keeps its default.
if (Number(process.versions.v8.split('.')[0]) >= 13) {
  setFlagsFromString('--external-memory-accounted-in-global-limit');
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv, process.env);
  const recorder = await createRecorder(settings);
  const { tls } = recorder;
  process.stderr.write(
    `audited-exec recorder listening on ${settings.host}:${recorder.port} (${recorder.url})\n` +
      `  data dir ${settings.dataDir}\n` +
      `  replica ${settings.replicaId}, state in ${settings.database ? 'PostgreSQL' : 'SQLite (data dir)'}\n` +
      `  TLS certificate${tls.generated ? ' (self-signed, generated now)' : ''} SHA-256 ${tls.fingerprint}\n` +
      (settings.oidc
        ? `  browser sign-in with SSO at ${settings.oidc.issuerUrl}, redirect URI ${recorder.url}${CALLBACK_PATH}\n`
        : ''),
  );
  const ended = (signal: string) =>
    `the recorder is shutting down (${signal}); the session was ended and its recording kept`;
  const exit = (done: Promise<void>) =>
    done
      .then(() => process.exit(0))
      .catch((err) => {
        process.stderr.write(`shutdown failed: ${errorMessage(err)}\n`);
        process.exit(1);
      });
  let stopping = false;
  // SIGTERM (a rolling update): no new sessions here; open ones run on for --drain-timeout.
  // SIGINT, or a second signal while draining: end the open sessions now.
  const stop = (signal: string, drainMs: number) => {
    if (stopping) {
      void exit(recorder.close(ended(signal)));
      return;
    }
    stopping = true;
    const waiting = drainMs > 0 ? `, letting open sessions run for up to ${drainMs / 1000} s` : '';
    process.stderr.write(`${signal}: taking no new sessions${waiting}, then shutting down\n`);
    void exit(recorder.drain(drainMs, ended(signal)));
  };
  process.on('SIGTERM', () => stop('SIGTERM', settings.drainTimeoutMs));
  process.on('SIGINT', () => stop('SIGINT', 0));
}

main().catch((err) => {
  const code = (err as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') process.exit(0);
  process.stderr.write(`audited-exec-server: ${errorMessage(err)}\n`);
  process.exit(1);
});
