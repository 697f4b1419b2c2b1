import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../shim/line-splitter.ts';

/** The lines node:readline gives for these chunks (the offline CLI's former reader). */
async function readlineLines(chunks: string[]): Promise<string[]> {
  const rl = createInterface({
    input: Readable.from(chunks.map((c) => Buffer.from(c))),
    crlfDelay: Infinity,
  });
  const out: string[] = [];
  for await (const line of rl) out.push(line);
  return out;
}

function splitterLines(chunks: string[]): string[] {
  const out: string[] = [];
  const splitter = new LineSplitter();
  for (const c of chunks) splitter.push(c, (l) => out.push(l));
  splitter.end((l) => out.push(l));
  return out;
}

describe('LineSplitter', () => {
  it('cuts lines as readline does: \\n, \\r\\n across chunks, lone \\r, U+2028, no empty last line', async () => {
    const chunks = ['a\nb\r', '\nc\rd\u2028e', '\u2029\n\nf\r\n', 'g'];
    expect(splitterLines(chunks)).toEqual(['a', 'b', 'c', 'd', 'e', '', '', 'f', 'g']);
    expect(splitterLines(chunks)).toEqual(await readlineLines(chunks));
    expect(splitterLines(['x\n'])).toEqual(['x']);
    expect(splitterLines([''])).toEqual([]);
  });

  it('agrees with readline on any text cut anywhere', async () => {
    const text = fc.array(
      fc.constantFrom('a', 'type=X', ' ', '\n', '\r', '\r\n', '\u2028', '\u2029', '\u001d', 'é'),
      {
        maxLength: 40,
      },
    );
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 5 }), async (parts, cuts) => {
        const s = parts.join('');
        const at = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...at].map((from, i) => s.slice(from, [...at, s.length][i])).filter((c) => c);
        expect(splitterLines(chunks)).toEqual(await readlineLines(chunks));
      }),
      { numRuns: 500 },
    );
  });
});
