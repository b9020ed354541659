/**
 * Runs the DNS cycle every interval ± jitter, and at once on a trigger (a command, the WAN coming
 * back, a local address change). One cycle at a time: triggers that arrive during a cycle
 * coalesce into one follow-up cycle. Time and randomness are injected.
 */
import type { Clock, Random } from './clock.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

export interface CycleOutcome {
  /** The earliest time something deferred wants another look (sooner than the interval). */
  retryAt: number | null;
}

export interface SchedulerOptions {
  clock: Clock;
  random: Random;
  intervalMs: number;
  jitterMs: number;
  logger: Logger;
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
    this.#wake?.abort();
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
    /** When the next cycle over all records is due; a trigger for some records does not move it. */
    let nextFull = clock.now();
    while (!this.#stop.signal.aborted) {
      const reasons = this.#pending.length > 0 ? this.#pending.splice(0) : ['interval'];
      const records =
        this.#pendingRecords === null || this.#pendingRecords === undefined
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
      if (records === undefined) nextFull = clock.now() + this.nextDelay();
      if (this.#stop.signal.aborted) break;
      if (this.#pending.length > 0) continue; // triggers during the cycle: one follow-up, now
      let delay = Math.max(0, nextFull - clock.now());
      if (outcome.retryAt !== null) delay = Math.min(delay, Math.max(1000, outcome.retryAt - clock.now()));
      // One controller per sleep, aborted by a trigger or by stop() (no AbortSignal.any, which
      // leaves a WeakRef on the long-lived stop signal at every sleep on Node 20).
      this.#wake = new AbortController();
      await clock.sleep(delay, this.#wake.signal);
      this.#wake = null;
    }
  }
}
