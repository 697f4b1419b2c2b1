// The project's audit rules (deploy/auditd/audited-exec.rules) loaded into the running kernel under
// a key of the caller's own, and removed by exactly that key: the end-to-end tests and the local
// demo load them beside whatever else the machine has, and leave nothing behind.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
export const RULES_FILE = join(ROOT, 'deploy/auditd/audited-exec.rules');

/** Loads the rules file with every rule keyed `key` (or `key`-fork); returns the
 *  function that deletes exactly those rules. */
export function loadAuditRules(key: string): () => void {
  const rules = readFileSync(RULES_FILE, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('-a '))
    .map((l) => {
      const own = l.includes('key=audited-exec-fork') ? `${key}-fork` : key;
      const body = l.replace(/ -F key=\S+/, '');
      return `${body} -F key=${own}`;
    });
  const remove = () => {
    for (const k of [key, `${key}-fork`]) {
      try {
        execFileSync('auditctl', ['-D', '-k', k], { stdio: 'pipe' });
      } catch {
        // nothing loaded under that key
      }
    }
  };
  // The kernel outlives a killed process: rules an earlier run under this key left go first.
  remove();
  try {
    for (const rule of rules) execFileSync('auditctl', rule.split(' '), { stdio: 'pipe' });
  } catch (err) {
    remove();
    throw err;
  }
  return remove;
}
