import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../common/wire.ts';
import { layout } from '../../server/ui/pages/layout.ts';
import { sessionPage } from '../../server/ui/pages/session.ts';
import { sessionsPage } from '../../server/ui/pages/sessions.ts';
import { unrecordedPage } from '../../server/ui/pages/unrecorded.ts';

const evil = '<script>alert(1)</script>"\'';
const session: SessionRecord = {
  id: '0b0e7c2e-1f7c-4c83-9a57-2f7e0e6a1b11',
  kind: 'exec',
  state: 'running',
  user: evil,
  groups: [evil],
  reason: evil,
  ticket: evil,
  namespace: 'default',
  pod: evil,
  command: ['sh', '-c', evil],
  tty: false,
  stdin: false,
  attribution: 'marker',
  auditId: '0b0e7c2e-1f7c-4c83-9a57-2f7e0e6a1b11',
  startedAt: '2026-11-23T10:00:00.000Z',
  recordInput: false,
  alertCount: 2,
};

describe('pages', () => {
  it('the list escapes every value, marks live sessions and links the next page by cursor', () => {
    const out = sessionsPage({
      query: { user: evil, continue: 'abc' },
      items: [session],
      continue: 'next',
      searchScope: 's',
      now: Date.parse('2026-11-23T10:01:00Z'),
    }).value;
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;');
    expect(out).toContain('class="badge live"');
    expect(out).toContain('1:00');
    expect(out).toMatch(/href="\/ui\/sessions\?user=[^"]*&amp;continue=next"/);
    expect(out).not.toContain('OFFSET');
  });

  it('the session page has the data island, no inline script, and a LIVE badge while running', () => {
    const out = layout(
      {
        title: evil,
        user: evil,
        csrf: 'tok',
        classicScripts: ['/ui/static/player.js'],
        scripts: ['/ui/static/session.js'],
      },
      sessionPage({
        session,
        timeline: [
          {
            t: 1.5,
            label: evil,
            time: 'x',
            pid: 1,
            ppid: 0,
            attribution: 'marker',
            cwd: null,
            program: 'env',
            start: true,
          },
          {
            t: 2,
            label: 'touch /tmp/late',
            program: 'touch',
            time: 'y',
            pid: 2,
            ppid: 1,
            attribution: 'ancestry',
            cwd: null,
            afterEnd: true,
          },
        ],
        alerts: [],
        eventsAvailable: true,
        markers: [[1.5, evil]],
        now: 0,
      }),
    ).value;
    const scripts = [...out.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    for (const [, attrs, body] of scripts) {
      // Only external scripts and one JSON island, which is not executable.
      if (body!.trim()) expect(attrs).toContain('type="application/json"');
    }
    expect(out).toContain('id="live-badge">LIVE<');
    expect(out).toContain('data-t="1.5"');
    expect(out).toMatch(/<span class="badge start">session start<\/span>\s*<code>/);
    expect(out).toMatch(/<span class="badge after-end"[^>]*>after end<\/span>\s*<code>touch \/tmp\/late/);
    expect(out).toContain('recording.cast?display=1');
    expect(out).toContain('name="_csrf" value="tok"');
    expect(out).not.toContain('<script>alert');
  });

  it('offers the Terminate form on a live session only when asked to, with the CSRF token', () => {
    const base = { session, timeline: [], alerts: [], eventsAvailable: true, markers: [], now: 0 };
    const form = sessionPage({ ...base, terminate: { csrf: 'tok' } }).value;
    expect(form).toMatch(
      new RegExp(
        `<form class="terminate" id="terminate-form" method="post" action="/ui/sessions/${session.id}/terminate">`,
      ),
    );
    expect(form).toMatch(
      /id="terminate-form"[\s\S]*name="_csrf" value="tok"[\s\S]*name="reason" required maxlength="500"/,
    );
    expect(sessionPage(base).value).not.toContain('terminate-form');
    // An ended session has nothing to end, whatever the caller said.
    const ended = { ...session, state: 'terminated' as const, terminatedBy: evil, terminationReason: evil };
    const page = sessionPage({ ...base, session: ended, terminate: { csrf: 'tok' } }).value;
    expect(page).not.toContain('terminate-form');
    expect(page).toContain('<dt>Terminated by</dt>');
    expect(page).not.toContain('<script>alert');
  });

  it('unrecorded activity lists alerts or says the recorder does not store them', () => {
    const none = unrecordedPage({ query: {}, items: null }).value;
    expect(none).toContain('does not store');
    const out = unrecordedPage({
      query: { node: 'n1' },
      items: [
        {
          alert: 'unrecorded-tty',
          session: null,
          pid: 42,
          ppid: 1,
          argv: ['bash', '-i'],
          time: '2026-11-23T10:00:00Z',
          auditId: 'a',
          tty: 'pts0',
          node: 'n1',
          namespace: 'default',
          pod: 'web',
        },
        {
          alert: 'unrecorded-exec',
          session: null,
          pid: 43,
          ppid: 40,
          argv: ['sh', '-c', evil],
          time: '2026-11-23T10:00:01Z',
          auditId: 'b',
          tty: null,
          node: 'n1',
          containerId: 'c'.repeat(64),
        },
      ],
      continue: 'c',
    }).value;
    expect(out).toContain('default/web');
    expect(out).toContain('bash -i');
    expect(out).toContain('continue=c');
    // the kind of each row, and a pod not (yet) known shown by its container id
    expect(out).toMatch(/<td>tty<\/td>[\s\S]*<td>exec<\/td>/);
    expect(out).toContain('c'.repeat(12));
    expect(out).not.toContain('<script>alert(1)');
  });

  it('unrecorded activity names the session a forged marker or a mismatched event claimed', () => {
    const claim = (alert: 'marker-forged' | 'session-mismatch', declared: string) => ({
      alert,
      session: null,
      declared,
      pid: 500,
      ppid: 1,
      argv: ['env', `AUDITED_EXEC_SESSION=${declared}`, 'sh'],
      time: '2026-11-23T10:00:02Z',
      auditId: 'c',
      tty: null,
      node: 'n1',
    });
    const out = unrecordedPage({
      query: { kind: 'marker-forged' },
      items: [claim('marker-forged', session.id), claim('session-mismatch', evil)],
    }).value;
    expect(out).toContain('<option value="marker-forged" selected>');
    expect(out).toContain(
      `<td>forged marker<br><span class="muted">claims session <a href="/ui/sessions/${session.id}">`,
    );
    expect(out).toContain('session mismatch');
    expect(out).not.toContain('<script>alert(1)');
  });
});
