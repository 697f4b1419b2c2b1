// Every contract of the storage interfaces, for one engine (see factory.ts).
import { describeEventContract } from './events.ts';
import type { StoreFactory } from './factory.ts';
import { describeSessionContract } from './sessions.ts';
import { describeSignatureContract } from './signatures.ts';

export type { OpenedStore, StoreFactory } from './factory.ts';

export function describeStoreContract(engine: string, factory: StoreFactory): void {
  describeSessionContract(engine, factory);
  describeEventContract(engine, factory);
  describeSignatureContract(engine, factory);
}
