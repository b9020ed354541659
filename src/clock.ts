/**
 * Time and randomness are ports: services never call Date.now, setTimeout or Math.random
 * themselves, so tests can run hours of simulated time in milliseconds.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms`. When `signal` aborts first, resolves early (never rejects), so loops
   * can check their own stop flag afterwards.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Uniform random number in [0, 1). */
export type Random = () => number;

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export const systemRandom: Random = () => Math.random();

// Time values and their ISO form are core vocabulary (src/domain/time.ts); re-exported here for
// the adapters and services that already import them from the clock.
export { isoTime, isoTimeOrNull, isStoredTime, MAX_STORED_TIME_MS } from './domain/time.js';
