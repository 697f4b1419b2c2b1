// What the rest of the recorder needs to know of an exec session without running one: how to
// name its target, which namespace scopes who may see it, which policy section governs it.
import type { SessionKindInfo } from '../../kind-info.ts';

export const EXEC_KIND: SessionKindInfo = {
  label: 'exec',
  target: (s) => `${s.namespace ?? '?'}/${s.pod ?? '?'}${s.container ? ` (${s.container})` : ''}`,
  viewNamespace: (s) => s.namespace || undefined,
  policySection: 'exec',
  policyScope: (r) => `sessions in ${r.namespace}/${r.pod}`,
};
