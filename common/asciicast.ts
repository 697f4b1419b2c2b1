// asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then one
// JSON array per event `[time, code, data]`. Pure codec: the server's recording writer, the web UI
// and evidence verification all read and write the same lines through here.

export interface AsciicastHeader {
  version: 2;
  width: number;
  height: number;
  /** Unix seconds of the recording's start */
  timestamp?: number;
  title?: string;
  env?: { TERM?: string; SHELL?: string };
}

/** o output, i input, r resize ("WxH"), m marker */
export type AsciicastCode = 'o' | 'i' | 'r' | 'm';

export interface AsciicastEvent {
  /** seconds since the start of the recording */
  time: number;
  code: AsciicastCode;
  data: string;
}

export interface Asciicast {
  header: AsciicastHeader;
  events: AsciicastEvent[];
}

export function encodeHeader(header: AsciicastHeader): string {
  return `${JSON.stringify(header)}\n`;
}

/** Times are written with microsecond precision, as asciinema does. */
export function encodeEvent(event: AsciicastEvent): string {
  const t = Math.max(0, Math.round(event.time * 1e6) / 1e6);
  return `${JSON.stringify([t, event.code, event.data])}\n`;
}

export function encodeResizeData(width: number, height: number): string {
  return `${width}x${height}`;
}

export function parseResizeData(data: string): { width: number; height: number } | null {
  const m = /^(\d+)x(\d+)$/.exec(data);
  return m ? { width: Number(m[1]), height: Number(m[2]) } : null;
}

export class AsciicastError extends Error {
  readonly code = 'ASCIICAST_INVALID';
  readonly line: number;
  constructor(line: number, message: string) {
    super(`asciicast line ${line}: ${message}`);
    this.line = line;
  }
}

/** Decodes a whole .cast file; a trailing partial line (a recording cut by a crash) is ignored. */
export function decodeAsciicast(text: string): Asciicast {
  const lines = text.split('\n');
  // The last element is '' for a complete file, or a partial line written when the recorder died.
  lines.pop();
  const first = lines.shift();
  if (first === undefined) throw new AsciicastError(1, 'empty recording');
  const header = parseJson(first, 1) as Partial<AsciicastHeader>;
  if (header?.version !== 2 || !Number.isInteger(header.width) || !Number.isInteger(header.height)) {
    throw new AsciicastError(1, 'not an asciicast v2 header');
  }
  const events: AsciicastEvent[] = [];
  lines.forEach((line, i) => {
    if (line === '') return;
    const v = parseJson(line, i + 2);
    if (
      !Array.isArray(v) ||
      typeof v[0] !== 'number' ||
      typeof v[1] !== 'string' ||
      typeof v[2] !== 'string'
    ) {
      throw new AsciicastError(i + 2, 'event is not [time, code, data]');
    }
    events.push({ time: v[0], code: v[1] as AsciicastCode, data: v[2] });
  });
  return { header: header as AsciicastHeader, events };
}

function parseJson(line: string, n: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new AsciicastError(n, 'invalid JSON');
  }
}

/**
 * Turns one stream's frames into text. A UTF-8 sequence split across two frames stays buffered
 * until its last byte arrives, so an event never holds U+FFFD for a character the user saw whole.
 * One instance per stream (stdout, stderr, stdin): their bytes interleave independently.
 */
export class Utf8Stream {
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });

  write(bytes: Uint8Array): string {
    return this.#decoder.decode(bytes, { stream: true });
  }

  /** Whatever is left (an incomplete sequence at the very end) becomes U+FFFD. */
  end(): string {
    return this.#decoder.decode();
  }
}

/** Joins consecutive output events: the text a viewer would have seen, without timing. */
export function outputText(cast: Asciicast): string {
  return cast.events
    .filter((e) => e.code === 'o')
    .map((e) => e.data)
    .join('');
}
