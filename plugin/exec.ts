// `kubectl audited-exec [flags] POD -- COMMAND`: kubectl exec's flags and behaviour, but the
// session is created on the recorder and streamed through it. Exit code: the remote command's;
// 1 for every error (kubectl's convention), including a connection lost mid-session;
// 77 when a moderator terminated the session (TERMINATED_EXIT_CODE); 128+N when a signal N ends
// the plugin.
import type { Command } from 'commander';
import { loadKubeconfig } from '../common/kubeconfig/load.ts';
import { terminationSentence } from '../common/termination.ts';
import type { SessionCreateRequest } from '../common/wire.ts';
import { type CliContext, type GlobalFlags, globalFlags } from './cli.ts';
import { connect } from './connect.ts';
import { pumpStream } from './stream.ts';
import { buildSessionRequest } from './target.ts';
import { enterRawTerminal, type LocalTerminal, NOT_A_TTY_WARNING, wantsTty } from './terminal.ts';

interface ExecFlags {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  quiet?: boolean;
  reason?: string;
  ticket?: string;
  image?: string;
  profile?: string;
}

export interface ExecPlan {
  request: SessionCreateRequest;
  quiet: boolean;
  /** -i -t given but stdin is not a terminal: warn and go on without a TTY, like kubectl */
  warnNoTty: boolean;
  flags: GlobalFlags;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('exec', { isDefault: true })
    .summary('run a recorded command in a pod, or debug a node (the default subcommand)')
    .description(
      'Run a command in a container through the audited-exec recorder, like kubectl exec. ' +
        'TARGET is POD, pod/NAME or node/NAME (a recorded kubectl debug node).',
    )
    .usage('[options] TARGET -- COMMAND [ARGS...]')
    .argument('[target]', 'POD, pod/NAME or node/NAME')
    // Extra operands reach buildSessionRequest, which answers them the way kubectl does.
    .allowExcessArguments(true)
    .option('-c, --container <name>', "container name (default: the pod's default container)")
    .option('-i, --stdin', 'pass stdin to the container')
    .option('-t, --tty', 'stdin is a TTY')
    .option('-q, --quiet', 'print only the remote output (no session banner, no warnings)')
    .option('--reason <text>', 'why you need this session (some namespaces require it)')
    .option('--ticket <id>', 'change or incident ticket for this session')
    .option('--image <image>', 'node/NAME only: the debug container image')
    .option('--profile <profile>', 'node/NAME only: legacy|general|baseline|restricted|netadmin|sysadmin')
    .action(async (_target: unknown, _opts: unknown, cmd: Command) => {
      ctx.exitCode = await runExec(execPlan(cmd, ctx), ctx);
    });
}

/** Everything exec decided from the command line, before any I/O. */
export function execPlan(
  cmd: Command,
  ctx: Pick<CliContext, 'dashArgs' | 'stdin' | 'env' | 'homeDir'>,
): ExecPlan {
  const opts = cmd.opts<ExecFlags>();
  const flags = globalFlags(cmd);
  const stdin = Boolean(opts.stdin);
  const { tty, warn } = wantsTty({ stdin, tty: Boolean(opts.tty) }, Boolean(ctx.stdin.isTTY));
  const request = buildSessionRequest({
    operands: cmd.args,
    dashArgs: ctx.dashArgs,
    namespace: '',
    stdin,
    tty,
    ...definedOnly(opts, ['container', 'reason', 'ticket', 'image', 'profile']),
  });
  // Usage errors first, then the namespace default from the kubeconfig context (-n skips the read).
  request.namespace =
    flags.namespace ||
    loadKubeconfig({
      ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
      env: ctx.env,
      homeDir: ctx.homeDir,
    }).namespace;
  return { request, quiet: Boolean(opts.quiet), warnNoTty: warn, flags };
}

function definedOnly<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

export async function runExec(plan: ExecPlan, ctx: CliContext): Promise<number> {
  if (plan.warnNoTty && !plan.quiet) ctx.stderr.write(`${NOT_A_TTY_WARNING}\n`);
  const { client } = await connect({ flags: plan.flags, env: ctx.env, homeDir: ctx.homeDir });
  const session = await client.createSession(plan.request);
  const socket = await client.openStream(session.streamPath);
  // After the stream opened: a refused session (RBAC, policy) prints only the refusal.
  if (!plan.quiet) ctx.stderr.write(`Session ${session.id} recorded by ${client.url}\n`);
  const { ws } = socket;

  let terminal: LocalTerminal | undefined;
  let signalled = 0;
  const onSignal = (name: keyof typeof SIGNALS) => () => {
    signalled = SIGNALS[name];
    ws.close(1000, 'client interrupted');
  };
  const handlers = Object.keys(SIGNALS).map((name) => {
    const h = onSignal(name as keyof typeof SIGNALS);
    process.on(name as NodeJS.Signals, h);
    return () => process.off(name as NodeJS.Signals, h);
  });
  try {
    if (plan.request.tty) terminal = enterRawTerminal(ctx);
    const result = await pumpStream({
      socket,
      stdin: plan.request.stdin ? ctx.stdin : null,
      stdout: ctx.stdout,
      stderr: ctx.stderr,
      ...(terminal ? { terminal } : {}),
    });
    terminal?.restore();
    if (signalled) return 128 + signalled;
    // In raw mode the cursor may sit mid-line; start the message on a fresh one.
    if (result.terminated) {
      ctx.stderr.write(`${terminal ? '\r\n' : ''}audited-exec: ${terminationSentence(result.terminated)}\n`);
    } else if (result.error) ctx.stderr.write(`${terminal ? '\r\n' : ''}error: ${result.error}\n`);
    return result.exitCode;
  } finally {
    terminal?.restore();
    for (const off of handlers) off();
  }
}
