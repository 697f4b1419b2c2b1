// Child process for seal-memory.test.ts: seals one session whose recording is a file on disk,
// wired as the recorder wires it, and prints how far its resident set rose while sealing.
// A process of its own so VmHWM measures this seal and nothing the test runner did before.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEvidence } from '../../server/evidence/evidence.ts';
import { openRecordingFile } from '../../server/evidence/recording-file.ts';
import { createFileSignatureStore } from '../../server/evidence/store.ts';
import { fakePlayer, memoryKey, SESSION_ID, sessionRecord, shimEvents } from './fixture.ts';

const [dir, sha256, bytes] = process.argv.slice(2) as [string, string, string];
const castPath = join(dir, 'session.cast');
const kib = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);

const session = sessionRecord({ recordingSha256: sha256, recordingBytes: Number(bytes) });
const evidence = createEvidence({
  key: memoryKey(),
  player: fakePlayer,
  store: {
    ...createFileSignatureStore({ dir: join(dir, 'evidence') }),
    getSession: async () => session,
    openRecording: () => openRecordingFile(castPath),
    listEvents: async () => shimEvents,
  },
});

const before = kib('VmRSS');
const result = await evidence.seal(SESSION_ID);
process.stdout.write(
  `${JSON.stringify({ signed: result.signed, beforeKiB: before, peakKiB: kib('VmHWM') })}\n`,
);
