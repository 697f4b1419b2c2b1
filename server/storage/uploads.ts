// Recordings leave a replica's volume for the object store: each session is noted when its stream
// opens on this replica and uploaded once it ended (RecordingUploader), recordings an earlier run
// left are uploaded at start. Followed through the session events; figures go to /metrics.
import { errorMessage } from '../../common/errors.ts';
import type { Metrics } from '../metrics.ts';
import type { SessionEvents } from '../sessions/bus.ts';
import type { ObjectStore } from './object-store.ts';
import { RecordingUploader } from './recording-uploader.ts';

export interface Uploads {
  /** Waits for an upload in progress, then stops (shutdown). */
  stop(): Promise<void>;
}

export function attachUploads(o: {
  dataDir: string;
  objects: ObjectStore;
  events: SessionEvents;
  metrics: Pick<Metrics, 'watchUploads'>;
  log: (line: string) => void;
}): Uploads {
  const uploader = new RecordingUploader({ dataDir: o.dataDir, store: o.objects, log: o.log });
  const failed = (id: string) => (err: unknown) => o.log(`session ${id}: upload: ${errorMessage(err)}`);
  o.events.on('started', (s) => void uploader.begin(s.id).catch(failed(s.id)));
  o.events.on('ended', (s) => void uploader.finish(s.id).catch(failed(s.id)));
  o.metrics.watchUploads(uploader.counters);
  uploader.start();
  return { stop: () => uploader.stop() };
}
