// --siem-sink specs: what an operator writes is checked once, each mistake one clear sentence.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../../server/config.ts';
import { openSink } from '../../../server/siem/open-sink.ts';
import { parseSinkSpec, parseSinkSpecs, parseSize } from '../../../server/siem/sink-spec.ts';

const ctx = { env: { HEC: 'tok-123' }, cwd: '/etc/audited-exec' };

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error('no error');
}

describe('--siem-sink', () => {
  it('reads the three sink types with their defaults, secrets by file or environment', () => {
    expect(parseSinkSpec('type=webhook,url=https://soc.example/hook,secret-file=hmac', ctx)).toEqual({
      type: 'webhook',
      name: 'webhook',
      url: 'https://soc.example/hook',
      batch: 200,
      timeoutMs: 10_000,
      retryMaxMs: 30_000,
      secret: { file: '/etc/audited-exec/hmac' },
    });
    expect(
      parseSinkSpec('type=syslog,name=soc-syslog,url=tls://10.0.0.1:6514,ca-file=/ca.pem,retry-max=5', ctx),
    ).toMatchObject({ type: 'syslog', name: 'soc-syslog', caFile: '/ca.pem', retryMaxMs: 5000 });
    expect(
      parseSinkSpec('type=splunk,url=https://splunk:8088,token-env=HEC,index=k8s,batch=50', ctx),
    ).toMatchObject({ type: 'splunk', token: { env: 'HEC', value: 'tok-123' }, index: 'k8s', batch: 50 });
  });

  it('refuses what would not work, saying what to change', () => {
    expect(problem(() => parseSinkSpec('type=kafka,url=x', ctx))).toMatch(
      /type must be webhook, syslog or splunk/,
    );
    expect(problem(() => parseSinkSpec('type=syslog,url=udp://h:514', ctx))).toMatch(
      /tcp:\/\/… or tls:\/\/…/,
    );
    expect(problem(() => parseSinkSpec('type=syslog,url=tcp://h', ctx))).toMatch(/names its port/);
    expect(problem(() => parseSinkSpec('type=webhook,url=https://h/', ctx))).toMatch(
      /secret-file or secret-env/,
    );
    expect(problem(() => parseSinkSpec('type=webhook,url=https://h/,secret=abc', ctx))).toMatch(
      /secret is not a webhook sink setting/,
    );
    expect(problem(() => parseSinkSpec('type=splunk,url=https://h,token-env=NOPE', ctx))).toMatch(
      /NOPE is not set/,
    );
    expect(problem(() => parseSinkSpec('type=syslog,url=tcp://h:1,batch=0', ctx))).toMatch(/batch must be/);
    expect(problem(() => parseSinkSpec('type=syslog,url=tcp://h:1,name=Bad Name', ctx))).toMatch(/name/);
    expect(problem(() => parseSinkSpec('type=syslog,url', ctx))).toMatch(/"url" is not key=value/);
    expect(problem(() => parseSinkSpec('type=syslog,url=tls://h:1,cert-file=c.pem', ctx))).toMatch(
      /cert-file and key-file together/,
    );
    expect(problem(() => parseSinkSpec('type=syslog,url=tcp://h:1,cert-file=c,key-file=k', ctx))).toMatch(
      /needs a tls:\/\/ url/,
    );
    expect(
      problem(() => parseSinkSpecs(['type=syslog,url=tcp://a:1', 'type=syslog,url=tcp://b:1'], ctx)),
    ).toMatch(/two sinks are named "syslog"/);
    expect(problem(() => parseSize('1k', '--siem-spool-size'))).toMatch(/64Ki or more/);
    expect(parseSize('256Mi', 'x')).toBe(256 * 1024 * 1024);
  });

  it('is repeatable on the command line, or one per line in AUDITED_EXEC_SIEM_SINKS', () => {
    const argv = ['node', 'main.ts', '--siem-sink', 'type=syslog,url=tcp://a:514'];
    argv.push('--siem-sink', 'type=webhook,url=http://b/,secret-env=S', '--siem-spool-size', '1Mi');
    const s = parseSettings(argv, { S: 'x' }, '/');
    expect(s.siemSinks.map((k) => k.name)).toEqual(['syslog', 'webhook']);
    expect(s.siemSpoolBytes).toBe(1024 * 1024);
    const env = {
      AUDITED_EXEC_SIEM_SINKS: 'type=syslog,url=tcp://a:514\n type=syslog,name=b,url=tcp://b:514\n',
    };
    expect(parseSettings(['node', 'main.ts'], env, '/').siemSinks.map((k) => k.name)).toEqual([
      'syslog',
      'b',
    ]);
    expect(parseSettings(['node', 'main.ts'], {}, '/').siemSinks).toEqual([]);
  });
});

describe('opening a sink', () => {
  it('refuses to start when a secret or CA file is missing or empty, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'siem-open-'));
    try {
      const env = { env: {}, cwd: dir };
      const missing = parseSinkSpec('type=webhook,url=https://h/,secret-file=nope', env);
      await expect(openSink(missing)).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/webhook: its secret file .*nope cannot be read \(ENOENT\)/),
      });
      writeFileSync(join(dir, 'empty'), '\n');
      await expect(
        openSink(parseSinkSpec('type=splunk,url=https://h/,token-file=empty', env)),
      ).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/is empty/) });
      await expect(
        openSink(parseSinkSpec('type=syslog,url=tls://h:1,ca-file=no-ca.pem', env)),
      ).rejects.toMatchObject({ message: expect.stringMatching(/ca-file .*no-ca.pem cannot be read/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
