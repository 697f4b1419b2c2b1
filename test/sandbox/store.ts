// In-memory object store with resourceVersions and watch, the part of etcd + the watch cache the
// sandbox needs. Objects are plain JSON (metadata.{name,namespace,resourceVersion,uid}).
import { randomUUID } from 'node:crypto';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
  rv: number;
  resource: string;
}

type Listener = (ev: WatchEvent) => void;

/** Bounded history so a watch from a recent list's resourceVersion misses nothing. */
const HISTORY = 2000;

export class ObjectStore {
  #rv = 1;
  readonly #objects = new Map<string, KubeObject>();
  readonly #history: WatchEvent[] = [];
  readonly #listeners = new Set<Listener>();

  static key(resource: string, namespace: string | undefined, name: string): string {
    return `${resource}/${namespace ?? ''}/${name}`;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.#objects.get(ObjectStore.key(resource, namespace, name));
    return obj ? structuredClone(obj) : undefined;
  }

  list(resource: string, namespace?: string): KubeObject[] {
    const prefix = `${resource}/`;
    const out: KubeObject[] = [];
    for (const [key, obj] of this.#objects) {
      if (!key.startsWith(prefix)) continue;
      if (namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      out.push(structuredClone(obj));
    }
    return out.sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
    );
  }

  /** Creates or replaces; returns the stored copy with its new resourceVersion. */
  put(resource: string, obj: KubeObject, now = Date.now()): KubeObject {
    const key = ObjectStore.key(resource, obj.metadata.namespace, obj.metadata.name);
    const old = this.#objects.get(key);
    const stored = structuredClone(obj);
    this.#rv += 1;
    stored.metadata.resourceVersion = String(this.#rv);
    stored.metadata.uid ??= old?.metadata.uid ?? randomUUID();
    stored.metadata.creationTimestamp ??=
      old?.metadata.creationTimestamp ?? new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    this.#objects.set(key, stored);
    this.#emit({ type: old ? 'MODIFIED' : 'ADDED', object: stored, rv: this.#rv, resource });
    return structuredClone(stored);
  }

  /** Applies fn to the current object (if any) and stores the result. */
  update(
    resource: string,
    namespace: string | undefined,
    name: string,
    fn: (o: KubeObject) => void,
  ): KubeObject | undefined {
    const cur = this.get(resource, namespace, name);
    if (!cur) return undefined;
    fn(cur);
    return this.put(resource, cur);
  }

  delete(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = ObjectStore.key(resource, namespace, name);
    const old = this.#objects.get(key);
    if (!old) return undefined;
    this.#objects.delete(key);
    this.#rv += 1;
    const obj = structuredClone(old);
    obj.metadata.resourceVersion = String(this.#rv);
    this.#emit({ type: 'DELETED', object: obj, rv: this.#rv, resource });
    return structuredClone(obj);
  }

  /**
   * Events after resourceVersion `since` (history replay), then live ones. Returns null when the
   * history no longer reaches back that far (the apiserver answers 410 Gone).
   */
  watch(since: number, listener: Listener): (() => void) | null {
    const first = this.#history[0];
    if (first && since < first.rv - 1) return null;
    for (const ev of this.#history) if (ev.rv > since) listener(ev);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(ev: WatchEvent): void {
    this.#history.push(ev);
    if (this.#history.length > HISTORY) this.#history.shift();
    for (const l of this.#listeners) l(ev);
  }
}
