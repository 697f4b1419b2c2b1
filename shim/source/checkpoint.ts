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
