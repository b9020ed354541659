/**
 * The clock of the long run: like a real host, it has two faces. Sleepers wait on a monotonic
 * time (`mono`, what setTimeout counts), while `now()` is the wall clock (what Date.now reads):
 * `mono + offset`. `step(ms)` moves the wall clock alone, as NTP or an administrator setting the
 * time does; a sleeper due in 15 s still wakes 15 s later.
 *
 * `runUntil(mono)` fires every sleeper due up to then, one at a time in time order, and after each
 * waits until the woken code has settled: queued callbacks have run and no state save is still on
 * the disk (`busy()`), so a power cycle that saves before switching the plug is never overtaken
 * by the next round. The simulated time never moves while the code under test is working.
 */
import type { Clock } from '../../src/clock.js';

interface Sleeper {
  at: number;
  seq: number;
  wake: () => void;
}

export class SimClock implements Clock {
  #mono = 0;
  #offset: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];
  /** Something outside the promise queue is still working (a save on disk). */
  busy: () => boolean = () => false;

  /** `wallStart`: what the wall clock reads at mono 0. */
  constructor(wallStart: number) {
    this.#offset = wallStart;
  }

  now(): number {
    return this.#mono + this.#offset;
  }

  get mono(): number {
    return this.#mono;
  }

  /** Sleepers waiting (a leak would show here). */
  get pending(): number {
    return this.#sleepers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = { at: this.#mono + Math.max(0, ms), seq: this.#seq++, wake: resolve };
      const onAbort = () => {
        const i = this.#sleepers.indexOf(sleeper);
        if (i >= 0) this.#sleepers.splice(i, 1);
        resolve();
      };
      sleeper.wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Sets the wall clock forward (ms > 0) or back (ms < 0); sleepers are not affected. */
  step(ms: number): void {
    this.#offset += ms;
  }

  /** Runs the simulated time up to `target` (mono), firing sleepers in order; see the file comment. */
  async runUntil(target: number): Promise<void> {
    for (;;) {
      await this.settle();
      let next: Sleeper | undefined;
      for (const s of this.#sleepers) {
        if (
          s.at <= target &&
          (next === undefined || s.at < next.at || (s.at === next.at && s.seq < next.seq))
        )
          next = s;
      }
      if (next === undefined) break;
      this.#sleepers.splice(this.#sleepers.indexOf(next), 1);
      this.#mono = Math.max(this.#mono, next.at);
      next.wake();
    }
    this.#mono = Math.max(this.#mono, target);
    await this.settle();
  }

  /** Waits until queued callbacks have run and `busy()` is false. */
  async settle(): Promise<void> {
    do {
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
    } while (this.busy());
  }
}
