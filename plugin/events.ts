// `kubectl audited-exec events ID`: what ran in a session, as the shim attributed it from the
// node's audit log — commands (those after the session's end marked), and alerts — as a table or
// the API's JSON. The events are the recorder's; this only asks for them and lays them out.
import { type Command, Option } from 'commander';
import type { SessionEventList } from '../common/wire.ts';
import { type CliContext, globalFlags } from './cli.ts';
import { connect } from './connect.ts';
import { formatEventsTable } from './event-table.ts';
import { resolveSessionId } from './play.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('events')
    .argument('<id>', 'session id, or a unique prefix of it (as shown by sessions)')
    .summary("list a session's attributed commands and alerts")
    .description(
      'List what ran in a session, from the node audit log: every command the shim attributed to it ' +
        '(including those that ran after the session ended, marked "after end") and every alert, oldest first.',
    )
    .addOption(new Option('-o, --output <format>', 'json (the API answer) or wide').choices(['json', 'wide']))
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await runEvents(id, cmd, ctx);
    });
}

async function runEvents(idArg: string, cmd: Command, ctx: CliContext): Promise<void> {
  const { output } = cmd.opts<{ output?: 'json' | 'wide' }>();
  const { client } = await connect({ flags: globalFlags(cmd), env: ctx.env, homeDir: ctx.homeDir });
  const id = await resolveSessionId(client, idArg);
  const session = await client.getSession(id);
  const items: SessionEventList['items'] = [];
  for await (const e of client.allEvents(id)) items.push(e);
  const termination = session.terminatedBy
    ? { by: session.terminatedBy, reason: session.terminationReason ?? '', at: session.endedAt ?? '' }
    : undefined;
  if (output === 'json') {
    const list: SessionEventList = { items, ...(termination ? { termination } : {}) };
    ctx.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  // How the session ended, when a moderator ended it: after the table (or alone).
  const ended = termination
    ? `Session terminated by ${termination.by} at ${termination.at}: ${JSON.stringify(termination.reason)}\n`
    : '';
  if (items.length === 0) {
    ctx.stdout.write(ended);
    ctx.stderr.write(
      `No commands or alerts attributed to session ${id} (is the node shim running on ${session.node ?? 'its node'}?).\n`,
    );
    return;
  }
  ctx.stdout.write(formatEventsTable(session, items, { wide: output === 'wide' }) + ended);
}
