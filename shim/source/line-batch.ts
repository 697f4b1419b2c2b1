// A read of the audit log cut into its complete lines, each with the file offset it starts at.
import { isAscii } from 'node:buffer';
import type { TailFile } from './tail-fs.ts';

export const CHUNK = 256 * 1024;

/** The complete lines of one read, with the file offset each starts at: a consumer that keeps
 *  work for earlier lines (open events) checkpoints at the first of them. */
export interface LineBatch {
  inode: number;
  lines: string[];
  starts: number[];
  /** where the last line (and its newline) ends */
  end: number;
  /** Set on the first batch after lines the tailer could not read: auditd deleted a rotated file
   *  before the tailer opened it, or the checkpointed file was gone at a restart. Whatever the log
   *  held between the previous batch and this one may be missing; the consumer, which knows the
   *  serials, reports the range. */
  missingBefore?: string;
}

/** Reads into `buf`, reused per tailer: splitLines copies the lines out before the next read.
 *  Sync: a page-cache read is shorter than the thread-pool round trip of an async one. */
export function readChunk(file: TailFile, position: number, buf: Buffer): Buffer {
  return buf.subarray(0, file.read(buf.subarray(0, CHUNK), position));
}

/** The complete lines in a chunk read at file offset `at` (null: none). An overlong chunk with no
 *  newline at all is returned whole so the reader cannot stall on it. */
export function splitLines(chunk: Buffer, inode: number, at: number): LineBatch | null {
  const last = chunk.lastIndexOf(0x0a);
  if (last < 0) {
    if (chunk.length < CHUNK) return null;
    return { inode, lines: [chunk.toString('utf8')], starts: [at], end: at + chunk.length };
  }
  const body = chunk.subarray(0, last);
  const lines: string[] = [];
  const starts: number[] = [];
  if (isAscii(body)) {
    // The kernel hex-encodes every non-ASCII byte, so this is the usual case: one decode and one
    // split for the whole read, and a character is a byte.
    let start = at;
    for (const line of body.toString('latin1').split('\n')) {
      lines.push(line);
      starts.push(start);
      start += line.length + 1;
    }
  } else {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0 && nl <= last; nl = chunk.indexOf(0x0a, start)) {
      lines.push(chunk.subarray(start, nl).toString('utf8'));
      starts.push(at + start);
      start = nl + 1;
    }
  }
  return { inode, lines, starts, end: at + last + 1 };
}
