// Scale does not change answers (bench/scale-check.ts runs this at ~1M records): every scenario
// fixture repeated 60 times, pids coming round again after 50 copies, attributes each copy exactly
// like the single file.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scaleCheck } from '../../bench/scale-check.ts';

const FIXTURES = readdirSync(join(import.meta.dirname, '../fixtures/audit/scenarios')).filter((f) =>
  f.endsWith('.log'),
);

describe('attribution at scale', () => {
  for (const fixture of FIXTURES) {
    it(`${fixture}: 60 copies, each attributed like the single file`, () => {
      const r = scaleCheck(fixture, 1);
      const copies = scaleCheck(fixture, Math.ceil((r.records * 60) / r.copies));
      expect(copies.copies).toBeGreaterThanOrEqual(60);
      expect(copies.differing).toEqual([]);
    });
  }
});
