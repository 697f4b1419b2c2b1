// The recorder's own work per output byte, on the relay's thread: RecordingWriter.outputFrames
// (encode to asciicast JSON, write(2), hand the hash to its thread) over 64 KiB stdout frames of
// three kinds of output, against the least any recorder must do on that thread: write(2) of the
// same raw bytes to a file. CPU of the calling thread (process.threadCpuUsage), so a loaded
// machine slows both sides but does not charge either with other processes' time; the process's
// other threads (the hash thread, V8's GC helpers) are reported beside it.
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordingWriter, recordingPath, reserveRecording } from '../server/recording/writer.ts';
import type { BenchResult } from './result.ts';
import { round } from './stats.ts';

const FRAME = 64 * 1024;
/** What a terminal prints: no escapes at all, `ls -l` lines, coloured build output. */
const KINDS = {
  plain: 'x',
  lines: 'drwxr-xr-x  2 root root 4096 Dec  3 15:00 some-directory-name\r\n',
  coloured: '\x1b[1;32mok\x1b[0m  build/step-name.o\r\n',
} as const;

function frames(text: string): Buffer[] {
  const body = text.repeat(Math.ceil(FRAME / text.length)).slice(0, FRAME - 1);
  return Array.from({ length: 16 }, () => Buffer.from(`\x01${body}`, 'latin1'));
}

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
/** Lets the turn end every 16 frames, as a relay's turns do (the hash thread is told between). */
const turn = () => new Promise<void>((r) => setImmediate(r));

async function recorded(
  dir: string,
  input: Buffer[],
  count: number,
): Promise<{ thread: number; process: number }> {
  const id = crypto.randomUUID();
  await reserveRecording(dir, id);
  const w = await RecordingWriter.open({
    path: recordingPath(dir, id),
    startedAt: new Date(),
    recordInput: false,
  });
  const p0 = process.cpuUsage();
  const t0 = process.threadCpuUsage();
  for (let i = 0; i < count; i++) {
    w.outputFrames([input[i % input.length]!]);
    if (i % 16 === 15) await turn();
  }
  const thread = cpuSeconds(process.threadCpuUsage(t0));
  await w.close();
  return { thread, process: cpuSeconds(process.cpuUsage(p0)) };
}

async function rawWrite(dir: string, input: Buffer[], count: number): Promise<number> {
  const fd = openSync(join(dir, `${crypto.randomUUID()}.raw`), 'a');
  const t0 = process.threadCpuUsage();
  for (let i = 0; i < count; i++) {
    const f = input[i % input.length]!;
    writeSync(fd, f, 1, f.length - 1);
    if (i % 16 === 15) await turn();
  }
  const thread = cpuSeconds(process.threadCpuUsage(t0));
  closeSync(fd);
  return thread;
}

export async function recordingCostBench(o: { bytes: number }): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'audited-exec-recording-cost-'));
  const count = Math.max(16, Math.round(o.bytes / FRAME));
  const gib = (count * (FRAME - 1)) / 2 ** 30;
  const figures: Record<string, number> = {};
  try {
    for (const [kind, text] of Object.entries(KINDS)) {
      const input = frames(text);
      // Interleaved, twice each, best kept: drift on the machine hits both sides alike.
      const rec = { thread: Number.POSITIVE_INFINITY, process: Number.POSITIVE_INFINITY };
      let raw = Number.POSITIVE_INFINITY;
      for (let r = 0; r < 2; r++) {
        const a = await recorded(dir, input, count);
        rec.thread = Math.min(rec.thread, a.thread);
        rec.process = Math.min(rec.process, a.process);
        raw = Math.min(raw, await rawWrite(dir, input, count));
        await rm(dir, { recursive: true, force: true });
      }
      figures[`${kind}: relay thread CPU s/GiB`] = round(rec.thread / gib, 2);
      figures[`${kind}: raw write(2) CPU s/GiB`] = round(raw / gib, 2);
      figures[`${kind}: ratio to raw write`] = round(rec.thread / raw);
      figures[`${kind}: other threads CPU s/GiB`] = round(Math.max(0, rec.process - rec.thread) / gib, 2);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return {
    name: 'recording cost',
    method: `RecordingWriter.outputFrames over ${round(gib * 1024, 0)} MiB of 64 KiB stdout frames per kind (plain: no byte to escape; lines: ls -l output; coloured: build output with colour sequences), CPU of the relay's thread vs write(2) of the same raw bytes (the least a recorder writing before it forwards must do there); best of two interleaved runs; other threads: the process's CPU minus the relay thread's (the hash thread, and V8's GC helpers)`,
    figures,
  };
}
