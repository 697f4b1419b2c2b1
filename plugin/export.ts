// `kubectl audited-exec export ID [-o FILE]`: the signed evidence bundle the web UI gives.
// `kubectl audited-exec export --user U -n NS --since T --until T -o DIR`: every matching
// finished session, one bundle each, with progress on stderr. Each download is self-verified.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AuditedExecError } from '../common/errors.ts';
import { verifyBundleFile } from './bundle.ts';
import { type CliContext, globalFlags } from './cli.ts';
import { type Connection, connect } from './connect.ts';
import { resolveSessionId } from './play.ts';
import { parseSince } from './session-table.ts';

interface ExportFlags {
  output?: string;
  user?: string;
  allNamespaces?: boolean;
  since?: string;
  until?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('export')
    .summary('download signed evidence bundles')
    .description(
      'Download the signed evidence bundle (.tar.gz) of one session, or of every finished session ' +
        'matching --user/-n/--since/--until into a directory. Check bundles with "verify".',
    )
    .argument('[id]', 'session id (or a unique prefix)')
    .option(
      '-o, --output <path>',
      'file (one session) or directory (several); default: the current directory',
    )
    .option('--user <user>', 'sessions of this user')
    .option('-A, --all-namespaces', 'sessions in every namespace (default: the -n / context namespace)')
    .option('--since <duration|time>', 'sessions started after this: 30m, 2h, 7d or an RFC 3339 time')
    .option('--until <duration|time>', 'sessions started before this: a duration ago or an RFC 3339 time')
    .action(async (id: string | undefined, _opts: unknown, cmd: Command) => {
      const flags = cmd.opts<ExportFlags>();
      const conn = await connect({ flags: globalFlags(cmd), env: ctx.env, homeDir: ctx.homeDir });
      if (id) await exportOne(conn, id, flags, ctx);
      else await exportMany(conn, flags, ctx);
    });
}

async function exportOne(
  conn: Connection,
  idArg: string,
  flags: ExportFlags,
  ctx: CliContext,
): Promise<void> {
  if (flags.user || flags.since || flags.until || flags.allNamespaces) {
    throw new AuditedExecError(
      'USAGE',
      'give either a session ID or filters (--user, -n, --since, --until), not both',
    );
  }
  const id = await resolveSessionId(conn.client, idArg);
  const file = flags.output ?? `audited-exec-${id}.tar.gz`;
  const bytes = await conn.client.download(evidencePath(id), file, { accept: GZIP });
  ctx.stderr.write(`wrote ${file} (${formatBytes(bytes)}); ${await selfCheck(file)}\n`);
}

async function exportMany(conn: Connection, flags: ExportFlags, ctx: CliContext): Promise<void> {
  const now = new Date();
  const dir = flags.output ?? '.';
  const query = {
    ...(flags.allNamespaces ? {} : { namespace: conn.kube.namespace }),
    ...(flags.user ? { user: flags.user } : {}),
    ...(flags.since ? { since: parseSince(flags.since, now) } : {}),
    ...(flags.until ? { until: parseUntil(flags.until, now) } : {}),
  };
  const sessions = [];
  for await (const s of conn.client.allSessions(query)) {
    if (s.state !== 'pending' && s.state !== 'running') sessions.push(s);
  }
  if (sessions.length === 0) {
    ctx.stderr.write('No finished sessions match; nothing exported.\n');
    return;
  }
  await mkdir(dir, { recursive: true });
  const progress = progressBar(ctx, sessions.length);
  let total = 0;
  const failed: string[] = [];
  for (const [i, s] of sessions.entries()) {
    const file = join(dir, `${s.id}.tar.gz`);
    const got = await conn.client.download(evidencePath(s.id), file, {
      accept: GZIP,
      onBytes: (n) => progress(i, total + n, s.id),
    });
    total += got;
    const check = await verifyBundleFile(file);
    if (!check.ok) failed.push(`${file}: ${check.problems[0]}`);
    progress(i + 1, total, s.id);
  }
  progress.done();
  ctx.stderr.write(`exported ${sessions.length} bundles (${formatBytes(total)}) to ${dir}\n`);
  if (failed.length) {
    ctx.stderr.write(`${failed.map((f) => `bundle failed its self-check: ${f}`).join('\n')}\n`);
    ctx.exitCode = 1;
  }
}

const GZIP = 'application/gzip';

function evidencePath(id: string): string {
  return `/api/v1/sessions/${encodeURIComponent(id)}/evidence`;
}

async function selfCheck(file: string): Promise<string> {
  const r = await verifyBundleFile(file);
  return r.ok
    ? `self-consistent, signed by ${r.signer}; check the signer with: kubectl audited-exec verify ${file} --fingerprint F`
    : `WARNING, it does not verify: ${r.problems[0]}`;
}

/** n/N, bytes and a bar on a terminal; one line per bundle when stderr is a file or pipe. */
function progressBar(ctx: CliContext, total: number) {
  const tty = (ctx.stderr as { isTTY?: boolean }).isTTY === true;
  let last = -1;
  const draw = (n: number, bytes: number, id: string) => {
    if (tty) {
      const width = 24;
      const full = Math.round((n / total) * width);
      ctx.stderr.write(
        `\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${n}/${total} ${formatBytes(bytes)} ${id}`,
      );
    } else if (n !== last) {
      last = n;
      ctx.stderr.write(`${n}/${total} ${formatBytes(bytes)} ${id}\n`);
    }
  };
  return Object.assign(draw, { done: () => tty && ctx.stderr.write('\n') });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** --until takes what --since takes; only the flag named in the error differs. */
function parseUntil(value: string, now: Date): string {
  try {
    return parseSince(value, now);
  } catch (err) {
    throw new AuditedExecError('USAGE', (err as Error).message.replace('--since', '--until'));
  }
}
