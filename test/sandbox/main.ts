// `npm run sandbox`: start the sandbox cluster, print how to reach it, run until Ctrl-C.
import { startSandbox } from './index.ts';

const runtimeArg = process.argv.find((a) => a.startsWith('--runtime='))?.slice('--runtime='.length);
const sb = await startSandbox({
  runtime: runtimeArg === 'runc' || runtimeArg === 'pty' ? runtimeArg : 'auto',
  ...(process.env.SANDBOX_PORT ? { port: Number(process.env.SANDBOX_PORT) } : {}),
});

const lines = [
  `sandbox apiserver: ${sb.url}  (runtime: ${sb.runtime}, node: ${sb.nodeName})`,
  `kubeconfig:        ${sb.kubeconfigPath}   (contexts: ${[...Object.keys(sb.tokens), 'carol'].join(', ')}; current: alice)`,
  `audit log:         ${sb.auditLogPath}`,
  'tokens:',
  ...Object.entries(sb.tokens).map(([user, token]) => `  ${user.padEnd(9)} ${token}`),
  'the recorder against it (another terminal):',
  `  npm start -- --kubeconfig ${sb.kubeconfigFor('recorder')} --listen 127.0.0.1:8443 --debug-namespace audited-exec`,
  'a recorded session through it (kubectl finds the plugin on PATH; see README "Try it"):',
  `  KUBECONFIG=${sb.kubeconfigPath} /usr/lib/google-cloud-sdk/bin/kubectl.1.32 audited-exec --server https://127.0.0.1:8443 --server-ca data/tls/server.crt web -it -- bash`,
  'the node shim, as root, once auditd runs with its rules (auditctl -R deploy/auditd/audited-exec.rules):',
  `  node shim/main.ts run --server https://127.0.0.1:8443 --ca-file data/tls/server.crt --token-file ${sb.shimTokenFile} --node ${sb.nodeName} --state-dir ${sb.dir}/shim`,
  'Ctrl-C stops the sandbox and removes its containers.',
];
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\n${signal}: stopping the sandbox...\n`);
  sb.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`sandbox: cleanup failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGHUP', () => shutdown('SIGHUP'));
