import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../server/metrics.ts';

/** Value of one series in the text exposition format, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  it('counts sessions, bytes, failures and shim health', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.sessionStarted('exec');
    m.sessionStarted('exec');
    m.sessionStarted('node-debug');
    m.sessionEnded('exec', 'ended');
    m.sessionRefused('exec');
    m.recordedBytes(1500);
    m.recordedBytes(-3);
    m.recordingFailed();
    m.shimLag('node-a', 2.5);
    m.shimLostEvents('node-a', 7);
    m.shimLostEvents('node-b', 1);
    const text = await m.registry.metrics();
    expect(sample(text, 'audited_exec_sessions_active{kind="exec"}')).toBe(1);
    expect(sample(text, 'audited_exec_sessions_active{kind="node-debug"}')).toBe(1);
    expect(sample(text, 'audited_exec_sessions_total{kind="exec",outcome="ended"}')).toBe(1);
    expect(sample(text, 'audited_exec_sessions_total{kind="exec",outcome="refused"}')).toBe(1);
    expect(sample(text, 'audited_exec_sessions_total{kind="node-debug",outcome="interrupted"}')).toBe(0);
    expect(sample(text, 'audited_exec_recorded_bytes_total')).toBe(1500);
    expect(sample(text, 'audited_exec_recording_failures_total')).toBe(1);
    expect(sample(text, 'audited_exec_shim_lag_seconds{node="node-a"}')).toBe(2.5);
    expect(sample(text, 'audited_exec_shim_lost_events_total{node="node-a"}')).toBe(7);

    m.shimGone('node-a');
    const after = await m.registry.metrics();
    expect(sample(after, 'audited_exec_shim_lag_seconds{node="node-a"}')).toBeUndefined();
    expect(sample(after, 'audited_exec_shim_lost_events_total{node="node-b"}')).toBe(1);
  });

  it('keeps registries apart', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.recordedBytes(10);
    expect(sample(await b.registry.metrics(), 'audited_exec_recorded_bytes_total')).toBe(0);
  });

  it('serves GET /metrics in the Prometheus text format', async () => {
    const m = createMetrics();
    m.sessionStarted('exec');
    const server = createServer(m.handler());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toContain('# TYPE audited_exec_sessions_active gauge');
      expect(sample(text, 'audited_exec_sessions_active{kind="exec"}')).toBe(1);
      expect(text).toMatch(/^audited_exec_process_cpu_user_seconds_total /m);
    } finally {
      server.close();
    }
  });
});
