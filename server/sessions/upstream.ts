// Opens the exec stream on the apiserver with the recorder's credentials plus impersonation and
// Audit-ID: the channel protocol spoken with `ws` directly, because client-node's Exec cannot add
// headers. Offers v5 first, v4 as fallback, like kubectl.
import { createSecureContext, type SecureContext } from 'node:tls';
import WebSocket from 'ws';
import { SUBPROTOCOLS } from '../../common/channel.ts';
import { errorMessage } from '../../common/errors.ts';
import { failureStatus, type Status } from '../../common/status.ts';
import {
  type ConnectionOptions,
  type Impersonation,
  impersonationHeaders,
  type KubeClient,
} from '../kube/client.ts';

export interface ExecParams {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  tty: boolean;
  stdin: boolean;
  impersonate: Impersonation;
  auditId: string;
}

export type UpstreamResult = { ok: true; ws: WebSocket; protocol: string } | { ok: false; status: Status };

export function execPath(p: Omit<ExecParams, 'impersonate' | 'auditId'>): string {
  const q = new URLSearchParams();
  for (const c of p.command) q.append('command', c);
  q.set('container', p.container);
  q.set('stdin', String(p.stdin));
  q.set('stdout', 'true');
  // With a tty the kubelet merges stderr into the terminal; asking for both is an error.
  q.set('stderr', String(!p.tty));
  q.set('tty', String(p.tty));
  return `/api/v1/namespaces/${encodeURIComponent(p.namespace)}/pods/${encodeURIComponent(p.pod)}/exec?${q}`;
}

/** Resolves once the apiserver answered the upgrade: a socket, or its refusal as a Status. */
export async function openExec(kube: KubeClient, params: ExecParams): Promise<UpstreamResult> {
  return openChannelStream(kube, execPath(params), params.impersonate, params.auditId, 'exec');
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
  return new Promise((resolve) => {
    const ws = new WebSocket(url, [...SUBPROTOCOLS], {
      ...(opts as WebSocket.ClientOptions),
      ...(url.startsWith('wss:') ? { secureContext: sharedContext(opts) } : {}),
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      maxPayload: 16 * 1024 * 1024,
    });
    let settled = false;
    const settle = (r: UpstreamResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    ws.once('open', () => settle({ ok: true, ws, protocol: ws.protocol }));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const code = res.statusCode ?? 502;
        let status: Status;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<Status>;
          status = failureStatus(
            code,
            body.message ?? `the Kubernetes API refused the ${what} (HTTP ${code})`,
            {
              ...(body.reason ? { reason: body.reason } : {}),
            },
          );
        } catch {
          status = failureStatus(code, `the Kubernetes API refused the ${what} (HTTP ${code})`);
        }
        settle({ ok: false, status });
        ws.terminate();
      });
    });
    ws.once('error', (err) => {
      settle({
        ok: false,
        status: failureStatus(
          502,
          `cannot open the ${what} stream on the Kubernetes API: ${errorMessage(err)}`,
        ),
      });
    });
  });
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
