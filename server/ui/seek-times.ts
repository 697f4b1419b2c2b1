// Where a click on a command seeks the player. The command's time is its exec in the kernel's
// audit log; in a terminal session the shell writes the echo of the command line (ending with the
// newline of Enter) just before it forks, but that output reaches the recorder a few milliseconds
// later, after the exec. Seeking to the exec time alone shows the screen without the command line.
// So, in a tty session, a command seeks to just after the first output that ends a line within a
// short window after its exec: the frame that shows the line that ran it.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** How long after an exec the echo of its line may still arrive (a loaded node, a slow relay). */
export const ECHO_WINDOW_S = 0.5;
/** A recording is read at most this far to find echoes; beyond, commands seek to their exec time. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;

/**
 * For command times `times` (seconds, ascending), the times to seek to, given the times of output
 * events that carry a newline (ascending). Pure.
 */
export function seekTargets(
  times: readonly number[],
  newlines: readonly number[],
  windowS = ECHO_WINDOW_S,
): number[] {
  let j = 0;
  return times.map((t) => {
    while (j < newlines.length && newlines[j]! < t) j++;
    const echo = newlines[j];
    if (echo === undefined || echo > t + windowS) return t;
    // Just past the event, so the player has drawn it.
    return Math.round((echo + 0.001) * 1000) / 1000;
  });
}

/** Times of the recording's output events that end a line, up to `untilS` seconds. */
export async function outputNewlines(path: string, untilS: number): Promise<number[]> {
  const found: number[] = [];
  const input = createReadStream(path, { end: MAX_SCAN_BYTES - 1 });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let first = true;
  try {
    for await (const line of lines) {
      if (first) {
        first = false; // the header
        continue;
      }
      const event = parseEvent(line);
      if (!event) continue;
      if (event.t > untilS) break;
      if (event.code === 'o' && event.data.includes('\n')) found.push(event.t);
    }
  } catch {
    // unreadable: commands seek to their exec time
  } finally {
    lines.close();
    input.destroy();
  }
  return found;
}

function parseEvent(line: string): { t: number; code: string; data: string } | null {
  try {
    const v = JSON.parse(line) as unknown;
    if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'string' || typeof v[2] !== 'string')
      return null;
    return { t: v[0], code: v[1], data: v[2] };
  } catch {
    return null; // a torn last line of a recording cut short
  }
}
