// What verify takes from each file of a bundle as the file streams past: every listed file's
// digest, the small files whole, and recording.cast's asciicast check. Nothing else is kept, so a
// bundle of any size verifies in bounded memory: at most the small files plus one chunk and one
// recording line. Feed it member by member (open, write…, end), then read the contents.
import { createHash } from 'node:crypto';
import type { AsciicastError } from '../asciicast.ts';
import { AuditedExecError } from '../errors.ts';
import { CastCheck } from './cast-check.ts';
import { FILES, type FileDigest } from './format.ts';

const MiB = 1024 * 1024;

/** The files held whole, and how large each may be. events.jsonl gets more room: the server renders
 *  it whole when it signs, and a long session of a busy build attributes hundreds of thousands of
 *  commands. The others are a few KiB. */
const HELD: ReadonlyMap<string, number> = new Map([
  [FILES.manifest, 64 * MiB],
  [FILES.signature, 64 * MiB],
  [FILES.session, 64 * MiB],
  [FILES.events, 256 * MiB],
  [FILES.publicKey, 64 * MiB],
]);
/** Streamed through a hash only. */
const STREAMED: ReadonlySet<string> = new Set([FILES.recording, FILES.report]);

export interface Contents {
  /** every member, in archive order */
  names: string[];
  /** SHA-256 and size of every held or streamed file present */
  digests: Map<string, FileDigest>;
  /** the small files, whole */
  held: Map<string, Uint8Array>;
  /** recording.cast's first problem (null: none; undefined: no recording.cast) */
  castProblem: AsciicastError | null | undefined;
}

export interface MemberSink {
  write(chunk: Uint8Array): void;
  end(): void;
}

export class BundleContents {
  readonly #contents: Contents = { names: [], digests: new Map(), held: new Map(), castProblem: undefined };

  /** Starts the next member; `size` is what its header states (the tar reader enforces it). */
  open(name: string, size: number): MemberSink {
    const c = this.#contents;
    c.names.push(name);
    const limit = HELD.get(name);
    if (limit !== undefined) return this.#hold(name, size, limit);
    if (!STREAMED.has(name)) return { write: () => {}, end: () => {} };
    const hash = createHash('sha256');
    const cast = name === FILES.recording ? new CastCheck() : null;
    let bytes = 0;
    return {
      write: (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
        cast?.write(chunk);
      },
      end: () => {
        c.digests.set(name, { sha256: hash.digest('hex'), size: bytes });
        if (cast) c.castProblem = cast.end();
      },
    };
  }

  get contents(): Contents {
    return this.#contents;
  }

  #hold(name: string, size: number, limit: number): MemberSink {
    const tooLarge = () =>
      new AuditedExecError(
        'EVIDENCE_BUNDLE_UNREADABLE',
        `bundle: ${name} is larger than the ${limit / MiB} MiB verify reads into memory; it is no bundle the recorder writes`,
      );
    if (size > limit) throw tooLarge();
    const hash = createHash('sha256');
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    return {
      write: (chunk) => {
        bytes += chunk.length;
        if (bytes > limit) throw tooLarge();
        hash.update(chunk);
        chunks.push(chunk);
      },
      end: () => {
        this.#contents.digests.set(name, { sha256: hash.digest('hex'), size: bytes });
        // One chunk (a file held in memory already) is kept as it is, not copied.
        this.#contents.held.set(name, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
      },
    };
  }
}
