// The replica registry contract (ReplicaRegistry in server/store/store.ts), for every engine.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReplicaRegistry } from '../../../../server/store/store.ts';
import { at, type OpenedStore, type StoreFactory } from './factory.ts';

export function describeReplicaContract(engine: string, factory: StoreFactory): void {
  describe(`${engine}: replicas`, () => {
    let opened: OpenedStore;
    let replicas: ReplicaRegistry;
    beforeEach(async () => {
      opened = await factory.open();
      replicas = opened.store.replicas;
    });
    afterEach(() => opened.dispose());

    it('knows no replica before one heartbeats', async () => {
      expect(await replicas.list()).toEqual([]);
    });

    it('keeps each replica’s latest heartbeat and address', async () => {
      await replicas.heartbeat('r-1', 'https://10.0.0.1:8443', at(1));
      await replicas.heartbeat('r-2', 'https://10.0.0.2:8443', at(1));
      await replicas.heartbeat('r-1', 'https://10.0.0.9:8443', at(2));
      expect(await replicas.list()).toEqual([
        { id: 'r-1', url: 'https://10.0.0.9:8443', heartbeatAt: at(2) },
        { id: 'r-2', url: 'https://10.0.0.2:8443', heartbeatAt: at(1) },
      ]);
    });

    it('forgets a replica that stopped, and only that one', async () => {
      await replicas.heartbeat('r-1', 'https://a', at(1));
      await replicas.heartbeat('r-2', 'https://b', at(1));
      await replicas.remove('r-1');
      await replicas.remove('r-1');
      expect((await replicas.list()).map((r) => r.id)).toEqual(['r-2']);
    });
  });
}
