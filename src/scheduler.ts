/**
 * Runs the DNS cycle every interval ± jitter, and on a trigger (a command, the WAN coming back, a
 * local address change). One cycle at a time: triggers that arrive during a cycle coalesce into one
 * follow-up cycle. Triggered cycles keep a minimum gap (`triggerGapMs`, 5 s by default) between the
 * end of one and the start of the next: a trigger after a quiet period runs at once, triggers within
 * the gap join the cycle that runs when it has passed, and all of them get that cycle's answer, so a
 * flood of commands never becomes a flood of API calls. Time and randomness are injected.
 */
import type { Clock, Random } from './clock.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

export interface CycleOutcome {
  /** The earliest time something deferred wants another look (sooner than the interval). */
  retryAt: number | null;
}

/** SPEC §6: triggered cycles keep a minimum gap of a few seconds. */
export const DEFAULT_TRIGGER_GAP_MS = 5000;

export interface SchedulerOptions {
  clock: Clock;
  random: Random;
  intervalMs: number;
  jitterMs: number;
  logger: Logger;
  /**
   * Minimum time from the end of a cycle run for triggers to the start of the next one run for
   * triggers (default DEFAULT_TRIGGER_GAP_MS). Cycles on the timer are never held back by it.
   */
  triggerGapMs?: number;
  /** One cycle. `reasons` are the triggers it answers (['interval'] on the timer). */
  run: (reasons: string[], records: string[] | undefined) => Promise<CycleOutcome>;
}

interface Waiter {
  resolve: (ran: boolean) => void;
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  #pending: string[] = [];
  /** Record names asked for by the pending triggers; undefined = all records. */
  #pendingRecords: Set<string> | undefined | null = null;
  #wake: AbortController | null = null;
  #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #running = false;
  #done: Waiter[] = [];
  #cycles = 0;
  /** Triggered cycles do not start before this: the end of the last triggered cycle + the gap. */
  #gapUntil = Number.NEGATIVE_INFINITY;
  /** True while the loop sleeps out the gap for pending triggers (a new trigger need not wake it). */
  #heldByGap = false;

  constructor(options: SchedulerOptions) {
    this.#o = options;
  }

  get cycles(): number {
    return this.#cycles;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts the loop; the first cycle runs at once. */
  start(): void {
    if (this.#loop) return;
    this.#pending.push('start');
    this.#pendingRecords = undefined;
    this.#loop = this.#run();
  }

  /**
   * Asks for a cycle as soon as possible. Returns a promise that resolves when a cycle that
   * started after this call has finished (true), or when the scheduler stopped first (false).
   */
  trigger(reason: string, records?: readonly string[]): Promise<boolean> {
    this.#pending.push(reason);
    if (records === undefined || this.#pendingRecords === undefined) this.#pendingRecords = undefined;
    else {
      this.#pendingRecords ??= new Set();
      for (const r of records) this.#pendingRecords.add(r);
    }
    if (!this.#heldByGap) this.#wake?.abort();
    return new Promise<boolean>((resolve) => {
      if (this.#stop.signal.aborted) return resolve(false);
      this.#done.push({ resolve });
    });
  }

  /** Stops the loop; waits for a running cycle to end (callers abort its I/O separately). */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake?.abort();
    await this.#loop;
    for (const w of this.#done.splice(0)) w.resolve(false);
  }

  /** The next sleep: interval ± jitter, uniformly drawn. */
  nextDelay(): number {
    const { intervalMs, jitterMs, random } = this.#o;
    return Math.max(1000, Math.round(intervalMs - jitterMs + random() * 2 * jitterMs));
  }

  async #run(): Promise<void> {
    const { clock, logger } = this.#o;
    const gap = Math.max(0, this.#o.triggerGapMs ?? DEFAULT_TRIGGER_GAP_MS);
    /** When the next cycle over all records is due; a trigger for some records does not move it. */
    let nextFull = clock.now();
    /** When something deferred wants another look (from the last cycle's outcome), if sooner. */
    let retryAt: number | null = null;
    while (!this.#stop.signal.aborted) {
      const now = clock.now();
      // The wall clock may step back (NTP correcting a clock that ran ahead): a deadline can then lie
      // further ahead than any wait the loop ever schedules. Pull it back, so the loop never sleeps
      // for the length of the jump (no DNS cycles, no probe rounds, unanswered triggers).
      nextFull = Math.min(nextFull, now + this.#o.intervalMs + this.#o.jitterMs);
      this.#gapUntil = Math.min(this.#gapUntil, now + gap);
      const timerDue = now >= nextFull || (retryAt !== null && now >= retryAt);
      const triggered = this.#pending.length > 0;
      if (!timerDue && !(triggered && now >= this.#gapUntil)) {
        const wakeAt = Math.min(nextFull, retryAt ?? nextFull, triggered ? this.#gapUntil : nextFull);
        if (triggered) {
          logger.debug(
            { triggers: this.#pending.length, waitMs: this.#gapUntil - now },
            `Triggers within ${gap / 1000} s of the last triggered DNS cycle join the next one, in ${Math.ceil((this.#gapUntil - now) / 1000)} s.`,
          );
        }
        // One controller per sleep, aborted by a trigger or by stop() (no AbortSignal.any, which
        // leaves a WeakRef on the long-lived stop signal at every sleep on Node 20).
        this.#heldByGap = triggered;
        const wake = new AbortController();
        this.#wake = wake;
        await clock.sleep(Math.max(0, wakeAt - now), wake.signal);
        this.#wake = null;
        this.#heldByGap = false;
        // A sleep that ran its course ends at wakeAt on the wall clock, unless the clock stepped
        // back meanwhile: then every deadline moves back with it (a cut-short sleep only knows the
        // time went on from `now`).
        const after = clock.now();
        const shift = after - (wake.signal.aborted ? now : wakeAt);
        if (shift < -1000) {
          nextFull += shift;
          if (retryAt !== null) retryAt += shift;
          this.#gapUntil += shift;
        }
        continue;
      }
      const reasons = triggered ? this.#pending.splice(0) : ['interval'];
      // A cycle on the timer covers all records; so does one where any trigger asked for all.
      const records =
        timerDue || this.#pendingRecords === null || this.#pendingRecords === undefined
          ? undefined
          : [...this.#pendingRecords];
      this.#pendingRecords = null;
      const waiters = this.#done.splice(0);
      let outcome: CycleOutcome = { retryAt: null };
      this.#running = true;
      try {
        outcome = await this.#o.run(reasons, records);
      } catch (err) {
        logger.error(
          { err: errorMessage(err) },
          `A DNS cycle failed unexpectedly: ${errorMessage(err)}. The next one runs on schedule; please report this if it repeats.`,
        );
      } finally {
        this.#running = false;
        this.#cycles++;
      }
      for (const w of waiters) w.resolve(true);
      const end = clock.now();
      if (records === undefined) nextFull = end + this.nextDelay();
      retryAt = outcome.retryAt === null ? null : Math.max(end + 1000, outcome.retryAt);
      if (waiters.length > 0) this.#gapUntil = end + gap;
    }
  }
}
