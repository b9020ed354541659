/**
 * What the reconciler does after a failed Cloudflare call, without I/O: when the record is looked
 * at again and on which schedule, whether its cached ids are dropped, whether a failed batch is
 * retried one by one, and what a stop that cut a record's cycle short leaves behind. Pure.
 */
import { type BackoffPolicy, backoffDelay as policyDelay } from './backoff.js';
import type { RecordState } from './dns.js';
import { ipEquals } from './ip.js';

export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_CAP_MS = 300_000;
/** Permission problems, zones the token cannot see, record sets only the user can fix: every 10 min. */
export const AUTH_RETRY_MS = 600_000;
/** A 429 without a usable Retry-After: Cloudflare blocks every call for five minutes. */
export const RATE_LIMIT_DEFAULT_MS = 300_000;
/**
 * The longest wait ever scheduled for a record (`next_attempt_at`): a Cloudflare Retry-After,
 * honoured up to a day. The other schedules are shorter (backoff 5 min, permission recheck 10
 * min). A retry further ahead than this was not scheduled by this clock: it went back since.
 */
export const MAX_RETRY_WAIT_MS = 86_400_000;

/** The DNS backoff: 5 s doubling to 5 min, full jitter, never under 1 s. */
export const DNS_BACKOFF: BackoffPolicy = {
  baseMs: BACKOFF_BASE_MS,
  capMs: BACKOFF_CAP_MS,
  floorMs: 1_000,
  jitter: 'full',
};

/**
 * Why a Cloudflare call failed, as far as retrying goes: the API failure kinds of src/errors.ts,
 * plus `recheck` (the record set is in a state only the user can fix) and `other` (anything else
 * that threw).
 */
export type FailureKind =
  | 'rate_limited'
  | 'auth'
  | 'zone_not_found'
  | 'transient'
  | 'client'
  | 'not_found'
  | 'already_exists'
  | 'malformed'
  | 'recheck'
  | 'other';

/** When a record is looked at again after a failure, and on which schedule. */
export type FailurePlan =
  /** A refused change: not retried until the public IP or the record's settings change. */
  | { kind: 'block' }
  | {
      kind: 'retry';
      afterMs: number;
      /** The record's consecutive failures after this one (only the backoff schedule counts them). */
      failures: number;
      schedule: 'rate_limit' | 'permission' | 'recheck' | 'refused_read' | 'backoff';
    };

/**
 * After a failure: 429 → Retry-After (300 s without, a day at most); 401/403 and a zone the token cannot see →
 * every 10 min (the permission schedule); a record set only the user can fix (`recheck`) → every
 * 10 min; another 4xx on a **write** blocks the record until the IP or config changes, while the
 * same on a **read** (a zone or record listing) is not a verdict on the change and is retried every
 * 10 min; anything else → exponential backoff with full jitter.
 */
export function planAfterFailure(
  failure: { kind: FailureKind; write: boolean; retryAfterMs?: number | undefined },
  failures: number,
  random: () => number,
): FailurePlan {
  switch (failure.kind) {
    case 'rate_limited':
      return {
        kind: 'retry',
        afterMs: Math.min(MAX_RETRY_WAIT_MS, Math.max(0, failure.retryAfterMs ?? RATE_LIMIT_DEFAULT_MS)),
        failures,
        schedule: 'rate_limit',
      };
    case 'auth':
    case 'zone_not_found':
      return { kind: 'retry', afterMs: AUTH_RETRY_MS, failures, schedule: 'permission' };
    case 'recheck':
      return { kind: 'retry', afterMs: AUTH_RETRY_MS, failures, schedule: 'recheck' };
    case 'client':
      return failure.write
        ? { kind: 'block' }
        : { kind: 'retry', afterMs: AUTH_RETRY_MS, failures, schedule: 'refused_read' };
    case 'transient':
    case 'not_found':
    case 'already_exists':
    case 'malformed':
    case 'other':
      return {
        kind: 'retry',
        afterMs: backoffDelay(failures + 1, random),
        failures: failures + 1,
        schedule: 'backoff',
      };
  }
}

/** Exponential backoff with full jitter: uniform in [1 s, min(cap, base·2^(failures-1))]. */
export function backoffDelay(failures: number, random: () => number): number {
  return policyDelay(failures, DNS_BACKOFF, random);
}

/** A cached zone or record id turned out to be gone: drop the ids and find them afresh. */
export function dropsCachedIds(kind: FailureKind): boolean {
  return kind === 'not_found';
}

/**
 * After a failed batch: `one_by_one` retries its writes singly (one bad record must not hold back
 * the others); `fail_all` records the failure for every record in it — when stopping (the batch
 * may or may not have been applied) and when a single write would meet the same wall (a 429
 * pause, a token without permission).
 */
export function afterBatchFailure(kind: FailureKind, stopping: boolean): 'fail_all' | 'one_by_one' {
  if (stopping) return 'fail_all';
  return kind === 'rate_limited' || kind === 'auth' ? 'fail_all' : 'one_by_one';
}

/**
 * A stop cut this record's cycle short (its request was abandoned, not failed: no backoff, no
 * event). Whether it must now say it is not in sync: always when a write was in flight (Cloudflare
 * may or may not have applied it); after a read only when it claims in_sync/updating while its
 * content is not the desired address. A record known to be right keeps its status.
 */
export function abandonedNeedsMark(state: RecordState, desired: string, wasWrite: boolean): boolean {
  if (wasWrite) return true;
  const stale = state.content === null || !ipEquals(state.content, desired);
  return stale && (state.status === 'in_sync' || state.status === 'updating');
}
