import type { Clock } from '../../../src/clock.js';

export interface RelayChange {
  /** Clock time of the change. */
  at: number;
  on: boolean;
}

/**
 * A fake plug's relay: its state and every change with the (fake) clock's time, so tests can
 * assert "the plug ended on" and "the off lasted N s".
 */
export class Relay {
  readonly #clock: Clock;
  #on: boolean;
  /** Every change of state, oldest first (setting the state it already has is not a change). */
  readonly changes: RelayChange[] = [];

  constructor(clock: Clock, initiallyOn = true) {
    this.#clock = clock;
    this.#on = initiallyOn;
  }

  get on(): boolean {
    return this.#on;
  }

  set(on: boolean): void {
    if (on === this.#on) return;
    this.#on = on;
    this.changes.push({ at: this.#clock.now(), on });
  }

  /** Lengths in ms of the off periods that ended (an off still running is not counted). */
  offSpansMs(): number[] {
    const spans: number[] = [];
    let offAt: number | undefined;
    for (const c of this.changes) {
      if (!c.on) offAt = c.at;
      else if (offAt !== undefined) {
        spans.push(c.at - offAt);
        offAt = undefined;
      }
    }
    return spans;
  }
}
