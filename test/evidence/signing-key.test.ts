import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyFingerprint } from '../../common/evidence/format.ts';
import { KEY_FILE_NAME, loadSigningKey } from '../../server/evidence/signing-key.ts';

const tmp = mkdtempSync(join(tmpdir(), 'evidence-key-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('signing key', () => {
  it('is generated once with mode 0600 and then reused', async () => {
    const dataDir = join(tmp, 'data');
    const first = await loadSigningKey({ dataDir });
    expect(first.generated).toBe(true);
    expect(statSync(join(dataDir, KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
    const again = await loadSigningKey({ dataDir });
    expect(again.generated).toBe(false);
    expect(again.fingerprint).toBe(first.fingerprint);
    const msg = new TextEncoder().encode('payload');
    expect(verify(null, msg, createPublicKey(again.publicKeyPem), first.sign(msg))).toBe(true);
  });

  it('fingerprints the raw 32-byte key as SHA256:<base64>', async () => {
    const key = await loadSigningKey({ dataDir: join(tmp, 'fp') });
    const raw = createPublicKey(key.publicKeyPem).export({ format: 'der', type: 'spki' }).subarray(-32);
    const expected = createHash('sha256').update(raw).digest('base64').replace(/=+$/, '');
    expect(key.fingerprint).toBe(`SHA256:${expected}`);
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('loads a configured key file (a Secret mount: a symlink to a 0400 file)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const target = join(tmp, 'secret-data');
    writeFileSync(target, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o400 });
    symlinkSync(target, join(tmp, 'tls.key'));
    const key = await loadSigningKey({ dataDir: join(tmp, 'unused'), keyFile: join(tmp, 'tls.key') });
    expect(key.fingerprint).toBe(keyFingerprint(publicKey));
  });

  it('refuses a world-readable key with a sentence that says how to fix it', async () => {
    const file = join(tmp, 'open.pem');
    writeFileSync(file, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    chmodSync(file, 0o644);
    await expect(loadSigningKey({ dataDir: tmp, keyFile: file })).rejects.toMatchObject({
      code: 'EVIDENCE_KEY_PERMISSIONS',
      message: expect.stringMatching(/mode 0644 lets every local user read .*chmod 600.*defaultMode: 0400/),
    });
  });

  it('refuses a key that is not Ed25519', async () => {
    const file = join(tmp, 'rsa.pem');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    writeFileSync(file, rsa.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    await expect(loadSigningKey({ dataDir: tmp, keyFile: file })).rejects.toThrow(
      /is rsa, evidence needs Ed25519/,
    );
  });
});
