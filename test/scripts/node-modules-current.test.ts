import { describe, expect, it } from 'vitest';
import { staleness } from '../../scripts/node-modules-current.ts';

const lock = {
  '': { version: '0.1.0' },
  'node_modules/a': { version: '1.0.0' },
  'node_modules/@esbuild/win32-x64': { version: '0.28.2', optional: true },
};

describe('setup: is node_modules what the lock asks for', () => {
  it('is current when every non-optional package is installed at its locked version', () => {
    expect(staleness(lock, { 'node_modules/a': { version: '1.0.0' } })).toBeNull();
  });

  it('says why npm ci is due', () => {
    expect(staleness(lock, null)).toBe('node_modules is not installed');
    expect(staleness(lock, {})).toBe('node_modules/a is missing');
    expect(staleness(lock, { 'node_modules/a': { version: '0.9.0' } })).toBe(
      'node_modules/a is 0.9.0, the lock says 1.0.0',
    );
    expect(
      staleness(lock, { 'node_modules/a': { version: '1.0.0' }, 'node_modules/b': { version: '2.0.0' } }),
    ).toBe('node_modules/b is not in the lock');
  });
});
