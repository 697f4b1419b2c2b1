// The one contract every SIEM sink implements: deliver a batch of spooled events (JSON lines, in
// order) and resolve only once the receiver acknowledged all of them; reject otherwise, and the
// batch is sent again. Variants: sinks/webhook.ts, sinks/syslog.ts, sinks/splunk.ts.
import { readFile } from 'node:fs/promises';
import type { SecretRef, SinkSpec } from './sink-spec.ts';
import { SplunkSink } from './sinks/splunk.ts';
import { SyslogSink } from './sinks/syslog.ts';
import { WebhookSink } from './sinks/webhook.ts';

export interface SiemSink {
  readonly name: string;
  /** Resolves once the receiver acknowledged every event of `events` (JSON texts of SiemEvent). */
  send(events: readonly string[]): Promise<void>;
}

/** The sink a spec describes, its secret and CA read now (a missing file fails the start). */
export async function openSink(spec: SinkSpec): Promise<SiemSink> {
  const ca = spec.caFile ? await readFile(spec.caFile, 'utf8') : undefined;
  switch (spec.type) {
    case 'webhook':
      return new WebhookSink({ ...spec, secret: await secretValue(spec.secret, spec.name), ca });
    case 'syslog':
      return new SyslogSink({ ...spec, ca });
    case 'splunk':
      return new SplunkSink({ ...spec, token: await secretValue(spec.token, spec.name), ca });
  }
}

async function secretValue(ref: SecretRef, sink: string): Promise<string> {
  if ('value' in ref) return ref.value;
  const text = await readFile(ref.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(
      `siem sink ${sink}: its secret file ${ref.file} cannot be read (${err.code ?? err.message})`,
    );
  });
  const secret = text.trim();
  if (!secret) throw new Error(`siem sink ${sink}: its secret file ${ref.file} is empty`);
  return secret;
}
