// The captured attribution scenarios (test/fixtures/audit/scenarios, made by test/scenarios/main.ts
// on real auditd and runc) against their truth, in every mode that replays a log: offline, the
// live code path with a /proc that knows nothing, the offline CLI over the log split across a
// rotation, and the daemon's own tailer following that rotation. All must agree with each other.

import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { AttributedExec } from '../../common/wire.ts';
import { attributeStream } from '../../shim/offline.ts';
import { FileTailer } from '../../shim/source/file-tailer.ts';
import {
  attributeIn,
  judge,
  missingAlerts,
  outputsIn,
  pipelineFor,
  REPLAY_MODES,
  type TruthFile,
} from './judge.ts';

const DIR = join(import.meta.dirname, '../fixtures/audit/scenarios');
const FIXTURES = readdirSync(DIR)
  .filter((f) => f.endsWith('.log'))
  .sort();
const tmp = mkdtempSync(join(tmpdir(), 'ae-golden-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function load(name: string): { lines: string[]; truth: TruthFile } {
  const base = join(DIR, name.replace(/\.log$/, ''));
  const lines = readFileSync(`${base}.log`, 'utf8').split('\n');
  return { lines, truth: JSON.parse(readFileSync(`${base}.truth.json`, 'utf8')) as TruthFile };
}

/** Split in the middle of the log, most likely inside an event: auditd rotates between any two lines. */
function halves(lines: string[]): [string[], string[]] {
  const mid = Math.floor(lines.length / 2);
  return [lines.slice(0, mid), lines.slice(mid)];
}

async function viaCli(name: string, lines: string[]): Promise<AttributedExec[]> {
  const [a, b] = halves(lines);
  const files = [join(tmp, `${name}.1`), join(tmp, name)];
  writeFileSync(files[0]!, `${a.join('\n')}\n`);
  writeFileSync(files[1]!, b.join('\n'));
  let text = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  await attributeStream({ input: files, out, log: () => {} });
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as AttributedExec & { alert?: string })
    .filter((o) => o.alert === undefined);
}

/** The daemon's reader on a log auditd rotates halfway: audit.log → audit.log.1, a new audit.log. */
async function viaTailer(name: string, lines: string[]): Promise<AttributedExec[]> {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  const path = join(dir, 'audit.log');
  const [a, b] = halves(lines);
  writeFileSync(path, `${a.join('\n')}\n`);
  const out: AttributedExec[] = [];
  const pipeline = pipelineFor('no-proc', out);
  const tailer = new FileTailer({ path, pollMs: 20, settleMs: 1 });
  let read = 0;
  for await (const line of tailer.lines()) {
    pipeline.line(line);
    read++;
    if (read === a.length) {
      renameSync(path, `${path}.1`);
      writeFileSync(path, `${b.join('\n')}\n`);
    }
    if (read === lines.length) break;
  }
  tailer.close();
  pipeline.flush();
  return out;
}

describe('attribution scenarios captured on real auditd and runc', () => {
  it('has scenarios for both rule sets', () => {
    expect(FIXTURES.some((f) => f.endsWith('.execve.log'))).toBe(true);
    expect(FIXTURES.some((f) => f.endsWith('.execve+fork.log'))).toBe(true);
  });

  for (const name of FIXTURES) {
    describe(name, () => {
      const { lines, truth } = load(name);
      const offline = attributeIn('offline', lines);

      for (const mode of REPLAY_MODES) {
        it(`${mode}: every exec in its true session, every expected alert raised`, () => {
          const { execs, alerts } = outputsIn(mode, lines);
          const v = judge(execs, truth);
          expect(v.execs).toBeGreaterThan(0);
          expect(v.wrong).toEqual([]);
          expect(missingAlerts(alerts, truth)).toEqual([]);
        });
      }

      it('no-proc gives the offline answers', () => {
        expect(attributeIn('no-proc', lines)).toEqual(offline);
      });

      it('the offline CLI over the log split by a rotation gives the same answers', async () => {
        expect(await viaCli(name, lines)).toEqual(offline);
      });

      it("the daemon's tailer across that rotation gives the same answers", async () => {
        expect(await viaTailer(name, lines)).toEqual(attributeIn('no-proc', lines));
      });
    });
  }
});
