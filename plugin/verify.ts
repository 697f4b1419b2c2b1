// `kubectl audited-exec verify FILE [--key PEM | --fingerprint F]`: checks an evidence bundle
// offline. Exit 0 with a summary when every file, digest and signature link matches; exit 1
// naming each file and field that does not. All logic is common/evidence/verify.ts; this file
// only prints (plugin/bundle.ts streams the bundle to it).
// `verify --show-key` prints the recorder's public key (fetched from it); `--show-key FILE`
// prints the key inside a bundle.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import { FILES, keyFingerprint } from '../common/evidence/format.ts';
import { summarize } from '../common/evidence/verify.ts';
import { readBundleMember, verifyBundleFile } from './bundle.ts';
import { type CliContext, globalFlags } from './cli.ts';
import { connect } from './connect.ts';

interface VerifyFlags {
  key?: string;
  fingerprint?: string;
  showKey?: string | boolean;
}

export const SIGNING_KEY_PATH = '/.well-known/audited-exec/signing-key';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .summary('check a signed evidence bundle offline')
    .description(
      'Check an evidence bundle (.tar.gz from export or the web UI): every file against the manifest, ' +
        'the manifest and digests against the signature, every link of the signature chain. ' +
        'Without --key or --fingerprint the bundle is checked against its own key only.',
    )
    .argument('[file]', 'the bundle (.tar.gz)')
    .option('--key <pem-file>', 'the public key (PEM) the bundle must be signed with')
    .option('--fingerprint <SHA256:...>', 'the fingerprint the signer must have (see --show-key)')
    .option('--show-key [file]', "print the recorder's signing key, or the key inside bundle FILE, and exit")
    .action(async (file: string | undefined, _opts: unknown, cmd: Command) => {
      const flags = cmd.opts<VerifyFlags>();
      if (flags.showKey !== undefined) {
        const from = typeof flags.showKey === 'string' ? flags.showKey : file;
        if (from) await showBundleKey(from, ctx);
        else {
          const conn = await connect({ flags: globalFlags(cmd), env: ctx.env, homeDir: ctx.homeDir });
          const body = JSON.parse(await conn.client.getText(SIGNING_KEY_PATH)) as { publicKeyPem: string };
          printKey(body.publicKeyPem, `the recorder at ${conn.client.url}`, ctx);
        }
        return;
      }
      if (!file) throw new AuditedExecError('USAGE', 'verify needs a bundle FILE (or --show-key)');
      ctx.exitCode = await verifyFile(file, flags, ctx);
    });
}

/** Verifies one bundle file and prints the outcome; resolves to the exit code. */
export async function verifyFile(
  file: string,
  flags: Pick<VerifyFlags, 'key' | 'fingerprint'>,
  ctx: Pick<CliContext, 'stdout' | 'stderr'>,
): Promise<number> {
  if (flags.key && flags.fingerprint) {
    throw new AuditedExecError('USAGE', 'give --key or --fingerprint, not both');
  }
  const publicKeyPem = flags.key ? await readText(flags.key, '--key') : undefined;
  const report = await verifyBundleFile(file, {
    ...(publicKeyPem ? { publicKeyPem } : {}),
    ...(flags.fingerprint ? { fingerprint: flags.fingerprint } : {}),
  });
  if (report.ok) {
    ctx.stdout.write(`${file}: verified\n${summarize(report).join('\n')}\n`);
    return 0;
  }
  ctx.stderr.write(`${file}: verification FAILED\n${report.problems.map((p) => `  ${p}`).join('\n')}\n`);
  return 1;
}

async function showBundleKey(file: string, ctx: CliContext): Promise<void> {
  const pem = await readBundleMember(file, FILES.publicKey, 1024 * 1024);
  if (!pem) throw new AuditedExecError('EVIDENCE_BUNDLE_UNREADABLE', `${file}: has no ${FILES.publicKey}`);
  printKey(new TextDecoder().decode(pem), `bundle ${file} (its own claim: compare with the recorder's)`, ctx);
}

function printKey(pem: string, source: string, ctx: CliContext): void {
  let fingerprint: string;
  try {
    fingerprint = keyFingerprint(pem);
  } catch {
    throw new AuditedExecError('EVIDENCE_KEY_INVALID', `the key from ${source} is not an Ed25519 public key`);
  }
  ctx.stdout.write(`# signing key of ${source}\n# fingerprint: ${fingerprint}\n${pem.trimEnd()}\n`);
}

async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new AuditedExecError('USAGE', `cannot read ${flag} file ${path}: ${errorMessage(err)}`);
  }
}
