// Failed sign-ins per client address: after `max` failures within `windowMs` the address must wait
// until the oldest of them leaves the window. Slows token guessing and TokenReview floods; a
// success clears the address. The failure times are state (several replicas must count together),
// so they live behind SignInFailureStore: MemorySignInFailures by default, whose memory is bounded
// (beyond maxAddresses the least recently failing address is dropped); another engine implements
// the same three methods over a table.

export interface SignInLimitOptions {
  max: number;
  windowMs: number;
  maxAddresses: number;
  now: () => number;
}

export const SIGN_IN_LIMIT_DEFAULTS: SignInLimitOptions = {
  max: 10,
  windowMs: 5 * 60_000,
  maxAddresses: 10_000,
  now: Date.now,
};

/** Failure times (ms since the epoch) per client address. */
export interface SignInFailureStore {
  /** The address's failures after `since`, oldest first. */
  recent(address: string, since: number): Promise<number[]>;
  /** Records a failure at `at`, keeping only the address's latest `keep` failures. */
  add(address: string, at: number, keep: number): Promise<void>;
  /** Forgets the address (a sign-in from it succeeded). */
  clear(address: string): Promise<void>;
}

export class MemorySignInFailures implements SignInFailureStore {
  readonly #maxAddresses: number;
  /** address → failure times, oldest first; Map order = least recently failed first */
  readonly #failures = new Map<string, number[]>();

  constructor(options: { maxAddresses: number }) {
    this.#maxAddresses = options.maxAddresses;
  }

  async recent(address: string, since: number): Promise<number[]> {
    const times = (this.#failures.get(address) ?? []).filter((t) => t > since);
    if (times.length === 0) this.#failures.delete(address);
    return times;
  }

  async add(address: string, at: number, keep: number): Promise<void> {
    const times = [...(this.#failures.get(address) ?? []), at];
    this.#failures.delete(address);
    this.#failures.set(address, times.slice(-keep));
    while (this.#failures.size > this.#maxAddresses) {
      const first = this.#failures.keys().next().value;
      if (first === undefined) break;
      this.#failures.delete(first);
    }
  }

  async clear(address: string): Promise<void> {
    this.#failures.delete(address);
  }
}

export class SignInLimit {
  readonly #o: SignInLimitOptions;
  readonly #store: SignInFailureStore;

  constructor(options: Partial<SignInLimitOptions> & { store?: SignInFailureStore } = {}) {
    const { store, ...rest } = options;
    this.#o = { ...SIGN_IN_LIMIT_DEFAULTS, ...rest };
    this.#store = store ?? new MemorySignInFailures({ maxAddresses: this.#o.maxAddresses });
  }

  /** Seconds the address must wait before trying again, or 0. */
  async retryAfter(address: string): Promise<number> {
    const times = await this.#recent(address);
    if (times.length < this.#o.max) return 0;
    const oldest = times[times.length - this.#o.max]!;
    return Math.max(1, Math.ceil((oldest + this.#o.windowMs - this.#o.now()) / 1000));
  }

  /** Only the latest `max` failures can decide a wait: the store keeps no more. */
  async failed(address: string): Promise<void> {
    await this.#store.add(address, this.#o.now(), this.#o.max);
  }

  async succeeded(address: string): Promise<void> {
    await this.#store.clear(address);
  }

  #recent(address: string): Promise<number[]> {
    return this.#store.recent(address, this.#o.now() - this.#o.windowMs);
  }
}
