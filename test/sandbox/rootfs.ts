// Image root filesystems built from the host's own binaries: real bash + coreutils with the
// shared libraries ldd names. Real binaries matter: busybox sh runs applets without execve, which
// hides commands from auditd. Built once per image into a cache under os.tmpdir() and reused.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, copyFile, mkdir, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type ImageName = 'sandbox/bash' | 'sandbox/noenv';

/** Bump when the recipe changes so stale caches are not reused. */
const RECIPE_VERSION = 'v2';

export const IMAGE_BINARIES = [
  'bash',
  'env',
  'ls',
  'cat',
  'echo',
  'sleep',
  'touch',
  'id',
  'chroot',
  'nohup',
  'stty',
  'head',
  'tail',
  'tr',
  'wc',
  'true',
  'false',
  'mkdir',
  'rm',
  'ps',
  'cp',
  'mv',
  'grep',
  'sed',
  'readlink',
  'uname',
  'hostname',
  'pwd',
  'date',
  'kill',
  'tty',
  'sort',
  'stat',
  'tee',
  'dd',
  'ln',
  // the attribution scenarios (test/scenarios): daemonizing and a real subreaper
  'setsid',
  'tini',
] as const;

/** Binaries the image must have; the rest are copied when the host has them. */
const REQUIRED = new Set(['bash', 'env', 'sleep', 'cat', 'echo', 'stty']);

export const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function imageCacheRoot(): string {
  return join(tmpdir(), 'audited-exec-sandbox-images', RECIPE_VERSION);
}

export function binariesFor(image: ImageName): string[] {
  return IMAGE_BINARIES.filter((b) => image !== 'sandbox/noenv' || b !== 'env');
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function findOnHost(name: string): Promise<string | null> {
  for (const dir of CONTAINER_PATH.split(':')) {
    const p = join(dir, name);
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {}
  }
  return null;
}

/** Copies a host file to the same canonical directory inside root, keeping the file name. */
async function copyIn(root: string, hostPath: string): Promise<void> {
  const dir = await realpath(dirname(hostPath));
  const dest = join(root, dir, basename(hostPath));
  if (await exists(dest)) return;
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(hostPath, dest);
}

async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]).catch(() => ({ stdout: '' }));
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

async function build(root: string, image: ImageName): Promise<void> {
  // Merged-/usr layout with relative links, so paths resolve the same from the host (for the
  // executable lookup) and inside the container.
  for (const d of [
    'usr/bin',
    'usr/sbin',
    'usr/lib',
    'usr/lib64',
    'etc',
    'tmp',
    'root',
    'proc',
    'sys',
    'dev',
    'run',
  ]) {
    await mkdir(join(root, d), { recursive: true });
  }
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const) {
    await symlink(target, join(root, link));
  }
  for (const name of binariesFor(image)) {
    const host = await findOnHost(name);
    if (!host) {
      if (REQUIRED.has(name)) throw new Error(`the host has no ${name} binary to build ${image}`);
      continue;
    }
    await copyIn(root, host);
    for (const lib of await sharedLibraries(host)) await copyIn(root, lib);
  }
  await symlink('bash', join(root, 'usr/bin/sh'));
  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  await writeFile(join(root, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  await writeFile(join(root, 'etc/hostname'), 'sandbox\n');
  await writeFile(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\n');
}

/** Returns the cached root filesystem of an image, building it first if needed (race-safe). */
export async function ensureImage(image: ImageName, cacheRoot = imageCacheRoot()): Promise<string> {
  const dir = join(cacheRoot, image.replace('/', '_'));
  if (await exists(join(dir, 'usr/bin/bash'))) return dir;
  await mkdir(cacheRoot, { recursive: true });
  const tmp = `${dir}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await build(tmp, image);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      // another process built it first
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Resolves argv[0] the way execvp inside the container would, against a root directory seen from
 * the host. Returns false when the kubelet would say "executable file not found in $PATH".
 */
export async function resolvesInRoot(root: string, command: string, path = CONTAINER_PATH): Promise<boolean> {
  const candidates = command.includes('/') ? [command] : path.split(':').map((d) => join(d, command));
  for (const c of candidates) {
    try {
      const s = await stat(join(root, c));
      if (s.isFile() && s.mode & 0o111) return true;
    } catch {}
  }
  return false;
}
