// `kubectl audited-exec verify FILE [--key PEM | --fingerprint F | --server URL]`: checks an
// evidence bundle. A bundle carries its own public key, so a bundle that is merely self-consistent
// proves nothing about who signed it (anyone can edit it and re-sign it with a key of their own):
// only a pinned key makes it evidence. The exit codes (VERIFY_EXIT) are for scripts; --help and the
// READMEs list them. All checking is common/evidence/verify.ts; this file pins the key and prints
// (plugin/bundle.ts streams the bundle to it).
// `verify --show-key` prints the recorder's public key (fetched from it); `--show-key FILE`
// prints the key inside a bundle.
import { readFile } from 'node:fs/promises';
import { type Command, CommanderError } from 'commander';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import { FILES, keyFingerprint } from '../common/evidence/format.ts';
import { summarize } from '../common/evidence/verify.ts';
import { readBundleMember, verifyBundleFile } from './bundle.ts';
import { type CliContext, type GlobalFlags, globalFlags } from './cli.ts';
import { connect } from './connect.ts';

interface VerifyFlags {
  key?: string;
  fingerprint?: string;
  showKey?: string | boolean;
}

export const SIGNING_KEY_PATH = '/.well-known/audited-exec/signing-key';

/** verify's exit codes. Only `verified` means: intact, and signed by the key you pinned. */
export const VERIFY_EXIT = {
  /** every file, digest and signature link matches, and the pinned key signed it */
  verified: 0,
  /** the bundle is damaged or altered, or another key than the pinned one signed it */
  failed: 1,
  /** nothing was checked: bad flags, an unreadable --key file, the recorder unreachable */
  unusable: 2,
  /** intact and self-consistent, but no key was pinned (or the recorder's came without verified TLS) */
  unverifiedSigner: 3,
} as const;

const EXIT_HELP = `Exit codes:
  0  verified: intact, and signed by the pinned key (--key, --fingerprint, or --server's key)
  1  FAILED: damaged or altered, or signed by another key than the pinned one
  2  nothing checked: bad flags, unreadable --key file, recorder unreachable
  3  UNVERIFIED SIGNER: intact, but no key was pinned (or --server's key came without verified TLS)`;

/** Where the trusted key came from: a file, a fingerprint, or the recorder over verified TLS. */
type Pin = { publicKeyPem: string; source: string } | { fingerprint: string } | { unpinned: string };

export function register(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .summary('check a signed evidence bundle offline')
    .description(
      'Check an evidence bundle (.tar.gz from export or the web UI): every file against the manifest, ' +
        'the manifest and digests against the signature, every link of the signature chain. ' +
        'The signer must be pinned: --key, --fingerprint, or --server (the recorder publishes its key; ' +
        'the TLS connection must be verified). Without one the bundle is checked against the key it ' +
        'carries itself, which anyone who re-signed it could have put there: UNVERIFIED SIGNER, exit 3.',
    )
    .argument('[file]', 'the bundle (.tar.gz)')
    .option('--key <pem-file>', 'the public key (PEM) the bundle must be signed with')
    .option('--fingerprint <SHA256:...>', 'the fingerprint the signer must have (see --show-key)')
    .option('--show-key [file]', "print the recorder's signing key, or the key inside bundle FILE, and exit")
    .addHelpText('after', `\n${EXIT_HELP}\n`)
    // A usage error is "nothing checked" (2), never the 1 a script reads as a bad bundle.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(VERIFY_EXIT.unusable, err.code, err.message);
    })
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
      try {
        if (!file) throw new AuditedExecError('USAGE', 'verify needs a bundle FILE (or --show-key)');
        const pin = await pinKey(flags, globalFlags(cmd), ctx);
        ctx.exitCode = await verifyPinned(file, pin, ctx);
      } catch (err) {
        ctx.stderr.write(`error: ${errorMessage(err)}\n`);
        const damaged = err instanceof AuditedExecError && err.code === 'EVIDENCE_BUNDLE_UNREADABLE';
        ctx.exitCode = damaged ? VERIFY_EXIT.failed : VERIFY_EXIT.unusable;
      }
    });
}

/** The key the bundle must be signed with: --key, --fingerprint, else the recorder's (--server). */
async function pinKey(
  flags: Pick<VerifyFlags, 'key' | 'fingerprint'>,
  global: GlobalFlags,
  ctx: Pick<CliContext, 'env' | 'homeDir'>,
): Promise<Pin> {
  if (flags.key && flags.fingerprint) {
    throw new AuditedExecError('USAGE', 'give --key or --fingerprint, not both');
  }
  if (flags.key) return { publicKeyPem: await readText(flags.key, '--key'), source: `--key ${flags.key}` };
  if (flags.fingerprint) return { fingerprint: flags.fingerprint };
  if (!global.server) return { unpinned: 'no --key, --fingerprint or --server names the expected signer' };
  const conn = await connect({ flags: global, env: ctx.env, homeDir: ctx.homeDir });
  const url = new URL(conn.client.url);
  // The key is only as trustworthy as the connection it came over.
  if (url.protocol !== 'https:' || conn.endpoint.insecureSkipTlsVerify) {
    const why = url.protocol !== 'https:' ? 'is not https' : 'was not verified (--insecure-skip-tls-verify)';
    return { unpinned: `the connection to ${conn.client.url} ${why}, so its key pins nothing` };
  }
  const body = JSON.parse(await conn.client.getText(SIGNING_KEY_PATH)) as { publicKeyPem?: unknown };
  if (typeof body.publicKeyPem !== 'string') {
    throw new AuditedExecError(
      'EVIDENCE_KEY_INVALID',
      `${conn.client.url} did not answer with its signing key`,
    );
  }
  return { publicKeyPem: body.publicKeyPem, source: `the recorder at ${conn.client.url}` };
}

/** Verifies one bundle file against --key or --fingerprint (never the network) and prints the
 *  outcome; resolves to the exit code (VERIFY_EXIT). */
export async function verifyFile(
  file: string,
  flags: Pick<VerifyFlags, 'key' | 'fingerprint'>,
  ctx: Pick<CliContext, 'stdout' | 'stderr'>,
): Promise<number> {
  return verifyPinned(file, await pinKey(flags, {}, { env: {}, homeDir: '' }), ctx);
}

/** Verifies against the pin and prints the outcome; resolves to the exit code (VERIFY_EXIT). */
async function verifyPinned(
  file: string,
  pin: Pin,
  ctx: Pick<CliContext, 'stdout' | 'stderr'>,
): Promise<number> {
  const report = await verifyBundleFile(file, {
    ...('publicKeyPem' in pin ? { publicKeyPem: pin.publicKeyPem, keySource: pin.source } : {}),
    ...('fingerprint' in pin ? { fingerprint: pin.fingerprint } : {}),
  });
  if (!report.ok) {
    ctx.stderr.write(`${file}: verification FAILED\n${report.problems.map((p) => `  ${p}`).join('\n')}\n`);
    return VERIFY_EXIT.failed;
  }
  if ('unpinned' in pin) {
    ctx.stdout.write(`${file}: UNVERIFIED SIGNER\n${summarize(report).join('\n')}\n`);
    ctx.stderr.write(
      `${file}: UNVERIFIED SIGNER: intact and self-consistent, but signed by ${report.signer ?? 'an unknown key'}, which nothing pins: ${pin.unpinned}. ` +
        'Anyone who edits a bundle can re-sign it with a key of their own. Pass --key, --fingerprint or --server.\n',
    );
    return VERIFY_EXIT.unverifiedSigner;
  }
  ctx.stdout.write(`${file}: verified\n${summarize(report).join('\n')}\n`);
  return VERIFY_EXIT.verified;
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
