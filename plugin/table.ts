// kubectl's table layout: upper-case headers, columns padded by three spaces, the last column
// unpadded, no trailing blanks. Pure.

export function layoutTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3)))
        .join('')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

export function truncate(s: string, max: number): string {
  const one = oneLine(s);
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}
