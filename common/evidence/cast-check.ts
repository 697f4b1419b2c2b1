// recording.cast checked while it streams: decodeAsciicast's rules (a v2 header line, then one
// [time, code, data] array per line, empty lines allowed, a trailing partial line from a crash
// ignored) applied one line at a time, because a recording can be far larger than one JS string
// may be. The problem found is the one decodeAsciicast would throw, word for word.
import { AsciicastError, type AsciicastHeader } from '../asciicast.ts';

const MiB = 1024 * 1024;

/**
 * The longest line accepted, in UTF-16 units (never more than its bytes). The recorder writes one
 * event per WebSocket frame (16 MiB at most), and JSON escaping grows a frame at most six-fold;
 * a longer line is no recording of ours, and holding it would undo the bound on memory.
 */
export const CAST_LINE_LIMIT = 128 * MiB;
const DECODE_SLICE = 16 * 1024;

export class CastCheck {
  // One streaming decoder for the whole file: a character split between chunks decodes whole,
  // and a BOM is dropped only at the very start, exactly as decoding the file in one piece does.
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  /** the current line's text so far, in pieces: joined once, when its newline arrives */
  #pending: string[] = [];
  #pendingLength = 0;
  /** complete lines seen */
  #lines = 0;
  #problem: AsciicastError | null = null;

  write(bytes: Uint8Array): void {
    // Decoded in slices: a string of a whole large chunk (twice its size when one character is
    // not Latin-1) lands in V8's old generation and lingers there; small ones die young.
    for (let at = 0; at < bytes.length && !this.#problem; at += DECODE_SLICE) {
      this.#text(this.#decoder.decode(bytes.subarray(at, at + DECODE_SLICE), { stream: true }));
    }
  }

  /** The first problem in the recording, or null when it is a valid asciicast v2 file. */
  end(): AsciicastError | null {
    if (!this.#problem) {
      this.#text(this.#decoder.decode());
      if (this.#lines === 0) this.#problem = new AsciicastError(1, 'empty recording');
    }
    this.#pending = [];
    return this.#problem;
  }

  #text(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      let line = text.slice(start, nl);
      if (this.#pending.length > 0) {
        line = this.#pending.join('') + line;
        this.#pending = [];
        this.#pendingLength = 0;
      }
      start = nl + 1;
      try {
        checkLine(line, ++this.#lines);
      } catch (err) {
        this.#fail(err as AsciicastError);
        return;
      }
    }
    if (start < text.length) {
      const rest = text.slice(start);
      this.#pending.push(rest);
      this.#pendingLength += rest.length;
      if (this.#pendingLength > CAST_LINE_LIMIT) this.#fail(tooLong(this.#lines + 1));
    }
  }

  #fail(problem: AsciicastError): void {
    this.#problem = problem;
    this.#pending = [];
  }
}

/** decodeAsciicast's check of line `n` (1-based), throwing what it throws. */
function checkLine(line: string, n: number): void {
  if (line.length > CAST_LINE_LIMIT) throw tooLong(n);
  if (n === 1) {
    const header = parseJson(line, n) as Partial<AsciicastHeader> | null;
    if (header?.version !== 2 || !Number.isInteger(header.width) || !Number.isInteger(header.height)) {
      throw new AsciicastError(1, 'not an asciicast v2 header');
    }
    return;
  }
  if (line === '') return;
  const v = parseJson(line, n);
  if (!Array.isArray(v) || typeof v[0] !== 'number' || typeof v[1] !== 'string' || typeof v[2] !== 'string') {
    throw new AsciicastError(n, 'event is not [time, code, data]');
  }
}

function tooLong(n: number): AsciicastError {
  return new AsciicastError(
    n,
    `longer than ${CAST_LINE_LIMIT / MiB} MiB, more than one recorded event can be`,
  );
}

function parseJson(line: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new AsciicastError(n, 'invalid JSON');
  }
}
