// `kubectl audited-exec play ID`: fetch a session's recording and replay it in this terminal.
// Ctrl-C (or q) stops; the terminal is restored on every path.
import type { Writable } from 'node:stream';
import { type Command, Option } from 'commander';
import { AsciicastError, decodeAsciicast } from '../common/asciicast.ts';
import { AuditedExecError } from '../common/errors.ts';
import { isSessionId } from '../common/session-marker.ts';
import { type CliContext, globalFlags } from './cli.ts';
import type { RecorderClient } from './client.ts';
import { connect } from './connect.ts';
import { play } from './player.ts';

interface PlayFlags {
  speed: number;
  idleTimeLimit?: number;
}

/** Leaves the alternate screen, resets colours, shows the cursor: what a stopped recording may leave behind. */
const TERMINAL_RESET = '\x1b[?1049l\x1b[0m\x1b[?25h\r\n';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('play')
    .summary('replay a recorded session in this terminal')
    .description(
      'Replay a recorded session in this terminal. Ctrl-C or q stops. ID may be a unique prefix (as shown by sessions).',
    )
    .argument('<id>', 'session id')
    .addOption(
      new Option('--speed <n>', 'playback speed factor').argParser(positiveNumber('--speed')).default(1),
    )
    .addOption(
      new Option('--idle-time-limit <seconds>', 'shorten pauses longer than this').argParser(
        positiveNumber('--idle-time-limit'),
      ),
    )
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await runPlay(id, cmd, ctx);
    });
}

function positiveNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new AuditedExecError('USAGE', `${flag} must be a positive number, not "${v}"`);
    return n;
  };
}

async function runPlay(idArg: string, cmd: Command, ctx: CliContext): Promise<void> {
  const flags = cmd.opts<PlayFlags>();
  const { client } = await connect({ flags: globalFlags(cmd), env: ctx.env, homeDir: ctx.homeDir });
  const id = await resolveSessionId(client, idArg);
  const text = await client.getRecording(id);
  let cast: ReturnType<typeof decodeAsciicast>;
  try {
    cast = decodeAsciicast(text);
  } catch (err) {
    const detail = err instanceof AsciicastError ? err.message : String(err);
    throw new AuditedExecError('BAD_RECORDING', `the recording of session ${id} cannot be read: ${detail}`);
  }
  const out = ctx.stdout;
  if (out.isTTY && out.columns && (out.columns < cast.header.width || (out.rows ?? 0) < cast.header.height)) {
    ctx.stderr.write(
      `note: recorded at ${cast.header.width}x${cast.header.height}; this terminal is ${out.columns}x${out.rows}\n`,
    );
  }

  const stop = new AbortController();
  const restoreInput = captureStopKeys(ctx, () => stop.abort());
  const onSigint = () => stop.abort();
  process.on('SIGINT', onSigint);
  try {
    const result = await play(cast, {
      speed: flags.speed,
      ...(flags.idleTimeLimit ? { idleTimeLimit: flags.idleTimeLimit } : {}),
      signal: stop.signal,
      write: (data) => writeWithBackpressure(out, data),
    });
    if (!result.completed && out.isTTY) out.write(TERMINAL_RESET);
  } finally {
    process.off('SIGINT', onSigint);
    restoreInput();
  }
}

/** In raw mode Ctrl-C is a byte, not a signal: read it (and q) ourselves. */
function captureStopKeys(ctx: CliContext, onStop: () => void): () => void {
  const { stdin } = ctx;
  if (!stdin.isTTY || !stdin.setRawMode) return () => {};
  stdin.setRawMode(true);
  const onData = (b: Buffer) => {
    if (b.includes(0x03) || b.includes(0x71)) onStop();
  };
  stdin.on('data', onData);
  stdin.resume();
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdin.off('data', onData);
    stdin.setRawMode?.(false);
    stdin.pause();
    process.off('exit', restore);
  };
  process.once('exit', restore);
  return restore;
}

function writeWithBackpressure(out: Writable, data: string): Promise<void> | undefined {
  if (out.write(data)) return undefined;
  return new Promise((resolve) => out.once('drain', () => resolve()));
}

/** A full UUID is used as is; a prefix must match exactly one session the user can see. */
export async function resolveSessionId(client: RecorderClient, idOrPrefix: string): Promise<string> {
  const wanted = idOrPrefix.toLowerCase();
  if (isSessionId(wanted)) return wanted;
  if (!/^[0-9a-f-]{4,}$/.test(wanted)) {
    throw new AuditedExecError(
      'USAGE',
      `"${idOrPrefix}" is not a session id (a UUID, or at least 4 of its first characters)`,
    );
  }
  const matches: string[] = [];
  for await (const s of client.allSessions({})) if (s.id.startsWith(wanted)) matches.push(s.id);
  if (matches.length === 1) return matches[0]!;
  throw new AuditedExecError(
    'NOT_FOUND',
    matches.length === 0
      ? `no session id starts with "${idOrPrefix}" (see kubectl audited-exec sessions -A)`
      : `"${idOrPrefix}" matches ${matches.length} sessions; give more of the id`,
  );
}
