// Follows a growing asciicast file: yields each complete line as the recorder appends it, and
// ends once the session is over and the file has stopped growing. Reads the file only, so it is
// independent of the recorder's internals (and works for a recording written by another replica
// onto shared storage).
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Splits a byte stream into lines; a partial last line waits for its newline. Pure. */
export class LineSplitter {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] {
    const buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const lines: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      lines.push(buf.subarray(start, nl).toString('utf8'));
      start = nl + 1;
    }
    this.#pending = Buffer.from(buf.subarray(start));
    return lines;
  }
}

export interface TailOptions {
  path: string;
  signal: AbortSignal;
  /** true once the session can no longer write (ended, interrupted, refused) */
  isDone: () => Promise<boolean>;
  pollMs: number;
  /** give up waiting for the file to appear after this long */
  appearTimeoutMs: number;
}

export const TAIL_DEFAULTS = { pollMs: 200, appearTimeoutMs: 30_000 };

/** Yields each complete line, and null whenever it has caught up with the end of the file. */
export async function* tailLines(
  opts: Omit<TailOptions, 'pollMs' | 'appearTimeoutMs'> & Partial<TailOptions>,
): AsyncGenerator<string | null> {
  const o = { ...TAIL_DEFAULTS, ...opts };
  const waitUntil = Date.now() + o.appearTimeoutMs;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  while (!handle) {
    if (o.signal.aborted) return;
    try {
      handle = await open(o.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || Date.now() > waitUntil || (await o.isDone()))
        return;
      await sleep(o.pollMs, undefined, { signal: o.signal }).catch(() => {});
    }
  }
  const splitter = new LineSplitter();
  const chunk = Buffer.alloc(64 * 1024);
  let position = 0;
  try {
    while (!o.signal.aborted) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        for (const line of splitter.push(chunk.subarray(0, bytesRead))) yield line;
        continue;
      }
      // null: caught up with the file for now (the live view sends its reset here).
      yield null;
      // Check "done" before the final read so output appended just before the end is not lost.
      const done = await o.isDone();
      const { bytesRead: tail } = await handle.read(chunk, 0, chunk.length, position);
      if (tail > 0) {
        position += tail;
        for (const line of splitter.push(chunk.subarray(0, tail))) yield line;
        continue;
      }
      if (done) return;
      await sleep(o.pollMs, undefined, { signal: o.signal }).catch(() => {});
    }
  } finally {
    await handle.close();
  }
}

/** The recording's header line (first 8 KiB), or null when the file is missing, empty or not asciicast. */
export async function readCastHeader(
  path: string,
): Promise<{ timestamp?: number; width: number; height: number } | null> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const buf = Buffer.alloc(8192);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const nl = text.indexOf('\n');
    if (nl < 0) return null;
    const h = JSON.parse(text.slice(0, nl)) as {
      version?: number;
      width?: number;
      height?: number;
      timestamp?: number;
    };
    if (h.version !== 2 || typeof h.width !== 'number' || typeof h.height !== 'number') return null;
    return {
      width: h.width,
      height: h.height,
      ...(typeof h.timestamp === 'number' ? { timestamp: h.timestamp } : {}),
    };
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}
