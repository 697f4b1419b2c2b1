// One sink's delivery loop against a sink that fails and recovers: the cursor moves only after an
// acknowledgement, failing and recovering are each said once, retries back off with jitter.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Delivery, retryDelay } from '../../../server/siem/delivery.ts';
import type { SiemSink } from '../../../server/siem/sink.ts';
import { SyslogSink } from '../../../server/siem/sinks/syslog.ts';
import { Spool } from '../../../server/siem/spool.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A sink that refuses its first `failures` batches and then takes every one. */
class FlakySink implements SiemSink {
  readonly name = 'flaky';
  readonly received: string[] = [];
  attempts = 0;
  #waiters: (() => void)[] = [];
  failures: number;
  constructor(failures: number) {
    this.failures = failures;
  }
  async send(events: readonly string[], _signal: AbortSignal): Promise<void> {
    this.attempts++;
    if (this.failures-- > 0) throw new Error('HTTP 500');
    this.received.push(...events);
    for (const w of this.#waiters.splice(0)) w();
  }
  async until(n: number): Promise<void> {
    while (this.received.length < n) await new Promise<void>((r) => this.#waiters.push(r));
  }
}

describe('SIEM delivery', () => {
  it('backs off exponentially with jitter, capped', () => {
    const o = { minMs: 500, maxMs: 30_000 };
    expect(retryDelay(1, { ...o, random: 0 })).toBe(250);
    expect(retryDelay(1, { ...o, random: 1 })).toBe(500);
    expect(retryDelay(4, { ...o, random: 1 })).toBe(4000);
    expect(retryDelay(50, { ...o, random: 0.5 })).toBe(22_500);
  });

  it('delivers every event once it recovers, logging the failure and the recovery once each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-delivery-'));
    dirs.push(dir);
    const log: string[] = [];
    const spool = new Spool({ dir, sinks: ['flaky'], maxBytes: 1 << 20, log: (l) => log.push(l) });
    const sink = new FlakySink(4);
    const d = new Delivery({
      sink,
      spool,
      batch: 10,
      retryMinMs: 5,
      retryMaxMs: 20,
      log: (l) => log.push(l),
    });
    d.start();
    for (let i = 0; i < 25; i++) spool.append(JSON.stringify({ id: `e${i}` }));
    await sink.until(25);
    expect(sink.received.map((l) => JSON.parse(l).id)).toEqual(Array.from({ length: 25 }, (_, i) => `e${i}`));
    expect(d.figures).toEqual({ delivered: 25, failures: 4 });
    expect(log.filter((l) => l.includes('is failing: HTTP 500'))).toHaveLength(1);
    expect(log.filter((l) => l.includes('delivers again after 4 failed attempt(s)'))).toHaveLength(1);
    expect(spool.backlog('flaky')).toBe(0);
    await d.stop();
    spool.close();
  });

  it('advances no cursor for a batch that was not acknowledged, so a restart sends it again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-delivery-'));
    dirs.push(dir);
    const spool = new Spool({ dir, sinks: ['flaky'], maxBytes: 1 << 20, log: () => {} });
    const dead = new FlakySink(Number.POSITIVE_INFINITY);
    const d = new Delivery({ sink: dead, spool, batch: 10, retryMinMs: 5, retryMaxMs: 10, log: () => {} });
    d.start();
    for (let i = 0; i < 5; i++) spool.append(JSON.stringify({ id: `e${i}` }));
    while (dead.attempts < 3) await new Promise((r) => setTimeout(r, 5));
    await d.stop();
    spool.close();
    const again = new Spool({ dir, sinks: ['flaky'], maxBytes: 1 << 20, log: () => {} });
    expect(again.backlog('flaky')).toBe(5);
    const sink = new FlakySink(0);
    const e = new Delivery({ sink, spool: again, batch: 10, retryMaxMs: 10, log: () => {} });
    e.start();
    await sink.until(5);
    await e.stop();
    again.close();
  });

  it('stops at once while a receiver hangs, keeping the batch it was sending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-delivery-'));
    dirs.push(dir);
    // A syslog receiver that accepts and never reads nor closes.
    const held: Socket[] = [];
    const hung = createServer((s) => {
      s.pause();
      held.push(s);
    });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', r));
    const port = (hung.address() as { port: number }).port;
    const spool = new Spool({ dir, sinks: ['syslog'], maxBytes: 1 << 20, log: () => {} });
    const sink = new SyslogSink({ name: 'syslog', url: `tcp://127.0.0.1:${port}`, timeoutMs: 600_000 });
    const d = new Delivery({ sink, spool, batch: 10, retryMaxMs: 1000, log: () => {} });
    d.start();
    spool.append(JSON.stringify(sampleEvent()));
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    await d.stop(); // would wait 10 minutes for the receiver without the abort
    expect(spool.backlog('syslog')).toBe(1);
    expect(d.figures).toEqual({ delivered: 0, failures: 0 });
    spool.close();
    for (const s of held) s.destroy();
    hung.close();
  });
});

function sampleEvent() {
  return {
    schema: 'audited-exec.event/v1',
    id: '0'.repeat(32),
    type: 'session.started',
    '@timestamp': '2026-12-03T10:00:00.000Z',
    event: { kind: 'event' },
    observer: { name: 'r' },
    audited_exec: {},
  };
}
