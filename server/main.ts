// audited-exec-server: wires settings to the recorder and handles signals. Nothing else.
import { errorMessage } from '../common/errors.ts';
import { createRecorder } from './app.ts';
import { parseSettings } from './config.ts';

async function main(): Promise<void> {
  const settings = parseSettings(process.argv, process.env);
  const recorder = await createRecorder(settings);
  const { tls } = recorder;
  process.stderr.write(
    `audited-exec recorder listening on ${settings.host}:${recorder.port} (${recorder.url})\n` +
      `  data dir ${settings.dataDir}\n` +
      `  TLS certificate${tls.generated ? ' (self-signed, generated now)' : ''} SHA-256 ${tls.fingerprint}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: ending open sessions and shutting down\n`);
    recorder
      .close(`the recorder is shutting down (${signal}); the session was ended and its recording kept`)
      .then(() => process.exit(0))
      .catch((err) => {
        process.stderr.write(`shutdown failed: ${errorMessage(err)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  const code = (err as { code?: string }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') process.exit(0);
  process.stderr.write(`audited-exec-server: ${errorMessage(err)}\n`);
  process.exit(1);
});
