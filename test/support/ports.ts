// A TCP port on 127.0.0.1 that nothing listens on right now: for servers a test starts on a port
// it must know in advance (PostgreSQL, Ceph, HAProxy, a recorder replica that restarts in place),
// and for a connection that must be refused.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
