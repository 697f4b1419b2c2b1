// --oidc-* settings → the relying party the UI signs browsers in with: the secret and CA files read
// once at start (a missing file is a configuration error, said at start, not at the first sign-in).
import { readFile } from 'node:fs/promises';
import { AuditedExecError, errorMessage } from '../../../common/errors.ts';
import type { OidcSettings } from '../../config.ts';
import { claimMapping } from './claims.ts';
import { OidcClient } from './client.ts';
import { PendingSignIns } from './pending.ts';

/** What the sign-in routes need: the client, and the sign-ins between redirect and callback. */
export interface OidcSignIn {
  client: OidcClient;
  pending: PendingSignIns;
}

export const CALLBACK_PATH = '/ui/oidc/callback';

export async function openOidc(o: { settings: OidcSettings; publicUrl: string }): Promise<OidcSignIn> {
  const s = o.settings;
  const secret = s.clientSecretFile
    ? (await read(s.clientSecretFile, '--oidc-client-secret-file')).trim()
    : s.clientSecret;
  const caPem = s.caFile ? await read(s.caFile, '--oidc-ca-file') : undefined;
  const base = o.publicUrl.replace(/\/+$/, '');
  const client = new OidcClient({
    issuerUrl: s.issuerUrl,
    clientId: s.clientId,
    ...(secret ? { clientSecret: secret } : {}),
    ...(caPem ? { caPem } : {}),
    redirectUri: `${base}${CALLBACK_PATH}`,
    postLogoutRedirectUri: `${base}/ui/login`,
    scopes: s.scopes,
    mapping: claimMapping(s),
  });
  return { client, pending: new PendingSignIns(secret ? { secret } : {}) };
}

async function read(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new AuditedExecError('CONFIG_INVALID', `${flag} ${file} cannot be read: ${errorMessage(err)}`);
  }
}
