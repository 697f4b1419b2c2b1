// The sink a --siem-sink spec describes, with its secret and CA read (sink-spec.ts checked the spec).
import { readFile } from 'node:fs/promises';
import { AuditedExecError } from '../../common/errors.ts';
import type { SiemSink } from './sink.ts';
import type { SecretRef, SinkSpec } from './sink-spec.ts';
import { RelpSink } from './sinks/relp.ts';
import { SplunkSink } from './sinks/splunk.ts';
import { SyslogSink } from './sinks/syslog.ts';
import { WebhookSink } from './sinks/webhook.ts';

/** The sink a spec describes, its secret and CA read now (a missing file fails the start). */
export async function openSink(spec: SinkSpec): Promise<SiemSink> {
  const ca = spec.caFile ? await readConfigFile(spec.caFile, `${spec.name}: its ca-file`) : undefined;
  switch (spec.type) {
    case 'webhook':
      return new WebhookSink({ ...spec, secret: await secretValue(spec.secret, spec.name), ca });
    case 'syslog': {
      if (spec.url.startsWith('relp:')) return new RelpSink(spec);
      const c = spec.clientCert;
      const clientCert = c
        ? {
            cert: await readConfigFile(c.certFile, `${spec.name}: its cert-file`),
            key: await readConfigFile(c.keyFile, `${spec.name}: its key-file`),
          }
        : undefined;
      return new SyslogSink({ ...spec, ca, clientCert });
    }
    case 'splunk':
      return new SplunkSink({ ...spec, token: await secretValue(spec.token, spec.name), ca });
  }
}

async function secretValue(ref: SecretRef, sink: string): Promise<string> {
  if ('value' in ref) return ref.value;
  const secret = (await readConfigFile(ref.file, `${sink}: its secret file`)).trim();
  if (!secret)
    throw new AuditedExecError('CONFIG_INVALID', `--siem-sink ${sink}: its secret file ${ref.file} is empty`);
  return secret;
}

async function readConfigFile(path: string, what: string): Promise<string> {
  return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      `--siem-sink ${what} ${path} cannot be read (${err.code ?? err.message}); mount it or fix the path`,
    );
  });
}
