// asciicast lines → the messages asciinema-player's `eventsource` driver understands:
//   {cols, rows, time, init}  reset: the screen so far (late joiners see everything), then
//   [time, "o", text] / [time, "r", {cols, rows}] / [time, "m", label]  as they happen, then the
//   `done` event (a marker: e.g. where a moderator ended the session).
// Pure: cast-tail.ts supplies the lines, the route writes the frames.
import type { AsciicastHeader } from '../../common/asciicast.ts';

export interface LiveReset {
  cols: number;
  rows: number;
  time: number;
  init: string;
}

export type LiveEvent =
  | [number, 'o', string]
  | [number, 'r', { cols: number; rows: number }]
  | [number, 'm', string];

/** Most of the backlog a reset carries; older output is dropped (the screen shows the newest). */
export const MAX_INIT_CHARS = 2_000_000;

/**
 * Output of a session without a tty has bare LF line ends (no terminal driver added CR); a terminal
 * emulator would render them as a staircase. For display only; the recording stays byte-exact.
 */
export function displayOutput(data: string): string {
  return data.replace(/(?<!\r)\n/g, '\r\n');
}

/** One recording line for display: output events of a non-tty session get CR before LF. */
export function displayLine(line: string): string {
  if (!line.startsWith('[')) return line;
  try {
    const v = JSON.parse(line) as unknown[];
    if (Array.isArray(v) && v[1] === 'o' && typeof v[2] === 'string' && v[2].includes('\n')) {
      return JSON.stringify([v[0], 'o', displayOutput(v[2])]);
    }
  } catch {
    // a partial last line of a running recording: pass it on, the player skips it
  }
  return line;
}

export function sseMessage(data: unknown, event?: string): string {
  // JSON never contains a raw newline, so one data: line is always enough.
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

export class LiveCast {
  header: AsciicastHeader | null = null;
  /** false for sessions without a tty: output gets CR before bare LF (see displayOutput) */
  readonly tty: boolean;
  constructor(options: { tty: boolean } = { tty: true }) {
    this.tty = options.tty;
  }
  #cols = 80;
  #rows = 24;
  #time = 0;
  #backlog: string[] = [];
  #backlogChars = 0;

  /** Feeds one line of the recording; returns the live events to send once the reset has gone. */
  line(text: string): LiveEvent | null {
    if (text === '') return null;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return null;
    }
    if (!this.header) {
      const h = v as Partial<AsciicastHeader>;
      if (h && h.version === 2 && Number.isInteger(h.width) && Number.isInteger(h.height)) {
        this.header = h as AsciicastHeader;
        this.#cols = h.width as number;
        this.#rows = h.height as number;
      }
      return null;
    }
    if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[2] !== 'string') return null;
    const [time, code, data] = v as [number, string, string];
    this.#time = Math.max(this.#time, time);
    if (code === 'o') {
      const text = this.tty ? data : displayOutput(data);
      this.#remember(text);
      return [time, 'o', text];
    }
    if (code === 'r') {
      const m = /^(\d+)x(\d+)$/.exec(data);
      if (!m) return null;
      this.#cols = Number(m[1]);
      this.#rows = Number(m[2]);
      return [time, 'r', { cols: this.#cols, rows: this.#rows }];
    }
    if (code === 'm') return [time, 'm', data];
    // Input (i) is never streamed to viewers: it may hold passwords typed without echo.
    return null;
  }

  reset(): LiveReset {
    return { cols: this.#cols, rows: this.#rows, time: this.#time, init: this.#backlog.join('') };
  }

  #remember(data: string): void {
    this.#backlog.push(data);
    this.#backlogChars += data.length;
    while (this.#backlogChars > MAX_INIT_CHARS && this.#backlog.length > 1) {
      this.#backlogChars -= this.#backlog.shift()?.length ?? 0;
    }
  }
}
