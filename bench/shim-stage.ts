// What the shim benchmarks share: the project's audit rules loaded under a key of their own, a
// recorder (whose own shim ingestion stores the events), and the real shim daemon shipping to it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShimAttachment } from '../server/shim/attach.ts';
import { spawnShim, writeFiles } from '../test/e2e/shim-harness.ts';
import { loadAuditRules } from '../test/support/audit-rules.ts';
import { type RecorderHandle, startRecorder } from '../test/support/recorder.ts';
import type { SandboxProcess } from './sandbox-process.ts';

export interface ShimStage {
  rec: RecorderHandle;
  shim: ShimAttachment;
  child: ReturnType<typeof spawnShim>;
  stateDir: string;
  /** Stops the shim, removes the rules, stops the recorder, deletes the temp dir. */
  stop(): Promise<void>;
}

export async function startShimStage(sb: SandboxProcess, tag: string): Promise<ShimStage> {
  const dir = await mkdtemp(join(tmpdir(), `bench-${tag}-`));
  const removeRules = loadAuditRules(`bench-${tag}-${process.pid}`);
  const rec = await startRecorder({ sandbox: sb });
  const files = writeFiles(dir, { token: sb.shimToken, 'ca.pem': rec.caPem });
  const stateDir = join(dir, 'state');
  const child = spawnShim({
    url: rec.url,
    caFile: files['ca.pem']!,
    tokenFile: files.token!,
    node: sb.nodeName,
    stateDir,
  });
  return {
    rec,
    shim: rec.recorder.modules.shim,
    child,
    stateDir,
    async stop() {
      child.kill('SIGTERM');
      await child.exited;
      removeRules();
      await rec.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
