// An in-memory audit log directory for the tailer (TailFs), where "auditd" acts between any two of
// the tailer's file-system calls: `onCall` runs before each call, so a test decides exactly where
// a rotation lands (mid-listing, between a stat and an open, while the consumer holds a batch).
// Inodes behave as on ext4: a deleted file stays readable through an open handle, and its inode
// number is reused by the next file created once no handle holds it.
import type { TailFile, TailFs } from '../../../shim/source/tail-fs.ts';

interface Inode {
  /** unique per file, unlike ino (reused) */
  id: number;
  ino: number;
  data: Buffer;
  links: number;
  handles: number;
}

export class FakeLogDir implements TailFs {
  readonly dir: string;
  readonly path: string;
  readonly numLogs: number;
  /** called before every TailFs call with its name and path */
  onCall: (op: 'open' | 'ino' | 'readdir', path: string) => void = () => {};
  #nextId = 1;
  readonly #names = new Map<string, Inode>();
  readonly #free: number[] = [];
  #nextIno = 11;

  constructor(o: { dir?: string; numLogs?: number } = {}) {
    this.dir = o.dir ?? '/var/log/audit';
    this.path = `${this.dir}/audit.log`;
    this.numLogs = o.numLogs ?? 5;
    this.#create(this.path);
  }

  /** auditd writes to audit.log; returns the id of the file written to. */
  append(text: string): number {
    const f = this.#names.get(this.path)!;
    f.data = Buffer.concat([f.data, Buffer.from(text)]);
    return f.id;
  }

  /** auditd's rotate_logs: drop the oldest, shift .N-2 … .1 up by one, audit.log → .1, new audit.log. */
  rotate(): void {
    this.#unlink(`${this.path}.${this.numLogs - 1}`);
    for (let n = this.numLogs - 2; n >= 1; n--) this.#rename(`${this.path}.${n}`, `${this.path}.${n + 1}`);
    this.#rename(this.path, `${this.path}.1`);
    this.#create(this.path);
  }

  /** The id of the file at `path` now. */
  idOf(path: string): number | null {
    return this.#names.get(path)?.id ?? null;
  }

  open(path: string): TailFile | null {
    this.onCall('open', path);
    const f = this.#names.get(path);
    if (!f) return null;
    f.handles++;
    let closed = false;
    return {
      ino: f.ino,
      size: () => f.data.length,
      read: (buf, position) => f.data.copy(buf, 0, position, Math.min(f.data.length, position + buf.length)),
      close: () => {
        if (closed) throw new Error(`inode ${f.ino} closed twice`);
        closed = true;
        f.handles--;
        this.#release(f);
      },
    };
  }

  ino(path: string): number | null {
    this.onCall('ino', path);
    return this.#names.get(path)?.ino ?? null;
  }

  readdir(dir: string): string[] {
    this.onCall('readdir', dir);
    // Hash order on ext4: not the numeric order, and not stable across renames. Oldest first here,
    // so a listing reads audit.log last.
    return [...this.#names.keys()]
      .filter((p) => p.startsWith(`${dir}/`))
      .map((p) => p.slice(dir.length + 1))
      .sort()
      .reverse();
  }

  /** Handles the tailer still holds (a leak shows here). */
  openHandles(): number {
    let n = 0;
    for (const f of this.#allInodes) n += f.handles;
    return n;
  }

  readonly #allInodes = new Set<Inode>();

  #create(path: string): void {
    const ino = this.#free.shift() ?? this.#nextIno++;
    const f: Inode = { id: this.#nextId++, ino, data: Buffer.alloc(0), links: 1, handles: 0 };
    this.#allInodes.add(f);
    this.#names.set(path, f);
  }

  #rename(from: string, to: string): void {
    const f = this.#names.get(from);
    if (!f) return;
    this.#unlink(to);
    this.#names.delete(from);
    this.#names.set(to, f);
  }

  #unlink(path: string): void {
    const f = this.#names.get(path);
    if (!f) return;
    this.#names.delete(path);
    f.links--;
    this.#release(f);
  }

  #release(f: Inode): void {
    if (f.links > 0 || f.handles > 0) return;
    this.#allInodes.delete(f);
    this.#free.push(f.ino);
  }
}
