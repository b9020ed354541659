/**
 * One exponential backoff for every retry loop (Cloudflare writes, MQTT reconnects, plug
 * retries). Pure: the randomness is passed in, so tests pick the draw.
 */

export interface BackoffPolicy {
  /** The ceiling of the first wait. */
  readonly baseMs: number;
  /** The ceiling never grows past this. */
  readonly capMs: number;
  /** No wait is shorter than this (a zero draw must not become a hot loop). */
  readonly floorMs: number;
  /**
   * `full`: uniform in [floor, ceiling] ("full jitter", so many agents that failed together do not
   * retry together); `none`: exactly the ceiling.
   */
  readonly jitter: 'full' | 'none';
}

/** The ceiling of the n-th wait (n ≥ 1): base·2^(n-1), at most cap. */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  // 2^60 already exceeds every cap; keep the exponent small so the product stays finite.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(n - 1, 60));
}

/** The n-th wait (n ≥ 1) under `policy`. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = backoffCeiling(attempt, policy);
  if (policy.jitter === 'none') return Math.max(policy.floorMs, ceiling);
  const r = random();
  const draw = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.max(policy.floorMs, Math.floor(draw * ceiling));
}
