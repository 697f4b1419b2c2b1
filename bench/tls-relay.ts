// The floor for any recorder: a process that terminates TLS from the client, opens its own TLS
// connection to the apiserver and copies bytes both ways (with backpressure), nothing else: no
// WebSocket parsing, no recording, no authentication. Whatever an extra hop costs on this machine
// (two more TLS ends, one more process to wake, two more loopback sends), this pays too, so the
// keystroke and bulk benchmarks measure it in the same run to show how much of the recorder's
// overhead is its own work and how much any relay in that place would add.
//
// `node bench/tls-relay.ts` with the upstream in AUDITED_EXEC_RELAY_UPSTREAM (https URL) and its CA
// in AUDITED_EXEC_RELAY_CA; prints {"port":N,"caPem":"..."} on stdout, stops when stdin closes.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { createPki } from '../test/sandbox/ca.ts';

export interface TlsRelay {
  url: string;
  caPem: string;
  stop(): Promise<void>;
}

/** Starts the relay in its own process (its own event loop and scheduling, as a recorder has). */
export async function spawnTlsRelay(upstream: { url: string; caPem: string }): Promise<TlsRelay> {
  const child = spawn(process.execPath, [import.meta.filename], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, AUDITED_EXEC_RELAY_UPSTREAM: upstream.url, AUDITED_EXEC_RELAY_CA: upstream.caPem },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => reject(new Error('the TLS relay exited before it was ready')));
  });
  const { port, caPem } = JSON.parse(line) as { port: number; caPem: string };
  return {
    url: `https://127.0.0.1:${port}`,
    caPem,
    async stop() {
      if (child.exitCode === null) {
        child.stdin!.end();
        await exited;
      }
    },
  };
}

function splice(a: TLSSocket, b: TLSSocket): void {
  a.setNoDelay(true);
  b.setNoDelay(true);
  a.pipe(b);
  b.pipe(a);
  for (const s of [a, b]) {
    s.on('error', () => {
      a.destroy();
      b.destroy();
    });
    s.on('close', () => (s === a ? b : a).destroy());
  }
}

async function main(): Promise<void> {
  const target = new URL(process.env.AUDITED_EXEC_RELAY_UPSTREAM ?? '');
  const ca = process.env.AUDITED_EXEC_RELAY_CA;
  const dir = await mkdtemp(join(tmpdir(), 'audited-exec-relay-'));
  const pki = await createPki(dir);
  await rm(dir, { recursive: true, force: true });
  const server = createServer({ cert: pki.server.cert, key: pki.server.key }, (client) => {
    const upstream = connect({
      host: target.hostname,
      port: Number(target.port),
      ...(ca ? { ca } : {}),
    });
    splice(client, upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ port, caPem: pki.caPem })}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

if (process.argv[1] === import.meta.filename) await main();
