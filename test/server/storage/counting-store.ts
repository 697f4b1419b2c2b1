// An ObjectStore that passes every call to another and counts them; a test may also wrap what a put
// sends (to stall or break an upload part-way, as a killed replica would).
import type { Readable } from 'node:stream';
import type { ObjectStore } from '../../../server/storage/object-store.ts';

export class CountingStore implements ObjectStore {
  readonly calls = { put: 0, download: 0, size: 0 };
  readonly #inner: ObjectStore;
  readonly #wrapPut: (body: Readable) => Readable;

  constructor(inner: ObjectStore, wrapPut: (body: Readable) => Readable = (b) => b) {
    this.#inner = inner;
    this.#wrapPut = wrapPut;
  }

  get location(): string {
    return this.#inner.location;
  }
  put(key: string, body: Readable | Uint8Array | string): Promise<void> {
    this.calls.put++;
    return this.#inner.put(
      key,
      typeof body === 'string' || body instanceof Uint8Array ? body : this.#wrapPut(body),
    );
  }
  read(key: string): Promise<Readable | null> {
    return this.#inner.read(key);
  }
  download(key: string, path: string): Promise<boolean> {
    this.calls.download++;
    return this.#inner.download(key, path);
  }
  size(key: string): Promise<number | null> {
    this.calls.size++;
    return this.#inner.size(key);
  }
  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }
  list(prefix: string): AsyncIterable<string> {
    return this.#inner.list(prefix);
  }
  check(): Promise<string | undefined> {
    return this.#inner.check();
  }
}
