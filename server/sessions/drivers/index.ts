// The session kinds this recorder serves, each behind the driver contract (../driver.ts).
import type { SessionDriver, SessionDrivers } from '../driver.ts';
import type { SessionServices } from '../services.ts';
import { ExecDriver } from './exec/driver.ts';
import { NodeDebugDriver } from './node-debug/driver.ts';

export function sessionDrivers(services: SessionServices): SessionDrivers {
  const { kube, store, log } = services;
  return new Map<SessionDriver['kind'], SessionDriver>([
    ['exec', new ExecDriver({ kube })],
    [
      'node-debug',
      new NodeDebugDriver({
        kube,
        store,
        ...(services.nodeDebug ? { settings: services.nodeDebug } : {}),
        ...(log ? { log } : {}),
      }),
    ],
  ]);
}
