// The signature store contract (SignatureStore in server/evidence/store.ts), for every engine.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIGNATURE_FORMAT, type SignatureDocument } from '../../../../common/evidence/format.ts';
import type { SignatureStore } from '../../../../server/evidence/store.ts';
import { at, type OpenedStore, type StoreFactory, sessionId } from './factory.ts';

function doc(version: number): SignatureDocument {
  return {
    format: SIGNATURE_FORMAT,
    algorithm: 'Ed25519',
    keyFingerprint: 'SHA256:test',
    payload: { version, signedAt: at(version) } as SignatureDocument['payload'],
    signature: `sig-${version}`,
  };
}

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text.slice(0, 3));
  yield new TextEncoder().encode(text.slice(3));
}

async function* failing(): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode('half');
  throw new Error('the bundle could not be built');
}

export function describeSignatureContract(engine: string, factory: StoreFactory): void {
  describe(`${engine}: signatures`, () => {
    let opened: OpenedStore;
    let signatures: SignatureStore;
    const id = sessionId(1);
    beforeEach(async () => {
      opened = await factory.open();
      signatures = opened.store.signatures;
    });
    afterEach(() => opened.dispose());

    it('has no chain and no bundle for a session never signed', async () => {
      expect(await signatures.listSignatures(id)).toEqual([]);
      expect(await signatures.readBundle(id)).toBeNull();
    });

    it('keeps the chain in order and serves the latest bundle', async () => {
      await signatures.appendSignature(id, doc(1), bytes('bundle one'));
      await signatures.appendSignature(id, doc(2), bytes('bundle two'));
      expect(await signatures.listSignatures(id)).toEqual([doc(1), doc(2)]);
      expect(await (await signatures.readBundle(id))!.text()).toBe('bundle two');
    });

    it('refuses a second link of the same version, so two signers never fork the chain', async () => {
      await signatures.appendSignature(id, doc(1), bytes('first'));
      const refusal = await signatures.appendSignature(id, doc(1), bytes('second')).catch((e: unknown) => e);
      expect(refusal).toMatchObject({ code: 'EVIDENCE_CHAIN_CONFLICT' });
      expect(await signatures.listSignatures(id)).toEqual([doc(1)]);
    });

    it('stores nothing when the bundle fails midway', async () => {
      await expect(signatures.appendSignature(id, doc(1), failing())).rejects.toThrow();
      expect(await signatures.listSignatures(id)).toEqual([]);
      expect(await signatures.readBundle(id)).toBeNull();
    });

    it('deletes a session’s evidence', async () => {
      await signatures.appendSignature(id, doc(1), bytes('bundle'));
      await signatures.deleteEvidence(id);
      expect(await signatures.listSignatures(id)).toEqual([]);
      expect(await signatures.readBundle(id)).toBeNull();
    });
  });
}
