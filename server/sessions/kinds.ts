// The session kinds as the UI, access checks and policy see them: pure facts per kind, defined
// beside each kind's driver (drivers/<kind>/kind.ts), so nothing outside the drivers branches on a
// kind's name. Adding a kind adds its driver and its entry here.
import type { SessionKind } from '../../common/wire.ts';
import { EXEC_KIND } from './drivers/exec/kind.ts';
import { NODE_DEBUG_KIND } from './drivers/node-debug/kind.ts';
import type { SessionKindInfo } from './kind-info.ts';

export type { SessionKindInfo } from './kind-info.ts';

const KINDS: Record<SessionKind, SessionKindInfo> = { exec: EXEC_KIND, 'node-debug': NODE_DEBUG_KIND };

export function kindInfo(kind: SessionKind): SessionKindInfo {
  return KINDS[kind];
}
