// A browser's trip through sign-in at the test OP, without a browser: /ui/oidc/start at the recorder,
// the OP's redirects with a cookie jar, its dev login and consent forms, up to (not into) the
// recorder's callback. The test then sends the callback itself, as it likes.
import { type RawReply, rawRequest } from './raw-https.ts';

export interface ToCallback {
  /** the query the OP redirected to the callback with (code, state, iss) */
  query: string;
  /** `__Host-ae_oidc=…`, the pending sign-in cookie the recorder set */
  cookie: string;
}

function send(
  url: URL,
  o: { method: string; ca: string; headers: Record<string, string>; body?: string },
): Promise<RawReply> {
  return rawRequest({ url: url.href, caPem: o.ca }, o.method, url.href, o.headers, o.body);
}

/** Cookies by name, whatever their path (the OP's interaction cookies are per-path; names differ). */
class Jar {
  readonly #cookies = new Map<string, string>();
  take(reply: RawReply): void {
    for (const c of ([] as string[]).concat(reply.headers['set-cookie'] ?? [])) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export function setCookie(reply: RawReply, name: string): string | undefined {
  return ([] as string[])
    .concat(reply.headers['set-cookie'] ?? [])
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];
}

/** Starts a sign-in at the recorder and signs in at the OP as `login`; stops at the callback. */
export async function throughOp(o: {
  recorder: { url: string; caPem: string };
  opCaPem: string;
  login: string;
}): Promise<ToCallback> {
  const start = await rawRequest(o.recorder, 'GET', '/ui/oidc/start?next=%2Fui%2Fsessions');
  if (start.status !== 303) throw new Error(`/ui/oidc/start answered ${start.status}: ${start.body}`);
  const cookie = setCookie(start, '__Host-ae_oidc');
  if (!cookie) throw new Error('/ui/oidc/start set no pending sign-in cookie');
  const callback = new URL('/ui/oidc/callback', o.recorder.url).toString();
  const jar = new Jar();
  let url = new URL(String(start.headers.location));
  let post: string | undefined;
  for (let hop = 0; hop < 20; hop += 1) {
    const reply = await send(url, {
      method: post === undefined ? 'GET' : 'POST',
      ca: o.opCaPem,
      headers: {
        Cookie: jar.header(),
        ...(post === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }),
      },
      ...(post === undefined ? {} : { body: post }),
    });
    jar.take(reply);
    post = undefined;
    if (reply.status >= 300 && reply.status < 400) {
      url = new URL(String(reply.headers.location), url);
      if (url.toString().startsWith(callback)) return { query: url.search, cookie };
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(reply.body)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(reply.body)?.[1];
    if (reply.status !== 200 || !action || !prompt) {
      throw new Error(`the OP answered ${url} with ${reply.status}: ${reply.body.slice(0, 400)}`);
    }
    url = new URL(action.replace(/&amp;/g, '&'), url);
    post =
      prompt === 'login'
        ? new URLSearchParams({ prompt, login: o.login, password: 'any' }).toString()
        : new URLSearchParams({ prompt }).toString();
  }
  throw new Error('the OP did not redirect to the callback within 20 hops');
}
