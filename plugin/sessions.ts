// `kubectl audited-exec sessions`: the recorded sessions, as a kubectl-style table or JSON.
// Like `kubectl get`, it lists the context namespace unless -n or -A says otherwise.
import { type Command, Option } from 'commander';
import { AuditedExecError } from '../common/errors.ts';
import type { SessionList, SessionQuery, SessionRecord, SessionState } from '../common/wire.ts';
import { type CliContext, globalFlags } from './cli.ts';
import { connect } from './connect.ts';
import { formatSessionsTable, parseSince } from './session-table.ts';

export interface SessionsFlags {
  user?: string;
  allNamespaces?: boolean;
  pod?: string;
  node?: string;
  since?: string;
  /** commander checks it is one of the states */
  state?: SessionState;
  output?: 'json' | 'wide';
  limit?: number;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('sessions')
    .summary('list recorded sessions')
    .description('List recorded sessions (newest first), like kubectl get. Pages are followed to the end.')
    .option('--user <user>', 'only sessions of this user')
    .option('-A, --all-namespaces', 'sessions in every namespace (default: the -n / context namespace)')
    .option('--pod <pod>', 'only sessions in this pod')
    .option('--node <node>', 'only sessions on this node')
    .option('--since <duration|time>', 'only sessions started after this: 30m, 2h, 7d or an RFC 3339 time')
    .addOption(
      new Option('--state <state>', 'only sessions in this state').choices([
        'pending',
        'running',
        'ended',
        'interrupted',
        'refused',
        'terminated',
      ]),
    )
    .addOption(
      new Option('-o, --output <format>', 'json (the SessionList) or wide').choices(['json', 'wide']),
    )
    .addOption(
      new Option('--limit <n>', 'page size asked of the recorder').argParser(positiveInt).default(500),
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await runSessions(cmd, ctx);
    });
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new AuditedExecError('USAGE', `--limit must be a positive integer, not "${v}"`);
  return n;
}

/** The query the flags ask for; `namespace` is the resolved one unless -A. */
export function sessionsQuery(flags: SessionsFlags, namespace: string, now: Date): SessionQuery {
  return {
    ...(flags.allNamespaces ? {} : { namespace }),
    ...(flags.user ? { user: flags.user } : {}),
    ...(flags.pod ? { pod: flags.pod } : {}),
    ...(flags.node ? { node: flags.node } : {}),
    ...(flags.since ? { since: parseSince(flags.since, now) } : {}),
    ...(flags.state ? { state: flags.state } : {}),
    ...(flags.limit ? { limit: flags.limit } : {}),
  };
}

async function runSessions(cmd: Command, ctx: CliContext): Promise<void> {
  const flags = cmd.opts<SessionsFlags>();
  const { client, kube } = await connect({ flags: globalFlags(cmd), env: ctx.env, homeDir: ctx.homeDir });
  const now = new Date();
  const items: SessionRecord[] = [];
  for await (const s of client.allSessions(sessionsQuery(flags, kube.namespace, now))) items.push(s);
  if (flags.output === 'json') {
    const list: SessionList = { items };
    ctx.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  if (items.length === 0) {
    ctx.stderr.write(
      flags.allNamespaces ? 'No sessions found.\n' : `No sessions found in ${kube.namespace} namespace.\n`,
    );
    return;
  }
  ctx.stdout.write(formatSessionsTable(items, { now, wide: flags.output === 'wide' }));
}
