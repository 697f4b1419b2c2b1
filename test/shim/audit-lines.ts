// Synthetic-but-realistic audit lines (the shape this machine's auditd writes) for attribution
// scenarios that cannot be captured here (containers, ttys, pid reuse).

export interface ExecSpec {
  serial: number;
  /** audit time in ms */
  t: number;
  pid: number;
  ppid: number;
  argv: string[];
  tty?: string;
  exe?: string;
  cwd?: string;
  uid?: number;
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
const enc = (s: string) => (/^[\x21-\x7e]*$/.test(s) && !s.includes('"') ? `"${s}"` : hex(s));
const stamp = (t: number, serial: number) =>
  `msg=audit(${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${serial}):`;

export function execLines(e: ExecSpec): string[] {
  const m = stamp(e.t, e.serial);
  const exe = e.exe ?? `/usr/bin/${e.argv[0]!.split('/').pop()}`;
  const comm = exe.split('/').pop()!.slice(0, 15);
  const args = e.argv.map((a, i) => `a${i}=${enc(a)}`).join(' ');
  return [
    `type=SYSCALL ${m} arch=c000003e syscall=59 success=yes exit=0 a0=5581 a1=5582 a2=5583 a3=8 items=2 ppid=${e.ppid} pid=${e.pid} auid=4294967295 uid=${e.uid ?? 0} gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=${e.tty ?? '(none)'} ses=4294967295 comm=${enc(comm)} exe=${enc(exe)} key="audited-exec"\x1dARCH=x86_64 SYSCALL=execve AUID="unset" UID="root"`,
    `type=EXECVE ${m} argc=${e.argv.length} ${args}`,
    `type=CWD ${m} cwd=${enc(e.cwd ?? '/')}`,
    `type=PATH ${m} item=0 name=${enc(exe)} inode=1 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL`,
    `type=PROCTITLE ${m} proctitle=${hex(e.argv.join('\0')).slice(0, 256)}`,
  ];
}

export function forkLines(f: {
  serial: number;
  t: number;
  pid: number;
  ppid: number;
  child: number;
  comm?: string;
  exe?: string;
}): string[] {
  const m = stamp(f.t, f.serial);
  const comm = f.comm ?? 'bash';
  const exe = f.exe ?? `/usr/bin/${comm}`;
  return [
    `type=SYSCALL ${m} arch=c000003e syscall=56 success=yes exit=${f.child} a0=1200011 a1=0 a2=0 a3=7f items=0 ppid=${f.ppid} pid=${f.pid} auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="${comm}" exe="${exe}" key="audited-exec-fork"\x1dARCH=x86_64 SYSCALL=clone AUID="unset"`,
    `type=PROCTITLE ${m} proctitle="${comm}"`,
  ];
}
