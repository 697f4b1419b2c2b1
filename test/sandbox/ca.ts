// The sandbox's PKI: one CA that signs the apiserver's serving certificate and client certificates
// (CN = user, O = groups), exactly how a kubeadm cluster authenticates x509 users. node:crypto cannot
// issue certificates, so the openssl CLI does it; EC P-256 keys keep generation fast.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuditedExecError } from '../../common/errors.ts';

const run = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

export interface Pki {
  caPem: string;
  caKeyPem: string;
  server: KeyPair;
  /** Issues a client certificate signed by the CA. */
  issueClient(user: string, groups: string[]): Promise<KeyPair>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    throw new AuditedExecError('SANDBOX_OPENSSL', `openssl ${args[0]} failed: ${String(err)}`, {
      cause: err,
    });
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Distinguished-name component escaping for openssl's -subj syntax. */
function subjPart(s: string): string {
  return s.replace(/[\\/,=+]/g, (c) => `\\${c}`);
}

export async function createPki(dir: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  await openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '30',
      '-subj',
      '/CN=audited-exec-sandbox-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
  let serial = 1;
  const sign = async (name: string, subj: string, ext: string): Promise<KeyPair> => {
    await openssl(['req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    await writeFile(join(dir, `${name}.ext`), ext);
    serial += 1;
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(Date.now() * 100 + serial),
        '-days',
        '30',
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
    return {
      cert: await readFile(join(dir, `${name}.crt`), 'utf8'),
      key: await readFile(join(dir, `${name}.key`), 'utf8'),
    };
  };
  const server = await sign(
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,IP:0:0:0:0:0:0:0:1,DNS:localhost,DNS:kubernetes.default.svc\n' +
      'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
  );
  return {
    caPem: await readFile(join(dir, 'ca.crt'), 'utf8'),
    caKeyPem: await readFile(join(dir, 'ca.key'), 'utf8'),
    server,
    issueClient: (user, groups) =>
      sign(
        `client-${user.replace(/[^a-zA-Z0-9_-]/g, '_')}`,
        `/${groups.map((g) => `O=${subjPart(g)}/`).join('')}CN=${subjPart(user)}`,
        'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
      ),
  };
}
