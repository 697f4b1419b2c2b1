// Failed sign-ins per client address: after `max` failures within `windowMs` the address must wait
// until the oldest of them leaves the window. Slows token guessing and TokenReview floods; a
// success clears the address. Memory is bounded: beyond maxAddresses the least recent is dropped.

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

export class SignInLimit {
  readonly #o: SignInLimitOptions;
  /** address → failure times, oldest first; Map order = least recently failed first */
  readonly #failures = new Map<string, number[]>();

  constructor(options: Partial<SignInLimitOptions> = {}) {
    this.#o = { ...SIGN_IN_LIMIT_DEFAULTS, ...options };
  }

  /** Seconds the address must wait before trying again, or 0. */
  retryAfter(address: string): number {
    const times = this.#recent(address);
    if (times.length < this.#o.max) return 0;
    const oldest = times[times.length - this.#o.max]!;
    return Math.max(1, Math.ceil((oldest + this.#o.windowMs - this.#o.now()) / 1000));
  }

  failed(address: string): void {
    const times = this.#recent(address);
    times.push(this.#o.now());
    this.#failures.delete(address);
    this.#failures.set(address, times.slice(-this.#o.max));
    while (this.#failures.size > this.#o.maxAddresses) {
      const first = this.#failures.keys().next().value;
      if (first === undefined) break;
      this.#failures.delete(first);
    }
  }

  succeeded(address: string): void {
    this.#failures.delete(address);
  }

  #recent(address: string): number[] {
    const since = this.#o.now() - this.#o.windowMs;
    const times = (this.#failures.get(address) ?? []).filter((t) => t > since);
    if (times.length === 0) this.#failures.delete(address);
    return times;
  }
}
