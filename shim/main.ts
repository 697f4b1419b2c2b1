#!/usr/bin/env node
// audited-exec-shim: wires the command line to offline.ts (attribute) and run.ts (the daemon).

import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { errorMessage } from '../common/errors.ts';
import { attributeConfigFrom, runConfigFrom } from './config.ts';
import { attributeStream } from './offline.ts';
import { progressLog } from './progress.ts';
import { runDaemon } from './run.ts';

const program = new Command('audited-exec-shim').description(
  'Attributes processes in the auditd log to audited-exec sessions.',
);

program
  .command('attribute')
  .description('Reads an audit log (plain, ENRICHED or gzip) and writes one JSON line per exec, plus alerts.')
  .requiredOption(
    '--input <files...>',
    "audit log files, or '-' for stdin; rotated files oldest first (audit.log.1 audit.log) are read as one log",
  )
  .option(
    '--workers <n>',
    'parser threads beside the one that attributes (default 0: one thread; env AUDITED_EXEC_ATTRIBUTE_WORKERS)',
  )
  .option('--progress', 'progress lines on stderr (default: when stderr is a terminal)')
  .option('--no-progress', 'no progress lines')
  .option(
    '--no-low-memory',
    'let the heap grow: less CPU in GC, peak RSS grows with the log (env AUDITED_EXEC_ATTRIBUTE_LOW_MEMORY=0)',
  )
  .action(async (flags: { input: string[]; workers?: string; progress?: boolean; lowMemory?: boolean }) => {
    const config = attributeConfigFrom(flags, process.env, process.stderr.isTTY === true);
    // A long run's garbage otherwise grows V8's heap (and RSS) with the log: 213 MiB at 1M records,
    // 388 MiB at 4M; with this ~135 and ~150-190, for up to twice the CPU (bench/offline-cli.ts).
    // V8 reads it at each GC, so it holds when set here, and for the parser workers started after.
    if (config.lowMemory) setFlagsFromString('--optimize-for-size');
    const log = (line: string) => process.stderr.write(`${line}\n`);
    await attributeStream({
      input: config.inputs,
      workers: config.workers,
      out: process.stdout,
      log,
      ...(config.progress ? { onProgress: progressLog(log) } : {}),
    });
  });

program
  .command('run')
  .description('Tails the node audit log and ships attributed execs to the recorder.')
  .requiredOption('--server <url>', 'recorder base URL, e.g. https://recorder.audited-exec.svc')
  .option('--token-file <file>', 'projected service-account token', '/var/run/secrets/tokens/audited-exec')
  .option('--node <name>', 'this node (default: $NODE_NAME)')
  .option('--audit-log <path>', 'auditd log', '/var/log/audit/audit.log')
  .option('--state-dir <dir>', 'checkpoint and spool directory', '/var/lib/audited-exec-shim')
  .option('--ca-file <file>', 'CA bundle for the recorder')
  .option('--max-backoff <ms>', 'longest wait between reconnects to the recorder', '10000')
  .action(async (opts: Record<string, string | undefined>) => {
    await runDaemon(runConfigFrom(opts, process.env));
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`audited-exec-shim: ${errorMessage(err)}\n`);
  process.exitCode = 1;
});
