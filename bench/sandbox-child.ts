// The sandbox cluster in its own process, so a benchmark's client, the recorder and the apiserver
// each have their own event loop (as in a real cluster). Prints one JSON line describing it on
// stdout, stops and cleans up on SIGTERM or when stdin closes (the parent died).
import { startSandbox } from '../test/sandbox/index.ts';

const runtime = process.argv[2] === 'pty' ? 'pty' : 'auto';
const sb = await startSandbox({ runtime, log: (l) => process.stderr.write(`${l}\n`) });
const users = [...Object.keys(sb.tokens)];
process.stdout.write(
  `${JSON.stringify({
    url: sb.url,
    caPem: sb.caPem,
    tokens: sb.tokens,
    nodeName: sb.nodeName,
    dir: sb.dir,
    kubeconfigs: Object.fromEntries(users.map((u) => [u, sb.kubeconfigFor(u)])),
    containerId: sb.podContainerId('default', 'web'),
    // What a shim DaemonSet pod mounts: a projected token bound to this node, audience audited-exec.
    shimToken: sb.shimToken(),
  })}\n`,
);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  sb.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
