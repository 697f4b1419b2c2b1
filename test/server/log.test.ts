import { describe, expect, it } from 'vitest';
import { AuditedExecError } from '../../common/errors.ts';
import { createLogger, formatLine } from '../../server/log.ts';

function capture(level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: string[] = [];
  const log = createLogger({
    ...(level ? { level } : {}),
    write: (l) => lines.push(l),
    now: () => new Date('2026-11-23T10:00:00.000Z'),
  });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('log', () => {
  it('writes one JSON object per line with time, level, msg and fields', () => {
    const { log, lines, parsed } = capture();
    log.info('session started', { session: 's-1', user: 'alice' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
    expect(parsed()[0]).toEqual({
      time: '2026-11-23T10:00:00.000Z',
      level: 'info',
      msg: 'session started',
      session: 's-1',
      user: 'alice',
    });
  });

  it('filters below the level and carries child fields', () => {
    const { log, parsed } = capture('warn');
    log.info('dropped');
    log.child({ node: 'n1' }).warn('shim lagging', { lagSeconds: 4 });
    expect(parsed()).toEqual([
      { time: '2026-11-23T10:00:00.000Z', level: 'warn', msg: 'shim lagging', node: 'n1', lagSeconds: 4 },
    ]);
  });

  it('cannot be broken by a field', () => {
    const { log, parsed } = capture();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    log.error('store failed', {
      err: new AuditedExecError('STORE_FULL', 'disk full\nsecond line'),
      msg: 'spoofed',
      big: 10n,
      cyclic,
    });
    const [line] = parsed();
    expect(line).toMatchObject({
      msg: 'store failed',
      'field.msg': 'spoofed',
      big: '10',
      err: { code: 'STORE_FULL', message: 'disk full\nsecond line' },
      cyclic: { a: 1, self: '[Circular]' },
    });
  });

  it('formatLine omits undefined fields', () => {
    expect(formatLine({ time: 't', level: 'debug', msg: 'm' }, { a: undefined, b: null })).toBe(
      '{"time":"t","level":"debug","msg":"m","b":null}',
    );
  });
});
