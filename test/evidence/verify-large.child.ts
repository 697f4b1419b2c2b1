// Child process for verify-large.test.ts: runs the `verify FILE` command path on one bundle and
// prints its outcome and peak resident set. A process of its own so VmHWM measures this verify
// and nothing the test runner (which built the bundle) did before.
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { errorMessage } from '../../common/errors.ts';
import { verifyFile } from '../../plugin/verify.ts';

const [file, fingerprint] = process.argv.slice(2) as [string, string];
const kib = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
// After the imports (the CLI's own baseline: commander, client-node, …), before any verifying.
const beforeKiB = kib('VmRSS');
const capture = () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c) => (text += c));
  return { stream, text: () => text };
};
const out = capture();
const err = capture();
let code: number | null = null;
let thrown: string | null = null;
try {
  code = await verifyFile(file, { fingerprint }, { stdout: out.stream, stderr: err.stream });
} catch (e) {
  thrown = errorMessage(e);
}
const peakKiB = kib('VmHWM');
process.stdout.write(
  `${JSON.stringify({ code, stdout: out.text(), stderr: err.text(), thrown, beforeKiB, peakKiB })}\n`,
);
