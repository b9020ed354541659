/**
 * A wall clock that can jump, over a manual monotonic clock: `now()` is the manual clock plus an
 * offset that `jump(ms)` moves (NTP stepping the time, a Pi without RTC setting it at boot),
 * while `sleep` keeps running on the monotonic clock — as Date.now and setTimeout behave.
 */
import type { Clock } from '../../src/clock.js';
import { ManualClock } from '../fakes/clock.js';

export class JumpClock implements Clock {
  readonly mono: ManualClock;
  #offset = 0;

  constructor(mono = new ManualClock()) {
    this.mono = mono;
  }

  now(): number {
    return this.mono.now() + this.#offset;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.mono.sleep(ms, signal);
  }

  /** The wall clock steps by `ms` (negative: back); timers are not affected. */
  jump(ms: number): void {
    this.#offset += ms;
  }
}
