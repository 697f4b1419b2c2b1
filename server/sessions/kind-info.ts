// The facts about a session kind that code outside its driver needs (kinds.ts has one per kind).
import type { SessionRecord } from '../../common/wire.ts';

export type TargetFields = Pick<SessionRecord, 'namespace' | 'pod' | 'container' | 'node'>;

export interface SessionKindInfo {
  /** one word for lists */
  label: string;
  /** where the session ran: ns/pod (container), node/NAME */
  target(s: TargetFields): string;
  /** the namespace whose RBAC decides who may see it; undefined: cluster-wide */
  viewNamespace(s: Pick<SessionRecord, 'namespace'>): string | undefined;
  /** the policy section (server/policy.ts) that governs it */
  policySection: 'exec' | 'nodeDebug';
  /** how a policy refusal names what it applies to */
  policyScope(request: { namespace?: string; pod?: string }): string;
}
