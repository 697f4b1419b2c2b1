// The recorder's Ed25519 signing key. Generated on first start into the data directory (0600),
// or loaded from a configured file such as a mounted Kubernetes Secret. A key file others can
// read is refused: whoever reads it can forge evidence. (Secret volumes default to 0644; mount
// with `defaultMode: 0400`.)
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditedExecError } from '../../common/errors.ts';
import { keyFingerprint } from '../../common/evidence/format.ts';

export interface SigningKey {
  publicKey: KeyObject;
  publicKeyPem: string;
  /** SHA256:<base64 of sha256 of the raw 32-byte public key> */
  fingerprint: string;
  /** Ed25519 signature of `data` */
  sign(data: Uint8Array): Uint8Array;
  /** where it came from, for the startup log */
  path: string;
  generated: boolean;
}

export interface SigningKeyOptions {
  /** the server's data directory; the key lives at <dataDir>/signing-key.pem unless keyFile is set */
  dataDir: string;
  /** a PKCS#8 PEM Ed25519 private key to use instead (never generated, never rewritten) */
  keyFile?: string;
}

export const KEY_FILE_NAME = 'signing-key.pem';

export async function loadSigningKey(options: SigningKeyOptions): Promise<SigningKey> {
  if (options.keyFile) return fromFile(options.keyFile, false);
  const path = join(options.dataDir, KEY_FILE_NAME);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  try {
    // 'wx': exactly one replica/start creates the key; the mode is set at creation, never widened.
    const fh = await open(path, 'wx', 0o600);
    try {
      await fh.writeFile(pem);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return fromFile(path, true);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AuditedExecError(
        'EVIDENCE_KEY_WRITE',
        `cannot create the signing key ${path}: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
    return fromFile(path, false);
  }
}

async function fromFile(path: string, generated: boolean): Promise<SigningKey> {
  let mode: number;
  let pem: string;
  try {
    // stat follows symlinks: a Secret volume's file is a link into ..data/, the target's mode counts.
    mode = (await stat(path)).mode & 0o777;
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new AuditedExecError('EVIDENCE_KEY_READ', `cannot read the signing key ${path}: ${String(err)}`, {
      cause: err,
    });
  }
  if (mode & 0o007) {
    throw new AuditedExecError(
      'EVIDENCE_KEY_PERMISSIONS',
      `refusing the signing key ${path}: its mode ${mode.toString(8).padStart(4, '0')} lets every local user read ` +
        `or change it; run chmod 600 on it (a Kubernetes Secret volume needs defaultMode: 0400)`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new AuditedExecError('EVIDENCE_KEY_INVALID', `the signing key ${path} is not a PEM private key`, {
      cause: err,
    });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new AuditedExecError(
      'EVIDENCE_KEY_INVALID',
      `the signing key ${path} is ${privateKey.asymmetricKeyType ?? 'unknown'}, evidence needs Ed25519 (openssl genpkey -algorithm ed25519)`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  return {
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
    fingerprint: keyFingerprint(publicKey),
    sign: (data) => new Uint8Array(sign(null, data, privateKey)),
    path,
    generated,
  };
}
