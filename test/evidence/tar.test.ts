import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar, readTarGz, writeTar, writeTarGz, writeTarGzStream } from '../../common/evidence/tar.ts';

const enc = new TextEncoder();
const tmp = mkdtempSync(join(tmpdir(), 'evidence-tar-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ustar', () => {
  const files = new Map([
    ['a.json', enc.encode('{"x":1}\n')],
    ['empty.txt', new Uint8Array()],
    ['block.bin', new Uint8Array(512).fill(7)],
    ['big.bin', new Uint8Array(70_000).map((_, i) => i % 251)],
  ]);

  it('round-trips files in order', () => {
    const back = readTarGz(writeTarGz(files, { mtime: 1_700_000_000 }));
    expect([...back.keys()]).toEqual([...files.keys()]);
    for (const [k, v] of files) expect(back.get(k)).toEqual(v);
  });

  it('is byte-for-byte reproducible', () => {
    expect(writeTarGz(files, { mtime: 5 })).toEqual(writeTarGz(files, { mtime: 5 }));
  });

  it('streams the same bytes, however the bodies are cut', async () => {
    async function* pieces(data: Uint8Array) {
      for (let at = 0; at < data.length; at += 1000) yield data.subarray(at, at + 1000);
    }
    const entries = [...files].map(([name, data]) => ({ name, size: data.length, body: pieces(data) }));
    const out: Uint8Array[] = [];
    for await (const chunk of writeTarGzStream(entries, { mtime: 5 })) out.push(chunk);
    expect(new Uint8Array(Buffer.concat(out))).toEqual(writeTarGz(files, { mtime: 5 }));
  });

  it('fails the stream when a body does not match its stated size', async () => {
    const drain = async (size: number) => {
      for await (const _ of writeTarGzStream([{ name: 'a.bin', size, body: [new Uint8Array(10)] }]));
    };
    await expect(drain(11)).rejects.toThrow('bundle: a.bin: read 10 bytes, the header says 11');
    await expect(drain(9)).rejects.toThrow(/a\.bin: read 10 bytes, the header says 9/);
  });

  it('is read by GNU tar, and reads what GNU tar writes', () => {
    const path = join(tmp, 'x.tar.gz');
    writeFileSync(path, writeTarGz(files, { mtime: 1_700_000_000 }));
    expect(execFileSync('tar', ['-tzvf', path], { encoding: 'utf8' })).toMatch(
      /70000 2023-11-1\d .*big\.bin/,
    );
    execFileSync('tar', ['-xzf', path, '-C', tmp]);
    expect(readFileSync(join(tmp, 'big.bin'))).toEqual(Buffer.from(files.get('big.bin')!));
    execFileSync('tar', ['--format=ustar', '-cf', join(tmp, 'gnu.tar'), '-C', tmp, 'a.json', 'big.bin']);
    const back = readTar(new Uint8Array(readFileSync(join(tmp, 'gnu.tar'))));
    expect(back.get('big.bin')).toEqual(files.get('big.bin'));
  });

  it('refuses paths, duplicates, links, corrupt headers and truncation', () => {
    expect(() => writeTar(new Map([['../etc/passwd', new Uint8Array()]]))).toThrow(/not allowed/);
    const dup = writeTar(new Map([['a', enc.encode('1')]]));
    const twice = new Uint8Array([...dup.subarray(0, 1024), ...dup]);
    expect(() => readTar(twice)).toThrow(/a appears twice/);
    const link = writeTar(new Map([['a', enc.encode('1')]]));
    link[156] = 0x32; // symlink
    rechecksum(link);
    expect(() => readTar(link)).toThrow(/a: unsupported tar entry type '2'/);
    const corrupt = writeTar(new Map([['a', enc.encode('1')]]));
    corrupt[10] = 0x41;
    expect(() => readTar(corrupt)).toThrow(/corrupt tar header at offset 0/);
    expect(() => readTar(writeTar(files).subarray(0, 2048))).toThrow(/truncated/);
    expect(() => readTarGz(enc.encode('not gzip'))).toThrow(/not a readable \.tar\.gz/);
  });
});

function rechecksum(h: Uint8Array): void {
  h.fill(0x20, 148, 156);
  const sum = h.subarray(0, 512).reduce((a, b) => a + b, 0);
  h.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
}
