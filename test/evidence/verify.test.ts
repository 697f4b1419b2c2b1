// Builds a real bundle from the fixture session, then tampers with it every way an attacker or a
// broken copy could, and checks verify names the file and field each time.
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../common/evidence/canonical-json.ts';
import { documentDigest, FILES, type SignatureDocument, sha256Hex } from '../../common/evidence/format.ts';
import { type FileMap, readTarGz } from '../../common/evidence/tar.ts';
import { summarize, verifyBundle } from '../../common/evidence/verify.ts';
import { signDocument } from '../../server/evidence/bundle.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import type { SigningKey } from '../../server/evidence/signing-key.ts';
import {
  bundleBytes,
  fakePlayer,
  memoryKey,
  otherRecording,
  SESSION_ID,
  seededStore,
  shimEvents,
} from './fixture.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
let key: SigningKey;
let files: FileMap;

beforeAll(async () => {
  key = memoryKey();
  const evidence = createEvidence({ store: seededStore(), key, player: fakePlayer });
  files = readTarGz(await bundleBytes(evidence.bundle(SESSION_ID)));
});

function copy(): FileMap {
  return new Map([...files].map(([k, v]) => [k, v.slice()]));
}

/** Rewrites manifest.json so it agrees with the (tampered) files: the attacker's best effort. */
function fixManifest(f: FileMap): void {
  const m = JSON.parse(dec.decode(f.get(FILES.manifest)));
  for (const name of Object.keys(m.files)) {
    const data = f.get(name)!;
    m.files[name] = { sha256: sha256Hex(data), size: data.length };
  }
  f.set(FILES.manifest, enc.encode(JSON.stringify(m, null, 2)));
}

function chainOf(f: FileMap): SignatureDocument[] {
  return JSON.parse(dec.decode(f.get(FILES.signature)));
}

describe('verifyBundle', () => {
  it('accepts the untouched bundle and says how far the trust goes', () => {
    expect([...files.keys()]).toEqual([
      'manifest.json',
      'signature.json',
      'session.json',
      'recording.cast',
      'events.jsonl',
      'report.html',
      'public-key.pem',
    ]);
    const self = verifyBundle(files);
    expect(self.problems).toEqual([]);
    expect(self).toMatchObject({ ok: true, trust: 'self', signer: key.fingerprint, chainLength: 1 });
    expect(self.commands).toBe(7);
    expect(self.alerts).toBe(1);
    expect(summarize(self).join('\n')).toMatch(/UNVERIFIED SIGNER: self-consistent only/);
    expect(verifyBundle(files, { fingerprint: key.fingerprint }).ok).toBe(true);
    expect(verifyBundle(files, { publicKeyPem: key.publicKeyPem })).toMatchObject({ ok: true, trust: 'key' });
  });

  const manifestCovered = ['session.json', 'recording.cast', 'events.jsonl', 'report.html', 'public-key.pem'];
  it.each(manifestCovered)('catches one changed byte in %s', (name) => {
    const f = copy();
    const data = f.get(name)!;
    const at = data.length >> 1;
    data[at] = data[at]! ^ 0x01;
    const { ok, problems } = verifyBundle(f);
    expect(ok).toBe(false);
    expect(problems).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^${name.replace('.', '\\.')}: sha256 mismatch \\(manifest says [0-9a-f]{64}, file is [0-9a-f]{64}\\)$`,
        ),
      ),
    );
  });

  it('catches one changed byte in manifest.json', () => {
    const f = copy();
    const text = dec.decode(f.get(FILES.manifest)).replace('"size": ', '"size": 1');
    f.set(FILES.manifest, enc.encode(text));
    const { problems } = verifyBundle(f);
    expect(problems).toContain('manifest.json: digest differs from the signed manifest digest');
    expect(problems.some((p) => /size mismatch \(manifest says 1\d+/.test(p))).toBe(true);
  });

  it('catches one changed byte in signature.json', () => {
    const f = copy();
    const text = dec.decode(f.get(FILES.signature));
    const at = text.indexOf('"signature": "') + 20;
    const flipped = text[at] === 'A' ? 'B' : 'A';
    f.set(FILES.signature, enc.encode(text.slice(0, at) + flipped + text.slice(at + 1)));
    expect(verifyBundle(f).problems).toEqual([
      `signature.json: version 1: signature does not verify with key ${key.fingerprint}`,
    ]);
  });

  it('catches two events swapped, even with a manifest that agrees', () => {
    const f = copy();
    const lines = dec.decode(f.get(FILES.events)).split('\n');
    [lines[6], lines[7]] = [lines[7]!, lines[6]!];
    f.set(FILES.events, enc.encode(lines.join('\n')));
    fixManifest(f);
    const { problems } = verifyBundle(f);
    expect(problems).toContain('events.jsonl: events out of order at line 7');
    expect(problems).toContainEqual(
      expect.stringMatching(/^events\.jsonl: digest differs from the signed events digest/),
    );
  });

  it.each([...manifestCovered])('catches a dropped %s', (name) => {
    const f = copy();
    f.delete(name);
    expect(verifyBundle(f).problems).toContain(`manifest.json: missing file ${name}`);
  });

  it.each([FILES.manifest, FILES.signature])('catches a dropped %s', (name) => {
    const f = copy();
    f.delete(name);
    const { ok, problems } = verifyBundle(f);
    expect(ok).toBe(false);
    expect(problems[0]).toBe(`bundle: missing ${name}`);
  });

  it('catches an extra file nobody signed', () => {
    const f = copy();
    f.set('README.txt', enc.encode('trust me'));
    expect(verifyBundle(f).problems).toEqual([
      'bundle: unexpected file README.txt (not covered by the manifest)',
    ]);
  });

  it("catches another session's recording swapped in with a consistent manifest", () => {
    const f = copy();
    f.set(FILES.recording, otherRecording);
    fixManifest(f);
    const { problems } = verifyBundle(f);
    expect(problems).toContain(
      `recording.cast: digest differs from the signed recording digest (signed ${sha256Hex(files.get(FILES.recording)!)}, file is ${sha256Hex(otherRecording)})`,
    );
    expect(problems.some((p) => p.includes('sha256 mismatch'))).toBe(false);
  });

  it('catches session.json claiming another session id', () => {
    const f = copy();
    const s = JSON.parse(dec.decode(f.get(FILES.session)));
    s.id = '00000000-0000-4000-8000-000000000000';
    s.user = 'mallory';
    f.set(FILES.session, enc.encode(JSON.stringify(s)));
    fixManifest(f);
    const { problems } = verifyBundle(f);
    expect(problems).toContain('session.json: id does not match the signed session id');
    expect(problems).toContain('session.json: user does not match the signed session metadata');
  });

  it('catches a bundle re-signed with a different key: only when told whose key to expect', async () => {
    const mallory = memoryKey();
    const forged = readTarGz(
      await bundleBytes(
        createEvidence({ store: seededStore(), key: mallory, player: fakePlayer }).bundle(SESSION_ID),
      ),
    );
    const self = verifyBundle(forged);
    expect(self).toMatchObject({ ok: true, trust: 'self', signer: mallory.fingerprint });
    const byFingerprint = verifyBundle(forged, { fingerprint: key.fingerprint });
    expect(byFingerprint.problems).toEqual([
      `signature: not signed by the expected key (fingerprint ${key.fingerprint}; bundle is signed by ${mallory.fingerprint})`,
    ]);
    const byKey = verifyBundle(forged, { publicKeyPem: key.publicKeyPem });
    expect(byKey.problems).toContain(
      `signature: not signed by the expected key (fingerprint ${key.fingerprint}; bundle is signed by ${mallory.fingerprint})`,
    );
    expect(byKey.problems).toContain(
      `signature.json: version 1: signature does not verify with key ${key.fingerprint}`,
    );
    // The original key file kept, only the signature replaced:
    const mixed = copy();
    mixed.set(FILES.signature, forged.get(FILES.signature)!);
    expect(verifyBundle(mixed).problems).toContain(
      `signature.json: version 1: names signer ${mallory.fingerprint}, but the verifying key is ${key.fingerprint}`,
    );
  });

  describe('signature chain', () => {
    let chained: FileMap;
    beforeAll(async () => {
      const store = seededStore();
      const evidence = createEvidence({ store, key, player: fakePlayer });
      await evidence.seal(SESSION_ID);
      // A late shim event (the shim was offline when the session ended) makes version 2.
      const late = structuredClone(shimEvents[0]!);
      late.auditSerial = 9001;
      late.auditTime = '1795472990.000';
      late.exec!.argv = ['sleep', '1'];
      store.events.set(SESSION_ID, [...shimEvents, late]);
      chained = readTarGz(await bundleBytes(evidence.bundle(SESSION_ID)));
    });

    it('verifies every link of a two-version chain', () => {
      const r = verifyBundle(chained, { publicKeyPem: key.publicKeyPem });
      expect(r.problems).toEqual([]);
      expect(r.chainLength).toBe(2);
      expect(r.commands).toBe(8);
      const [v1, v2] = chainOf(chained);
      expect(v2!.payload.previous).toBe(documentDigest(v1!));
    });

    it('catches a link whose previous names the wrong document, though validly signed', () => {
      const f = new Map(chained);
      const [v1, v2] = chainOf(f);
      const bad = signDocument(key, {
        ...v2!.payload,
        previous: sha256Hex(canonicalBytes({ forged: true })),
      });
      f.set(FILES.signature, enc.encode(JSON.stringify([v1, bad])));
      expect(verifyBundle(f).problems).toEqual([
        `signature.json: chain broken at version 2 (previous is ${bad.payload.previous}, version 1 digests to ${documentDigest(v1!)})`,
      ]);
    });

    it('catches a dropped or altered earlier version', () => {
      const dropped = new Map(chained);
      dropped.set(FILES.signature, enc.encode(JSON.stringify([chainOf(chained)[1]])));
      expect(verifyBundle(dropped).problems).toEqual([
        'signature.json: version 1: payload says version 2',
        'signature.json: version 1: the first signature must have previous null',
      ]);
      const altered = new Map(chained);
      const [v1, v2] = chainOf(chained);
      v1!.payload.events.count = 1;
      altered.set(FILES.signature, enc.encode(JSON.stringify([v1, v2])));
      expect(verifyBundle(altered).problems).toEqual([
        `signature.json: version 1: signature does not verify with key ${key.fingerprint}`,
        expect.stringMatching(/^signature\.json: chain broken at version 2 /),
      ]);
    });
  });
});
