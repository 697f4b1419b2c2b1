// The evidence report marks what happened after the session ended: a process that outlived the
// shell is the first thing an auditor asks about.
import { describe, expect, it } from 'vitest';
import type { SignedSession } from '../../common/evidence/format.ts';
import { renderReport } from '../../server/evidence/report-template.ts';

const ID = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';

function page(endedAt: string | undefined, extra: Partial<SignedSession> = {}): string {
  const exec = (serial: number, time: string, argv: string[]) => ({
    seq: serial,
    node: 'n1',
    bootId: 'b',
    auditSerial: serial,
    auditTime: '0',
    containerId: null,
    kind: 'exec' as const,
    exec: {
      session: ID,
      attribution: 'ancestry',
      argv,
      pid: 10 + serial,
      ppid: 1,
      time,
      auditId: `${serial}`,
    },
    raw: [],
  });
  const chunks = renderReport({
    session: {
      id: ID,
      kind: 'exec',
      state: 'ended',
      user: 'alice',
      groups: [],
      namespace: 'default',
      pod: 'web',
      command: ['bash'],
      tty: true,
      stdin: true,
      attribution: 'marker',
      auditId: ID,
      recordInput: false,
      startedAt: '2026-12-03T10:00:00.000Z',
      ...(endedAt ? { endedAt } : {}),
      ...extra,
    } as SignedSession,
    events: [
      exec(1, '2026-12-03T10:00:01.000Z', ['ls']),
      exec(2, '2026-12-03T10:00:09.000Z', ['touch', '/tmp/late']),
    ] as never,
    cast: new TextEncoder().encode('{"version":2,"width":80,"height":24,"timestamp":1796292000}\n'),
    player: { css: '', js: '', version: '3.x' },
    signer: 'SHA256:x',
    version: 1,
  });
  return [...chunks].map((c) => new TextDecoder().decode(c)).join('');
}

describe('evidence report', () => {
  it('marks the commands that ran after the session ended, and only those', () => {
    const html = page('2026-12-03T10:00:04.500Z');
    expect(html).toMatch(/>touch \/tmp\/late<\/button> <span class="after">after end<\/span>/);
    expect(html).toMatch(/>ls<\/button>\n/);
    expect(page(undefined)).not.toContain('class="after"');
  });

  it('names who terminated the session and why, escaped, and nothing of the kind otherwise', () => {
    const html = page('2026-12-03T10:00:04.500Z', {
      state: 'terminated',
      terminatedBy: 'mod',
      terminationReason: 'stop <script>x</script>',
    });
    expect(html).toContain('<tr><th>Kind / state</th><td>exec / terminated</td></tr>');
    expect(html).toContain('<tr><th>Terminated by</th><td>mod</td></tr>');
    expect(html).toContain(
      '<tr><th>Termination reason</th><td>stop &#60;script&#62;x&#60;/script&#62;</td></tr>',
    );
    expect(page('2026-12-03T10:00:04.500Z')).not.toContain('Terminated by');
  });
});
