// The node daemon: audit.log tailer → pipeline (with live /proc) → shipper. Logs are JSON lines on
// stderr. At start it reports whether the loaded audit rules are enough and the kernel's lost count.

import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../common/errors.ts';
import { describeMissing } from '../common/missing-range.ts';
import type { ShimEvent } from '../common/wire.ts';
import type { AttributedOutput } from './attribution.ts';
import { auditdState, backlogLimit, lostCount, MIN_BACKLOG, readStat } from './audit-status.ts';
import type { RunConfig } from './config.ts';
import { type Gap, GapTracker } from './missing-range.ts';
import { Pipeline } from './pipeline.ts';
import type { SavedProcess } from './process-table.ts';
import { ProcFs } from './procfs.ts';
import { Shipper } from './shipper.ts';
import { EventStarts, type LinePosition, readCheckpoint, startCheckpoint } from './source/checkpoint.ts';
import { FileTailer } from './source/file-tailer.ts';

const run = promisify(execFile);

export function log(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

/** What `auditctl -l` says about the rules the shim needs (pure, for tests). */
export function checkRules(listing: string): {
  execB64: boolean;
  execB32: boolean;
  fork: boolean;
  enough: boolean;
} {
  const lines = listing
    .split('\n')
    .filter((l) => l.startsWith('-a always,exit') || l.startsWith('-a exit,always'));
  const has = (arch: string, sys: RegExp) => lines.some((l) => l.includes(`arch=${arch}`) && sys.test(l));
  const execB64 = has('b64', /-S [^ ]*\bexecve\b/);
  const execB32 = has('b32', /-S [^ ]*\bexecve\b/);
  const fork = has('b64', /-S [^ ]*\b(clone|fork)\b/);
  return { execB64, execB32, fork, enough: execB64 && execB32 };
}

async function reportAuditState(): Promise<void> {
  try {
    const rules = checkRules((await run('auditctl', ['-l'])).stdout);
    log({
      level: rules.enough && rules.fork ? 'info' : 'warn',
      msg: 'audit rules',
      ...rules,
      ...(rules.enough && rules.fork ? {} : { hint: rulesHint(rules) }),
    });
    const status = (await run('auditctl', ['-s'])).stdout;
    const auditd = auditdState(status, readStat);
    const backlog = backlogLimit(status);
    const hints = [
      ...(auditd === 'running'
        ? []
        : ['auditd is not running: the kernel is not writing audit.log, so no command can be attributed']),
      ...(backlog !== null && backlog < MIN_BACKLOG
        ? [`the kernel's backlog_limit is ${backlog}: an exec burst loses records; set -b 8192`]
        : []),
    ];
    log({
      level: hints.length ? 'warn' : 'info',
      msg: 'audit status',
      auditd,
      lost: lostCount(status),
      backlogLimit: backlog,
      ...(hints.length ? { hint: hints.join('; ') } : {}),
    });
  } catch (err) {
    log({ level: 'warn', msg: 'cannot run auditctl; rules not checked', err: String(err) });
  }
}

/** What to tell an operator whose loaded rules fall short (pure, for tests). */
export function rulesHint(rules: ReturnType<typeof checkRules>): string {
  const load = 'load deploy/auditd/audited-exec.rules';
  if (!rules.enough)
    return `no execve rule for ${rules.execB64 ? 'b32' : 'b64'}: commands go unseen; ${load}`;
  return (
    'no fork/clone rule: a child whose shell exits before its first exec (nohup, &, daemons) cannot be ' +
    `linked to its session, and re-parenting cannot be told from pid reuse (docs/attribution.md); ${load}`
  );
}

export function toShimEvent(out: AttributedOutput, node: string, bootId: string): Omit<ShimEvent, 'seq'> {
  return {
    node,
    bootId,
    auditSerial: out.event.serial,
    auditTime: out.event.time,
    containerId: out.containerId,
    kind: out.kind,
    ...(out.exec ? { exec: out.exec } : {}),
    ...(out.alert ? { alert: out.alert } : {}),
    raw: out.event.raw,
  };
}

/** What the recorder gets: every exec of a session, every alert, and container execs that belong to
 *  no session (someone ran a command around the recorder). Plain host execs stay on the node. */
export function worthShipping(out: AttributedOutput): boolean {
  return out.kind === 'alert' || out.exec?.session != null || out.containerId !== null;
}

const SHIP_DELAY_MS = 200;
const SHIP_BATCH = 500;
const SPOOL_RETRY_MS = 1000;

export async function runDaemon(config: RunConfig): Promise<void> {
  mkdirSync(config.stateDir, { recursive: true });
  await reportAuditState();
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const checkpointFile = join(config.stateDir, 'checkpoint.json');
  let pipeline: Pipeline | null = null;
  const shipper = new Shipper({
    url: config.serverUrl,
    tokenFile: config.tokenFile,
    spoolDir: join(config.stateDir, 'spool'),
    ca: config.caFile ? readFileSync(config.caFile) : null,
    log,
    ...(config.maxBackoffMs ? { maxBackoffMs: config.maxBackoffMs } : {}),
    onHint: (h) =>
      pipeline?.expectExec({ session: h.session, containerId: h.containerId, timeMs: Date.parse(h.time) }),
  });
  let batch: Omit<ShimEvent, 'seq'>[] = [];
  let idleSince: number | null = null;
  let caughtUp = false;
  pipeline = new Pipeline({
    proc: new ProcFs(),
    // Swept more often than offline: the table's session processes go into every checkpoint, and a
    // storm's dead ones would otherwise make it megabytes a second (the sweep itself is one listing
    // of /proc).
    sweepEvery: 1000,
    emit: (out) => {
      if (worthShipping(out)) batch.push(toShimEvent(out, config.node, bootId));
    },
    onBadLine: (lineNo, err) => log({ level: 'warn', msg: 'bad audit line', lineNo, code: err.code }),
  });
  // A first start begins at the log's end, written down at once: a shim killed before its first
  // periodic checkpoint must resume here on restart, not at the end of a later log.
  const saved =
    (await readCheckpoint(checkpointFile)) ?? (await startCheckpoint(checkpointFile, config.auditLog));
  if (Array.isArray(saved?.processes)) pipeline.restore(saved.processes as SavedProcess[]);
  // Lines the tailer could not read are reported by serial range: shipped as an events-missing
  // alert (the recorder puts it in the evidence of every session on the node it overlaps), logged,
  // and counted.
  const gaps = new GapTracker(typeof saved?.lastRecord === 'string' ? saved.lastRecord : null);
  const missed = { gaps: 0, serials: 0 };
  const reportGap = (gap: Gap) => {
    missed.gaps++;
    missed.serials += gap.range.toSerial - (gap.range.fromSerial ?? gap.range.toSerial) + 1;
    log({ level: 'error', msg: describeMissing(gap.range), ...gap.range });
    batch.push({
      node: config.node,
      bootId,
      auditSerial: gap.auditSerial,
      auditTime: gap.auditTime,
      containerId: null,
      kind: 'alert',
      alert: gap.alert,
      raw: gap.raw,
    });
  };
  const tailer = new FileTailer({
    path: config.auditLog,
    checkpointFile,
    fromStart: false,
    log,
    // Caught up. auditd writes an event's records in several writes, so only a log quiet for a
    // whole second means the open events are complete (flushing at once would split them).
    onIdle: () => {
      if (!caughtUp) {
        caughtUp = true;
        log({ level: 'info', msg: 'tailing', auditLog: config.auditLog });
      }
      const now = Date.now();
      idleSince ??= now;
      if (now - idleSince >= 1000) {
        pipeline.flush();
        idleSince = null;
      }
      shipSoon();
    },
  });
  // Each enqueue is an fsync'd spool append and a WebSocket message (and, from the server, an ack):
  // during a storm the log goes idle between auditd's writes hundreds of times a second, so idle
  // ships wait SHIP_DELAY_MS to gather what follows.
  let shipTimer: NodeJS.Timeout | null = null;
  // A spool that cannot be written (full disk) keeps the events here and holds the tailer back:
  // the audit log itself is the buffer meanwhile, and the checkpoint never passes them.
  let spoolRefused: string | null = null;
  /** False while the spool refuses; the batch is kept for the next try. */
  const ship = (): boolean => {
    if (shipTimer !== null) clearTimeout(shipTimer);
    shipTimer = null;
    if (batch.length === 0) return true;
    try {
      shipper.enqueue(batch);
    } catch (err) {
      const why = errorMessage(err);
      if (spoolRefused === null)
        log({ level: 'error', msg: 'spool refused events', err: why, held: batch.length });
      spoolRefused = why;
      return false;
    }
    if (spoolRefused !== null) log({ level: 'info', msg: 'spool writable again', shipped: batch.length });
    spoolRefused = null;
    batch = [];
    return true;
  };
  const shipSoon = () => {
    if (batch.length > 0 && shipTimer === null) shipTimer = setTimeout(ship, SHIP_DELAY_MS);
  };
  const starts = new EventStarts();
  // The checkpoint never passes an event that is not spooled yet: it points at the first line of
  // the oldest event still being assembled (a restart reads those lines again; the server stores
  // idempotently), and carries the processes that belong to sessions.
  let lastStamp = '';
  let checkpointFailing = false;
  /** the main loop holds lines of its batch while the spool refuses */
  let waiting = false;
  let stopping = false;
  const checkpoint = async () => {
    // Events not in the spool yet are not behind the checkpoint either (a restart reads them again),
    // nor are lines the main loop has not handled while it waits for the spool mid-batch.
    if (waiting || !ship()) return;
    const oldest = starts.oldestOpen(new Set(pipeline.openSerials()));
    const at: LinePosition = oldest ?? tailer.position;
    // Unchanged since the last one (a quiet log): no rewrite.
    const stamp = `${at.inode}:${at.offset}:${pipeline.stats.events}:${pipeline.stats.processes}`;
    if (stamp === lastStamp) return;
    try {
      await tailer.saveCheckpoint(at, { processes: pipeline.snapshot(), lastRecord: gaps.lastLine });
      lastStamp = stamp;
      checkpointFailing = false;
    } catch (err) {
      // The previous checkpoint stays: a restart reads more again (stored once by the recorder).
      if (!checkpointFailing) log({ level: 'warn', msg: 'checkpoint not written', err: errorMessage(err) });
      checkpointFailing = true;
    }
  };
  /** Ships, or while the spool refuses, tries again each second without reading on. */
  const shipOrWait = async (): Promise<void> => {
    if (ship()) return;
    waiting = true;
    try {
      while (!ship() && !stopping) await new Promise((r) => setTimeout(r, SPOOL_RETRY_MS));
    } finally {
      waiting = false;
    }
  };
  shipper.start();
  const timer = setInterval(() => void checkpoint(), 1000);
  const stats = setInterval(
    () =>
      log({
        level: 'info',
        msg: 'stats',
        ...pipeline.stats,
        pending: shipper.pending,
        logGaps: missed.gaps,
        missingSerials: missed.serials,
      }),
    60_000,
  );
  const stop = () => {
    stopping = true;
    tailer.close();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log({
    level: 'info',
    msg: 'shim started',
    node: config.node,
    auditLog: config.auditLog,
    server: config.serverUrl,
  });
  let lastSerial = -1;
  for await (const { inode, lines, starts: offsets, missingBefore } of tailer.batches()) {
    idleSince = null;
    if (missingBefore !== undefined) gaps.missing(missingBefore);
    for (let i = 0; i < lines.length; i++) {
      const serial = pipeline.line(lines[i]!);
      const gap = gaps.line(lines[i]!, serial);
      if (gap !== null) reportGap(gap);
      // An event's records mostly come one after another: only a new serial needs the map.
      if (serial >= 0 && serial !== lastSerial) starts.add(serial, inode, offsets[i]!);
      lastSerial = serial;
      if (batch.length >= SHIP_BATCH) await shipOrWait();
    }
    if (spoolRefused !== null) await shipOrWait();
  }
  pipeline.flush();
  clearInterval(timer);
  clearInterval(stats);
  starts.clear();
  await checkpoint();
  shipper.stop();
  log({ level: 'info', msg: 'shim stopped', ...pipeline.stats });
}
