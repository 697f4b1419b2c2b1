// Opens exec and attach streams on the apiserver with the recorder's credentials plus impersonation and
// Audit-ID: the WebSocket opened by ws-handshake.ts (client-node's Exec cannot add headers, and the
// relay forwards the raw frames). Offers v5 first, v4 as fallback, like kubectl.
import { createSecureContext, type SecureContext } from 'node:tls';
import { SUBPROTOCOLS } from '../../common/channel.ts';
import { errorMessage } from '../../common/errors.ts';
import { failureStatus, type Status } from '../../common/status.ts';
import { HttpError } from '../http/respond.ts';
import {
  type ConnectionOptions,
  type Impersonation,
  impersonationHeaders,
  type KubeClient,
} from '../kube/client.ts';
import type { ChannelSocket } from './socket.ts';
import { connectWebSocket } from './ws-handshake.ts';

export type UpstreamResult =
  | { ok: true; ws: ChannelSocket; protocol: string }
  | { ok: false; status: Status };

/** A stream to open on the apiserver, as `impersonate`, stamped with `auditId`. */
export interface StreamRequest {
  path: string;
  impersonate: Impersonation;
  auditId: string;
  what: 'exec' | 'attach';
}

/**
 * Opens channel streams (exec, attach) on the apiserver: the drivers' one seam to it besides
 * KubeClient requests, so a test can hand them an in-memory upstream.
 */
export type StreamOpener = (r: StreamRequest) => Promise<UpstreamResult>;

export function apiserverStreams(kube: KubeClient): StreamOpener {
  return (r) => openChannelStream(kube, r.path, r.impersonate, r.auditId, r.what);
}

/** Any streaming subresource (exec, attach) over the channel protocol; node-debug attaches with it. */
export async function openChannelStream(
  kube: KubeClient,
  path: string,
  impersonate: Impersonation,
  auditId: string,
  what: 'exec' | 'attach',
): Promise<UpstreamResult> {
  const opts = await kube.connectionOptions(impersonationHeaders(impersonate, auditId));
  const url = kube.wsUrl(path);
  try {
    const r = await connectWebSocket({
      url,
      protocols: SUBPROTOCOLS,
      request: { ...opts, ...(url.startsWith('wss:') ? { secureContext: sharedContext(opts) } : {}) },
      handshakeTimeoutMs: 15_000,
      maxPayload: 16 * 1024 * 1024,
    });
    if (r.ok) return { ok: true, ws: r.socket, protocol: r.socket.protocol };
    return { ok: false, status: refusalStatus(r.refusal.status, r.refusal.body, what) };
  } catch (err) {
    return {
      ok: false,
      status: failureStatus(
        502,
        `cannot open the ${what} stream on the Kubernetes API: ${errorMessage(err)}`,
      ),
    };
  }
}

/** The apiserver's answer instead of 101 → a Status with its code and (when it sent one) its message. */
function refusalStatus(code: number, body: Buffer, what: string): Status {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Partial<Status>;
    return failureStatus(code, parsed.message ?? `the Kubernetes API refused the ${what} (HTTP ${code})`, {
      ...(parsed.reason ? { reason: parsed.reason } : {}),
    });
  } catch {
    return failureStatus(code, `the Kubernetes API refused the ${what} (HTTP ${code})`);
  }
}

/** TLS material of the last context built: it changes only when the kubeconfig's certificates do. */
let context: { key: string; value: SecureContext } | null = null;

/**
 * One TLS context for every stream with the same credentials. Without it each exec builds its own
 * (CA store parsed, key loaded): CPU per session and native memory per open session that adds up
 * at a thousand sessions.
 */
function sharedContext(opts: ConnectionOptions): SecureContext {
  const material = {
    ca: opts.ca,
    cert: opts.cert,
    key: opts.key,
    pfx: opts.pfx,
    passphrase: opts.passphrase,
  };
  const key = Object.values(material)
    .map((v) => (v === undefined ? '' : String(v)))
    .join('\0');
  if (context?.key !== key) {
    const defined = Object.entries(material).filter(([, v]) => v !== undefined);
    context = { key, value: createSecureContext(Object.fromEntries(defined)) };
  }
  return context.value;
}

/** A channel-3 status saying the command's binary is missing, naming `env`: the image has no env. */
export function isEnvMissing(statusPayload: Buffer): boolean {
  const text = statusPayload.toString('utf8');
  return (
    /executable file not found/.test(text) &&
    /exec: \\?"env\\?"|"env": executable|\benv\b.*not found/.test(text)
  );
}

/** An apiserver error answer → the same code and message for our caller. */
export function apiserverRefusal(status: number, body: Partial<Status> | undefined, what: string): HttpError {
  const message = body?.message ?? `the Kubernetes API answered HTTP ${status} for ${what}`;
  const code = status >= 400 && status < 600 ? status : 502;
  return new HttpError(
    code,
    'SESSION_APISERVER_REFUSED',
    message,
    body?.reason ? { reason: body.reason } : {},
  );
}
