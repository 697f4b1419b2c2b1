// No docker engine here, so the Dockerfile is linted by parsing it: stages, base images, the
// non-root user, no remote ADD, and that every COPY from the context exists and is not
// excluded by .dockerignore. The entry points must be the package's bin targets.
import { existsSync, readFileSync } from 'node:fs';
import { matchesGlob } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Loose, parseYamlDocs } from './manifests.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(`${ROOT}${p}`, 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  body: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparseable Dockerfile line: ${line}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!;
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`bad FROM: ${args}`);
      stages.push({ image: f[1]!, ...(f[2] ? { name: f[2] } : {}), body: [] });
    } else {
      if (!stages.length) throw new Error(`${op} before FROM`);
      stages.at(-1)!.body.push({ op, args });
    }
  }
  return stages;
}

/** .dockerignore semantics for the patterns used here: glob per path, and a match on a parent excludes its files. */
function ignored(path: string, patterns: string[]): boolean {
  const parts = path.split('/');
  let out = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = negate ? raw.slice(1) : raw;
    const hit = parts.some((_, i) => matchesGlob(parts.slice(0, i + 1).join('/'), pattern));
    if (hit) out = !negate;
  }
  return out;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const ignore = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const final = stages.at(-1)!;

  it('builds in one stage and runs from a slim Node 24 image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.image).toBe('node:24-bookworm-slim');
    expect(stages[0]!.body.some((i) => i.op === 'RUN' && i.args.includes('npm ci'))).toBe(true);
    expect(stages[0]!.body.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
  });

  it('runs as a numeric non-root user', () => {
    const users = final.body.filter((i) => i.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)!.args).toBe('65532:65532');
  });

  it('fetches nothing with ADD and copies only what exists and is not ignored', () => {
    const names = new Set(stages.map((s) => s.name));
    for (const s of stages) {
      expect(s.body.filter((i) => i.op === 'ADD')).toEqual([]);
      for (const i of s.body.filter((x) => x.op === 'COPY')) {
        const from = /--from=(\S+)/.exec(i.args)?.[1];
        const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        if (from) {
          expect(names.has(from), `COPY --from=${from}`).toBe(true);
          continue;
        }
        for (const src of words.slice(0, -1)) {
          expect(existsSync(`${ROOT}${src}`), `COPY ${src}: missing`).toBe(true);
          expect(ignored(src, ignore), `COPY ${src}: excluded by .dockerignore`).toBe(false);
        }
      }
    }
  });

  it('.dockerignore keeps local state out of the context', () => {
    for (const p of ['node_modules', 'dist', '.git', 'data', '.tools', 'x/server.key']) {
      expect(ignored(p, ignore), p).toBe(true);
    }
    expect(ignored('server/main.ts', ignore)).toBe(false);
  });

  it('starts the recorder by default and the shim by args, both bin targets of the package', () => {
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin;
    const exec = (op: string) => JSON.parse(final.body.findLast((i) => i.op === op)!.args) as string[];
    expect(exec('ENTRYPOINT')).toEqual([
      '/usr/bin/tini',
      '--',
      'node',
      '--enable-source-maps',
      '--max-semi-space-size=2',
    ]);
    expect(exec('CMD')).toEqual([`/app/${bin['audited-exec-server']}`]);
    const ds = parseYamlDocs(read('deploy/app/shim.yaml')).find((o) => o.kind === 'DaemonSet') as Loose;
    expect(ds.spec.template.spec.containers[0].args[0]).toBe(`/app/${bin['audited-exec-shim']}`);
  });

  it('the parser rejects what it does not understand', () => {
    expect(() => parseDockerfile('RUN true\n')).toThrow(/before FROM/);
    expect(parseDockerfile('FROM a AS b\nUSER 1\n')[0]).toEqual({
      image: 'a',
      name: 'b',
      body: [{ op: 'USER', args: '1' }],
    });
  });
});
