// The bundle container: a gzip-compressed ustar archive of flat, short-named files.
//
// Why tar.gz and not zip: the bundle is one signed unit that is always read whole, so zip's
// central directory (random access to one member) buys nothing, while its per-member headers
// and the directory are two copies of every name that can disagree, a classic spot for
// parser-confusion tricks. tar.gz is one stream with one header per file, `tar xzf` opens it
// on every auditor's machine, and ustar is small enough to write and read here with node:zlib
// alone (no native dependency in a kubectl plugin). Names stay under 100 bytes, so no
// prefix/pax long-name handling is needed; the reader refuses anything it does not understand.
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { AuditedExecError } from '../errors.ts';

export type FileMap = Map<string, Uint8Array>;

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export interface TarOptions {
  /** Unix seconds for every member: fixed so the same files always give the same archive. */
  mtime?: number;
}

export function writeTar(files: FileMap, options: TarOptions = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const [name, data] of files) chunks.push(...tarMember(name, data, options));
  chunks.push(tarEnd());
  return concat(chunks);
}

/** One member's blocks, for writers that stream an archive instead of holding it whole. */
export function tarMember(name: string, data: Uint8Array, options: TarOptions = {}): Uint8Array[] {
  const out = [header(name, data.length, Math.floor(options.mtime ?? 0)), data];
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  if (pad) out.push(new Uint8Array(pad));
  return out;
}

export function tarEnd(): Uint8Array {
  return new Uint8Array(BLOCK * 2);
}

export function writeTarGz(files: FileMap, options: TarOptions = {}): Uint8Array {
  return new Uint8Array(gzipSync(writeTar(files, options), { level: 9 }));
}

/** A member whose body is read while the archive is written; it must yield exactly `size` bytes. */
export interface TarEntry {
  name: string;
  size: number;
  body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** One member's blocks with the body streamed: what tarMember gives, for bodies too big to hold. */
export async function* tarMemberStream(
  entry: TarEntry,
  options: TarOptions = {},
): AsyncGenerator<Uint8Array> {
  yield header(entry.name, entry.size, Math.floor(options.mtime ?? 0));
  let n = 0;
  for await (const chunk of entry.body) {
    n += chunk.length;
    // Past the header's size the archive is already wrong: fail before writing the extra bytes.
    if (n > entry.size) break;
    yield chunk;
  }
  if (n !== entry.size) bad(`bundle: ${entry.name}: read ${n} bytes, the header says ${entry.size}`);
  const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
  if (pad) yield new Uint8Array(pad);
}

/**
 * writeTarGz as a stream, byte for byte the same archive (zlib's output does not depend on how
 * its input is chunked). An error in an entry's body comes out of the returned stream.
 */
export function writeTarGzStream(
  entries: Iterable<TarEntry>,
  options: TarOptions = {},
): AsyncIterable<Uint8Array> {
  const gzip = createGzip({ level: 9 });
  async function* tar() {
    for (const entry of entries) yield* tarMemberStream(entry, options);
    yield tarEnd();
  }
  // pipeline destroys gzip with the source's error, so the reader sees it; the promise is redundant.
  pipeline(tar(), gzip).catch(() => {});
  return gzip;
}

function header(name: string, size: number, mtime: number): Uint8Array {
  checkName(name);
  const h = new Uint8Array(BLOCK);
  put(h, 0, 100, name);
  put(h, 100, 8, '0000644\0');
  put(h, 108, 8, '0000000\0');
  put(h, 116, 8, '0000000\0');
  put(h, 124, 12, `${size.toString(8).padStart(11, '0')}\0`);
  put(h, 136, 12, `${mtime.toString(8).padStart(11, '0')}\0`);
  put(h, 148, 8, '        ');
  h[156] = 0x30; // '0': regular file
  put(h, 257, 6, 'ustar\0');
  put(h, 263, 2, '00');
  put(h, 265, 32, 'root');
  put(h, 297, 32, 'root');
  put(h, 148, 8, `${checksum(h).toString(8).padStart(6, '0')}\0 `);
  return h;
}

export function readTarGz(gz: Uint8Array, options: { maxBytes?: number } = {}): FileMap {
  let tar: Uint8Array;
  try {
    // The bound keeps a gzip bomb from exhausting memory before any check runs.
    tar = new Uint8Array(gunzipSync(gz, { maxOutputLength: options.maxBytes ?? 2 ** 31 - 1 }));
  } catch (err) {
    throw new AuditedExecError(
      'EVIDENCE_BUNDLE_UNREADABLE',
      `bundle: not a readable .tar.gz (${String(err)})`,
    );
  }
  return readTar(tar);
}

export function readTar(tar: Uint8Array): FileMap {
  const files: FileMap = new Map();
  let off = 0;
  while (off + BLOCK <= tar.length) {
    const member = readTarHeader(tar.subarray(off, off + BLOCK), off, files);
    if (!member) return files;
    const { name, size } = member;
    if (!Number.isSafeInteger(size) || off + BLOCK + size > tar.length) bad(`bundle: ${name}: truncated`);
    files.set(name, tar.slice(off + BLOCK, off + BLOCK + size));
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return bad('bundle: tar archive ends without its end-of-archive blocks');
}

/**
 * One 512-byte header as every reader here checks it (readTar and the streaming tar-read.ts share
 * it, so no bundle reads one way in memory and another streamed): null for the end-of-archive
 * block, else the member's name and its size (NaN when the field is not octal; the caller says
 * "truncated"). `seen` holds the names read so far: a name may appear once.
 */
export function readTarHeader(
  h: Uint8Array,
  offset: number,
  seen: { has(name: string): boolean },
): { name: string; size: number } | null {
  if (h.every((b) => b === 0)) return null;
  const name = text(h, 0, 100);
  const stored = Number.parseInt(text(h, 148, 8).trim() || 'x', 8);
  if (stored !== checksum(h)) bad(`bundle: corrupt tar header at offset ${offset}`);
  const type = String.fromCharCode(h[156] ?? 0);
  if (type !== '0' && type !== '\0') bad(`bundle: ${name}: unsupported tar entry type '${type}'`);
  if (text(h, 345, 155) !== '') bad(`bundle: ${name}: long names are not used in evidence bundles`);
  checkName(name);
  if (seen.has(name)) bad(`bundle: ${name} appears twice`);
  return { name, size: Number.parseInt(text(h, 124, 12).trim() || 'x', 8) };
}

export const TAR_BLOCK = BLOCK;

function checkName(name: string): void {
  // Flat names only: nothing a careless `tar x` could write outside the current directory.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,98}$/.test(name) || name.includes('..')) {
    bad(`bundle: file name ${JSON.stringify(name)} is not allowed`);
  }
}

function checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
  return sum;
}

function put(h: Uint8Array, at: number, len: number, s: string): void {
  h.set(enc.encode(s).subarray(0, len), at);
}

function text(h: Uint8Array, at: number, len: number): string {
  const field = h.subarray(at, at + len);
  const end = field.indexOf(0);
  try {
    return dec.decode(end === -1 ? field : field.subarray(0, end));
  } catch {
    return bad('bundle: tar header is not UTF-8');
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function bad(message: string): never {
  throw new AuditedExecError('EVIDENCE_BUNDLE_UNREADABLE', message);
}
