// Offline mode (docs/attribution.md, live and offline; also the forensic tool for archived logs): audit
// lines in, one JSON line per exec plus alert lines out. `attributeLines` is the pure entry point
// the benchmark and tests call; `attributeStream` adds file/stdin/gzip reading and JSON writing.

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { AttributedExec, AttributionAlert } from '../common/wire.ts';
import type { AttributedOutput, ExpectedExec } from './attribution.ts';
import { LineSplitter } from './line-splitter.ts';
import { inputChunks } from './offline-input.ts';
import type { AuditLineError } from './parser.ts';
import { Pipeline, type PipelineStats } from './pipeline.ts';

export interface AttributeOptions {
  onOutput?: (output: AttributedOutput) => void;
  onBadLine?: (lineNo: number, error: AuditLineError, line: string) => void;
  /** expected execs for `inferred` attribution (the server's hints, replayed) */
  hints?: ExpectedExec[];
}

export interface AttributeResult extends PipelineStats {
  /** the outputs, when no onOutput callback took them */
  output: (AttributedExec | AttributionAlert)[];
}

export function attributeLines(lines: Iterable<string>, options: AttributeOptions = {}): AttributeResult {
  const output: (AttributedExec | AttributionAlert)[] = [];
  const emit = options.onOutput ?? ((o: AttributedOutput) => output.push(o.exec ?? o.alert!));
  const pipeline = new Pipeline({ emit, proc: null, onBadLine: options.onBadLine });
  for (const hint of options.hints ?? []) pipeline.expectExec(hint);
  for (const line of lines) pipeline.line(line);
  pipeline.flush();
  return { ...pipeline.stats, output };
}

export interface StreamOptions {
  /** a path, or '-' for stdin; several: read in this order as one log (audit.log.2 audit.log.1
   *  audit.log), so processes and events that span a rotation are followed across it */
  input: string | readonly string[];
  stdin?: NodeJS.ReadableStream;
  out: Writable;
  /** progress and summary lines */
  log: (line: string) => void;
  /** bad lines reported individually before they are only counted */
  reportBadLines?: number;
}

// Output is written in batches of about this many characters.
const OUT_CHARS = 64 * 1024;

export async function attributeStream(options: StreamOptions): Promise<PipelineStats> {
  const reportBad = options.reportBadLines ?? 5;
  let reported = 0;
  let pending = '';
  const pipeline = new Pipeline({
    proc: null,
    emit: (o) => {
      pending += `${JSON.stringify(o.exec ?? o.alert)}\n`;
    },
    onBadLine: (lineNo, error) => {
      if (reported++ < reportBad) options.log(`line ${lineNo}: ${error.message} (${error.code}); skipped`);
    },
  });
  const line = (text: string): void => {
    pipeline.line(text);
  };
  try {
    for (const input of typeof options.input === 'string' ? [options.input] : options.input) {
      // Lines are cut synchronously, a chunk at a time: no event or promise per line. Like
      // readline, bytes of an incomplete UTF-8 sequence at the very end of a file are dropped, and
      // a file's unterminated last line ends with the file.
      const decoder = new StringDecoder('utf8');
      const splitter = new LineSplitter();
      for await (const chunk of inputChunks(input, options.stdin ?? process.stdin)) {
        splitter.push(decoder.write(chunk), line);
        if (pending.length >= OUT_CHARS) {
          await write(options.out, pending);
          pending = '';
        }
      }
      splitter.end(line);
    }
    pipeline.flush();
  } finally {
    // Also when the input fails midway (a truncated .gz): what was attributed is still written.
    if (pending.length > 0) await write(options.out, pending);
  }
  const s = pipeline.stats;
  options.log(
    `${s.lines} lines, ${s.records} records, ${s.events} events, ${s.badLines} bad lines, ` +
      `${s.lateRecords} late records, ${s.execs} execs (${s.failedExecs} failed not shown), ${s.alerts} alerts`,
  );
  return s;
}

/** Waits for the stream to drain when it asks to, so a slow reader bounds our memory. */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
