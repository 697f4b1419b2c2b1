// Decoded text in chunks → lines, exactly as node:readline (crlfDelay: Infinity) cuts them, without
// its per-line event and promise: the offline CLI used readline, and its line numbers and output
// must not change. Ends are \n, \r\n, a lone \r, U+2028 and U+2029; a \r\n split across two
// chunks is one end; a final line without an end is kept only when it is not empty.

// readline's own pattern, used only for chunks that hold one of the rare ends.
const LINE_END = /\r?\n|\r(?!\n)|\u2028|\u2029/;

export class LineSplitter {
  #partial = '';
  #sawReturn = false;

  /** Calls onLine for every line the chunk completes. */
  push(chunk: string, onLine: (line: string) => void): void {
    let text = chunk;
    if (this.#sawReturn) {
      // The \n of a \r\n that the previous chunk ended in the middle of.
      if (text.charCodeAt(0) === 0x0a) text = text.slice(1);
      this.#sawReturn = false;
    }
    if (text.length === 0) return;
    const lines =
      text.includes('\r') || text.includes('\u2028') || text.includes('\u2029')
        ? text.split(LINE_END)
        : text.split('\n');
    const last = lines.length - 1;
    if (last === 0) {
      this.#partial += text;
      return;
    }
    this.#sawReturn = text.charCodeAt(text.length - 1) === 0x0d;
    const first = this.#partial.length > 0 ? this.#partial + lines[0]! : lines[0]!;
    this.#partial = lines[last]!;
    onLine(first);
    for (let i = 1; i < last; i++) onLine(lines[i]!);
  }

  /** End of input: the last line, when it had no line end and is not empty. */
  end(onLine: (line: string) => void): void {
    if (this.#partial.length > 0) onLine(this.#partial);
    this.#partial = '';
  }
}
