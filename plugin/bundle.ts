// An evidence bundle file on disk, as export (its self-check) and verify both read it: streamed
// member by member, so a recording of GiBs is never held whole (a 1 GiB one once took 4.9 GB and
// then hit V8's string limit).
import { open } from 'node:fs/promises';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import { readTarGzStream, type TarReadEntry } from '../common/evidence/tar-read.ts';
import { type VerifyOptions, type VerifyReport, verifyBundleStream } from '../common/evidence/verify.ts';

export function verifyBundleFile(file: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  return naming(file, () => verifyBundleStream(bundleEntries(file), options));
}

/** One (small) member's bytes, or null when the bundle has none by that name. */
export function readBundleMember(file: string, name: string, maxBytes: number): Promise<Uint8Array | null> {
  return naming(file, async () => {
    for await (const entry of bundleEntries(file)) {
      if (entry.name !== name) continue;
      if (entry.size > maxBytes) {
        throw new AuditedExecError(
          'EVIDENCE_BUNDLE_UNREADABLE',
          `bundle: ${name} is larger than ${maxBytes} bytes`,
        );
      }
      const chunks: Uint8Array[] = [];
      for await (const chunk of entry.body) chunks.push(chunk);
      return Buffer.concat(chunks);
    }
    return null;
  });
}

async function* bundleEntries(file: string): AsyncGenerator<TarReadEntry> {
  const handle = await open(file);
  // The stream closes the handle when it ends or is destroyed (also when a reader stops early).
  yield* readTarGzStream(handle.createReadStream());
}

/** Errors as the user should read them: the bundle's own problems and I/O failures name the file. */
async function naming<T>(file: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AuditedExecError && err.code === 'EVIDENCE_BUNDLE_UNREADABLE') {
      throw new AuditedExecError('EVIDENCE_BUNDLE_UNREADABLE', `${file}: ${err.message}`);
    }
    if ((err as NodeJS.ErrnoException).syscall !== undefined) {
      throw new AuditedExecError('EVIDENCE_BUNDLE_UNREADABLE', `cannot read ${file}: ${errorMessage(err)}`);
    }
    throw err;
  }
}
