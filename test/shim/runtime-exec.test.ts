import { describe, expect, it } from 'vitest';
import type { AttributionAlert } from '../../common/wire.ts';
import type { AttributedOutput } from '../../shim/attribution.ts';
import { Pipeline } from '../../shim/pipeline.ts';
import type { ProcSource } from '../../shim/procfs.ts';
import { containerLaunchedBy } from '../../shim/runtime-argv.ts';
import { execLines, forkLines } from './audit-lines.ts';
import { FakeProc } from './fake-proc.ts';

const A = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';
const CID = 'c'.repeat(64);
const T0 = 1_795_000_000_000;
const RUNC_EXEC = ['/usr/sbin/runc', '--root', '/run/containerd/runc/k8s.io', 'exec', CID];

function alertsOf(lines: string[], proc: ProcSource | null = null): AttributionAlert[] {
  const out: AttributedOutput[] = [];
  const p = new Pipeline({ emit: (o) => out.push(o), proc });
  for (const l of lines) p.line(l);
  p.flush();
  return out.filter((o) => o.kind === 'alert').map((o) => o.alert!);
}

describe('containerLaunchedBy', () => {
  it('names the container of a runtime exec, and tells a container start from it', () => {
    expect(containerLaunchedBy([...RUNC_EXEC, 'sh', '-c', 'id'])).toEqual({ container: CID, init: false });
    // containerd: the process spec is in a file, the id last
    expect(
      containerLaunchedBy([
        'runc',
        '--root',
        '/run/containerd/runc/k8s.io',
        '--log',
        '/run/x/log.json',
        '--log-format',
        'json',
        'exec',
        '--process',
        '/tmp/runc-process123',
        '--detach',
        '--pid-file',
        '/run/x/pid',
        CID,
      ]),
    ).toEqual({ container: CID, init: false });
    expect(containerLaunchedBy(['runc', 'exec', '-t', 'short-id', 'bash'])).toEqual({
      container: null,
      init: false,
    });
    expect(containerLaunchedBy(['runc', '--root', '/run/r', 'run', '--bundle', '/b', CID])).toEqual({
      container: CID,
      init: true,
    });
    expect(containerLaunchedBy(['runc', 'create', '--bundle', '/b', '--pid-file', '/p', CID])).toEqual({
      container: CID,
      init: true,
    });
    expect(containerLaunchedBy(['runc', 'init'])).toBeNull();
    expect(containerLaunchedBy(['/usr/bin/crun', 'exec', '--env', 'A=1', CID, 'id'])).toEqual({
      container: CID,
      init: false,
    });
    // a container command that says exec after the id is not the runtime's verb
    expect(containerLaunchedBy(['runc', 'run', CID, 'exec'])).toEqual({ container: CID, init: true });
    expect(containerLaunchedBy(['bash', 'exec', CID])).toBeNull();
  });
});

describe('unrecorded-exec', () => {
  it('a non-tty runtime exec without a marker is reported once, in the container its runtime names', () => {
    // Offline (no /proc): the container id comes from the `runc exec` argv. `sh -c id` execs id in
    // place, the same process: one alert. Its own children are not exec'd by the runtime.
    const alerts = alertsOf([
      ...execLines({ serial: 1, t: T0, pid: 910, ppid: 900, argv: [...RUNC_EXEC, 'sh', '-c', 'id; ls'] }),
      ...execLines({ serial: 2, t: T0 + 1, pid: 911, ppid: 910, argv: ['/usr/sbin/runc', 'init'] }),
      ...execLines({ serial: 3, t: T0 + 2, pid: 913, ppid: 910, argv: ['sh', '-c', 'id; ls'] }),
      ...forkLines({ serial: 4, t: T0 + 3, pid: 913, ppid: 910, child: 914, comm: 'sh' }),
      ...execLines({ serial: 5, t: T0 + 4, pid: 914, ppid: 913, argv: ['id'] }),
      ...execLines({ serial: 6, t: T0 + 5, pid: 913, ppid: 910, argv: ['ls'] }),
    ]);
    expect(alerts).toEqual([
      expect.objectContaining({
        alert: 'unrecorded-exec',
        session: null,
        pid: 913,
        ppid: 910,
        argv: ['sh', '-c', 'id; ls'],
        containerId: CID,
        tty: null,
      }),
    ]);
  });

  it("a container's own start (runc run) is not an exec; a marked exec raises nothing", () => {
    const alerts = alertsOf([
      ...execLines({
        serial: 1,
        t: T0,
        pid: 800,
        ppid: 1,
        argv: ['runc', '--root', '/run/r', 'run', '--bundle', '/b', CID],
      }),
      ...execLines({ serial: 2, t: T0 + 1, pid: 801, ppid: 800, argv: ['sleep', 'infinity'] }),
      ...execLines({ serial: 3, t: T0 + 2, pid: 910, ppid: 900, argv: [...RUNC_EXEC, 'env'] }),
      ...execLines({
        serial: 4,
        t: T0 + 3,
        pid: 911,
        ppid: 910,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'sh', '-c', 'id'],
      }),
      ...execLines({ serial: 5, t: T0 + 4, pid: 911, ppid: 910, argv: ['sh', '-c', 'id'] }),
    ]);
    expect(alerts).toEqual([]);
  });

  it('a tty exec is unrecorded-tty only, never unrecorded-exec too', () => {
    const D = 'd'.repeat(64);
    const proc = new FakeProc();
    proc.add(900, 1, 'containerd-shim');
    proc.add(910, 900, 'runc');
    proc.add(911, 910, 'bash', { container: CID });
    proc.add(930, 900, 'runc');
    proc.add(931, 930, 'cat', { container: D });
    const alerts = alertsOf(
      [
        ...execLines({ serial: 1, t: T0, pid: 910, ppid: 900, argv: ['runc', 'exec', '-t', CID, 'bash'] }),
        ...execLines({ serial: 2, t: T0 + 1, pid: 911, ppid: 910, argv: ['bash'], tty: 'pts0' }),
        // bash execs in place: still the same tty process, reported once
        ...execLines({ serial: 3, t: T0 + 2, pid: 911, ppid: 910, argv: ['ls'], tty: 'pts0' }),
        ...execLines({ serial: 4, t: T0 + 3, pid: 930, ppid: 900, argv: ['runc', 'exec', D, 'cat', '/x'] }),
        ...execLines({ serial: 5, t: T0 + 4, pid: 931, ppid: 930, argv: ['cat', '/x'] }),
      ],
      proc,
    );
    expect(alerts.map((a) => [a.alert, a.pid, a.containerId])).toEqual([
      ['unrecorded-tty', 911, CID],
      ['unrecorded-exec', 931, D],
    ]);
  });
});
