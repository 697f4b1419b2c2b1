// Bulk output: N bytes from `head -c N /dev/zero` through the recorder and straight at the
// apiserver; throughput ratio, and the recording must hold exactly N output bytes.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { type ChannelStream, type Endpoint, openDirect, openRecorded } from './channel-client.ts';
import type { BenchResult } from './result.ts';
import { ms, round, within } from './stats.ts';

/** Slowest throughput taken for a live stream: below it the run fails rather than waits on. */
const FLOOR_BYTES_PER_S = 2 << 20;

async function drain(
  open: Promise<ChannelStream>,
  o: { name: string; expected: number },
): Promise<{ bytes: number; ms: number; id?: string }> {
  const t0 = process.hrtime.bigint();
  const s = await open;
  let bytes = 0;
  s.onOutput((c) => {
    bytes += c.length;
  });
  await within(
    s.closed,
    120 + Math.ceil(o.expected / FLOOR_BYTES_PER_S),
    () => `the ${o.name} stream did not end (${bytes} of ${o.expected} bytes received)`,
  );
  return { bytes, ms: ms(process.hrtime.bigint() - t0), ...(s.sessionId ? { id: s.sessionId } : {}) };
}

/** Output bytes in an asciicast file, read line by line (a 1 GiB recording does not fit a string). */
export async function recordedOutputBytes(file: string): Promise<number> {
  let bytes = 0;
  let header = true;
  for await (const line of createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    if (header) {
      header = false;
      continue;
    }
    if (!line) continue;
    const [, code, data] = JSON.parse(line) as [number, string, string];
    if (code === 'o') bytes += Buffer.byteLength(data, 'utf8');
  }
  return bytes;
}

export async function bulkBench(o: {
  recorder: Endpoint;
  api: Endpoint;
  /** The bare TLS relay (tls-relay.ts) in front of the same apiserver: the floor for any hop. */
  relay: Endpoint;
  bytes: number;
  recordingFile: (id: string) => string;
}): Promise<BenchResult> {
  // x rather than NUL: a NUL is six characters of JSON (\u0000), an x is one, as with text output.
  const cmd = `head -c ${o.bytes} /dev/zero | tr '\\0' x`;
  const spec = { command: ['sh', '-c', cmd], tty: false, stdin: false };
  const direct = await drain(openDirect(o.api, spec), { name: 'direct', expected: o.bytes });
  const relayed = await drain(openDirect(o.relay, spec), { name: 'bare relay', expected: o.bytes });
  const recorded = await drain(openRecorded(o.recorder, spec), { name: 'recorded', expected: o.bytes });
  const file = o.recordingFile(recorded.id!);
  const recordedBytes = await recordedOutputBytes(file);
  const onDisk = (await stat(file)).size;
  const mib = o.bytes / 1024 / 1024;
  const ratio = direct.ms / recorded.ms;
  return {
    name: 'bulk output',
    method: `"${cmd}" in pod default/web (no tty), timed from session create to stream close; recorder vs direct; o-event bytes in the recording file counted; "bare relay": the same exec through a process that only terminates TLS and copies bytes (bench/tls-relay.ts), the most any extra hop allows here`,
    figures: {
      MiB: round(mib, 0),
      'recorded MiB/s': round(mib / (recorded.ms / 1000), 1),
      'direct MiB/s': round(mib / (direct.ms / 1000), 1),
      'throughput ratio': round(ratio),
      'bare relay MiB/s': round(mib / (relayed.ms / 1000), 1),
      'bare relay ratio': round(direct.ms / relayed.ms),
      'client bytes (recorded)': recorded.bytes,
      'recording o bytes': recordedBytes,
      'recording MiB on disk': round(onDisk / 1024 / 1024, 1),
    },
    targets: [
      { what: 'throughput ratio >= 0.9', met: ratio >= 0.9 },
      {
        what: 'recording byte-complete',
        met: recordedBytes === o.bytes && recorded.bytes === o.bytes && relayed.bytes === o.bytes,
      },
    ],
  };
}
