// The UI's static files: our own CSS/JS from server/ui/web/ and the asciinema-player bundle from
// node_modules (never a CDN: the recorder must work air-gapped and the CSP allows 'self' only).
// Read once, served from memory with an ETag.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { SECURITY_HEADERS } from './security.ts';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function files(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const web = (name: string) => new URL(`./web/${name}`, import.meta.url).pathname;
  return {
    'app.css': web('app.css'),
    'session.js': web('session.js'),
    'player.js': require.resolve('asciinema-player/dist/bundle/asciinema-player.min.js'),
    'player.css': require.resolve('asciinema-player/dist/bundle/asciinema-player.css'),
  };
}

export class StaticAssets {
  readonly #assets = new Map<string, Asset>();

  static async load(): Promise<StaticAssets> {
    const s = new StaticAssets();
    await Promise.all(
      Object.entries(files()).map(async ([name, path]) => {
        const body = await readFile(path);
        const ext = name.slice(name.lastIndexOf('.'));
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
        s.#assets.set(name, { body, type: TYPES[ext] ?? 'application/octet-stream', etag });
      }),
    );
    return s;
  }

  /** false when there is no such asset (the caller answers 404). */
  serve(name: string, req: IncomingMessage, res: ServerResponse): boolean {
    const a = this.#assets.get(name);
    if (!a) return false;
    const headers = {
      ...SECURITY_HEADERS,
      'Content-Type': a.type,
      ETag: a.etag,
      // Revalidate each time (cheap 304): a recorder upgrade must never run stale page scripts.
      'Cache-Control': 'no-cache',
    };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(a.body.length) });
    res.end(req.method === 'HEAD' ? undefined : a.body);
    return true;
  }
}
