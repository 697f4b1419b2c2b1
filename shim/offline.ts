// Offline mode (docs/attribution.md, live and offline; also the forensic tool for archived logs): audit
// lines in, one JSON line per exec plus alert lines out. `attributeLines` is the pure entry point
// the benchmark and tests call; `attributeStream` adds file/stdin/gzip reading and JSON writing, with
// the lines cut and parsed on this thread or by parser workers (docs/attribution.md, offline).

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AuditedExecError } from '../common/errors.ts';
import type { AttributedExec, AttributionAlert } from '../common/wire.ts';
import type { AttributedOutput, ExpectedExec } from './attribution.ts';
import { LineSplitter } from './line-splitter.ts';
import { inputChunks, jobsOf, plainFileSize } from './offline-input.ts';
import type { ParseJob } from './parse-job.ts';
import { ParsePool } from './parse-pool.ts';
import { type BatchLine, readBatch, releaseBatch } from './parsed-batch.ts';
import type { AuditLineError } from './parser.ts';
import { Pipeline, type PipelineStats } from './pipeline.ts';
import type { Progress } from './progress.ts';

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
  /** parser worker threads; 0 parses on this thread (the single-threaded path) */
  workers?: number;
  /** bytes per parse job (JOB_BYTES); smaller cuts a small log into many jobs */
  jobBytes?: number;
  /** called as the input is read: bytes so far, and the total when every input is a plain file */
  onProgress?: (p: Progress) => void;
}

// Output is written in batches of about this many characters: few writes, each string still small
// enough for V8's young generation (< 128 KiB).
const OUT_CHARS = 96 * 1024;
// A file with this many lines and not one record is not an audit log: stop instead of reading on.
const NOT_A_LOG_LINES = 1000;

export async function attributeStream(options: StreamOptions): Promise<PipelineStats> {
  const inputs = typeof options.input === 'string' ? [options.input] : options.input;
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
  const totalBytes = totalSize(inputs);
  let bytes = 0;
  /** After each piece of input: output written when enough waits, the run stopped on a non-log. */
  const step = async (n: number): Promise<void> => {
    bytes += n;
    if (pending.length >= OUT_CHARS) {
      await write(options.out, pending);
      pending = '';
    }
    const s = pipeline.stats;
    if (s.records === 0 && s.badLines >= NOT_A_LOG_LINES) throw notAnAuditLog(inputs, s);
    options.onProgress?.({ bytes, totalBytes, stats: s });
  };
  const workers = options.workers ?? 0;
  const pool = workers > 0 ? new ParsePool({ workers }) : null;
  try {
    if (pool === null) await readHere(pipeline, inputs, options.stdin ?? process.stdin, step);
    else
      await readInWorkers(
        pipeline,
        pool,
        jobsOf(inputs, options.stdin ?? process.stdin, options.jobBytes),
        step,
      );
    pipeline.flush();
  } finally {
    await pool?.close();
    // Also when the input fails midway (a truncated .gz): what was attributed is still written.
    if (pending.length > 0) await write(options.out, pending);
  }
  const s = pipeline.stats;
  options.log(
    `${s.lines} lines, ${s.records} records, ${s.events} events, ${s.badLines} bad lines, ` +
      `${s.lateRecords} late records, ${s.execs} execs (${s.failedExecs} failed not shown), ${s.alerts} alerts`,
  );
  if (s.forgottenSessionProcesses > 0)
    options.log(
      `warning: ${s.forgottenSessionProcesses} processes in sessions were dropped past the process table's bound and forgotten; a later child of one of them is shown with no session (docs/attribution.md, "Offline on a large archive")`,
    );
  if (s.records === 0 && s.badLines > 0) throw notAnAuditLog(inputs, s);
  return s;
}

/** The single-threaded path: lines are cut and parsed here, a chunk at a time (no event or promise
 *  per line). Like readline, bytes of an incomplete UTF-8 sequence at the very end of a file are
 *  dropped, and a file's unterminated last line ends with the file. */
async function readHere(
  pipeline: Pipeline,
  inputs: readonly string[],
  stdin: NodeJS.ReadableStream,
  step: (bytes: number) => Promise<void>,
): Promise<void> {
  const line = (text: string): void => {
    pipeline.line(text);
  };
  for (const input of inputs) {
    const decoder = new StringDecoder('utf8');
    const splitter = new LineSplitter();
    for await (const chunk of inputChunks(input, stdin)) {
      splitter.push(decoder.write(chunk), line);
      await step(chunk.length);
    }
    splitter.end(line);
  }
}

/** Parser workers cut and parse; this thread assembles and attributes their batches in order. */
async function readInWorkers(
  pipeline: Pipeline,
  pool: ParsePool,
  jobs: AsyncIterable<ParseJob>,
  step: (bytes: number) => Promise<void>,
): Promise<void> {
  const each = (l: BatchLine): void => {
    if ('record' in l) pipeline.parsed(l.record, l.record.line);
    else pipeline.parsed(l.error, l.text);
  };
  for await (const { batch, bytes } of pool.batches(jobs)) {
    readBatch(batch, each);
    // Freed now, not when a major GC finds the batch: the records hold copies, never views.
    releaseBatch(batch);
    await step(bytes);
  }
}

function totalSize(inputs: readonly string[]): number | null {
  let total = 0;
  for (const input of inputs) {
    const size = input === '-' ? null : plainFileSize(input);
    if (size === null) return null;
    total += size;
  }
  return total;
}

function notAnAuditLog(inputs: readonly string[], s: PipelineStats): AuditedExecError {
  return new AuditedExecError(
    'SHIM_NOT_AUDIT_LOG',
    `${inputs.map((i) => (i === '-' ? 'stdin' : i)).join(' ')}: none of the first ${s.badLines} lines is an audit record; give an auditd log (plain, ENRICHED or gzip).`,
  );
}

/** Waits for the stream to drain when it asks to, so a slow reader bounds our memory. */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
