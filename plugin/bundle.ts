// An evidence bundle file on disk, as export (its self-check) and verify both read it.
import { readFile } from 'node:fs/promises';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import { type FileMap, readTarGz } from '../common/evidence/tar.ts';

export async function readBundleFile(file: string): Promise<FileMap> {
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new AuditedExecError('EVIDENCE_BUNDLE_UNREADABLE', `cannot read ${file}: ${errorMessage(err)}`);
  });
  try {
    return readTarGz(new Uint8Array(bytes));
  } catch (err) {
    throw new AuditedExecError('EVIDENCE_BUNDLE_UNREADABLE', `${file}: ${errorMessage(err)}`);
  }
}
