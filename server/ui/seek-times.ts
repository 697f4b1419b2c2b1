// Where a click on a command seeks the player. The command's time is its exec in the kernel's
// audit log; in a terminal session the shell writes the echo of the command line (ending with the
// newline of Enter) just before it forks, but that output reaches the recorder a few milliseconds
// later, after the exec, and the two clocks differ by a few milliseconds. Seeking to the exec time
// alone shows the screen without the command line. So, in a tty session, a command seeks to just
// past the output line near its exec that names its program: the frame that shows the line that
// ran it.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** How far around an exec the echo of its line may lie: the audit clock has millisecond steps and
 *  the recording's its own, and the echo reaches the recorder after a loaded relay's delay. */
export const ECHO_WINDOW_S = 0.5;
const CLOCK_SLACK_S = 0.05;
/** A recording is read at most this far to find echoes; beyond, commands seek to their exec time. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;
/** A line longer than this is not a command line anyone typed; only its start is kept. */
const MAX_LINE = 4096;

/** A line of terminal output, ended at `t` by a newline. */
export interface LineEnd {
  t: number;
  text: string;
}

/** A command in the timeline: its exec time and the program name the typed line would show. */
export interface SeekCommand {
  t: number;
  program: string;
}

/**
 * Where each command (ascending by t) seeks, given the recording's line ends (ascending). First
 * choice: just past the line that ends near the exec and names the program, which is the echo of
 * the typed command line; else just past the first line that ends after the exec within the window;
 * else the exec time. Pure.
 */
export function seekTargets(
  commands: readonly SeekCommand[],
  lines: readonly LineEnd[],
  windowS = ECHO_WINDOW_S,
): number[] {
  // Commands come in time order, so where the window starts only moves forward: one pass over the
  // lines for all commands, plus each window's few lines.
  let from = 0;
  return commands.map(({ t, program }) => {
    while (from < lines.length && lines[from]!.t < t - CLOCK_SLACK_S) from++;
    let typed: LineEnd | undefined;
    let after: LineEnd | undefined;
    for (let i = from; i < lines.length && lines[i]!.t <= t + windowS && !typed; i++) {
      const l = lines[i]!;
      if (program && l.text.includes(program)) typed = l;
      else if (!after && l.t >= t) after = l;
    }
    const chosen = typed ?? after;
    // Just past the event, so the player has drawn it.
    return chosen ? Math.round((chosen.t + 0.001) * 1000) / 1000 : t;
  });
}

/** Splits output events into the lines they end (pure; carries a partial line across events). */
export class LineSplitter {
  #partial = '';

  push(t: number, data: string): LineEnd[] {
    const ends: LineEnd[] = [];
    const parts = data.split('\n');
    for (let i = 0; i < parts.length - 1; i++) {
      ends.push({ t, text: (this.#partial + parts[i]).slice(0, MAX_LINE) });
      this.#partial = '';
    }
    this.#partial = (this.#partial + parts.at(-1)).slice(-MAX_LINE);
    return ends;
  }
}

/** The recording's line ends, up to `untilS` seconds. */
export async function outputLines(path: string, untilS: number): Promise<LineEnd[]> {
  const found: LineEnd[] = [];
  const splitter = new LineSplitter();
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
      if (event.code === 'o') found.push(...splitter.push(event.t, event.data));
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
