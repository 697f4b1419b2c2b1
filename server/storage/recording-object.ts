// Where a session's recording lives outside the replica that recorded it: its object key, and the
// path a replica without it keeps a downloaded copy at. The recording's own file stays
// recordingPath(dataDir, id) (server/recording/writer.ts), the source of truth until it is uploaded.
import { join } from 'node:path';
import { AuditedExecError } from '../../common/errors.ts';
import { isSessionId } from '../../common/session-marker.ts';
import { RECORDINGS_DIR } from '../recording/writer.ts';

/** recordings/<id>.cast; an id that is not a session id never names an object or a file. */
export function recordingKey(id: string): string {
  return `${RECORDINGS_DIR}/${checkedId(id)}.cast`;
}

/** <dataDir>/cache/recordings/<id>.cast: a copy downloaded from the object store. */
export function cachedRecordingPath(dataDir: string, id: string): string {
  return join(dataDir, 'cache', RECORDINGS_DIR, `${checkedId(id)}.cast`);
}

function checkedId(id: string): string {
  if (!isSessionId(id))
    throw new AuditedExecError('STORAGE_BAD_KEY', `${JSON.stringify(id)} is not a session id`);
  return id;
}
