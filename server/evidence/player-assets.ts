// The asciinema-player build the report inlines. The package ships dist/bundle/ with
// asciinema-player.min.js (player + terminal emulator in one IIFE, its WASM inlined as bytes),
// asciinema-player.css, and a split ui/worker pair; the single-file build is the one that runs
// from file:// (a worker script would need its own URL), so the report uses it.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export interface PlayerAssets {
  js: string;
  css: string;
  /** package version, shown in the report so an auditor knows what rendered it */
  version: string;
}

let cached: Promise<PlayerAssets> | undefined;

export function loadPlayerAssets(): Promise<PlayerAssets> {
  cached ??= read();
  return cached;
}

async function read(): Promise<PlayerAssets> {
  const require = createRequire(import.meta.url);
  const js = require.resolve('asciinema-player/dist/bundle/asciinema-player.min.js');
  const css = require.resolve('asciinema-player/dist/bundle/asciinema-player.css');
  // package.json is not in the package's exports map; it sits three levels above the bundle.
  const pkg = new URL('../../package.json', `file://${js}`);
  const [jsText, cssText, pkgText] = await Promise.all([
    readFile(js, 'utf8'),
    readFile(css, 'utf8'),
    readFile(pkg, 'utf8'),
  ]);
  return { js: jsText, css: cssText, version: (JSON.parse(pkgText) as { version: string }).version };
}
