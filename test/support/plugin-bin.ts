// Puts `kubectl-audited_exec` on a PATH so the real kubectl finds the plugin from this checkout.
// The shim runs the TypeScript entry point with the Node that runs the tests (Node 24: type stripping).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PLUGIN_MAIN = join(REPO_ROOT, 'plugin', 'main.ts');

export interface PluginBin {
  dir: string;
  /** PATH with the plugin's directory first */
  path: string;
  /** the shim itself, for running the plugin without kubectl */
  bin: string;
  remove(): void;
}

export function createPluginBin(basePath: string = process.env.PATH ?? ''): PluginBin {
  const dir = mkdtempSync(join(tmpdir(), 'plugin-bin-'));
  const bin = join(dir, 'kubectl-audited_exec');
  writeFileSync(bin, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(PLUGIN_MAIN)} "$@"\n`);
  chmodSync(bin, 0o755);
  return {
    dir,
    bin,
    path: [dir, dirname(process.execPath), basePath].filter(Boolean).join(delimiter),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The environment of a user who runs the plugin through the real kubectl: the plugin on PATH,
 *  their kubeconfig, the recorder's address and CA, and a HOME of the test's own. */
export function pluginUserEnv(
  bin: PluginBin,
  o: { kubeconfig: string; server: string; caFile: string; home: string },
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: bin.path,
    KUBECONFIG: o.kubeconfig,
    AUDITED_EXEC_SERVER: o.server,
    AUDITED_EXEC_SERVER_CA: o.caFile,
    HOME: o.home,
  };
}
