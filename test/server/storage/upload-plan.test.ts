import { describe, expect, it } from 'vitest';
import { dueUploads, retryDelayMs, uploadStep } from '../../../server/storage/upload-plan.ts';

describe('uploadStep', () => {
  it('uploads what the store lacks or holds at another size', () => {
    expect(uploadStep(10, null)).toBe('upload');
    expect(uploadStep(10, 4)).toBe('upload');
    expect(uploadStep(0, null)).toBe('upload');
  });
  it('is done when the object is as large as the file, or the file went after an upload', () => {
    expect(uploadStep(10, 10)).toBe('done');
    expect(uploadStep(null, 10)).toBe('done');
  });
  it('calls a recording lost when neither the file nor the object exists', () => {
    expect(uploadStep(null, null)).toBe('lost');
  });
});

describe('dueUploads', () => {
  it('leaves out recordings this process is still writing', () => {
    expect(dueUploads(['a', 'b', 'c'], new Set(['b']), new Map())).toEqual(['a', 'c']);
  });
  it('puts those that failed most at the back, so one bad recording does not hold up the rest', () => {
    const failures = new Map([
      ['a', 3],
      ['c', 1],
    ]);
    expect(dueUploads(['a', 'b', 'c', 'd'], new Set(), failures)).toEqual(['b', 'd', 'c', 'a']);
  });
});

describe('retryDelayMs', () => {
  const policy = { initialMs: 1000, maxMs: 60_000 };
  it('doubles per failure in a row, up to the maximum', () => {
    expect([0, 1, 2, 3, 6, 7, 100].map((n) => retryDelayMs(n, policy))).toEqual([
      0, 1000, 2000, 4000, 32_000, 60_000, 60_000,
    ]);
  });
});
