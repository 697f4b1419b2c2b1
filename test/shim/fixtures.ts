// Fixture helpers for the shim tests: the audit logs under test/fixtures/audit and ausearch.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../fixtures/audit');

/** Every audit log fixture: the copied samples and this machine's captures. */
export function fixtureFiles(): string[] {
  const samples = readdirSync(join(FIXTURES, 'samples')).map((f) => join(FIXTURES, 'samples', f));
  const own = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.log'))
    .map((f) => join(FIXTURES, f));
  return [...samples, ...own].filter((f) => !f.endsWith('.expected.jsonl')).sort();
}

/** Lines split on \n only: the ENRICHED separator 0x1d must stay inside its line. */
export function fixtureLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n');
}

/** ausearch's output for a file (empty when it finds nothing: exit status 1). */
export function ausearch(args: string[]): string {
  try {
    return execFileSync('ausearch', args, {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { status?: number; stdout?: string };
    if (e.status === 1) return e.stdout ?? '';
    throw err;
  }
}

export function hasAusearch(): boolean {
  try {
    execFileSync('ausearch', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
