// The plugin as users get it: the npm package installed on a machine with only Node (its
// dependencies from the registry), and the krew archive run through a krew-style symlink.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, packageKrew } from '../../scripts/krew-package.ts';
import { e2eRequired } from '../support/prereq.ts';
import type { Loose } from './manifests.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** The Node running the tests (>= 22.19) first on PATH, as on a user's machine. */
const PATH = `${dirname(process.execPath)}${delimiter}/usr/bin${delimiter}/bin`;
const USAGE = /^Usage: kubectl audited-exec/m;

/** The npm registry is needed to install the package's dependencies; CI has it. */
function registryReachable(): boolean {
  const r = spawnSync(NPM, ['ping'], {
    cwd: ROOT,
    stdio: 'pipe',
    timeout: 30_000,
    env: { ...process.env, PATH },
  });
  if (r.status === 0) return true;
  if (e2eRequired()) throw new Error(`npm registry unreachable in CI: ${r.stderr}`);
  process.stderr.write('SKIPPED npm pack install: npm registry unreachable\n');
  return false;
}

describe('plugin distribution', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'deploy-pkg-'));
    execFileSync(NPM, ['run', 'build'], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, PATH } });
  }, 120_000);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('compiles the plugin entry point with its shebang', () => {
    const bin = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    ).bin;
    expect(bin[BIN]).toBe('dist/plugin/main.js');
    expect(readFileSync(join(ROOT, bin[BIN]!), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it.skipIf(!registryReachable())(
    'npm pack installs into an empty directory and `kubectl-audited_exec --help` runs',
    () => {
      const packDir = join(tmp, 'pack');
      const app = join(tmp, 'app');
      mkdirSync(packDir);
      mkdirSync(app);
      const env = {
        ...process.env,
        PATH,
        npm_config_loglevel: 'error',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
      };
      execFileSync(NPM, ['pack', '--pack-destination', packDir], { cwd: ROOT, stdio: 'pipe', env });
      const tgz = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
      expect(tgz).toBeDefined();
      writeFileSync(join(app, 'package.json'), '{"name":"deploy-pack-check","private":true}\n');
      execFileSync(NPM, ['install', '--prefer-offline', '--no-save', join(packDir, tgz!)], {
        cwd: app,
        stdio: 'pipe',
        env,
      });
      const r = spawnSync(join(app, 'node_modules/.bin', BIN), ['--help'], {
        cwd: app,
        encoding: 'utf8',
        env,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(USAGE);
    },
    300_000,
  );

  it('packages a krew archive whose launcher runs the plugin through a symlink', async () => {
    const out = join(tmp, 'krew');
    const manifestOut = join(tmp, 'audited-exec.yaml');
    const result = await packageKrew({
      root: ROOT,
      outDir: out,
      manifest: join(ROOT, 'deploy/krew/audited-exec.yaml'),
      manifestOut,
      releaseUrl: 'https://example.invalid/releases',
    });
    const bytes = readFileSync(result.archive);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(result.sha256);
    const again = await packageKrew({
      root: ROOT,
      outDir: join(tmp, 'krew2'),
      manifest: join(ROOT, 'deploy/krew/audited-exec.yaml'),
      manifestOut: join(tmp, 'again.yaml'),
      releaseUrl: 'https://example.invalid/releases',
    });
    expect(again.sha256).toBe(result.sha256);

    const manifest = parse(readFileSync(manifestOut, 'utf8')) as Loose;
    expect(manifest).toMatchObject({
      apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
      kind: 'Plugin',
      metadata: { name: 'audited-exec' },
      spec: { version: `v${result.version}` },
    });
    const platforms = (manifest.spec.platforms as Loose[]).map((p) => {
      expect(p.sha256).toBe(result.sha256);
      expect(p.uri).toBe(
        `https://example.invalid/releases/v${result.version}/${BIN}-v${result.version}.tar.gz`,
      );
      expect(p.bin).toBe(BIN);
      return `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`;
    });
    expect(platforms.sort()).toEqual(['darwin/amd64', 'darwin/arm64', 'linux/amd64', 'linux/arm64']);
    expect(manifest.spec.caveats).toContain('Node.js >= 22.19');

    // Like krew: unpack into a store directory, link the bin from another directory.
    const store = join(tmp, 'store');
    const binDir = join(tmp, 'bin');
    mkdirSync(store);
    mkdirSync(binDir);
    execFileSync('tar', ['-xzf', result.archive, '-C', store]);
    symlinkSync(join(store, BIN), join(binDir, BIN));
    const ok = spawnSync(join(binDir, BIN), ['--help'], { encoding: 'utf8', env: { ...process.env, PATH } });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(USAGE);

    // An old Node gets one clear sentence instead of a syntax error.
    const oldNode = join(tmp, 'old-node');
    mkdirSync(oldNode);
    writeFileSync(
      join(oldNode, 'node'),
      '#!/bin/sh\ncase "$1" in --version) echo v20.11.0 ;; *) exit 1 ;; esac\n',
    );
    chmodSync(join(oldNode, 'node'), 0o755);
    const old = spawnSync(join(binDir, BIN), ['--help'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${oldNode}${delimiter}/usr/bin${delimiter}/bin` },
    });
    expect(old.status).toBe(1);
    expect(old.stderr).toContain('needs Node.js >= 22.19; found v20.11.0');
    const none = spawnSync(join(binDir, BIN), ['--help'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/nonexistent' },
    });
    expect(none.status).toBe(127);
  }, 120_000);
});
