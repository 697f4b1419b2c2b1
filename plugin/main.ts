#!/usr/bin/env node
// kubectl-audited_exec: kubectl maps `kubectl audited-exec ...` to this binary. Wiring only.
import { homedir } from 'node:os';
import { CommanderError } from 'commander';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import { type CliContext, createProgram, splitAtDashDash } from './cli.ts';
import { register as registerEvents } from './events.ts';
import { register as registerExec } from './exec.ts';
import { register as registerExport } from './export.ts';
import { register as registerPlay } from './play.ts';
import { register as registerSessions } from './sessions.ts';
import { register as registerTerminate } from './terminate.ts';
import { register as registerVerify } from './verify.ts';

const { head, dashArgs } = splitAtDashDash(process.argv.slice(2));
const ctx: CliContext = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  homeDir: homedir(),
  dashArgs,
  exitCode: 0,
};

const program = createProgram(ctx);
registerExec(program, ctx);
registerSessions(program, ctx);
registerEvents(program, ctx);
registerPlay(program, ctx);
registerExport(program, ctx);
registerVerify(program, ctx);
registerTerminate(program, ctx);

try {
  await program.parseAsync(head, { from: 'user' });
  process.exitCode = ctx.exitCode;
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has printed the usage error or the help already.
    process.exitCode = err.exitCode;
  } else {
    const message = errorMessage(err);
    // kubectl prints server-side refusals bare and everything else after "error: ".
    process.stderr.write(message.startsWith('Error from server') ? `${message}\n` : `error: ${message}\n`);
    if (!(err instanceof AuditedExecError) && process.env.AUDITED_EXEC_DEBUG) console.error(err);
    process.exitCode = 1;
  }
}
// An open stdin (-i with a source that has not ended) must not keep us alive after the session;
// stdout and stderr are synchronous for files, pipes and TTYs on Linux, so nothing is lost.
process.exit();
