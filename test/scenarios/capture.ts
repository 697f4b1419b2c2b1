// Runs a shape (shapes.ts) on real parts and captures its audit log: the shim's rules loaded under
// a key of this run (execve only, or execve + fork as deploy/auditd ships them), a runc container
// from the sandbox's bash+coreutils image, the shape's steps as `runc exec`s, and every audit.log
// line written meanwhile handed to `onLine` as it arrives (a live pipeline reads /proc while the
// processes still run). The end is proven, not waited for: every `done` file exists, then an
// `auditctl -m` marker is read back from audit.log, so every earlier record has been read too.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventAssembler } from '../../shim/assembler.ts';
import { interpretEvent } from '../../shim/exec-event.ts';
import { parseAuditLine } from '../../shim/parser.ts';
import { RuncRuntime } from '../sandbox/runc.ts';
import type { Container, ContainerSpec } from '../sandbox/runtime.ts';
import { SESSION_IDS, type Shape, type Step } from './shapes.ts';

export type RuleSet = 'execve' | 'execve+fork';
export const RULE_SETS: RuleSet[] = ['execve', 'execve+fork'];

const AUDIT_LOG = '/var/log/audit/audit.log';
const RULES_FILE = join(import.meta.dirname, '../../deploy/auditd/audited-exec.rules');

/**
 * Loads the deploy rules (all, or only the execve ones) under `key`; returns their removal. The
 * keyless `never` rules (threads are not forks) are the same for every loader: one already loaded
 * (by the shim under test, another capture, or a run that was killed) is used as it is, and left.
 */
export function loadRules(rules: RuleSet, key: string): () => void {
  const lines = readFileSync(RULES_FILE, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('-a '))
    .filter((l) => rules === 'execve+fork' || /-S execve/.test(l));
  const ownNever: string[] = [];
  const remove = () => {
    for (const k of [key, `${key}-fork`]) {
      try {
        execFileSync('auditctl', ['-D', '-k', k], { stdio: 'pipe' });
      } catch {}
    }
    // `never` rules carry no key: delete the ones this call added, by their text.
    for (const l of ownNever) {
      try {
        execFileSync('auditctl', ['-d', ...l.slice(3).split(' ')], { stdio: 'pipe' });
      } catch {}
    }
  };
  try {
    for (const l of lines) {
      const own = l.includes('key=audited-exec-fork') ? `${key}-fork` : key;
      const rule = l.includes(' -F key=') ? l.replace(/ -F key=\S+/, ` -F key=${own}`) : l;
      if (!rule.startsWith('-a never')) execFileSync('auditctl', rule.split(' '), { stdio: 'pipe' });
      else if (addRule(rule)) ownNever.push(rule);
    }
  } catch (err) {
    remove();
    throw err;
  }
  return remove;
}

/** Adds a rule; false when the kernel has it already ("Rule exists"). */
function addRule(rule: string): boolean {
  try {
    execFileSync('auditctl', rule.split(' '), { stdio: 'pipe' });
    return true;
  } catch (err) {
    if (/Rule exists/.test(String((err as { stderr?: unknown }).stderr ?? ''))) return false;
    throw err;
  }
}

/** Follows audit.log from its current end across rotations, handing whole lines to onLine. */
class LogFollower {
  #fd: number;
  #ino: number;
  #pos: number;
  #rest = '';
  readonly #buf = Buffer.allocUnsafe(1 << 16);
  readonly #onLine: (line: string) => void;
  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
    this.#fd = openSync(AUDIT_LOG, 'r');
    const st = statSync(AUDIT_LOG);
    this.#ino = st.ino;
    this.#pos = st.size;
  }
  /** Reads what is there; on rotation, the old file to its end, then the new one from 0. */
  poll(): void {
    this.#drain();
    let now: number;
    try {
      now = statSync(AUDIT_LOG).ino;
    } catch {
      return;
    }
    if (now === this.#ino) return;
    closeSync(this.#fd);
    this.#fd = openSync(AUDIT_LOG, 'r');
    this.#ino = now;
    this.#pos = 0;
    this.#drain();
  }
  #drain(): void {
    for (;;) {
      const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, this.#pos);
      if (n <= 0) return;
      this.#pos += n;
      const text = this.#rest + this.#buf.toString('utf8', 0, n);
      const lines = text.split('\n');
      this.#rest = lines.pop()!;
      for (const l of lines) this.#onLine(l);
    }
  }
  close(): void {
    closeSync(this.#fd);
  }
}

export interface CaptureOptions {
  /** every audit.log line written during the capture, as it is read */
  onLine?: (line: string) => void;
  log?: (msg: string) => void;
  timeoutMs?: number;
}

export interface Capture {
  /** the scenario's own events (this run's key, below the runc processes this process started) */
  lines: string[];
  /** host pid of the container's init */
  initPid: number;
}

export async function captureShape(shape: Shape, rules: RuleSet, o: CaptureOptions = {}): Promise<Capture> {
  const key = `ae-scn-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `ae-scenario-${shape.name}-`));
  const all: string[] = [];
  const follower = new LogFollower((l) => {
    all.push(l);
    o.onLine?.(l);
  });
  const timer = setInterval(() => follower.poll(), 5);
  // Both rule sets log the same execve records; execve-only is the same log without its fork
  // events (cutToScenario), which also keeps the whole process tree in view for the cut.
  const removeRules = loadRules('execve+fork', key);
  const runtime = new RuncRuntime({ dir });
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let initPid = 0;
  try {
    const container = await runtime.start(containerSpec(shape));
    initPid = container.pid;
    const rootfs = join(dir, 'containers', container.id, 'rootfs');
    const concurrent: Promise<void>[] = [];
    for (const step of shape.steps) {
      const running = runStep(container, step);
      const reuse = step.reusePidOf ? forcePidReuse(step.reusePidOf, initPid, deadline) : null;
      if (step.concurrent) concurrent.push(running);
      else await running;
      await reuse;
    }
    await Promise.all(concurrent);
    for (const f of shape.done)
      await until(() => existsSync(join(rootfs, 'tmp', f)), `${shape.name}: /tmp/${f}`, deadline);
    // Everything the kernel logged before this message is in audit.log before it.
    const nonce = `ae-scenario-end-${key}`;
    execFileSync('auditctl', ['-m', nonce], { stdio: 'pipe' });
    await until(
      () => all.some((l) => l.includes(nonce)),
      `${shape.name}: the end marker in audit.log`,
      deadline,
    );
    if (!execFileSync('auditctl', ['-l'], { encoding: 'utf8' }).includes(`key=${key}`)) {
      throw new RulesRemoved(
        `${shape.name}: this capture's audit rules were removed meanwhile (auditctl -D elsewhere?)`,
      );
    }
    await container.destroy();
  } finally {
    removeRules();
    clearInterval(timer);
    follower.poll();
    follower.close();
    await runtime.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  return { lines: cutToScenario(all, rules, process.pid), initPid };
}

/** The machine spoiled the capture (not the shim): capture again. */
export class CaptureAgain extends Error {}

/** Someone else deleted the capture's rules (another test's `auditctl -D`): capture again. */
export class RulesRemoved extends CaptureAgain {}

/** Another process on the machine took the pid the scenario hands back, and keeps it. */
export class PidTaken extends CaptureAgain {}

/** captureShape, again while another audit user removed its rules (at most `tries` times). */
export async function captureShapeRetrying(
  shape: Shape,
  rules: RuleSet,
  o: CaptureOptions & { tries?: number } = {},
): Promise<Capture> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await captureShape(shape, rules, o);
    } catch (err) {
      if (!(err instanceof CaptureAgain) || attempt >= (o.tries ?? 3)) throw err;
      o.log?.(`${err.message}; capturing again`);
    }
  }
}

function containerSpec(shape: Shape): ContainerSpec {
  return {
    id: randomBytes(32).toString('hex'),
    podName: `scenario-${shape.name}`,
    namespace: 'default',
    image: 'sandbox/bash',
    command: shape.init,
    env: {},
    tty: false,
    stdin: false,
    hostPID: shape.hostPID ?? false,
    privileged: false,
    mounts: [],
  };
}

async function runStep(container: Container, step: Step): Promise<void> {
  const shell = ['bash', '-c', step.script];
  const command = step.session
    ? ['env', `AUDITED_EXEC_SESSION=${SESSION_IDS[step.session]}`, ...shell]
    : shell;
  const proc = await container.exec({ command, tty: step.tty ?? false, stdin: false });
  proc.endStdin();
  const code = await proc.exited;
  if (code !== 0) throw new Error(`step ${JSON.stringify(step.script)} exited ${code}`);
}

/** How long the init may take to get the pid back before the capture is made again. */
const REUSE_MS = 5000;

/**
 * A real pid reuse: waits for the process whose command line is `cmdline` to exit, then makes the
 * kernel hand its pid out again (ns_last_pid = pid - 1, as CRIU restores pids) until a child of
 * the container's init holds it. Other forks on the machine may take it first: then it tries again.
 */
async function forcePidReuse(cmdline: string, initPid: number, deadline: number): Promise<void> {
  let pid = 0;
  await until(
    () => {
      pid = findByCmdline(cmdline);
      return pid > 0;
    },
    `a process "${cmdline}"`,
    deadline,
  );
  await until(() => !existsSync(`/proc/${pid}`), `"${cmdline}" (pid ${pid}) to exit`, deadline);
  // A busy machine forks too: a process that takes the pid first and lives on (a test worker) makes
  // this capture impossible, so it is made again rather than waited out.
  const reuseBy = Math.min(deadline, Date.now() + REUSE_MS);
  try {
    await until(
      () => {
        if (ppidOf(pid) === initPid) return true;
        if (!existsSync(`/proc/${pid}`)) writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
        return false;
      },
      `pid ${pid} handed to a child of the init (${initPid})`,
      reuseBy,
      1,
    );
  } catch (err) {
    if (reuseBy === deadline) throw err;
    throw new PidTaken(`pid ${pid} went to another process than the init's child; capturing again`);
  }
}

function findByCmdline(cmdline: string): number {
  const want = `${cmdline.split(' ').join('\0')}\0`;
  for (const name of readdirSafe('/proc')) {
    const pid = Number(name);
    if (!(pid > 0)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1') === want) return pid;
    } catch {}
  }
  return 0;
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function ppidOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

async function until(cond: () => boolean, what: string, deadline: number, everyMs = 10): Promise<void> {
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * The scenario's events: those whose process descends from a `runc` this process started (the
 * container's init, the steps, whatever they left behind, wherever it was re-parented), in log
 * order, each event's records together. Not by rule key: the kernel files a record under the key of
 * the first rule that matches, which may be another audit user's. For execve-only rules, fork events
 * another user's rules made are dropped, as if they had never been logged.
 */
export function cutToScenario(lines: readonly string[], rules: RuleSet, self: number): string[] {
  const tree = new Set<number>();
  const out: string[] = [];
  const asm = new EventAssembler({
    onEvent: (event) => {
      const p = interpretEvent(event);
      if (p === null) return;
      const isRoot = p.kind === 'exec' && p.ppid === self && /(^|\/)runc$/.test(p.argv[0] ?? '');
      const pid = p.kind === 'fork' ? p.parentPid : p.pid;
      // A scenario process named with a parent outside the tree was re-parented (to the host's
      // pid 1, or within the tree), or its pid went to a process of somebody else's.
      if (tree.has(pid) && !tree.has(p.ppid) && p.ppid !== 1 && p.ppid !== self) tree.delete(pid);
      const inTree = isRoot || tree.has(pid) || (p.kind === 'exec' && tree.has(p.ppid));
      if (!inTree) return;
      // A containerised caller's fork names the child by its namespace pid; its own first event
      // names it by host pid and its parent, which is in the tree.
      tree.add(p.kind === 'fork' ? p.childPid : p.pid);
      if (p.kind === 'fork' && rules === 'execve') return;
      out.push(...event.records.map((r) => r.line));
    },
  });
  for (const line of lines) {
    const r = parseAuditLine(line);
    if (r.kind === 'record') asm.push(r);
  }
  asm.flush();
  return out;
}
