// Where the shim is in the audit log, kept on disk so a restart resumes there (the tailer writes it,
// with the daemon's own state beside the position).

import { readFile, rename, stat, writeFile } from 'node:fs/promises';

export interface Checkpoint {
  inode: number;
  /** bytes of that file already consumed (complete lines only) */
  offset: number;
  lastSerial: number | null;
}

/** The whole saved checkpoint (position and the consumer's extra state), or null. */
export async function readCheckpoint(file: string): Promise<(Checkpoint & Record<string, unknown>) | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Checkpoint & Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Writes a checkpoint at the current end of `path` (null when there is no log yet). */
export async function startCheckpoint(
  file: string,
  path: string,
): Promise<(Checkpoint & Record<string, unknown>) | null> {
  const st = await stat(path).catch(() => null);
  if (st === null) return null;
  const cp: Checkpoint & Record<string, unknown> = { inode: st.ino, offset: st.size, lastSerial: null };
  await writeFile(`${file}.tmp`, JSON.stringify(cp));
  await rename(`${file}.tmp`, file);
  return cp;
}

export type LinePosition = Pick<Checkpoint, 'inode' | 'offset'>;

/** Where each event's lines begin, in log order, until a checkpoint finds it complete: what the
 *  checkpoint needs is the first line of the oldest event still open in the assembler. Arrays
 *  rather than a map: an exec storm starts thousands of events a second. */
export class EventStarts {
  #serials: number[] = [];
  #inodes: number[] = [];
  #offsets: number[] = [];

  /** A line of `serial` starts at offset of inode (the first one of a run of lines is enough: the
   *  earliest entry of a serial is its first line). */
  add(serial: number, inode: number, offset: number): void {
    this.#serials.push(serial);
    this.#inodes.push(inode);
    this.#offsets.push(offset);
  }

  /** The first line of the oldest open event (null: none open); forgets the complete ones. */
  oldestOpen(open: ReadonlySet<number>): LinePosition | null {
    const serials: number[] = [];
    const inodes: number[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < this.#serials.length; i++) {
      if (!open.has(this.#serials[i]!)) continue;
      serials.push(this.#serials[i]!);
      inodes.push(this.#inodes[i]!);
      offsets.push(this.#offsets[i]!);
    }
    this.#serials = serials;
    this.#inodes = inodes;
    this.#offsets = offsets;
    return serials.length === 0 ? null : { inode: inodes[0]!, offset: offsets[0]! };
  }

  clear(): void {
    this.oldestOpen(new Set());
  }
}
