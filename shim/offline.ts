// Offline mode (DESIGN.md "Shim offline mode", also the forensic tool for archived logs): audit
// lines in, one JSON line per exec plus alert lines out. `attributeLines` is the pure entry point
// the benchmark and tests call; `attributeStream` adds file/stdin/gzip reading and JSON writing.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { AttributedExec, AttributionAlert } from '../common/wire.ts';
import type { AttributedOutput, ExpectedExec } from './attribution.ts';
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
  /** a path, or '-' for stdin */
  input: string;
  stdin?: NodeJS.ReadableStream;
  out: Writable;
  /** progress and summary lines */
  log: (line: string) => void;
  /** bad lines reported individually before they are only counted */
  reportBadLines?: number;
}

export async function attributeStream(options: StreamOptions): Promise<PipelineStats> {
  const raw = options.input === '-' ? (options.stdin ?? process.stdin) : createReadStream(options.input);
  const source = await maybeGunzip(Readable.from(raw as AsyncIterable<Buffer>));
  const reportBad = options.reportBadLines ?? 5;
  let reported = 0;
  const pipeline = new Pipeline({
    proc: null,
    emit: (o) => options.out.write(`${JSON.stringify(o.exec ?? o.alert)}\n`),
    onBadLine: (lineNo, error) => {
      if (reported++ < reportBad) options.log(`line ${lineNo}: ${error.message} (${error.code}); skipped`);
    },
  });
  // crlfDelay handles \r\n; readline splits on \n only, never on the ENRICHED 0x1d byte.
  const rl = createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) pipeline.line(line);
  pipeline.flush();
  const s = pipeline.stats;
  options.log(
    `${s.lines} lines, ${s.records} records, ${s.events} events, ${s.badLines} bad lines, ` +
      `${s.lateRecords} late records, ${s.execs} execs (${s.failedExecs} failed not shown), ${s.alerts} alerts`,
  );
  return s;
}

/** Peeks at the first two bytes: gzip'd archives (audit.log.3.gz) are read transparently. */
async function maybeGunzip(stream: Readable): Promise<Readable> {
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return Readable.from([]);
  const head = first.value as Buffer;
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value as Buffer;
  }
  const all = Readable.from(rest());
  return head[0] === 0x1f && head[1] === 0x8b ? all.pipe(createGunzip()) : all;
}
