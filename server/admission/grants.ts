// What an open session lets a request carrying its marker (impersonation extra
// audited-exec.io/session) do at admission, in one place for both enforcement paths: the webhook
// checks a request against the grant of the session it names (store lookup), and the
// ValidatingAdmissionPolicy compares it with the same grant flattened into its params ConfigMap
// (grantParams). Pure: no I/O, no clock.
import { SESSION_LABEL } from '../../common/session-marker.ts';
import type { SessionRecord } from '../../common/wire.ts';

export interface SessionGrant {
  id: string;
  /** The only user the marker is valid for. */
  user: string;
  /** The one exec or attach the recorder opens for this session, once its target is known. */
  connect?: { subResource: 'exec' | 'attach'; namespace: string; pod: string; container: string };
  /** node-debug, before its pod exists: the recorder may create one debug pod on this node. */
  debugPodOn?: string;
}

/** The grant of an open (pending or running) session; null once it ended or was refused. */
export function grantOf(s: SessionRecord): SessionGrant | null {
  if (s.state !== 'pending' && s.state !== 'running') return null;
  const grant: SessionGrant = { id: s.id, user: s.user };
  const target =
    s.namespace && s.pod && s.container
      ? { namespace: s.namespace, pod: s.pod, container: s.container }
      : null;
  // The kinds differ only in which guarded request the recorder makes for them; this switch is that
  // difference, read by both the webhook and the policy's params.
  switch (s.kind) {
    case 'exec':
      if (target) grant.connect = { subResource: 'exec', ...target };
      break;
    case 'node-debug':
      if (target) grant.connect = { subResource: 'attach', ...target };
      else if (s.node) grant.debugPodOn = s.node;
      break;
  }
  return grant;
}

/**
 * The ConfigMap data the policy reads through paramRef: `<id>.user`, `<id>.exec` or `<id>.attach`
 * (`namespace/pod/container`; namespace and pod names cannot contain '/'), `<id>.node`. Keys are
 * valid ConfigMap keys because session ids are UUIDs.
 */
export function grantParams(grants: Iterable<SessionGrant>): Record<string, string> {
  const data: Record<string, string> = {};
  for (const g of grants) {
    data[`${g.id}.user`] = g.user;
    if (g.connect) {
      data[`${g.id}.${g.connect.subResource}`] =
        `${g.connect.namespace}/${g.connect.pod}/${g.connect.container}`;
    }
    if (g.debugPodOn) data[`${g.id}.node`] = g.debugPodOn;
  }
  return data;
}

/** The guarded request a marker is presented on, reduced to what a grant is compared with. */
export type MarkedRequest =
  | { action: 'exec' | 'attach'; namespace: string; pod: string; container: string }
  | { action: 'ephemeralcontainers' }
  | { action: 'debug-pod'; node: string; sessionLabel: string | undefined };

/** Why the grant does not cover the request (a sentence for the audit annotation), or null when it does. */
export function grantRefusal(grant: SessionGrant | null, user: string, req: MarkedRequest): string | null {
  if (!grant) return 'no session by that id is open';
  if (grant.user !== user) return 'the session belongs to another user';
  switch (req.action) {
    case 'exec':
    case 'attach': {
      const c = grant.connect;
      if (!c || c.subResource !== req.action) return `the session opens no pods/${req.action}`;
      if (c.namespace !== req.namespace || c.pod !== req.pod || c.container !== req.container) {
        return `the session's target is ${c.namespace}/${c.pod}/${c.container}`;
      }
      return null;
    }
    case 'ephemeralcontainers':
      return 'the recorder never adds ephemeral containers';
    case 'debug-pod':
      if (!grant.debugPodOn) return 'the session creates no debug pod now';
      if (req.node !== grant.debugPodOn) return `the session's node is ${grant.debugPodOn}`;
      if (req.sessionLabel !== grant.id) return `the pod is not labelled ${SESSION_LABEL}=${grant.id}`;
      return null;
  }
}
