// A large audit log in the real format: a captured fixture repeated with fresh serials and
// advancing timestamps (and pids shifted per copy, so each copy is a new process tree rather than
// pid reuse), written to a file for the offline benchmark.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

const STAMP = /msg=audit\((\d+)\.(\d{3}):(\d+)\)/;
const PIDS = /\b(pid|ppid)=(\d+)/g;

/** Rewrites one record line for copy number `copy`. Pure. */
export function shiftLine(
  line: string,
  o: { copy: number; serialBase: number; serialSpan: number; secondsPerCopy: number },
): string {
  return line
    .replace(STAMP, (_m, sec: string, milli: string, serial: string) => {
      const s = Number(sec) + o.copy * o.secondsPerCopy;
      const n = Number(serial) - o.serialBase + 1 + o.copy * o.serialSpan;
      return `msg=audit(${s}.${milli}:${n})`;
    })
    .replace(
      PIDS,
      (_m, key: string, pid: string) =>
        `${key}=${pid === '1' || pid === '0' ? pid : Number(pid) + (o.copy % 50) * 100_000}`,
    );
}

export async function generateAuditLog(o: {
  fixture: string;
  out: string;
  minRecords: number;
}): Promise<{ records: number; bytes: number }> {
  const lines = (await readFile(o.fixture, 'utf8')).split('\n').filter((l) => l.startsWith('type='));
  const serials = lines.map((l) => Number(STAMP.exec(l)?.[3] ?? 0)).filter((n) => n > 0);
  const stamps = lines.map((l) => Number(STAMP.exec(l)?.[1] ?? 0)).filter((n) => n > 0);
  const serialBase = Math.min(...serials);
  const serialSpan = Math.max(...serials) - serialBase + 1;
  const secondsPerCopy = Math.max(...stamps) - Math.min(...stamps) + 2;
  const out = createWriteStream(o.out);
  let records = 0;
  let bytes = 0;
  for (let copy = 0; records < o.minRecords; copy++) {
    const chunk = `${lines.map((l) => shiftLine(l, { copy, serialBase, serialSpan, secondsPerCopy })).join('\n')}\n`;
    records += lines.length;
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return { records, bytes };
}
