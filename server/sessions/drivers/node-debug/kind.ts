// What the rest of the recorder needs to know of a node debug session without running one: it
// targets a node, is seen cluster-wide, and is governed by the policy's node-debug section.
import type { SessionKindInfo } from '../../kind-info.ts';

export const NODE_DEBUG_KIND: SessionKindInfo = {
  label: 'node',
  target: (s) => `node/${s.node ?? '?'}`,
  viewNamespace: () => undefined,
  policySection: 'nodeDebug',
  policyScope: () => 'node debug sessions',
};
