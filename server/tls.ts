// The server's TLS identity: given files, or a self-signed pair generated into the data dir on
// first start (kept, so clients can pin its fingerprint). Node cannot mint certificates itself;
// openssl is on every system that runs this (Debian base image, CI).
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { access, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuditedExecError } from '../common/errors.ts';
import type { Settings } from './config.ts';

export interface TlsIdentity {
  cert: string;
  key: string;
  /** SHA-256 fingerprint, colon-separated hex, as openssl prints it */
  fingerprint: string;
  generated: boolean;
}

export interface TlsOptions {
  certFile?: string;
  keyFile?: string;
  dataDir: string;
  /** Extra names for a generated certificate (e.g. the public URL's host). */
  hostnames?: string[];
}

/** The recorder's identity from its settings: --tls-cert/--tls-key, else generated into the data dir
 *  (naming the public URL's host too). */
export function serverIdentity(
  s: Pick<Settings, 'dataDir' | 'tlsCertFile' | 'tlsKeyFile' | 'publicUrl'>,
): Promise<TlsIdentity> {
  return loadTlsIdentity({
    dataDir: s.dataDir,
    ...(s.tlsCertFile && s.tlsKeyFile ? { certFile: s.tlsCertFile, keyFile: s.tlsKeyFile } : {}),
    ...(s.publicUrl ? { hostnames: [new URL(s.publicUrl).hostname] } : {}),
  });
}

export async function loadTlsIdentity(o: TlsOptions): Promise<TlsIdentity> {
  let certFile = o.certFile;
  let keyFile = o.keyFile;
  let generated = false;
  if (!certFile || !keyFile) {
    const dir = join(o.dataDir, 'tls');
    certFile = join(dir, 'server.crt');
    keyFile = join(dir, 'server.key');
    if (!(await exists(certFile)) || !(await exists(keyFile))) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await generate(certFile, keyFile, o.hostnames ?? []);
      generated = true;
    }
  }
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256, generated };
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

async function generate(certFile: string, keyFile: string, extra: string[]): Promise<void> {
  const names = new Set(['localhost', hostname(), ...extra]);
  const san = [...names].filter(Boolean).map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`));
  san.push('IP:127.0.0.1', 'IP:::1');
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '825',
      '-subj',
      '/CN=audited-exec recorder',
      '-addext',
      `subjectAltName=${[...new Set(san)].join(',')}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ]);
  } catch (err) {
    throw new AuditedExecError(
      'TLS_GENERATE_FAILED',
      `could not generate a self-signed certificate with openssl (${(err as Error).message.split('\n')[0]}); pass --tls-cert and --tls-key`,
      { cause: err },
    );
  }
}
