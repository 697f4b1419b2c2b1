// The streaming tar.gz reader reads what readTarGz reads, however the bytes are cut, and refuses
// what it refuses with the same sentence; bodies stream, and what a reader skips is skipped.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar, writeTar, writeTarGz } from '../../common/evidence/tar.ts';
import { readTarGzStream, readTarStream } from '../../common/evidence/tar-read.ts';

const enc = new TextEncoder();
const tmp = mkdtempSync(join(tmpdir(), 'evidence-tar-read-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const files = new Map([
  ['a.json', enc.encode('{"x":1}\n')],
  ['empty.txt', new Uint8Array()],
  ['block.bin', new Uint8Array(512).fill(7)],
  ['big.bin', new Uint8Array(200_000).map((_, i) => i % 251)],
]);

async function* pieces(data: Uint8Array, size: number) {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

/** Every member read whole, or only its name when `skip` says so. */
async function collect(entries: AsyncIterable<{ name: string; body: AsyncIterable<Uint8Array> }>, skip = '') {
  const out = new Map<string, Uint8Array | null>();
  for await (const e of entries) {
    if (skip.includes(e.name)) {
      out.set(e.name, null);
      continue;
    }
    const chunks: Uint8Array[] = [];
    for await (const c of e.body) chunks.push(c.slice());
    out.set(e.name, new Uint8Array(Buffer.concat(chunks)));
  }
  return out;
}

const gz = writeTarGz(files, { mtime: 1_700_000_000 });

describe('readTarGzStream', () => {
  it.each([1, 7, 512, 4096, gz.length])(
    'reads every member when the input comes in %i-byte pieces',
    async (n) => {
      expect(await collect(readTarGzStream(pieces(gz, n)))).toEqual(files);
    },
  );

  it('reads uncompressed tar cut anywhere, across header and body boundaries', async () => {
    const tar = writeTar(files);
    for (const n of [1, 100, 511, 513, 70_001])
      expect(await collect(readTarStream(pieces(tar, n)))).toEqual(files);
  });

  it('skips the bodies a reader leaves unread, whole or in part', async () => {
    const back = await collect(readTarGzStream(pieces(gz, 1000)), 'big.bin block.bin');
    expect(back).toEqual(new Map([...files].map(([k, v]) => [k, k.endsWith('.bin') ? null : v])));
    const names: string[] = [];
    for await (const e of readTarGzStream(pieces(gz, 333))) {
      names.push(e.name);
      for await (const _ of e.body) break; // one chunk, then on to the next member
    }
    expect(names).toEqual([...files.keys()]);
  });

  it('refuses to hand out a body after the archive moved on', async () => {
    const it = readTarGzStream(pieces(gz, 100));
    const first = (await it.next()).value!;
    await it.next();
    await expect(collect([first] as never)).rejects.toThrow(/read after the next one/);
  });

  it('reads what GNU tar writes', async () => {
    writeFileSync(join(tmp, 'big.bin'), files.get('big.bin')!);
    writeFileSync(join(tmp, 'a.json'), files.get('a.json')!);
    execFileSync('tar', ['--format=ustar', '-czf', join(tmp, 'gnu.tar.gz'), '-C', tmp, 'a.json', 'big.bin']);
    const back = await collect(readTarGzStream(pieces(readFileSync(join(tmp, 'gnu.tar.gz')), 4096)));
    expect([...back.keys()]).toEqual(['a.json', 'big.bin']);
    expect(back.get('big.bin')).toEqual(files.get('big.bin'));
  });

  it('refuses duplicates, links, corrupt headers and truncation with readTar’s words', async () => {
    const one = writeTar(new Map([['a', enc.encode('1')]]));
    const twice = new Uint8Array([...one.subarray(0, 1024), ...one]);
    const link = one.slice();
    link[156] = 0x32;
    rechecksum(link);
    const corrupt = one.slice();
    corrupt[10] = 0x41;
    const cases: [Uint8Array, RegExp][] = [
      [twice, /^bundle: a appears twice$/],
      [link, /^bundle: a: unsupported tar entry type '2'$/],
      [corrupt, /^bundle: corrupt tar header at offset 0$/],
      [writeTar(files).subarray(0, 2048), /^bundle: block\.bin: truncated$/],
      [
        writeTar(files).subarray(0, 1024 + 512 + 1024),
        /^bundle: tar archive ends without its end-of-archive blocks$/,
      ],
    ];
    for (const [tar, message] of cases) {
      expect(() => readTar(tar)).toThrow(message);
      await expect(collect(readTarStream(pieces(tar, 100)))).rejects.toThrow(message);
      await expect(collect(readTarGzStream([gzipSync(tar)]))).rejects.toThrow(message);
    }
  });

  it('names a file that is not gzip, or is cut short, as not a readable .tar.gz', async () => {
    const message = /^bundle: not a readable \.tar\.gz \(Error: /;
    await expect(collect(readTarGzStream([enc.encode('not gzip')]))).rejects.toThrow(message);
    // Cut inside the gzip trailer: every tar block is there, but gzip's length and CRC are not.
    await expect(collect(readTarGzStream([gz.subarray(0, gz.length - 4)]))).rejects.toThrow(message);
    const flipped = gz.slice();
    flipped[gz.length - 6] = flipped[gz.length - 6]! ^ 1; // the CRC
    await expect(collect(readTarGzStream([flipped]))).rejects.toThrow(/not a readable \.tar\.gz/);
  });

  it('takes GNU tar’s padding after the end blocks, but not a megabyte of anything', async () => {
    const tar = writeTar(files);
    const padded = new Uint8Array(tar.length + 9 * 1024);
    padded.set(tar);
    expect(await collect(readTarGzStream([gzipSync(padded)]))).toEqual(files);
    const stuffed = new Uint8Array(tar.length + 1024 * 1024 + 1);
    stuffed.set(tar);
    await expect(collect(readTarGzStream([gzipSync(stuffed)]))).rejects.toThrow(
      'bundle: more than 1 MiB of data after the tar archive ends',
    );
  });

  it('passes a failing source’s own error through', async () => {
    async function* failing() {
      yield gz.subarray(0, 100);
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' });
    }
    await expect(collect(readTarGzStream(failing()))).rejects.toThrow(/^EIO: i\/o error, read$/);
  });
});

function rechecksum(h: Uint8Array): void {
  h.fill(0x20, 148, 156);
  const sum = h.subarray(0, 512).reduce((a, b) => a + b, 0);
  h.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
}

describe('stopping early', () => {
  it('releases the source when the reader stops before the end', async () => {
    // Incompressible and far larger than the pipe's buffers: the source is mid-way at the break.
    const big = writeTarGz(new Map([...files, ['noise.bin', randomBytes(8 * 1024 * 1024)]]));
    let read = 0;
    let release = (): void => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    async function* source() {
      try {
        for await (const piece of pieces(big, 64 * 1024)) {
          read += piece.length;
          yield piece;
        }
      } finally {
        release();
      }
    }
    for await (const e of readTarGzStream(source())) if (e.name === 'a.json') break;
    // pipeline tears the source down once gunzip is destroyed, some turns later (zlib closes on the
    // thread pool): wait for the release itself; a source never released fails on the timeout.
    await released;
    expect(read).toBeLessThan(big.length);
  });
});
