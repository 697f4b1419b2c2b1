// exec: a command in a container the user may reach. At create the pod is read as the user
// (target.ts), so a pod they may not see is refused before anything runs. At open the exec runs as
// the user with the session marker in its environment (`env AUDITED_EXEC_SESSION=… cmd`), reopened
// without it for an image that has no `env`. The user's upgrade completes only after the apiserver
// accepted the exec, so its refusal reaches them as the same HTTP answer kubectl would show.
// Nothing to clean up: the exec ends with its stream.
import { markedCommand } from '../../../../common/session-marker.ts';
import { codedStatus } from '../../../http/respond.ts';
import type { KubeClient } from '../../../kube/client.ts';
import {
  type CreateContext,
  type OpenContext,
  type Opened,
  type SessionDriver,
  SessionRefusal,
  type SessionTarget,
} from '../../driver.ts';
import { impersonation, sessionImpersonation } from '../../identity.ts';
import { apiserverStreams, type StreamOpener } from '../../upstream.ts';
import { fetchTarget } from './target.ts';

export interface ExecStream {
  namespace: string;
  pod: string;
  container: string;
  command: readonly string[];
  tty: boolean;
  stdin: boolean;
}

export function execPath(p: ExecStream): string {
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

export interface ExecDriverOptions {
  kube: KubeClient;
  /** Default: streams on the apiserver of `kube`. */
  streams?: StreamOpener;
}

export class ExecDriver implements SessionDriver {
  readonly kind = 'exec' as const;
  readonly #kube: KubeClient;
  readonly #streams: StreamOpener;

  constructor(o: ExecDriverOptions) {
    this.#kube = o.kube;
    this.#streams = o.streams ?? apiserverStreams(o.kube);
  }

  create({ request, user, id }: CreateContext): Promise<SessionTarget> {
    return fetchTarget({
      kube: this.#kube,
      namespace: request.namespace!,
      pod: request.pod!,
      ...(request.container ? { container: request.container } : {}),
      impersonate: impersonation(user, id),
      auditId: id,
    });
  }

  async open(c: OpenContext): Promise<Opened> {
    const s = c.session;
    // Opened before the exec: a recorder that cannot record refuses before anything runs.
    await c.recording(`${s.user} ${s.namespace}/${s.pod}: ${s.command.join(' ')}`);
    const target = {
      namespace: s.namespace!,
      pod: s.pod!,
      container: s.container!,
      tty: s.tty,
      stdin: s.stdin,
    };
    const impersonate = sessionImpersonation(s);
    const stream = (command: readonly string[]) =>
      this.#streams({ path: execPath({ ...target, command }), impersonate, auditId: s.id, what: 'exec' });
    const first = await stream(markedCommand(s.id, s.command));
    if (!first.ok) {
      const { code, message, reason } = first.status;
      throw new SessionRefusal(
        'refused',
        codedStatus(
          code ?? 502,
          'SESSION_APISERVER_REFUSED',
          message ?? 'the Kubernetes API refused the exec',
          reason,
        ),
      );
    }
    return { stream: first.ws, reopenWithoutMarker: () => stream(s.command) };
  }

  async cleanup(): Promise<void> {}
}
