import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileHasher } from '../../../server/recording/file-hasher.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-hasher-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('FileHasher', () => {
  it('digests exactly the bytes written, for files written side by side, told late or not at all', async () => {
    const hasher = new FileHasher();
    const files = [0, 1, 2].map((i) => ({
      fd: openSync(join(dir, `f${i}`), 'a+'),
      bytes: 0,
      hash: createHash('sha256'),
    }));
    // Small and large writes interleaved: some updates go at once (over 4 MiB), some wait for the timer.
    for (let round = 0; round < 40; round++) {
      for (const f of files) {
        const chunk = randomBytes(round % 7 === 0 ? 1 << 20 : 1 + ((round * 977) % 5000));
        writeSync(f.fd, chunk);
        f.hash.update(chunk);
        f.bytes += chunk.length;
        hasher.written(f.fd, f.bytes, chunk.length);
      }
    }
    const digests = await Promise.all(files.map((f) => hasher.finish(f.fd, f.bytes)));
    expect(digests).toEqual(files.map((f) => f.hash.digest('hex')));
    for (const f of files) closeSync(f.fd);
  });

  it('digests an empty file, and a file that lost bytes fails instead of digesting less', async () => {
    const hasher = new FileHasher();
    const empty = openSync(join(dir, 'empty'), 'a+');
    expect(await hasher.finish(empty, 0)).toBe(createHash('sha256').digest('hex'));
    closeSync(empty);
    const short = openSync(join(dir, 'short'), 'a+');
    writeSync(short, 'abc');
    await expect(hasher.finish(short, 10)).rejects.toThrow(/ends at 3 bytes, 10 were written/);
    closeSync(short);
  });
});
