// Small file systems for full-disk tests (root): a tmpfs of a given size over a directory, and a
// filler that takes its last byte.
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

/** Mounts a tmpfs of `size` (e.g. '256k', '1m') over the existing `dir`; returns the unmount. */
export function mountTmpfs(dir: string, size: string): () => void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'audited-exec-test', dir]);
  // Lazy: a file a test left open must not fail its clean-up.
  return () => execFileSync('umount', ['-l', dir]);
}

/**
 * Appends to `path` until the disk refuses (ENOSPC), to the last byte: what a runaway log on the
 * same volume does. Delete the file to make room again.
 */
export function fillDisk(path: string): void {
  const chunk = Buffer.alloc(4096, 0x61);
  try {
    for (;;) appendFileSync(path, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  try {
    for (;;) appendFileSync(path, 'a');
  } catch {
    // the last partial block is full too
  }
}
