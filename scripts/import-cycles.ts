// `npm run lint`'s import-cycle check: fails when any source file can reach itself through relative
// imports (type-only imports, re-exports and dynamic import() included: a cycle of types is still
// one concern split in two, STYLE.md). Prints every cycle as a path of files.
//
//   node scripts/import-cycles.ts [--warn] [DIR...]   (default: every source folder of the project)
//
// --warn reports the cycles but exits 0 (for landing the check before the last cycle is broken).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_DIRS = ['common', 'plugin', 'server', 'shim', 'bench', 'scripts', 'test'];
const SKIP = new Set(['node_modules', 'dist', 'fixtures', '.tools']);

/** `from '…'`, a bare `import '…'` and `import('…')`: the specifiers, relative ones only. */
const SPECIFIER =
  /(?:\b(?:import|export)\b[^'"`;]*?\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(?:m|c)?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Comments out (they quote imports in prose); strings stay, the specifiers are strings. */
function withoutComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\/|(?<![:'"`\\])\/\/[^\n]*/g, '');
}

export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = new Set<string>();
    for (const m of withoutComments(readFileSync(file, 'utf8')).matchAll(SPECIFIER)) {
      const target = normalize(join(dirname(file), m[2]!));
      const hit = [target, target.replace(/\.js$/, '.ts'), `${target}.ts`, join(target, 'index.ts')].find(
        (c) => known.has(c),
      );
      if (hit && hit !== file) deps.add(hit);
    }
    graph.set(file, [...deps].sort());
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan's, without recursion). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const t = new Tarjan(graph);
  for (const start of graph.keys()) if (!t.index.has(start)) t.walk(start);
  return t.found;
}

class Tarjan {
  readonly index = new Map<string, number>();
  readonly found: string[][] = [];
  readonly #graph: ReadonlyMap<string, readonly string[]>;
  readonly #low = new Map<string, number>();
  readonly #onStack = new Set<string>();
  readonly #stack: string[] = [];

  constructor(graph: ReadonlyMap<string, readonly string[]>) {
    this.#graph = graph;
  }

  walk(start: string): void {
    const work = [{ node: start, edge: 0 }];
    this.#enter(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const w = this.#graph.get(top.node)?.[top.edge++];
      if (w === undefined) {
        work.pop();
        const parent = work[work.length - 1];
        if (parent) this.#lower(parent.node, this.#low.get(top.node)!);
        this.#close(top.node);
      } else if (!this.index.has(w)) {
        this.#enter(w);
        work.push({ node: w, edge: 0 });
      } else if (this.#onStack.has(w)) this.#lower(top.node, this.index.get(w)!);
    }
  }

  #enter(node: string): void {
    this.index.set(node, this.index.size);
    this.#low.set(node, this.index.size - 1);
    this.#stack.push(node);
    this.#onStack.add(node);
  }

  #lower(node: string, to: number): void {
    this.#low.set(node, Math.min(this.#low.get(node)!, to));
  }

  /** A node whose low link is its own index roots a component: everything above it on the stack. */
  #close(node: string): void {
    if (this.#low.get(node) !== this.index.get(node)) return;
    const component: string[] = [];
    for (let w = this.#stack.pop(); w !== undefined; w = w === node ? undefined : this.#stack.pop()) {
      this.#onStack.delete(w);
      component.push(w);
    }
    if (component.length > 1) this.found.push(component.sort());
  }
}

/** One concrete loop through a component, for the message: a -> b -> … -> a. */
export function loopThrough(
  component: readonly string[],
  graph: ReadonlyMap<string, readonly string[]>,
): string[] {
  const inside = new Set(component);
  const first = component[0]!;
  const previous = new Map<string, string>();
  const queue = [first];
  while (queue.length) {
    const node = queue.shift()!;
    for (const w of graph.get(node) ?? []) {
      if (!inside.has(w)) continue;
      if (w === first) {
        const path = [first];
        for (let n: string | undefined = node; n !== undefined && n !== first; n = previous.get(n))
          path.splice(1, 0, n);
        return [...path, first];
      }
      if (!previous.has(w)) {
        previous.set(w, node);
        queue.push(w);
      }
    }
  }
  return [...component, first];
}

function main(argv: string[]): number {
  const warnOnly = argv.includes('--warn');
  const dirs = argv.filter((a) => !a.startsWith('--'));
  const roots = (dirs.length ? dirs : DEFAULT_DIRS).map((d) => resolve(ROOT, d));
  const files = roots
    .filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory())
    .flatMap(sourceFiles);
  const graph = importGraph(files);
  const found = cycles(graph);
  for (const component of found) {
    const loop = loopThrough(component, graph).map((f) => relative(ROOT, f));
    process.stderr.write(`import cycle: ${loop.join(' -> ')}\n`);
    if (component.length > loop.length - 1) {
      const all = component.map((f) => relative(ROOT, f)).join(', ');
      process.stderr.write(`  one tangle of ${component.length} files that reach each other: ${all}\n`);
    }
  }
  if (!found.length) {
    process.stdout.write(`import cycles: none among ${files.length} files\n`);
    return 0;
  }
  process.stderr.write(
    `${found.length} import cycle(s) among ${files.length} files: move the shared type down, or merge the halves\n`,
  );
  return warnOnly ? 0 : 1;
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
