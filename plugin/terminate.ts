// `kubectl audited-exec terminate ID --reason "…"`: a moderator ends someone's running session. The
// recorder checks the right (terminate on sessions.audited-exec.io), closes the stream, marks the
// recording, and the session's user reads who ended it and why. This asks and reports the outcome.
import type { Command } from 'commander';
import { AuditedExecError } from '../common/errors.ts';
import { checkReason } from '../common/termination.ts';
import { type CliContext, globalFlags } from './cli.ts';
import { connect } from './connect.ts';
import { resolveSessionId } from './play.ts';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('terminate')
    .argument('<id>', 'session id, or a unique prefix of it (as shown by sessions)')
    .requiredOption('--reason <text>', 'why the session is ended: its user reads it, the evidence keeps it')
    .summary("end someone's running session (session moderators)")
    .description(
      'End a running recorded session now: its stream is closed (a node debug pod is deleted too), the ' +
        'recording gets a marker, and its user sees who ended it and why. Needs terminate on ' +
        'sessions.audited-exec.io (ClusterRole audited-exec:session-moderator).',
    )
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      await runTerminate({ id, reason: opts.reason }, cmd, ctx);
    });
}

async function runTerminate(o: { id: string; reason: string }, cmd: Command, ctx: CliContext): Promise<void> {
  // Checked here too, so a bad reason is refused before anything is asked of the recorder.
  const checked = checkReason(o.reason);
  if ('problem' in checked) throw new AuditedExecError('USAGE', `${checked.problem} (--reason "…")`);
  const { client } = await connect({ flags: globalFlags(cmd), env: ctx.env, homeDir: ctx.homeDir });
  const id = await resolveSessionId(client, o.id);
  const ended = await client.terminateSession(id, checked.reason);
  ctx.stdout.write(
    `session ${ended.id} ${ended.state} (user ${ended.user}): ${JSON.stringify(ended.terminationReason ?? checked.reason)}\n`,
  );
}
