// Keeps the ValidatingAdmissionPolicy's params current: one ConfigMap whose data is the grants of
// the sessions open in the store (grants.ts grantParams), read by policy
// `audited-exec-verify-session` through paramRef. The store is the source of truth: every publish
// rewrites the whole map from it, so an entry that was missed (a crash, a hand edit, a deleted
// ConfigMap) is repaired by the next one, and the periodic resync bounds how long a stale entry
// lives. Writes use the object's resourceVersion, so two recorders sharing one store never lose
// each other's updates.
import { errorMessage } from '../../common/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Store } from '../store/store.ts';
import { grantOf, grantParams, type SessionGrant } from './grants.ts';

export const DEFAULT_PARAMS = { namespace: 'audited-exec', name: 'audited-exec-sessions' } as const;
/** The policy reads a new session only after the apiserver's informer saw it: publish early. */
export const PARAMS_RESYNC_MS = 10_000;
const MAX_CONFLICTS = 5;

export interface SessionParamsOptions {
  kube: KubeClient;
  store: Pick<Store, 'listSessions'>;
  namespace: string;
  name: string;
  log: (line: string) => void;
}

interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export class SessionParams {
  readonly #o: SessionParamsOptions;
  #current: Promise<unknown> = Promise.resolve();
  #next: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;

  constructor(options: SessionParamsOptions) {
    this.#o = options;
  }

  /**
   * Writes the open sessions' grants; resolves once a write that started after this call is done
   * (true when it succeeded). Calls during a write share the one after it. Never rejects: a
   * failure is logged, the policy then refuses the session's exec and says so.
   */
  publish(): Promise<boolean> {
    this.#next ??= (async () => {
      await this.#current;
      this.#next = undefined;
      const run = this.#syncOnce();
      this.#current = run;
      return run;
    })();
    return this.#next;
  }

  /** Publishes now and every `intervalMs` (a missed end, a deleted ConfigMap). */
  start(intervalMs = PARAMS_RESYNC_MS): void {
    void this.publish();
    this.#timer = setInterval(() => void this.publish(), intervalMs).unref();
  }

  /** Stops the resync and waits for a write in flight. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await (this.#next ?? this.#current);
  }

  async #syncOnce(): Promise<boolean> {
    try {
      const data = grantParams(await this.#openGrants());
      for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
        if (await this.#write(data)) {
          if (this.#failing) this.#o.log(`admission params ${this.#ref()}: written again`);
          this.#failing = false;
          return true;
        }
      }
      throw new Error(`${MAX_CONFLICTS} write conflicts in a row`);
    } catch (err) {
      if (!this.#failing) {
        this.#o.log(
          `warning: admission params ${this.#ref()}: ${errorMessage(err)}; the admission policy refuses new sessions' execs until this succeeds`,
        );
      }
      this.#failing = true;
      return false;
    }
  }

  async #openGrants(): Promise<SessionGrant[]> {
    const out: SessionGrant[] = [];
    for (const state of ['pending', 'running'] as const) {
      let page: string | undefined;
      do {
        const list = await this.#o.store.listSessions({
          state,
          limit: 500,
          ...(page ? { continue: page } : {}),
        });
        for (const s of list.items) {
          const g = grantOf(s);
          if (g) out.push(g);
        }
        page = list.continue;
      } while (page);
    }
    return out;
  }

  /** One read-compare-write; false on a conflict (somebody wrote in between: read again). */
  async #write(data: Record<string, string>): Promise<boolean> {
    const { kube, namespace, name } = this.#o;
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
    const got = await kube.request<ConfigMap>({ path: `${path}/${encodeURIComponent(name)}` });
    if (got.status === 404) {
      const res = await kube.request({ method: 'POST', path, body: configMap(namespace, name, data) });
      if (res.status === 409) return false;
      return ok(res, 'create');
    }
    ok(got, 'read');
    if (sameData(got.body?.data ?? {}, data)) return true;
    const body = { ...configMap(namespace, name, data), metadata: { ...got.body!.metadata, ...labelled() } };
    const res = await kube.request({ method: 'PUT', path: `${path}/${encodeURIComponent(name)}`, body });
    if (res.status === 409) return false;
    return ok(res, 'update');
  }

  #ref(): string {
    return `ConfigMap ${this.#o.namespace}/${this.#o.name}`;
  }
}

function labelled(): { labels: Record<string, string> } {
  return {
    labels: {
      'app.kubernetes.io/part-of': 'audited-exec',
      'app.kubernetes.io/managed-by': 'audited-exec-recorder',
    },
  };
}

function configMap(namespace: string, name: string, data: Record<string, string>): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, ...labelled() }, data };
}

function ok(res: { status: number; text: string }, what: string): true {
  if (res.status >= 200 && res.status < 300) return true;
  throw new Error(`cannot ${what} it (HTTP ${res.status}): ${res.text.slice(0, 200)}`);
}

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
