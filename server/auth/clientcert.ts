// Client certificates, as the apiserver reads them: CN is the user, each O is a group. The TLS
// server requests a certificate without rejecting the handshake (tokens must still work), and is
// given the cluster CA as `ca`, so `socket.authorized` means "chains to the cluster CA and is
// within its validity": only then do we read the subject.
import type { TLSSocket } from 'node:tls';
import type { UserInfo } from './user.ts';

export function userFromCertificate(socket: TLSSocket): UserInfo | null {
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  const username = Array.isArray(cn) ? cn[0] : cn;
  if (!username) return null;
  const o = cert.subject.O as string | string[] | undefined;
  const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { username, groups: [...orgs, 'system:authenticated'], method: 'certificate' };
}
