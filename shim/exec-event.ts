// An assembled event → the process facts attribution needs: an Exec (execve/execveat with its
// EXECVE, CWD, PATH, PROCTITLE records) or a Fork (fork/vfork/clone exit, giving the child pid).
// argv comes only from EXECVE records, decoded exactly: quoted, hex, and aN_len/aN[i] pieces that
// the kernel splits from 7,500 bytes on (possibly across several EXECVE records). PROCTITLE is
// truncated at 128 bytes and is kept only as a hint.

import type { AuditEvent } from './assembler.ts';
import { decodeArgv } from './execve-argv.ts';
import {
  type AuditRecord,
  decodeProctitle,
  fieldNames,
  fieldNumber,
  fieldText,
  untrusted,
} from './parser.ts';

interface Base {
  node: string | null;
  serial: number;
  /** "sec.ms" */
  time: string;
  timeMs: number;
  /** "sec.ms:serial" */
  auditId: string;
  pid: number;
  ppid: number;
  uid: number | null;
  auid: number | null;
  tty: string | null;
  comm: string | null;
  exe: string | null;
  key: string | null;
  raw: string[];
}

export interface Exec extends Base {
  kind: 'exec';
  success: boolean;
  argv: string[];
  /** false when argc promised more arguments (or pieces) than the records carried */
  argvComplete: boolean;
  cwd: string | null;
  proctitle: string[] | null;
}

export interface Fork extends Base {
  kind: 'fork';
  parentPid: number;
  childPid: number;
}

export type ProcessEvent = Exec | Fork;

type SyscallKind = 'exec' | 'fork' | 'thread-capable-clone' | null;

// arch → syscall number → kind, for logs without the ENRICHED SYSCALL= name.
const SYSCALLS: Record<string, Record<string, SyscallKind>> = {
  c000003e: {
    '59': 'exec',
    '322': 'exec',
    '56': 'thread-capable-clone',
    '57': 'fork',
    '58': 'fork',
    '435': 'fork',
  },
  '40000003': {
    '11': 'exec',
    '358': 'exec',
    '120': 'thread-capable-clone',
    '2': 'fork',
    '190': 'fork',
    '435': 'fork',
  },
  c00000b7: { '221': 'exec', '281': 'exec', '220': 'thread-capable-clone', '435': 'fork' },
};

const BY_NAME: Record<string, SyscallKind> = {
  execve: 'exec',
  execveat: 'exec',
  clone: 'thread-capable-clone',
  fork: 'fork',
  vfork: 'fork',
  clone3: 'fork',
};

const CLONE_THREAD = 0x10000;

export function syscallKind(syscall: AuditRecord): SyscallKind {
  const name = syscall.enrichedField('SYSCALL');
  if (name !== undefined) return BY_NAME[name] ?? null;
  const byArch = SYSCALLS[syscall.field('arch') ?? ''];
  return byArch?.[syscall.field('syscall') ?? ''] ?? null;
}

// What attribution reads of a SYSCALL record, picked in one pass (it has some 30 fields).
const PICKED = fieldNames([
  'pid',
  'ppid',
  'success',
  'uid',
  'auid',
  'tty',
  'comm',
  'exe',
  'key',
  'exit',
  'a0',
]);
const [PID, PPID, SUCCESS, UID, AUID, TTY, COMM, EXE, KEY, EXIT, A0] = PICKED.list.map(
  (_, i) => i,
) as number[];

/** The record types interpretEvent reads; of any other record only the header matters (how the
 *  assembler groups it), so a parser worker need not send its text. */
export const INTERPRETED_TYPES: ReadonlySet<string> = new Set(['SYSCALL', 'EXECVE', 'CWD', 'PROCTITLE']);

/** Exec or Fork for process-creating syscalls, null for everything else (and for threads). */
export function interpretEvent(event: AuditEvent): ProcessEvent | null {
  const records = event.records;
  let syscall: AuditRecord | undefined;
  for (let i = 0; i < records.length && syscall === undefined; i++)
    if (records[i]!.type === 'SYSCALL') syscall = records[i];
  if (syscall === undefined) return null;
  const kind = syscallKind(syscall);
  if (kind === null) return null;
  const f = syscall.pick(PICKED);
  const pid = fieldNumber(f[PID!]);
  const ppid = fieldNumber(f[PPID!]);
  if (pid === null || ppid === null) return null;
  const success = fieldText(f[SUCCESS!]) === 'yes';
  if (kind !== 'exec') {
    if (!success) return null;
    const child = fieldNumber(f[EXIT!]);
    if (child === null || child <= 0) return null;
    if (kind === 'thread-capable-clone' && (Number.parseInt(f[A0!] ?? '0', 16) & CLONE_THREAD) !== 0)
      return null;
  }
  const tty = f[TTY!];
  const raw = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) raw[i] = records[i]!.line;
  const base: Base = {
    node: event.node,
    serial: event.serial,
    time: event.time,
    timeMs: event.timeMs,
    auditId: `${event.time}:${event.serial}`,
    pid,
    ppid,
    uid: fieldNumber(f[UID!]),
    auid: unset(fieldNumber(f[AUID!])),
    tty: tty === undefined || tty === '(none)' ? null : tty,
    comm: untrusted(f[COMM!]),
    exe: untrusted(f[EXE!]),
    key: keyOf(f[KEY!]),
    raw,
  };
  if (kind === 'exec') return toExec(base, records, success);
  return { ...base, kind: 'fork', parentPid: pid, childPid: fieldNumber(f[EXIT!])! };
}

function toExec(base: Base, records: AuditRecord[], success: boolean): Exec {
  const execve: AuditRecord[] = [];
  let cwd: AuditRecord | undefined;
  let proctitle: AuditRecord | undefined;
  for (const r of records) {
    if (r.type === 'EXECVE') execve.push(r);
    else if (r.type === 'CWD') cwd ??= r;
    else if (r.type === 'PROCTITLE') proctitle ??= r;
  }
  const { argv, complete } = decodeArgv(execve);
  return new ExecEvent(base, success, argv, complete, cwd ? untrusted(cwd.field('cwd')) : null, proctitle);
}

/** An Exec whose PROCTITLE, a display hint only, is decoded when someone looks (a getter on the
 *  class: an object literal with a getter is built on V8's slow path, once per exec). */
class ExecEvent implements Exec {
  readonly node: string | null;
  readonly serial: number;
  readonly time: string;
  readonly timeMs: number;
  readonly auditId: string;
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number | null;
  readonly auid: number | null;
  readonly tty: string | null;
  readonly comm: string | null;
  readonly exe: string | null;
  readonly key: string | null;
  readonly raw: string[];
  readonly kind = 'exec' as const;
  readonly success: boolean;
  readonly argv: string[];
  readonly argvComplete: boolean;
  readonly cwd: string | null;
  readonly #proctitle: AuditRecord | undefined;

  constructor(
    base: Base,
    success: boolean,
    argv: string[],
    argvComplete: boolean,
    cwd: string | null,
    proctitle: AuditRecord | undefined,
  ) {
    this.node = base.node;
    this.serial = base.serial;
    this.time = base.time;
    this.timeMs = base.timeMs;
    this.auditId = base.auditId;
    this.pid = base.pid;
    this.ppid = base.ppid;
    this.uid = base.uid;
    this.auid = base.auid;
    this.tty = base.tty;
    this.comm = base.comm;
    this.exe = base.exe;
    this.key = base.key;
    this.raw = base.raw;
    this.success = success;
    this.argv = argv;
    this.argvComplete = argvComplete;
    this.cwd = cwd;
    this.#proctitle = proctitle;
  }

  get proctitle(): string[] | null {
    return this.#proctitle ? decodeProctitle(this.#proctitle.field('proctitle')) : null;
  }
}

function keyOf(value: string | undefined): string | null {
  if (value === undefined || value === '(null)') return null;
  return untrusted(value);
}

function unset(id: number | null): number | null {
  return id === 4294967295 ? null : id;
}
