// The few file-system calls the tailer makes, as one small interface: the real one below, and in
// tests a simulated log directory where auditd's renames can land between any two of the tailer's
// calls. All synchronous: each is one syscall on a local log directory, and a rotation can then
// only interleave at the points the tailer chooses to check.

import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';

/** An open log file. Once open it is the same file whatever auditd renames or deletes. */
export interface TailFile {
  readonly ino: number;
  size(): number;
  /** Reads into buf at file position `position`; the number of bytes read. */
  read(buf: Buffer, position: number): number;
  close(): void;
}

export interface TailFs {
  /** null: no such file */
  open(path: string): TailFile | null;
  /** The inode at `path` now; null: no such file. */
  ino(path: string): number | null;
  readdir(dir: string): string[];
}

export const nodeTailFs: TailFs = {
  open(path) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const ino = fstatSync(fd).ino;
    return {
      ino,
      size: () => fstatSync(fd).size,
      read: (buf, position) => readSync(fd, buf, 0, buf.length, position),
      close: () => closeSync(fd),
    };
  },
  ino: (path) => statSync(path, { throwIfNoEntry: false })?.ino ?? null,
  readdir: (dir) => readdirSync(dir),
};
