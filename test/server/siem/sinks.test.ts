// Each sink against a real receiver, on an in-process recorder: a Splunk HEC receiver that answers
// 500 and then recovers (every event arrives, failing and recovery are said once, /metrics counts
// it), syslog over TLS to rsyslogd's GnuTLS driver (and a receiver whose certificate is not trusted:
// nothing goes, the backlog grows; one that asks for the sender's certificate), RELP to imrelp, and
// a break-glass exec the admission webhook allowed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiemEvent } from '../../../common/siem-event.ts';
import type { SessionCreateResponse } from '../../../common/wire.ts';
import { parseSinkSpecs } from '../../../server/siem/sink-spec.ts';
import { createPki, type KeyPair } from '../../sandbox/ca.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../../support/recorder.ts';
import {
  type HttpReceiver,
  type Rsyslog,
  selfSignedCert,
  startHttpReceiver,
  startRsyslog,
} from '../../support/siem-receivers.ts';
import { type Credentials, createExecSession, runStream } from '../client.ts';

async function until(ready: () => boolean, state: () => string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${state()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One sample of a metric from the exposition text, or undefined. */
function sample(text: string, name: string, sink: string): number | undefined {
  const m = new RegExp(`^${name}\\{sink="${sink}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe.skipIf(skipE2E('SIEM sinks', 'rsyslog'))('SIEM sinks against real receivers', () => {
  let sb: Sandbox;
  let dir: string;
  let rec: RecorderHandle;
  let hec: HttpReceiver;
  let webhook: HttpReceiver;
  let rsyslog: Rsyslog;
  let mtls: Rsyslog;
  let relp: Rsyslog;
  let apiserver: KeyPair;
  const log: string[] = [];
  const alice: Credentials = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'siem-sinks-'));
    sb = await startSandbox({ runtime: 'pty', log: () => {} });
    alice.token = sb.tokens.alice!;
    const pki = await createPki(dir);
    apiserver = await pki.issueClient('kube-apiserver', []);
    writeFileSync(join(dir, 'admission-ca.crt'), pki.caPem);
    const cert = selfSignedCert(dir);
    mkdirSync(join(dir, 'other'));
    mkdirSync(join(dir, 'rsyslog'));
    const untrusted = selfSignedCert(join(dir, 'other'));
    rsyslog = await startRsyslog({ dir: join(dir, 'rsyslog'), tls: cert });
    // A receiver that authenticates its senders: only certificates of the PKI's CA get in.
    mkdirSync(join(dir, 'rsyslog-mtls'));
    mtls = await startRsyslog({
      dir: join(dir, 'rsyslog-mtls'),
      tls: { ...cert, clientCaFile: join(dir, 'admission-ca.crt') },
    });
    mkdirSync(join(dir, 'rsyslog-relp'));
    relp = await startRsyslog({ dir: join(dir, 'rsyslog-relp'), relp: true });
    const sender = await pki.issueClient('audited-exec-recorder', []);
    writeFileSync(join(dir, 'sender.crt'), sender.cert);
    writeFileSync(join(dir, 'sender.key'), sender.key);
    hec = await startHttpReceiver({ shape: 'hec', token: 'hec-token-1' });
    // The collector is busy for its first four requests.
    hec.answer = (n) => (n <= 4 ? 500 : 200);
    webhook = await startHttpReceiver({ shape: 'webhook', secret: 'whsec' });
    const sinks = parseSinkSpecs(
      [
        `type=splunk,url=${hec.url},token-env=HEC_TOKEN,retry-max=1`,
        `type=syslog,url=tls://127.0.0.1:${rsyslog.port},ca-file=${cert.certFile}`,
        `type=syslog,name=untrusted,url=tls://127.0.0.1:${rsyslog.port},ca-file=${untrusted.certFile},retry-max=1`,
        `type=webhook,url=${webhook.url},secret-env=WH_SECRET`,
        `type=syslog,name=relp,url=relp://127.0.0.1:${relp.port}`,
        `type=syslog,name=mtls,url=tls://127.0.0.1:${mtls.port},ca-file=${cert.certFile},cert-file=sender.crt,key-file=sender.key`,
      ],
      { env: { HEC_TOKEN: 'hec-token-1', WH_SECRET: 'whsec' }, cwd: dir },
    );
    rec = await startRecorder({
      sandbox: sb,
      log: (l) => log.push(l),
      settings: {
        siemSinks: sinks,
        admissionClientCaFile: join(dir, 'admission-ca.crt'),
        admissionClientNames: ['kube-apiserver'],
        replicaId: 'replica-test',
      },
    });
  }, 120_000);
  afterAll(async () => {
    await rec?.stop();
    await rsyslog?.stop();
    await mtls?.stop();
    await relp?.stop();
    await hec?.stop();
    await webhook?.stop();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const metrics = () => rec.recorder.modules.metrics.registry.metrics();
  const ids: string[] = [];

  it('gets three sessions to a Splunk HEC that answers 500 first: retried, logged once each way, counted', async () => {
    for (let i = 0; i < 3; i++) {
      const created = await createExecSession<SessionCreateResponse>(rec, alice);
      expect(created.status).toBe(201);
      ids.push(created.body.id);
      expect((await runStream(rec, alice, created.body.streamPath)).exitCode).toBe(0);
    }
    const sessionEvents = (events: SiemEvent[]) =>
      new Set(events.filter((e) => e.type.startsWith('session.')).map((e) => e.id));
    await until(
      () => sessionEvents(hec.events).size === 6,
      () => `${hec.events.length} HEC events, ${hec.requests} requests; log: ${log.join('\n')}`,
    );
    expect(
      hec.events
        .filter((e) => e.type === 'session.started')
        .map((e) => e.audited_exec.session_id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(hec.events.every((e) => e.observer.name === 'replica-test')).toBe(true);
    // The receiver has them before the recorder has its answer: wait for the recorder's side.
    await until(
      () =>
        log.some((l) => l.includes('sink splunk delivers again')) &&
        rec.recorder.modules.siem!.figures()[0]!.backlog === 0,
      () => log.join('\n'),
    );
    expect(
      log.filter((l) => l.includes('sink splunk is failing: the HTTP Event Collector answered HTTP 500')),
    ).toHaveLength(1);
    expect(log.filter((l) => /sink splunk delivers again after 4 failed attempt\(s\)/.test(l))).toHaveLength(
      1,
    );
    const text = await metrics();
    expect(sample(text, 'audited_exec_siem_delivery_failures_total', 'splunk')).toBe(4);
    expect(sample(text, 'audited_exec_siem_delivered_events_total', 'splunk')).toBe(hec.events.length);
    expect(sample(text, 'audited_exec_siem_backlog_events', 'splunk')).toBe(0);
  });

  it('sends RFC 5424 over TLS to rsyslogd, and nothing to a receiver whose certificate it does not trust', async () => {
    await until(
      () => rsyslog.records().filter((r) => r.event.type.startsWith('session.')).length >= 6,
      () => `rsyslog has ${rsyslog.records().length}; log: ${log.join('\n')}`,
    );
    const started = rsyslog.records().find((r) => r.event.type === 'session.started')!;
    expect(started).toMatchObject({
      facility: 13,
      severity: 5,
      app: 'audited-exec',
      msgid: 'session.started',
    });
    expect(started.structuredData).toContain(`id="${started.event.id}"`);
    expect(started.structuredData).toContain(`session="${started.event.audited_exec.session_id}"`);
    // The untrusted receiver is the same rsyslogd: what it got came through the trusted sink only.
    expect(new Set(rsyslog.records().map((r) => r.event.id)).size).toBe(rsyslog.records().length);
    await until(
      () => log.some((l) => l.includes('sink untrusted is failing')),
      () => log.join('\n'),
    );
    expect(log.find((l) => l.includes('sink untrusted is failing'))).toMatch(/certificate/i);
    const text = await metrics();
    expect(sample(text, 'audited_exec_siem_backlog_events', 'untrusted')).toBeGreaterThanOrEqual(6);
    expect(sample(text, 'audited_exec_siem_delivered_events_total', 'untrusted')).toBe(0);
  });

  it('presents a client certificate to a receiver that asks for one', async () => {
    await until(
      () => mtls.records().filter((r) => r.event.type.startsWith('session.')).length >= 6,
      () => `the mTLS receiver has ${mtls.records().length}; log: ${log.join('\n')}`,
    );
    expect(new Set(mtls.records().map((r) => r.event.id)).size).toBe(mtls.records().length);
    expect(log.some((l) => l.includes('sink mtls is failing'))).toBe(false);
  });

  it('sends RELP to rsyslogd, each message acknowledged', async () => {
    await until(
      () => relp.records().filter((r) => r.event.type.startsWith('session.')).length >= 6,
      () => `the RELP receiver has ${relp.records().length}; log: ${log.join('\n')}`,
    );
    expect(relp.records()[0]).toMatchObject({ facility: 13, app: 'audited-exec' });
    expect(new Set(relp.records().map((r) => r.event.id)).size).toBe(relp.records().length);
    expect(log.some((l) => l.includes('sink relp is failing'))).toBe(false);
  });

  it('exports a break-glass exec the admission webhook allowed, once per admission request', async () => {
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'f0e1d2c3-0000-4000-8000-000000000001',
        kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        subResource: 'exec',
        name: 'web',
        namespace: 'default',
        operation: 'CONNECT',
        userInfo: { username: 'oncall', groups: ['audited-exec:break-glass', 'system:authenticated'] },
        object: { kind: 'PodExecOptions', apiVersion: 'v1', command: ['sh'] },
      },
    };
    // The apiserver may call twice for one request (a retry): the same uid, the same event id.
    for (let i = 0; i < 2; i++) {
      const answer = await postAdmission(rec, JSON.stringify(review), apiserver);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).response.allowed).toBe(true);
    }
    await until(
      () => webhook.events.filter((e) => e.type === 'break-glass').length === 2,
      () => `${webhook.events.length} webhook events`,
    );
    const uses = webhook.events.filter((e) => e.type === 'break-glass');
    expect(new Set(uses.map((e) => e.id)).size).toBe(1);
    expect(uses[0]).toMatchObject({
      event: { kind: 'alert', action: 'break-glass' },
      user: { name: 'oncall' },
      orchestrator: { namespace: 'default', resource: { name: 'web' } },
      audited_exec: { break_glass: { action: 'pods/exec', admission_uid: review.request.uid } },
    });
    expect(webhook.refused).toBe(0);
  });
});

function postAdmission(
  rec: RecorderHandle,
  body: string,
  cert: KeyPair,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/admission/validate', rec.url),
      {
        method: 'POST',
        ca: rec.caPem,
        cert: cert.cert,
        key: cert.key,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
