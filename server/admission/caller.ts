// Who may call /admission/validate: the apiserver, identified by the client certificate it presents
// when its AdmissionConfiguration gives it one for this webhook (deploy/README.md "Webhook variant").
// The TLS listener asks every client for a certificate and verifies it against its CA list (the
// client CA plus this one); here the verified chain must also pass through the admission CA, so a
// user's certificate from the cluster CA does not open the door when a dedicated CA is configured.
import type { TLSSocket } from 'node:tls';
import { chainFingerprints, pemFingerprints } from '../auth/clientcert.ts';

export interface AdmissionCallerOptions {
  /** PEM bundle of the CA(s) that issue the apiserver's webhook client certificate. */
  caPem: string;
  /** Accepted certificate common names; empty: any name that CA issued. */
  names: readonly string[];
}

/** Returns a check: null when the socket's peer is the apiserver, else why not (one sentence). */
export function createAdmissionCallerCheck(o: AdmissionCallerOptions): (socket: TLSSocket) => string | null {
  const anchors = pemFingerprints(o.caPem);
  if (anchors.size === 0) throw new Error('the admission client CA bundle holds no certificate');
  return (socket) => {
    if (typeof socket.getPeerCertificate !== 'function') return 'the connection is not TLS';
    const leaf = socket.getPeerCertificate(true);
    if (!leaf?.raw) return 'no client certificate was presented';
    if (!socket.authorized)
      return `the client certificate is not trusted (${String(socket.authorizationError)})`;
    if (!chainFingerprints(leaf).some((f) => anchors.has(f))) {
      return 'the client certificate was not issued by the admission client CA';
    }
    const cn = leaf.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (o.names.length > 0 && !(name && o.names.includes(name))) {
      return `the client certificate's name ${JSON.stringify(name ?? '')} is not an accepted admission caller`;
    }
    return null;
  };
}
