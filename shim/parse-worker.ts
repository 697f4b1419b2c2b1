// A parser worker thread (ParsePool): runs each ParseJob it is sent and answers with the batch, in
// the order the jobs came. A job that throws is answered with the error; the pool fails the run.

import { parentPort } from 'node:worker_threads';
import { type ParseJob, runParseJob } from './parse-job.ts';

export interface WorkerJob {
  seq: number;
  job: ParseJob;
}

export type WorkerReply =
  | { seq: number; ok: ReturnType<typeof runParseJob> }
  | { seq: number; error: string };

const port = parentPort;
if (port === null) throw new Error('parse-worker.ts runs as a worker thread (ParsePool)');
port.on('message', ({ seq, job }: WorkerJob) => {
  let reply: WorkerReply;
  try {
    reply = { seq, ok: runParseJob(job) };
  } catch (err) {
    reply = { seq, error: err instanceof Error ? err.message : String(err) };
  }
  const transfer: ArrayBuffer[] = [];
  if ('ok' in reply) {
    transfer.push(reply.ok.batch.meta.buffer as ArrayBuffer);
    const bytes = reply.ok.batch.bytes;
    // The job's own buffer (a file range read here, or bytes sent here): not a pooled Buffer's.
    if (bytes !== null) transfer.push(bytes.buffer as ArrayBuffer);
  }
  port.postMessage(reply, transfer);
});
