// A request about a session that another replica is recording right now (its live view, its
// growing recording, its page) is answered by that replica: this one passes the request through
// unchanged and streams the answer back. The owner authenticates the caller itself (bearer token
// or browser cookie: both are valid on every replica). Replicas share one serving certificate,
// and a replica is trusted only when it presents that certificate.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { isSessionId } from '../../common/session-marker.ts';
import { codedStatus, sendStatus } from '../http/respond.ts';
import type { Forwarder } from '../http/router.ts';
import type { Store } from '../store/store.ts';
import type { ReplicaPresence } from './presence.ts';

/** Set on a forwarded request: the receiver answers it itself, never forwards it again. */
export const FORWARDED_HEADER = 'x-audited-exec-forwarded-by';

/**
 * The requests about one session that its recording replica answers: its live view and pages, its
 * growing recording, and ending it (API and the UI's Terminate form; only that replica holds the stream).
 */
export const FORWARDED_ROUTES = [
  ['GET', '/ui/sessions/:id/*'],
  ['GET', '/api/v1/sessions/:id/recording'],
  ['POST', '/api/v1/sessions/:id/terminate'],
  ['POST', '/ui/sessions/:id/terminate'],
] as const;

export interface ForwardDeps {
  store: Pick<Store, 'getSession'>;
  presence: ReplicaPresence;
  /** SHA-256 fingerprint of the serving certificate every replica presents (tls.ts) */
  fingerprint: string;
  log?: (line: string) => void;
}

/** Forwards requests about a session open on another live replica; lets the routes answer the rest. */
export function sessionForwarder(d: ForwardDeps): Forwarder {
  return async ({ req, res, params }) => {
    if (req.headers[FORWARDED_HEADER] !== undefined) return false;
    const id = params.id ?? '';
    if (!isSessionId(id)) return false;
    const session = await d.store.getSession(id);
    if (!session || (session.state !== 'running' && session.state !== 'pending')) return false;
    if (!session.replica || session.replica === d.presence.self.id) return false;
    const owner = await d.presence.alive(session.replica);
    if (!owner) return false;
    await passThrough(req, res, owner.url, { ...d, via: d.presence.self.id });
    return true;
  };
}

async function passThrough(
  req: IncomingMessage,
  res: ServerResponse,
  base: string,
  o: { fingerprint: string; via: string; log?: (line: string) => void },
): Promise<void> {
  const target = new URL(req.url ?? '/', base);
  // The Host the caller used stays: the owner's Origin check of a UI form compares against it.
  const headers = { ...req.headers, host: req.headers.host ?? target.host, [FORWARDED_HEADER]: o.via };
  await new Promise<void>((resolve) => {
    const upstream = request(target, {
      method: req.method,
      headers,
      // The peer is checked by its certificate's fingerprint below, not by name or CA.
      rejectUnauthorized: false,
    });
    upstream.on('socket', (socket) => {
      (socket as TLSSocket).once('secureConnect', () => {
        const peer = (socket as TLSSocket).getPeerCertificate();
        if (peer?.fingerprint256 !== o.fingerprint) {
          upstream.destroy(new Error(`replica at ${base} does not present the shared certificate`));
        }
      });
    });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', resolve);
      answer.on('error', () => resolve());
    });
    upstream.on('error', (err) => {
      o.log?.(`forward to ${base}: ${err.message}`);
      sendStatus(
        res,
        codedStatus(
          502,
          'REPLICA_UNREACHABLE',
          'the replica recording this session did not answer; try again',
        ),
      );
      resolve();
    });
    // The viewer went away (a live view closed): stop asking the owner.
    res.on('close', () => {
      upstream.destroy();
      resolve();
    });
    req.pipe(upstream);
  });
}
