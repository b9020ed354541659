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

/**
 * ISO 8601 with an explicit offset (`2026-01-01T00:00:00.000+00:00`), the form Home Assistant's
 * timestamp sensors and every JSON consumer parse without guessing a time zone.
 */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '+00:00');
}

export function isoTimeOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : isoTime(ms);
}
