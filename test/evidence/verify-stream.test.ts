// verifyBundleStream (what `verify FILE` and export's self-check run, reading the .tar.gz as it
// streams) reports exactly what verifyBundle reports for the same bundle in memory: the same
// problems in the same order for every tampering verify.test.ts tries, and the same summary.
// plugin/bundle.ts names the file in every error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES, sha256Hex } from '../../common/evidence/format.ts';
import { type FileMap, readTarGz, tarMember, writeTarGz } from '../../common/evidence/tar.ts';
import { readTarGzStream, readTarStream } from '../../common/evidence/tar-read.ts';
import { verifyBundle, verifyBundleStream } from '../../common/evidence/verify.ts';
import { readBundleMember, verifyBundleFile } from '../../plugin/bundle.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import { bundleBytes, fakePlayer, memoryKey, otherRecording, SESSION_ID, seededStore } from './fixture.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const key = memoryKey();
const tmp = mkdtempSync(join(tmpdir(), 'verify-stream-'));
let files: FileMap;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  files = readTarGz(
    await bundleBytes(createEvidence({ store: seededStore(), key, player: fakePlayer }).bundle(SESSION_ID)),
  );
});

function tampered(change: (f: FileMap) => void): FileMap {
  const f = new Map([...files].map(([k, v]) => [k, v.slice()]));
  change(f);
  return f;
}

function flip(name: string) {
  return (f: FileMap) => {
    const data = f.get(name)!;
    data[data.length >> 1] = data[data.length >> 1]! ^ 1;
  };
}

function fixManifest(f: FileMap): void {
  const m = JSON.parse(dec.decode(f.get(FILES.manifest)));
  for (const name of Object.keys(m.files))
    m.files[name] = { sha256: sha256Hex(f.get(name)!), size: f.get(name)!.length };
  f.set(FILES.manifest, enc.encode(JSON.stringify(m, null, 2)));
}

async function* pieces(data: Uint8Array, size: number) {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

const cases: [string, (f: FileMap) => void][] = [
  ['untouched', () => {}],
  ...[...Object.values(FILES)].map((name): [string, (f: FileMap) => void] => [
    `one byte of ${name}`,
    flip(name),
  ]),
  ...[...Object.values(FILES)].map((name): [string, (f: FileMap) => void] => [
    `no ${name}`,
    (f) => f.delete(name),
  ]),
  ['an extra file', (f) => f.set('README.txt', enc.encode('trust me'))],
  [
    'swapped events',
    (f) => {
      const lines = dec.decode(f.get(FILES.events)).split('\n');
      [lines[6], lines[7]] = [lines[7]!, lines[6]!];
      f.set(FILES.events, enc.encode(lines.join('\n')));
      fixManifest(f);
    },
  ],
  [
    "another session's recording",
    (f) => {
      f.set(FILES.recording, otherRecording);
      fixManifest(f);
    },
  ],
  [
    'a recording line that is not JSON',
    (f) => {
      f.set(FILES.recording, enc.encode(`${dec.decode(f.get(FILES.recording))}[1,"o"\n`));
      fixManifest(f);
    },
  ],
  [
    'an empty recording',
    (f) => {
      f.set(FILES.recording, new Uint8Array());
      fixManifest(f);
    },
  ],
];

describe('verifyBundleStream', () => {
  it.each(cases)('reports what verifyBundle reports for %s', async (_, change) => {
    const f = tampered(change);
    const expected = verifyBundle(f, { fingerprint: key.fingerprint });
    const got = await verifyBundleStream(readTarGzStream(pieces(writeTarGz(f), 1000)), {
      fingerprint: key.fingerprint,
    });
    expect(got).toEqual(expected);
    expect(got.ok).toBe(_ === 'untouched');
  });

  it('refuses to hold a small file larger than its cap, naming it', async () => {
    const big = tampered((f) => f.set(FILES.manifest, new Uint8Array(64 * 1024 * 1024 + 1).fill(0x20)));
    const message =
      'bundle: manifest.json is larger than the 64 MiB verify reads into memory; it is no bundle the recorder writes';
    expect(() => verifyBundle(big)).toThrow(message);
    // The header's size is enough: with no body after it, reading one would say "truncated".
    const header = tarMember(FILES.manifest, big.get(FILES.manifest)!)[0]!;
    await expect(verifyBundleStream(readTarStream([header]))).rejects.toThrow(message);
  });
});

describe('plugin/bundle.ts', () => {
  it('verifies a bundle file, and names the file in every error', async () => {
    const good = join(tmp, 'good.tar.gz');
    writeFileSync(good, writeTarGz(files));
    expect(await verifyBundleFile(good, { publicKeyPem: key.publicKeyPem })).toMatchObject({
      ok: true,
      trust: 'key',
    });
    expect(dec.decode((await readBundleMember(good, FILES.publicKey, 4096))!)).toBe(key.publicKeyPem);
    expect(await readBundleMember(good, 'nothing.txt', 4096)).toBeNull();

    const missing = join(tmp, 'missing.tar.gz');
    await expect(verifyBundleFile(missing)).rejects.toThrow(`cannot read ${missing}: ENOENT`);
    await expect(verifyBundleFile(tmp)).rejects.toThrow(`cannot read ${tmp}: EISDIR`);
    const garbage = join(tmp, 'garbage.tar.gz');
    writeFileSync(garbage, 'not a bundle');
    await expect(verifyBundleFile(garbage)).rejects.toThrow(
      `${garbage}: bundle: not a readable .tar.gz (Error: `,
    );
    const cut = join(tmp, 'cut.tar.gz');
    const whole = writeTarGz(files);
    writeFileSync(cut, whole.subarray(0, whole.length >> 1));
    await expect(verifyBundleFile(cut)).rejects.toThrow(
      `${cut}: bundle: not a readable .tar.gz (Error: unexpected end of file)`,
    );
  });
});
