// The command tree: global connection flags, the help text, and the context every subcommand
// gets (its stdio, environment and the arguments after `--`). Subcommand modules add themselves
// with `register(program, ctx)`; main.ts only wires.
import type { Readable, Writable } from 'node:stream';
import { Command } from 'commander';

/** The process edges a subcommand may touch, so tests can run a command in memory. */
export interface CliContext {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable;
  env: Record<string, string | undefined>;
  homeDir: string;
  /** Arguments after the first `--` (kubectl's ArgsLenAtDash); null when there was no `--`. */
  dashArgs: string[] | null;
  /** What the process should exit with once the action has finished (the remote exit code for exec). */
  exitCode: number;
}

/** Flags every subcommand understands; kubectl does not pass its own to plugins, so we parse them. */
export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  server?: string;
  serverCa?: string;
  insecureSkipTlsVerify?: boolean;
  token?: string;
}

/**
 * Splits argv at the first `--`. Commander drops the marker, but kubectl semantics depend on it:
 * everything after it is the remote command, verbatim, even `--help`.
 */
export function splitAtDashDash(argv: readonly string[]): { head: string[]; dashArgs: string[] | null } {
  const at = argv.indexOf('--');
  if (at < 0) return { head: [...argv], dashArgs: null };
  return { head: argv.slice(0, at), dashArgs: argv.slice(at + 1) };
}

export const DISCOVERY_HELP = `Finding the recorder (first match wins):
  1. --server URL
  2. the AUDITED_EXEC_SERVER environment variable
  3. the ConfigMap audited-exec-plugin in namespace audited-exec (key "server"),
     read from the cluster with your own kubeconfig credentials
Trusting its certificate (first match wins):
  1. --server-ca FILE
  2. the AUDITED_EXEC_SERVER_CA environment variable (a file)
  3. the ConfigMap's "ca.crt" key (only when the ConfigMap also named the server)
  4. the system's trusted roots
  --insecure-skip-tls-verify turns verification off.
Your kubeconfig credentials (token, exec plugin or client certificate) are sent to the recorder,
which acts as you towards the Kubernetes API.`;

const EXAMPLES = `Examples:
  # Run a command in pod web (namespace from your context), like kubectl exec
  kubectl audited-exec web -- ls /

  # Interactive shell in container app of pod web in namespace shop, with a reason
  kubectl audited-exec -n shop web -c app -it --reason "INC-42 cache stuck" -- bash

  # Pipe a file in
  kubectl audited-exec web -i -- sh -c 'cat > /tmp/x' < x

  # Debug a node (profile and image as for kubectl debug)
  kubectl audited-exec node/worker-1 -it --image busybox --profile sysadmin -- sh

  # Recorded sessions in all namespaces, then replay one twice as fast
  kubectl audited-exec sessions -A
  kubectl audited-exec play 3f2a9c1e-... --speed 2

  # What ran in that session, from the node's audit log (also after it ended)
  kubectl audited-exec events 3f2a9c1e

  # End someone's running session now (session moderators); they read who and why
  kubectl audited-exec terminate 3f2a9c1e --reason "INC-42: runaway job on prod"`;

export function createProgram(ctx: CliContext): Command {
  const program = new Command('kubectl audited-exec')
    .description(
      'Recorded kubectl exec and debug node: the session goes through the audited-exec recorder, ' +
        'which acts as you, records the terminal and stamps the apiserver audit log with the session id. ' +
        'Without a subcommand the arguments are those of exec: kubectl audited-exec POD -- COMMAND.',
    )
    .option('--kubeconfig <file>', 'path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('-n, --namespace <namespace>', 'namespace (default: the context namespace, else "default")')
    .option(
      '--token <token>',
      'bearer token for the apiserver and the recorder, instead of the kubeconfig user',
    )
    .option('--server <url>', 'URL of the audited-exec recorder (see "Finding the recorder")')
    .option('--server-ca <file>', 'PEM file with the CA that signed the recorder certificate')
    .option('--insecure-skip-tls-verify', 'do not verify the recorder certificate (insecure)')
    .showSuggestionAfterError(true)
    // main.ts decides the exit code; tests parse without exiting.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .addHelpText('after', `\n${DISCOVERY_HELP}\n\n${EXAMPLES}\n`);
  return program;
}

export function globalFlags(cmd: Command): GlobalFlags {
  return cmd.optsWithGlobals<GlobalFlags>();
}
