// Exit 0 when node_modules holds exactly what package-lock.json asks for, 1 when `npm ci` is due.
// Compares the lock file with npm's own record of the tree (node_modules/.package-lock.json, which
// every npm ci/install writes): a fresh clone, a pulled lock change or a half-finished install
// all differ. Optional packages for other platforms are in the lock but never installed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  optional?: boolean;
  link?: boolean;
}
type Packages = Record<string, LockEntry>;

const root = join(import.meta.dirname, '..');

function packages(file: string): Packages | null {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { packages?: Packages }).packages ?? null;
  } catch {
    return null;
  }
}

/** Why node_modules differs from the lock, or null when it does not. */
export function staleness(lock: Packages, installed: Packages | null): string | null {
  if (!installed) return 'node_modules is not installed';
  for (const [path, want] of Object.entries(lock)) {
    if (path === '') continue;
    const have = installed[path];
    if (!have) {
      if (want.optional) continue;
      return `${path} is missing`;
    }
    if (have.version !== want.version) return `${path} is ${have.version}, the lock says ${want.version}`;
  }
  for (const path of Object.keys(installed)) {
    if (!(path in lock)) return `${path} is not in the lock`;
  }
  return null;
}

if (import.meta.main) {
  const lock = packages(join(root, 'package-lock.json'));
  if (!lock) {
    process.stderr.write('package-lock.json is missing or unreadable\n');
    process.exit(1);
  }
  const why = staleness(lock, packages(join(root, 'node_modules/.package-lock.json')));
  if (why) process.stderr.write(`${why}\n`);
  process.exit(why ? 1 : 0);
}
