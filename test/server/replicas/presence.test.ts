import { describe, expect, it } from 'vitest';
import { Jobs } from '../../../server/replicas/jobs.ts';
import { ReplicaPresence } from '../../../server/replicas/presence.ts';
import { MemoryReplicaRegistry } from '../../../server/store/memory-replicas.ts';
import { ProcessJobLock } from '../../../server/store/process-job-lock.ts';

describe('replica presence', () => {
  it('is alive within its lease, dead after it, and gone once it stops', async () => {
    let t = Date.parse('2026-12-03T10:00:00Z');
    const clock = () => new Date(t);
    const registry = new MemoryReplicaRegistry();
    const a = new ReplicaPresence({ self: { id: 'a', url: 'https://a' }, registry, clock, leaseMs: 20_000 });
    const b = new ReplicaPresence({ self: { id: 'b', url: 'https://b' }, registry, clock, leaseMs: 20_000 });
    await a.beat();
    await b.beat();
    expect(await a.alive('b')).toMatchObject({ id: 'b', url: 'https://b' });
    t += 20_001;
    await a.beat();
    expect(await a.alive('b')).toBeUndefined();
    expect(await a.dead()).toEqual(['b']);
    expect(await b.dead()).toEqual([]);
    await a.stop();
    expect(await b.alive('a')).toBeUndefined();
    expect((await registry.list()).map((r) => r.id)).toEqual(['b']);
  });

  it('after an outage of the store longer than the lease, waits a lease before calling anyone dead', async () => {
    let t = Date.parse('2026-12-03T10:00:00Z');
    const clock = () => new Date(t);
    const registry = new MemoryReplicaRegistry();
    let down = false;
    const flaky = {
      list: () => registry.list(),
      remove: (id: string) => registry.remove(id),
      heartbeat: async (id: string, url: string, at: string) => {
        if (down) throw new Error('database down');
        await registry.heartbeat(id, url, at);
      },
    };
    const a = new ReplicaPresence({
      self: { id: 'a', url: 'https://a' },
      registry: flaky,
      clock,
      leaseMs: 20_000,
    });
    const b = new ReplicaPresence({
      self: { id: 'b', url: 'https://b' },
      registry: flaky,
      clock,
      leaseMs: 20_000,
    });
    await a.beat();
    await b.beat();
    t += 20_000;
    down = true;
    await a.beat();
    await b.beat();
    t += 60_000;
    down = false;
    // a is back first: b's heartbeat is 80 s old, but b has not had a lease to beat again.
    await a.beat();
    expect(await a.dead()).toEqual([]);
    t += 5_000;
    await a.beat();
    await b.beat();
    t += 15_000;
    await a.beat();
    expect(await a.dead()).toEqual([]);
    // b is truly gone: silent for a whole lease while a is healthy.
    t += 20_001;
    await a.beat();
    expect(await a.dead()).toEqual(['b']);
  });

  it('keeps beating after the registry failed once, and says so once', async () => {
    const lines: string[] = [];
    let fail = true;
    const registry = new MemoryReplicaRegistry();
    const flaky = {
      ...registry,
      list: () => registry.list(),
      remove: (id: string) => registry.remove(id),
      heartbeat: async (id: string, url: string, at: string) => {
        if (fail) throw new Error('database down');
        await registry.heartbeat(id, url, at);
      },
    };
    const p = new ReplicaPresence({
      self: { id: 'a', url: 'https://a' },
      registry: flaky,
      log: (l) => lines.push(l),
    });
    await p.beat();
    await p.beat();
    fail = false;
    await p.beat();
    expect(lines).toEqual([
      'replica a: heartbeat failed: database down',
      'replica a: heartbeat stored again',
    ]);
    expect(await p.alive('a')).toBeDefined();
  });
});

describe('jobs', () => {
  it('runs a job once at a time and counts only the runs that happened', async () => {
    const ran: string[] = [];
    const lock = new ProcessJobLock(':memory:test');
    const one = new Jobs({ lock, ran: (j) => ran.push(j) });
    const two = new Jobs({ lock, ran: (j) => ran.push(j) });
    let release!: () => void;
    const first = one.run('retention', () => new Promise<number>((r) => (release = () => r(7))));
    expect(await two.run('retention', async () => 1)).toBeUndefined();
    expect(await two.run('replica-takeover', async () => 2)).toBe(2);
    release();
    expect(await first).toBe(7);
    expect(ran).toEqual(['replica-takeover', 'retention']);
  });
});
