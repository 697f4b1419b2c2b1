// Client certificates, as the apiserver reads them: CN is the user, each O is a group. The TLS
// server requests a certificate without rejecting the handshake (tokens must still work), and is
// given the cluster CA as `ca`, so `socket.authorized` means "chains to the cluster CA and is
// within its validity": only then do we read the subject. When the listener also trusts another
// CA (the apiserver's webhook client CA, admission/caller.ts), `anchors` names the CAs whose
// certificates are users, so a certificate from that other CA is nobody here.
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { UserInfo } from './user.ts';

export function userFromCertificate(socket: TLSSocket, anchors?: ReadonlySet<string>): UserInfo | null {
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return null;
  const cert = socket.getPeerCertificate(true);
  if (anchors && !chainFingerprints(cert).some((f) => anchors.has(f))) return null;
  const cn = cert?.subject?.CN;
  const username = Array.isArray(cn) ? cn[0] : cn;
  if (!username) return null;
  const o = cert.subject.O as string | string[] | undefined;
  const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { username, groups: [...orgs, 'system:authenticated'], method: 'certificate' };
}

/** SHA-256 fingerprints of a PEM bundle's certificates, to compare with chainFingerprints. */
export function pemFingerprints(bundle: string): Set<string> {
  const pems = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return new Set(pems.map((pem) => new X509Certificate(pem).fingerprint256));
}

/** Fingerprints of the verified chain, leaf to root (Node repeats the root as its own issuer). */
export function chainFingerprints(leaf: DetailedPeerCertificate | undefined): string[] {
  const out: string[] = [];
  let cur = leaf;
  while (cur?.raw && !out.includes(cur.fingerprint256)) {
    out.push(cur.fingerprint256);
    cur = cur.issuerCertificate;
  }
  return out;
}
