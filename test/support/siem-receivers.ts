// Real receivers for the SIEM export tests: Debian's rsyslogd (imtcp, plain or TLS through its
// GnuTLS driver) writing what it parsed to a file, and an HTTP server that checks a webhook's HMAC
// or a Splunk HEC token the way a receiver would. Each can go down and come back on its port.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { SiemEvent } from '../../common/siem-event.ts';
import { freePort } from './ports.ts';

export const RSYSLOGD = process.env.AUDITED_EXEC_RSYSLOGD ?? '/usr/sbin/rsyslogd';

/** What rsyslog parsed of one RFC 5424 message (the template below writes these fields). */
export interface SyslogRecord {
  facility: number;
  severity: number;
  app: string;
  msgid: string;
  structuredData: string;
  event: SiemEvent;
}

export interface Rsyslog {
  port: number;
  /** Every message written so far, parsed. */
  records(): SyslogRecord[];
  start(): Promise<void>;
  /** SIGTERM, and waits for the exit. */
  stop(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 (it is its own CA). */
export function selfSignedCert(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'syslog.crt');
  const keyFile = join(dir, 'syslog.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}

/** rsyslogd on 127.0.0.1:<free port> with a config of its own, in `dir`; started. */
export async function startRsyslog(o: {
  dir: string;
  /** TLS with this certificate; with `clientCaFile`, senders must present a certificate it signed. */
  tls?: { certFile: string; keyFile: string; clientCaFile?: string };
  /** RELP (imrelp, package rsyslog-relp) instead of plain syslog over TCP. */
  relp?: boolean;
}): Promise<Rsyslog> {
  const port = await freePort();
  const out = join(o.dir, 'received.log');
  writeFileSync(out, '');
  const tls = o.tls
    ? `global(DefaultNetstreamDriverCAFile="${o.tls.clientCaFile ?? o.tls.certFile}" DefaultNetstreamDriverCertFile="${o.tls.certFile}" DefaultNetstreamDriverKeyFile="${o.tls.keyFile}")\n`
    : '';
  const auth = o.tls?.clientCaFile ? 'x509/certvalid' : 'anon';
  const driver = o.tls
    ? ` StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="${auth}"`
    : '';
  const conf = join(o.dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    `global(workDirectory="${o.dir}" maxMessageSize="256k")
${tls}module(load="${o.relp ? 'imrelp' : 'imtcp'}"${o.relp ? '' : driver})
template(name="fields" type="string" string="%syslogfacility%|%syslogseverity%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
ruleset(name="siem") { action(type="omfile" file="${out}" template="fields") }
input(type="${o.relp ? 'imrelp' : 'imtcp'}" ${o.relp ? '' : 'address="127.0.0.1" '}port="${port}" ruleset="siem")
`,
  );
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const handle: Rsyslog = {
    port,
    records: () => parseRecords(readFileSync(out, 'utf8')),
    async start() {
      const proc = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', join(o.dir, 'rsyslogd.pid')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      proc.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
      });
      child = proc;
      exited = new Promise((r) => proc.once('exit', () => r()));
      await untilListening(port, () => (proc.exitCode !== null ? `rsyslogd exited: ${err}` : null));
    },
    async stop() {
      child?.kill('SIGTERM');
      await exited;
      child = undefined;
    },
  };
  await handle.start();
  return handle;
}

function parseRecords(text: string): SyslogRecord[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [facility, severity, app, msgid, ...rest] = line.split('|');
      const joined = rest.join('|');
      const sdEnd = joined.indexOf(']|');
      return {
        facility: Number(facility),
        severity: Number(severity),
        app: app!,
        msgid: msgid!,
        structuredData: joined.slice(0, sdEnd + 1),
        event: JSON.parse(joined.slice(sdEnd + 2).trim()) as SiemEvent,
      };
    });
}

/** Resolves once something accepts connections on the port; `dead` says why it never will. */
async function untilListening(port: number, dead: () => string | null): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    const why = dead();
    if (why || Date.now() > deadline) throw new Error(why ?? `nothing listens on ${port} after 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type HttpReceiverShape = { shape: 'webhook'; secret: string } | { shape: 'hec'; token: string };

export interface HttpReceiver {
  url: string;
  port: number;
  /** Events of every request answered 2xx, in arrival order (re-sends included). */
  readonly events: SiemEvent[];
  /** Requests refused because the signature or token did not check out. */
  readonly refused: number;
  readonly requests: number;
  /** Called with each accepted batch before it is answered. */
  onBatch?: (events: SiemEvent[]) => void;
  /** Status to answer request number n (1-based) with; default 200. */
  answer?: (n: number) => number;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** An HTTP receiver of the webhook (HMAC checked) or Splunk HEC (token checked) shape; started. */
export async function startHttpReceiver(o: HttpReceiverShape): Promise<HttpReceiver> {
  const port = await freePort();
  let server: Server | undefined;
  const r: HttpReceiver & { refused: number; requests: number } = {
    url: o.shape === 'webhook' ? `http://127.0.0.1:${port}/hooks/siem` : `http://127.0.0.1:${port}`,
    port,
    events: [],
    refused: 0,
    requests: 0,
    async start() {
      server = createServer((req, res) => {
        void body(req).then((buf) => {
          r.requests++;
          const problem = o.shape === 'webhook' ? checkWebhook(req, buf, o.secret) : checkHec(req, o.token);
          if (problem) {
            r.refused++;
            res.writeHead(401).end(problem);
            return;
          }
          const status = r.answer?.(r.requests) ?? 200;
          if (status !== 200) {
            res.writeHead(status).end(o.shape === 'hec' ? '{"text":"Server is busy","code":9}' : 'busy');
            return;
          }
          const events =
            o.shape === 'webhook'
              ? (JSON.parse(buf.toString('utf8')) as SiemEvent[])
              : buf
                  .toString('utf8')
                  .split('\n')
                  .filter(Boolean)
                  .map((l) => (JSON.parse(l) as { event: SiemEvent }).event);
          r.onBatch?.(events);
          r.events.push(...events);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await r.start();
  return r;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The check deploy/README.md tells a webhook receiver to make: HMAC over "<timestamp>.<body>",
 *  compared in constant time, the timestamp within 5 minutes. */
export function checkWebhook(req: IncomingMessage, buf: Buffer, secret: string): string | null {
  const ts = String(req.headers['x-audited-exec-timestamp'] ?? '');
  const sig = String(req.headers['x-audited-exec-signature'] ?? '');
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300)
    return 'stale or missing timestamp';
  const want = Buffer.from(`v1=${createHmac('sha256', secret).update(`${ts}.`).update(buf).digest('hex')}`);
  const got = Buffer.from(sig);
  return got.length === want.length && timingSafeEqual(got, want) ? null : 'bad signature';
}

function checkHec(req: IncomingMessage, token: string): string | null {
  if (req.url !== '/services/collector/event') return `no HEC endpoint at ${req.url}`;
  return req.headers.authorization === `Splunk ${token}` ? null : 'bad token';
}
