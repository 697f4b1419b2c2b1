// An assembled event → the process facts attribution needs: an Exec (execve/execveat with its
// EXECVE, CWD, PATH, PROCTITLE records) or a Fork (fork/vfork/clone exit, giving the child pid).
// argv comes only from EXECVE records, decoded exactly: quoted, hex, and aN_len/aN[i] pieces that
// the kernel splits from 7,500 bytes on (possibly across several EXECVE records). PROCTITLE is
// truncated at 128 bytes and is kept only as a hint.

import type { AuditEvent } from './assembler.ts';
import {
  type AuditRecord,
  decodeProctitle,
  fieldNumber,
  fieldText,
  untrusted,
  untrustedBytes,
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

/** Exec or Fork for process-creating syscalls, null for everything else (and for threads). */
export function interpretEvent(event: AuditEvent): ProcessEvent | null {
  const syscall = event.records.find((r) => r.type === 'SYSCALL');
  if (syscall === undefined) return null;
  const kind = syscallKind(syscall);
  if (kind === null) return null;
  // Field by field: a SYSCALL record has some 30 fields and attribution needs a dozen.
  const f = (name: string) => syscall.field(name);
  const pid = fieldNumber(f('pid'));
  const ppid = fieldNumber(f('ppid'));
  if (pid === null || ppid === null) return null;
  const success = fieldText(f('success')) === 'yes';
  const tty = f('tty');
  const base: Base = {
    node: event.node,
    serial: event.serial,
    time: event.time,
    timeMs: event.timeMs,
    auditId: `${event.time}:${event.serial}`,
    pid,
    ppid,
    uid: fieldNumber(f('uid')),
    auid: unset(fieldNumber(f('auid'))),
    tty: tty === undefined || tty === '(none)' ? null : tty,
    comm: untrusted(f('comm')),
    exe: untrusted(f('exe')),
    key: keyOf(f('key')),
    raw: event.records.map((r) => r.line),
  };
  if (kind === 'exec') return toExec(base, event.records, success);
  if (!success) return null;
  const child = fieldNumber(f('exit'));
  if (child === null || child <= 0) return null;
  if (kind === 'thread-capable-clone' && (Number.parseInt(f('a0') ?? '0', 16) & CLONE_THREAD) !== 0)
    return null;
  return { ...base, kind: 'fork', parentPid: pid, childPid: child };
}

function toExec(base: Base, records: AuditRecord[], success: boolean): Exec {
  const execve = records.filter((r) => r.type === 'EXECVE');
  const cwd = records.find((r) => r.type === 'CWD');
  const proctitle = records.find((r) => r.type === 'PROCTITLE');
  const { argv, complete } = decodeArgv(execve);
  return {
    ...base,
    kind: 'exec',
    success,
    argv,
    argvComplete: complete,
    cwd: cwd ? untrusted(cwd.field('cwd')) : null,
    // A display hint only: decoded when someone looks.
    get proctitle() {
      return proctitle ? decodeProctitle(proctitle.field('proctitle')) : null;
    },
  };
}

/** argv from one or more EXECVE records (long argument lists continue in further records). */
export function decodeArgv(records: AuditRecord[]): { argv: string[]; complete: boolean } {
  if (records.length === 0) return { argv: [], complete: false };
  const merged: Record<string, string> = Object.create(null);
  for (const r of records) Object.assign(merged, r.fields);
  const argc = fieldNumber(merged['argc']) ?? 0;
  const argv: string[] = [];
  let complete = true;
  for (let i = 0; i < argc; i++) {
    const whole = merged[`a${i}`];
    if (whole !== undefined) {
      argv.push(untrusted(whole) ?? '');
      continue;
    }
    const len = merged[`a${i}_len`];
    if (len === undefined) {
      complete = false;
      break;
    }
    // Pieces are each quoted or hex (the kernel decides per argument); join bytes before decoding
    // so a UTF-8 character split across pieces survives.
    const parts: Buffer[] = [];
    for (let j = 0; ; j++) {
      const piece = merged[`a${i}[${j}]`];
      if (piece === undefined) break;
      const bytes = untrustedBytes(piece);
      if (bytes !== null) parts.push(bytes);
    }
    const bytes = Buffer.concat(parts);
    const expected = fieldNumber(len) ?? 0;
    // a{i}_len counts hex digits when the argument was hex-encoded, bytes when quoted.
    if (bytes.length !== expected && bytes.length * 2 !== expected) complete = false;
    argv.push(bytes.toString('utf8'));
  }
  return { argv, complete };
}

function keyOf(value: string | undefined): string | null {
  if (value === undefined || value === '(null)') return null;
  return untrusted(value);
}

function unset(id: number | null): number | null {
  return id === 4294967295 ? null : id;
}
