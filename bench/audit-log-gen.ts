// A large audit log in the real format: a captured fixture repeated with fresh serials and
// advancing timestamps (and pids shifted per copy, so each copy is a new process tree rather than
// pid reuse), written to a file for the offline benchmark. Pids either come round every 50 copies
// (the table meets pid reuse at once) or, as on a real node, advance copy by copy and come round
// only at pid_max (the table meets every process once: its size is bounded by its own rules).
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

const STAMP = /msg=audit\((\d+)\.(\d{3}):(\d+)\)/;
const PIDS = /\b(pid|ppid)=(\d+)/g;
/** A fork's exit= is the child's pid: a host pid for a host caller (shifted like every pid), a
 *  pid of the caller's namespace for a container's (small, kept). */
const FORK_EXIT = /\b(syscall=(?:56|57|58|435|clone|fork|vfork|clone3)\b.*?\bexit=)(\d+)/;
const HOST_PID_FLOOR = 1000;
/** cycle50: pids come round every 50 copies; advance: by ADVANCE a copy, round at pid_max */
export type PidShape = 'cycle50' | 'advance';
const ADVANCE = 100;
const PID_MAX = 4_194_304 - 200_000;

/** Rewrites one record line for copy number `copy`: serials and times move on, pids move by
 *  copy % 50 blocks, so after 50 copies the pids come round again (the table sees them reused). Pure. */
export function shiftLine(
  line: string,
  o: { copy: number; serialBase: number; serialSpan: number; secondsPerCopy: number; pids?: PidShape },
): string {
  const by = o.pids === 'advance' ? (o.copy * ADVANCE) % PID_MAX : (o.copy % 50) * 100_000;
  const shift = (pid: string) => (pid === '1' || pid === '0' ? pid : String(Number(pid) + by));
  return line
    .replace(STAMP, (_m, sec: string, milli: string, serial: string) => {
      const s = Number(sec) + o.copy * o.secondsPerCopy;
      const n = Number(serial) - o.serialBase + 1 + o.copy * o.serialSpan;
      return `msg=audit(${s}.${milli}:${n})`;
    })
    .replace(PIDS, (_m, key: string, pid: string) => `${key}=${shift(pid)}`)
    .replace(FORK_EXIT, (_m, head: string, pid: string) =>
      Number(pid) >= HOST_PID_FLOOR ? `${head}${shift(pid)}` : `${head}${pid}`,
    );
}

/** The copies of `fixture` as lines in memory, with what shiftLine needs to tell copies apart. */
export function repeatedLines(
  fixtureLines: readonly string[],
  minRecords: number,
): { lines: string[]; copies: number; serialSpan: number } {
  const lines = fixtureLines.filter((l) => l.startsWith('type='));
  const serials = lines.map((l) => Number(STAMP.exec(l)?.[3] ?? 0)).filter((n) => n > 0);
  const stamps = lines.map((l) => Number(STAMP.exec(l)?.[1] ?? 0)).filter((n) => n > 0);
  const serialBase = Math.min(...serials);
  const serialSpan = Math.max(...serials) - serialBase + 1;
  const secondsPerCopy = Math.max(...stamps) - Math.min(...stamps) + 2;
  const out: string[] = [];
  let copies = 0;
  for (; out.length < minRecords; copies++) {
    for (const l of lines) out.push(shiftLine(l, { copy: copies, serialBase, serialSpan, secondsPerCopy }));
  }
  return { lines: out, copies, serialSpan };
}

export async function generateAuditLog(o: {
  fixture: string;
  out: string;
  minRecords: number;
  pids?: PidShape;
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
    const chunk = `${lines.map((l) => shiftLine(l, { copy, serialBase, serialSpan, secondsPerCopy, pids: o.pids })).join('\n')}\n`;
    records += lines.length;
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return { records, bytes };
}
