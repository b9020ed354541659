/**
 * "Log it once per outage, and once when it recovers": the pattern every long-running loop needs
 * so a Pi that runs for months does not fill its log with the same warning every minute. Pure:
 * the tracker only says what kind of moment this is; the caller words and logs it.
 */

export type OutageMoment =
  /** The first failure after a good spell: warn. */
  | { readonly kind: 'started'; readonly key: string }
  /** Still failing, but differently (a new key): warn again, once. */
  | { readonly kind: 'changed'; readonly key: string; readonly previous: string }
  /** The same failure again: debug at most. */
  | { readonly kind: 'repeated'; readonly key: string; readonly count: number };

export interface OutageRecovery {
  /** The failure that ended. */
  readonly key: string;
  /** When the outage began (ms), and how many failures it counted. */
  readonly since: number;
  readonly failures: number;
  /** How long it lasted (0 when the clock went back). */
  readonly durationMs: number;
}

export class OutageTracker {
  #key: string | null = null;
  #since = 0;
  #failures = 0;

  /** True while an outage is running. */
  get active(): boolean {
    return this.#key !== null;
  }

  /** The current failure's key, or null. */
  get key(): string | null {
    return this.#key;
  }

  /** When the current outage began (ms), or null. */
  get since(): number | null {
    return this.#key === null ? null : this.#since;
  }

  /** Records a failure of kind `key` at `now`. */
  fail(key: string, now: number): OutageMoment {
    this.#failures += 1;
    if (this.#key === null) {
      this.#key = key;
      this.#since = now;
      return { kind: 'started', key };
    }
    if (this.#key !== key) {
      const previous = this.#key;
      this.#key = key;
      return { kind: 'changed', key, previous };
    }
    return { kind: 'repeated', key, count: this.#failures };
  }

  /** Records a success; returns what ended when it ends an outage, else null. */
  ok(now: number): OutageRecovery | null {
    if (this.#key === null) return null;
    const ended: OutageRecovery = {
      key: this.#key,
      since: this.#since,
      failures: this.#failures,
      durationMs: Math.max(0, now - this.#since),
    };
    this.#key = null;
    this.#failures = 0;
    return ended;
  }
}
