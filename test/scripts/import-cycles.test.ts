import { describe, expect, it } from 'vitest';
import { cycles, loopThrough } from '../../scripts/import-cycles.ts';

const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

describe('import-cycles', () => {
  it('finds no cycle in a tree', () => {
    expect(cycles(graph({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('finds each tangle once, and a loop through it', () => {
    const g = graph({ a: ['b'], b: ['c'], c: ['a', 'd'], d: ['e'], e: ['d'], f: ['a'] });
    const found = cycles(g);
    expect(found.map((c) => c.join(' '))).toEqual(expect.arrayContaining(['a b c', 'd e']));
    expect(found).toHaveLength(2);
    expect(loopThrough(['a', 'b', 'c'], g)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('walks a long chain without recursion', () => {
    const edges: Record<string, string[]> = {};
    for (let i = 0; i < 50_000; i++) edges[`f${i}`] = [`f${i + 1}`];
    edges.f50000 = ['f0'];
    expect(cycles(graph(edges))[0]).toHaveLength(50_001);
  });
});
