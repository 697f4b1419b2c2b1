import { describe, expect, it } from 'vitest';
import { markerOf } from '../../common/session-marker.ts';
import type { AttributedExec, AttributionAlert } from '../../common/wire.ts';
import { type AttributedOutput, isoTime } from '../../shim/attribution.ts';
import { Pipeline } from '../../shim/pipeline.ts';
import type { ProcSource } from '../../shim/procfs.ts';
import { execLines, forkLines } from './audit-lines.ts';
import { FakeProc } from './fake-proc.ts';

const A = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';
const B = '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d';
const CID = 'c'.repeat(64);
const T0 = 1_795_000_000_000;

function run(
  lines: string[],
  opts: { proc?: ProcSource; hints?: { session: string; containerId: string; timeMs: number }[] } = {},
) {
  const out: AttributedOutput[] = [];
  const p = new Pipeline({ emit: (o) => out.push(o), proc: opts.proc ?? null });
  for (const h of opts.hints ?? []) p.expectExec(h);
  for (const l of lines) p.line(l);
  p.flush();
  const execs = out.filter((o) => o.kind === 'exec').map((o) => o.exec!) as AttributedExec[];
  const alerts = out.filter((o) => o.kind === 'alert').map((o) => o.alert!) as AttributionAlert[];
  const byArgv = (s: string) => execs.find((e) => e.argv.join(' ') === s);
  return { execs, alerts, byArgv, stats: p.stats };
}

describe('markerOf', () => {
  it('accepts env NAME=VALUE operands only, with a lower-case v4 uuid', () => {
    expect(markerOf(['env', `AUDITED_EXEC_SESSION=${A}`, 'sh'])).toBe(A);
    expect(markerOf(['/usr/bin/env', 'TERM=xterm', `AUDITED_EXEC_SESSION=${A}`, 'sh'])).toBe(A);
    expect(markerOf(['env', `AUDITED_EXEC_SESSION=${A.toUpperCase()}`, 'sh'])).toBeNull();
    expect(markerOf(['env', 'sh', '-c', `AUDITED_EXEC_SESSION=${A}`])).toBeNull();
    expect(markerOf(['runc', 'exec', 'x', 'env', `AUDITED_EXEC_SESSION=${A}`, 'sh'])).toBeNull();
  });
});

describe('attribution', () => {
  it('a nohup child that execs after its shell exited (re-parented to 1) stays in the session', () => {
    const { byArgv } = run([
      ...execLines({
        serial: 1,
        t: T0,
        pid: 100,
        ppid: 50,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'sh', '-c', 'x'],
      }),
      ...execLines({ serial: 2, t: T0 + 1, pid: 100, ppid: 50, argv: ['sh', '-c', 'x'] }),
      ...forkLines({ serial: 3, t: T0 + 2, pid: 100, ppid: 50, child: 101, comm: 'sh' }),
      ...execLines({
        serial: 4,
        t: T0 + 3,
        pid: 101,
        ppid: 100,
        argv: ['nohup', 'sh', '-c', 'sleep 1; exec touch /tmp/x'],
      }),
      ...execLines({
        serial: 5,
        t: T0 + 4,
        pid: 101,
        ppid: 100,
        argv: ['sh', '-c', 'sleep 1; exec touch /tmp/x'],
      }),
      // the session shell (100) exits; 101 is re-parented to 1 and execs later
      ...execLines({ serial: 6, t: T0 + 1500, pid: 101, ppid: 1, argv: ['touch', '/tmp/x'] }),
    ]);
    expect(byArgv(`env AUDITED_EXEC_SESSION=${A} sh -c x`)).toMatchObject({
      session: A,
      attribution: 'marker',
    });
    expect(byArgv('sh -c x')).toMatchObject({ session: A, attribution: 'marker' });
    expect(byArgv('touch /tmp/x')).toMatchObject({ session: A, attribution: 'ancestry', ppid: 1 });
  });

  it('keeps two concurrent sessions apart and leaves others unattributed', () => {
    const { byArgv } = run([
      ...execLines({
        serial: 1,
        t: T0,
        pid: 200,
        ppid: 10,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
      }),
      ...execLines({
        serial: 2,
        t: T0,
        pid: 300,
        ppid: 10,
        argv: ['env', `AUDITED_EXEC_SESSION=${B}`, 'bash'],
      }),
      ...execLines({ serial: 3, t: T0 + 1, pid: 201, ppid: 200, argv: ['ls', '-l'] }),
      ...execLines({ serial: 4, t: T0 + 1, pid: 301, ppid: 300, argv: ['id'] }),
      ...execLines({ serial: 5, t: T0 + 1, pid: 401, ppid: 10, argv: ['date'] }),
    ]);
    expect(byArgv('ls -l')).toMatchObject({ session: A, attribution: 'ancestry' });
    expect(byArgv('id')).toMatchObject({ session: B, attribution: 'ancestry' });
    expect(byArgv('date')).toMatchObject({ session: null, attribution: null });
  });

  it("a shell in a session claiming another session's marker stays in its own and raises marker-forged", () => {
    const { byArgv, alerts } = run([
      ...execLines({
        serial: 1,
        t: T0,
        pid: 200,
        ppid: 10,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
      }),
      ...execLines({
        serial: 2,
        t: T0 + 1,
        pid: 201,
        ppid: 200,
        argv: ['env', `AUDITED_EXEC_SESSION=${B}`, 'sh'],
      }),
      ...execLines({ serial: 3, t: T0 + 2, pid: 202, ppid: 201, argv: ['cat'] }),
    ]);
    expect(byArgv(`env AUDITED_EXEC_SESSION=${B} sh`)).toMatchObject({ session: A });
    expect(byArgv('cat')).toMatchObject({ session: A });
    expect(alerts).toEqual([
      expect.objectContaining({ alert: 'marker-forged', session: A, declared: B, pid: 201 }),
    ]);
  });

  it('a workload that is in no session cannot claim one: marker-forged, and nothing attributed', () => {
    const { byArgv, alerts } = run([
      // the container's own service (its parent is no runtime) frames the victim's session
      ...execLines({ serial: 1, t: T0, pid: 500, ppid: 10, argv: ['python3', 'service.py'] }),
      ...execLines({
        serial: 2,
        t: T0 + 1,
        pid: 501,
        ppid: 500,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'sh', '-c', 'rm -rf /data'],
      }),
      ...execLines({ serial: 3, t: T0 + 2, pid: 502, ppid: 501, argv: ['rm', '-rf', '/data'] }),
    ]);
    expect(byArgv('rm -rf /data')).toMatchObject({ session: null, attribution: null });
    expect(alerts).toEqual([
      expect.objectContaining({ alert: 'marker-forged', session: null, declared: A, pid: 501 }),
    ]);
  });

  it('believes the marker when runc\'s stages are first seen by their forks (exe="/", re-executed from a memfd)', () => {
    // The runtime's exec call (host), then only the stages' clones: runc init's own exec records
    // were not read (the shim started late, or a capture began mid-way). Their exe names nothing;
    // their comm says what they are.
    const { byArgv, alerts } = run([
      ...execLines({ serial: 1, t: T0, pid: 910, ppid: 900, argv: ['/usr/sbin/runc', 'exec', CID, 'env'] }),
      ...forkLines({
        serial: 2,
        t: T0 + 1,
        pid: 911,
        ppid: 910,
        child: 912,
        comm: 'runc:[0:PARENT]',
        exe: '/',
      }),
      ...forkLines({
        serial: 3,
        t: T0 + 2,
        pid: 912,
        ppid: 910,
        child: 913,
        comm: 'runc:[1:CHILD]',
        exe: '/',
      }),
      ...execLines({
        serial: 4,
        t: T0 + 3,
        pid: 913,
        ppid: 910,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
      }),
      ...execLines({ serial: 5, t: T0 + 4, pid: 913, ppid: 910, argv: ['bash'] }),
    ]);
    expect(byArgv(`env AUDITED_EXEC_SESSION=${A} bash`)).toMatchObject({ session: A, attribution: 'marker' });
    expect(byArgv('bash')).toMatchObject({ session: A });
    expect(alerts).toEqual([]);
  });

  it('a runtime exec started from inside a session, marked for another, raises marker-conflict', () => {
    // a node-debug user (session A, host pid namespace) runs runc exec by hand with B's marker
    const runc = ['/usr/sbin/runc', 'exec', 'c'.repeat(64)];
    const { byArgv, alerts } = run([
      ...execLines({
        serial: 1,
        t: T0,
        pid: 200,
        ppid: 10,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
      }),
      ...execLines({ serial: 2, t: T0 + 1, pid: 210, ppid: 200, argv: runc }),
      ...execLines({
        serial: 3,
        t: T0 + 2,
        pid: 211,
        ppid: 210,
        argv: ['env', `AUDITED_EXEC_SESSION=${B}`, 'sh'],
      }),
    ]);
    expect(byArgv(`env AUDITED_EXEC_SESSION=${B} sh`)).toMatchObject({ session: A });
    expect(alerts).toEqual([expect.objectContaining({ alert: 'marker-conflict', session: A, declared: B })]);
  });

  it('reports unrecorded-tty once per container process tree', () => {
    const proc = new FakeProc();
    proc.add(900, 1, 'containerd-shim');
    proc.add(910, 900, 'runc');
    proc.add(911, 910, 'bash', { container: CID });
    proc.add(912, 911, 'ls', { container: CID });
    const { alerts, execs } = run(
      [
        ...execLines({ serial: 1, t: T0, pid: 911, ppid: 910, argv: ['bash'], tty: 'pts0' }),
        ...execLines({ serial: 2, t: T0 + 5, pid: 912, ppid: 911, argv: ['ls'], tty: 'pts0' }),
      ],
      { proc },
    );
    expect(execs.map((e) => e.session)).toEqual([null, null]);
    expect(alerts).toEqual([
      expect.objectContaining({ alert: 'unrecorded-tty', pid: 911, containerId: CID, tty: 'pts0' }),
    ]);
  });

  it('a session tty in a container raises nothing; the host-side runc with the marker in argv is not a root', () => {
    const proc = new FakeProc();
    proc.add(910, 900, 'runc');
    proc.add(911, 910, 'env', { container: CID });
    const runcArgv = ['runc', 'exec', '-t', CID, 'env', `AUDITED_EXEC_SESSION=${A}`, 'bash'];
    const { byArgv, alerts } = run(
      [
        ...execLines({ serial: 1, t: T0, pid: 910, ppid: 900, argv: runcArgv }),
        ...forkLines({ serial: 2, t: T0 + 1, pid: 910, ppid: 900, child: 911, comm: 'runc' }),
        ...execLines({
          serial: 3,
          t: T0 + 2,
          pid: 911,
          ppid: 910,
          argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
          tty: 'pts0',
        }),
        ...execLines({ serial: 4, t: T0 + 3, pid: 911, ppid: 910, argv: ['bash'], tty: 'pts0' }),
      ],
      { proc },
    );
    expect(byArgv(runcArgv.join(' '))).toMatchObject({ session: null, attribution: null });
    expect(byArgv('bash')).toMatchObject({ session: A, attribution: 'marker' });
    expect(alerts).toEqual([]);
  });

  it('runc init in the container cgroup with a tty raises no unrecorded-tty; the shell it starts does', () => {
    const proc = new FakeProc();
    proc.add(900, 1, 'containerd-shim');
    proc.add(910, 900, 'runc');
    proc.add(911, 910, 'runc:[2:INIT]', { container: CID });
    const { alerts, byArgv } = run(
      [
        ...execLines({
          serial: 1,
          t: T0,
          pid: 911,
          ppid: 910,
          argv: ['/usr/sbin/runc', 'init'],
          exe: '/usr/sbin/runc',
          tty: 'pts3',
        }),
        ...execLines({ serial: 2, t: T0 + 1, pid: 911, ppid: 910, argv: ['bash'], tty: 'pts0' }),
      ],
      { proc },
    );
    expect(byArgv('/usr/sbin/runc init')).toMatchObject({ session: null });
    expect(alerts).toEqual([expect.objectContaining({ alert: 'unrecorded-tty', argv: ['bash'], pid: 911 })]);
  });

  it("a debug pod's marker is read from its main process, not from runc init seen first", () => {
    const proc = new FakeProc();
    proc.add(700, 1, 'containerd-shim');
    // runc init is in the container's cgroup with the runtime's environment (no marker)...
    proc.add(701, 700, 'runc:[2:INIT]', { container: CID, environ: ['PATH=/usr/sbin', 'HOME=/root'] });
    // ...and the pod's own process, a moment later, has the pod's environment.
    proc.add(702, 700, 'bash', { container: CID, environ: ['PATH=/bin', `AUDITED_EXEC_SESSION=${A}`] });
    const { byArgv, alerts } = run(
      [
        ...execLines({
          serial: 1,
          t: T0,
          pid: 701,
          ppid: 700,
          argv: ['runc', 'init'],
          exe: '/usr/sbin/runc',
        }),
        ...execLines({ serial: 2, t: T0 + 1, pid: 702, ppid: 700, argv: ['bash'], tty: 'pts0' }),
      ],
      { proc },
    );
    expect(byArgv('runc init')).toMatchObject({ session: null, attribution: null });
    expect(byArgv('bash')).toMatchObject({ session: A, attribution: 'marker' });
    expect(alerts).toEqual([]);
  });

  it('a reused pid with another parent is a new process, not the old session', () => {
    const { byArgv } = run([
      ...execLines({
        serial: 1,
        t: T0,
        pid: 500,
        ppid: 10,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
      }),
      ...execLines({ serial: 2, t: T0 + 1, pid: 501, ppid: 500, argv: ['sleep', '1'] }),
      // pid 501 exits; much later the pid is reused by an unrelated process of parent 20
      ...execLines({ serial: 3, t: T0 + 60_000, pid: 501, ppid: 20, argv: ['cron-job'] }),
      ...execLines({ serial: 4, t: T0 + 60_001, pid: 502, ppid: 501, argv: ['child-of-cron'] }),
    ]);
    expect(byArgv('sleep 1')).toMatchObject({ session: A });
    expect(byArgv('cron-job')).toMatchObject({ session: null });
    expect(byArgv('child-of-cron')).toMatchObject({ session: null });
  });

  it('a debug pod carries the marker in its container environment', () => {
    const proc = new FakeProc();
    proc.add(700, 1, 'containerd-shim');
    proc.add(701, 700, 'bash', { container: CID, environ: ['PATH=/bin', `AUDITED_EXEC_SESSION=${A}`] });
    const { byArgv } = run(
      [
        ...execLines({ serial: 1, t: T0, pid: 701, ppid: 700, argv: ['bash'], tty: 'pts0' }),
        ...execLines({ serial: 2, t: T0 + 1, pid: 702, ppid: 701, argv: ['chroot', '/host'], tty: 'pts0' }),
      ],
      { proc },
    );
    expect(byArgv('bash')).toMatchObject({ session: A, attribution: 'marker' });
    expect(byArgv('chroot /host')).toMatchObject({ session: A, attribution: 'ancestry' });
  });

  it('an expected exec (no env in the image) is inferred for the runtime child in that container', () => {
    const proc = new FakeProc();
    proc.add(910, 900, 'runc');
    proc.add(911, 910, 'sh', { container: CID });
    proc.add(921, 910, 'sh', { container: CID });
    const hints = [{ session: B, containerId: CID, timeMs: T0 + 500 }];
    const { execs } = run(
      [
        ...execLines({ serial: 1, t: T0 - 10_000, pid: 921, ppid: 910, argv: ['sh', 'early'] }),
        ...execLines({ serial: 2, t: T0 + 1000, pid: 911, ppid: 910, argv: ['sh'] }),
        ...execLines({ serial: 3, t: T0 + 1100, pid: 912, ppid: 911, argv: ['ls'] }),
      ],
      { proc, hints },
    );
    expect(execs.map((e) => [e.argv[0], e.session, e.attribution])).toEqual([
      ['sh', null, null],
      ['sh', B, 'inferred'],
      ['ls', B, 'ancestry'],
    ]);
  });

  it('links a fork-only subshell to its parent from the fork event', () => {
    const { byArgv } = run([
      ...execLines({
        serial: 1,
        t: T0,
        pid: 600,
        ppid: 10,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
      }),
      ...forkLines({ serial: 2, t: T0 + 1, pid: 600, ppid: 10, child: 601 }),
      ...forkLines({ serial: 3, t: T0 + 2, pid: 601, ppid: 600, child: 602 }),
      ...execLines({ serial: 4, t: T0 + 3, pid: 602, ppid: 601, argv: ['ls'] }),
    ]);
    expect(byArgv('ls')).toMatchObject({ session: A, attribution: 'ancestry' });
  });
});

describe('isoTime', () => {
  it('is Date.toISOString, also across seconds, before 1970 and for odd milliseconds', () => {
    const times = [
      0,
      1,
      999,
      1000,
      1795472865720,
      1795472865007,
      1795472866050,
      -1,
      -1001,
      1.5e12 + 42,
      1.5e12 + 0.5,
      253402300800000,
    ];
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    for (const ms of [...times].reverse()) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});
