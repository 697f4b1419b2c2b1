// `npm run krew:package`: builds the krew release of the plugin from dist/ (run after `npm run
// build`). The archive holds the plugin bundled into one ES module (no node_modules, no native
// code, so one archive serves linux and darwin on amd64 and arm64) and a POSIX sh launcher that
// checks for Node.js >= 22.19. It writes the archive to dist/krew/ and the version, uri and sha256
// into deploy/krew/audited-exec.yaml.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { parseDocument } from 'yaml';
import { AuditedExecError } from '../common/errors.ts';

export const BIN = 'kubectl-audited_exec';
export const MIN_NODE = { major: 22, minor: 19 } as const;
const DEFAULT_RELEASE_URL = 'https://github.com/audited-exec/audited-exec/releases/download';

export interface KrewPackageOptions {
  /** The checkout: package.json and dist/plugin/main.js are read from here. */
  root: string;
  outDir: string;
  /** The manifest to read and the path to write it to (default: the same file). */
  manifest: string;
  manifestOut: string;
  /** Archives are published at <releaseUrl>/v<version>/<archive>. */
  releaseUrl: string;
}

export interface KrewPackage {
  version: string;
  archive: string;
  sha256: string;
  manifest: string;
}

/** The launcher krew links into PATH. It resolves its own symlinks (krew's bin dir) to find the bundle. */
export function launcherScript(): string {
  return `#!/bin/sh
# kubectl-audited_exec launcher: runs the bundled plugin with the Node.js found on PATH.
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in
    /*) self=$link ;;
    *) self=$(dirname "$self")/$link ;;
  esac
done
dir=$(cd "$(dirname "$self")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "kubectl audited-exec needs Node.js >= ${MIN_NODE.major}.${MIN_NODE.minor} on PATH (https://nodejs.org)" >&2
  exit 127
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > ${MIN_NODE.major} || (a === ${MIN_NODE.major} && b >= ${MIN_NODE.minor}) ? 0 : 1)'; then
  echo "kubectl audited-exec needs Node.js >= ${MIN_NODE.major}.${MIN_NODE.minor}; found $(node --version)" >&2
  exit 1
fi
exec node "$dir/${BIN}.mjs" "$@"
`;
}

export async function packageKrew(o: KrewPackageOptions): Promise<KrewPackage> {
  const entry = join(o.root, 'dist/plugin/main.js');
  if (!existsSync(entry)) {
    throw new AuditedExecError('KREW_NO_BUILD', `${entry} is missing: run \`npm run build\` first`);
  }
  const version = (JSON.parse(readFileSync(join(o.root, 'package.json'), 'utf8')) as { version: string })
    .version;
  const stage = mkdtempSync(join(tmpdir(), 'audited-exec-krew-'));
  try {
    await build({
      entryPoints: [entry],
      outfile: join(stage, `${BIN}.mjs`),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: `node${MIN_NODE.major}`,
      legalComments: 'linked',
      logLevel: 'error',
      // CommonJS dependencies call require(); give the ES module bundle one.
      banner: {
        js: "import { createRequire as __aeRequire } from 'node:module'; const require = __aeRequire(import.meta.url);",
      },
    });
    writeFileSync(join(stage, BIN), launcherScript());
    chmodSync(join(stage, BIN), 0o755);
    chmodSync(stage, 0o755);
    mkdirSync(o.outDir, { recursive: true });
    const archive = join(o.outDir, `${BIN}-v${version}.tar.gz`);
    // Same inputs, same bytes: sorted names, fixed owner and mtime, gzip without a timestamp.
    const tar = execFileSync(
      'tar',
      [
        '--sort=name',
        '--mtime=@0',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        '-C',
        stage,
        '-cf',
        '-',
        '.',
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    writeFileSync(archive, execFileSync('gzip', ['-n', '-9'], { input: tar, maxBuffer: 256 * 1024 * 1024 }));
    const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
    const uri = `${o.releaseUrl}/v${version}/${BIN}-v${version}.tar.gz`;
    writeFileSync(o.manifestOut, updateManifest(readFileSync(o.manifest, 'utf8'), { version, uri, sha256 }));
    return { version, archive, sha256, manifest: o.manifestOut };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Sets spec.version and every platform's uri and sha256, keeping the manifest's comments. */
export function updateManifest(text: string, v: { version: string; uri: string; sha256: string }): string {
  const doc = parseDocument(text);
  doc.setIn(['spec', 'version'], `v${v.version}`);
  const platforms = doc.getIn(['spec', 'platforms']) as { items: unknown[] } | undefined;
  if (!platforms?.items?.length)
    throw new AuditedExecError('KREW_MANIFEST', 'the krew manifest lists no platforms');
  for (let i = 0; i < platforms.items.length; i++) {
    doc.setIn(['spec', 'platforms', i, 'uri'], v.uri);
    doc.setIn(['spec', 'platforms', i, 'sha256'], v.sha256);
  }
  return doc.toString();
}

async function main(): Promise<void> {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(root, 'dist/krew') },
      manifest: { type: 'string', default: join(root, 'deploy/krew/audited-exec.yaml') },
      'manifest-out': { type: 'string' },
      'release-url': { type: 'string', default: DEFAULT_RELEASE_URL },
    },
  });
  const result = await packageKrew({
    root,
    outDir: resolve(values.out),
    manifest: resolve(values.manifest),
    manifestOut: resolve(values['manifest-out'] ?? values.manifest),
    releaseUrl: values['release-url'].replace(/\/$/, ''),
  });
  process.stdout.write(`${result.archive}\nsha256 ${result.sha256}\nmanifest ${result.manifest}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`krew-package: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
