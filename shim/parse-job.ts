// One parse job: bytes of an audit log that begin at a line start, cut into lines exactly as the
// single-threaded reader cuts them (LineSplitter, StringDecoder) and parsed into a ParsedBatch.
// A parser worker runs it; so can the main thread. A file job names a byte range, which is moved to
// line starts here: the segment is [first line start >= start, first line start >= end), so the
// ranges of one file, cut anywhere, together cover every byte exactly once, and every segment but
// the file's last ends with \n (a UTF-8 sequence never contains that byte, so no character and no
// \r\n is split between two segments).

import { isAscii } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { LineSplitter } from './line-splitter.ts';
import { BatchWriter, type ParsedBatch } from './parsed-batch.ts';

export type ParseJob =
  /** bytes [start, end) of a plain file of `size` bytes, moved to line starts */
  | { kind: 'range'; path: string; start: number; end: number; size: number }
  /** bytes the reader already cut at a line end; `last`: the end of an input (its unterminated
   *  last line counts) */
  | { kind: 'bytes'; bytes: Uint8Array; last: boolean };

export interface ParseResultBatch {
  batch: ParsedBatch;
  /** input bytes the job covered (for progress) */
  bytes: number;
}

const SCAN_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
const CR = 0x0d;
const PIECE_BYTES = 64 * 1024;

export function runParseJob(job: ParseJob): ParseResultBatch {
  if (job.kind === 'bytes') return { batch: parseBytes(job.bytes, job.last), bytes: job.bytes.length };
  const fd = openSync(job.path, 'r');
  try {
    const from = lineStartFrom(fd, job.start, job.size);
    const to = lineStartFrom(fd, Math.min(job.end, job.size), job.size);
    // Never from Buffer's shared pool: the bytes are transferred to the main thread with the batch.
    const bytes = Buffer.allocUnsafeSlow(Math.max(0, to - from));
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, from + got);
      if (n === 0) throw new Error(`${job.path} became shorter while it was read`);
      got += n;
    }
    return { batch: parseBytes(bytes, to === job.size), bytes: job.end - job.start };
  } finally {
    closeSync(fd);
  }
}

function parseBytes(bytes: Uint8Array, last: boolean): ParsedBatch {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (isAscii(buf) && buf.indexOf(CR) < 0) {
    // Lines end at \n only and a character is a byte: the batch points into the bytes, which the
    // main thread receives without a copy. The same lines LineSplitter would cut. Decoded a piece
    // at a time: a piece's string dies young, where one string of the whole job would not.
    const writer = new BatchWriter(bytes);
    let from = 0;
    while (from < buf.length) {
      const cut = buf.lastIndexOf(NEWLINE, Math.min(buf.length, from + PIECE_BYTES) - 1);
      const to = cut >= from ? cut + 1 : nextLineStart(buf, from);
      const lines = buf.toString('latin1', from, to).split('\n');
      const partial = lines.pop()!;
      let offset = from;
      for (const line of lines) {
        writer.add(line, offset);
        offset += line.length + 1;
      }
      if (to === buf.length && last && partial.length > 0) writer.add(partial, offset);
      from = to;
    }
    return writer.take();
  }
  const writer = new BatchWriter(null);
  const splitter = new LineSplitter();
  const add = (line: string) => writer.add(line);
  // Like the single-threaded reader, never end(): bytes of an incomplete UTF-8 sequence at the very
  // end of the input are dropped.
  splitter.push(new StringDecoder('utf8').write(buf), add);
  if (last) splitter.end(add);
  return writer.take();
}

/** Past the end of the line at `from` (a line longer than a piece), or the end of `buf`. */
function nextLineStart(buf: Buffer, from: number): number {
  const i = buf.indexOf(NEWLINE, from);
  return i < 0 ? buf.length : i + 1;
}

/** The first line start at or after `pos`: `pos` itself when the byte before it is \n. */
function lineStartFrom(fd: number, pos: number, size: number): number {
  if (pos <= 0) return 0;
  const buf = Buffer.allocUnsafe(SCAN_BYTES);
  for (let at = pos - 1; at < size; at += SCAN_BYTES) {
    const n = readSync(fd, buf, 0, Math.min(SCAN_BYTES, size - at), at);
    if (n === 0) break;
    const i = buf.subarray(0, n).indexOf(NEWLINE);
    if (i >= 0) return at + i + 1;
  }
  return size;
}
