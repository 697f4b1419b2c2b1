// Every contract of the storage interfaces, for one engine (see factory.ts).
import { afterEach, describe } from 'vitest';
import type { RecorderStore } from '../../../../server/store/store.ts';
import { describeEventContract } from './events.ts';
import type { OpenedStore, StoreFactory } from './factory.ts';
import { describeJobContract } from './jobs.ts';
import { describeReplicaContract } from './replicas.ts';
import { describeSessionContract } from './sessions.ts';
import { describeSignInFailureContract } from './sign-ins.ts';
import { describeSignatureContract } from './signatures.ts';
import { describeWebSessionContract } from './web-sessions.ts';

export type { OpenedStore, StoreFactory } from './factory.ts';

export function describeStoreContract(engine: string, factory: StoreFactory): void {
  describeSessionContract(engine, factory);
  describeEventContract(engine, factory);
  describeSignatureContract(engine, factory);
  describeReplicaContract(engine, factory);
  describeJobContract(engine, factory);
  describe(`${engine}: the store’s parts`, () => {
    const part = partOpener(factory);
    describeWebSessionContract(
      engine,
      part((s) => s.webSessions),
    );
    describeSignInFailureContract(
      engine,
      part((s) => s.signInFailures),
    );
  });
}

/** Opens a fresh store per call and hands out one of its parts; the stores close after each test. */
function partOpener(factory: StoreFactory) {
  const opened: OpenedStore[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.dispose();
  });
  return <T>(pick: (store: RecorderStore) => T) =>
    async (): Promise<T> => {
      const o = await factory.open();
      opened.push(o);
      return pick(o.store);
    };
}
