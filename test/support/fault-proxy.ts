// A TCP proxy the fault tests put between the recorder and the sandbox apiserver, so a test can
// cut every live connection (the apiserver "went away" mid-stream) or refuse new ones, without
// touching the sandbox. TLS passes through untouched: the proxy only moves bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import yaml from 'js-yaml';

export interface CutProxy {
  /** https://127.0.0.1:PORT, to put in a kubeconfig */
  url: string;
  /** Destroys every open connection (both sides), as a network cut would. */
  cut(): void;
  /** While true, new connections are accepted and dropped at once. */
  refuse(on: boolean): void;
  open(): number;
  close(): Promise<void>;
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const t = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: t.hostname, port: Number(t.port) });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const cut = (): void => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    url: `https://127.0.0.1:${port}`,
    cut,
    refuse(on) {
      refusing = on;
    },
    open: () => pairs.size,
    close() {
      cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Copies a kubeconfig with every cluster's server replaced by `server`; returns the new path. */
export function redirectKubeconfig(from: string, to: string, server: string): string {
  const config = yaml.load(readFileSync(from, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of config.clusters) c.cluster.server = server;
  writeFileSync(to, JSON.stringify(config));
  return to;
}
