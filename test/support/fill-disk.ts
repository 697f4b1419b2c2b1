// Fills the file system that holds `dir` to its last byte with one file, returned so a test can
// delete it to make room again. For small tmpfs mounts: it writes until the disk refuses.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  const block = Buffer.alloc(4096, 1);
  for (let size = block.length; ; ) {
    try {
      appendFileSync(filler, block.subarray(0, size));
    } catch {
      if (size === 1) return filler;
      size >>= 1;
    }
  }
}
