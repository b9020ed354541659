import { describe, expect, it } from 'vitest';
import {
  abandonedNeedsMark,
  afterBatchFailure,
  BACKOFF_CAP_MS,
  backoffDelay,
  dropsCachedIds,
  type FailureKind,
  planAfterFailure,
} from '../../src/domain/dns-failure.js';
import { freshRecordState, type RecordState } from '../../src/state/schema.js';

function st(over: Partial<RecordState> = {}): RecordState {
  return { ...freshRecordState('home.example.com', 'A'), ...over };
}

describe('backoffDelay (full jitter, 5 s doubling to 5 min)', () => {
  it('the ceiling doubles per failure and stops at 5 min', () => {
    const ceiling = (n: number) => backoffDelay(n, () => 0.999999);
    expect(ceiling(1)).toBe(4_999);
    expect(ceiling(2)).toBe(9_999);
    expect(ceiling(3)).toBe(19_999);
    expect(ceiling(10)).toBe(BACKOFF_CAP_MS - 1);
    expect(ceiling(60)).toBe(BACKOFF_CAP_MS - 1);
  });
  it('draws uniformly below the ceiling (never less than 1 s)', () => {
    expect(backoffDelay(3, () => 0.5)).toBe(10_000);
    expect(backoffDelay(3, () => 0)).toBe(1_000);
  });
});

describe('planAfterFailure (which failure waits for what)', () => {
  const half = () => 0.5;
  it.each([
    [
      'read/client-4xx/retried-on-the-permission-schedule',
      'client',
      false,
      undefined,
      'refused_read',
      600_000,
    ],
    ['write/client-4xx/blocked-until-ip-or-config-changes', 'client', true, undefined, 'block', null],
    ['read/auth/permission-schedule', 'auth', false, undefined, 'permission', 600_000],
    ['write/auth/permission-schedule', 'auth', true, undefined, 'permission', 600_000],
    ['read/zone-not-found/permission-schedule', 'zone_not_found', false, undefined, 'permission', 600_000],
    ['read/rate-limited/retry-after', 'rate_limited', false, 120_000, 'rate_limit', 120_000],
    ['write/rate-limited/no-retry-after-is-300s', 'rate_limited', true, undefined, 'rate_limit', 300_000],
    [
      'read/rate-limited/a week asked/a day at most (MAX_RETRY_WAIT_MS)',
      'rate_limited',
      false,
      7 * 86_400_000,
      'rate_limit',
      86_400_000,
    ],
    ['recheck/conflict-or-not-creatable/every-10-min', 'recheck', true, undefined, 'recheck', 600_000],
    ['read/transient/backoff', 'transient', false, undefined, 'backoff', 10_000],
    ['write/transient/backoff', 'transient', true, undefined, 'backoff', 10_000],
    ['read/malformed/backoff', 'malformed', false, undefined, 'backoff', 10_000],
    ['write/not-found/backoff', 'not_found', true, undefined, 'backoff', 10_000],
    ['other/anything-else/backoff', 'other', false, undefined, 'backoff', 10_000],
  ] as const)('%s', (_n, kind, write, retryAfterMs, schedule, afterMs) => {
    // Two failures so far: the backoff ceiling of the third is 20 s, half of it drawn.
    const plan = planAfterFailure({ kind: kind as FailureKind, write, retryAfterMs }, 2, half);
    if (schedule === 'block') {
      expect(plan).toEqual({ kind: 'block' });
      return;
    }
    expect(plan).toMatchObject({ kind: 'retry', schedule, afterMs });
    // Only the backoff schedule counts failures (it grows with them).
    expect(plan.kind === 'retry' && plan.failures).toBe(schedule === 'backoff' ? 3 : 2);
  });
});

describe('dropsCachedIds (a stale id is forgotten, nothing else is)', () => {
  it.each<[string, FailureKind, boolean]>([
    ['not-found/ids-dropped', 'not_found', true],
    ['zone-not-found/ids-kept-the-zone-may-come-back', 'zone_not_found', false],
    ['transient/ids-kept', 'transient', false],
    ['client/ids-kept', 'client', false],
  ])('%s', (_n, kind, dropped) => {
    expect(dropsCachedIds(kind)).toBe(dropped);
  });
});

describe('afterBatchFailure (a failed batch: one by one, or all failed)', () => {
  it.each<[string, FailureKind, boolean, 'fail_all' | 'one_by_one']>([
    ['transient/one-by-one', 'transient', false, 'one_by_one'],
    ['client/one-by-one-so-one-bad-record-does-not-hold-the-rest', 'client', false, 'one_by_one'],
    ['malformed/one-by-one', 'malformed', false, 'one_by_one'],
    ['rate-limited/all-failed-the-pause-blocks-single-writes-too', 'rate_limited', false, 'fail_all'],
    ['auth/all-failed', 'auth', false, 'fail_all'],
    ['stopping/all-failed-nothing-retried', 'transient', true, 'fail_all'],
  ])('%s', (_n, kind, stopping, expected) => {
    expect(afterBatchFailure(kind, stopping)).toBe(expected);
  });
});

describe('abandonedNeedsMark (a stop cut the record short)', () => {
  const desired = '81.2.69.160';
  it.each<[string, Partial<RecordState>, boolean, boolean]>([
    ['write-in-flight/always-marked', { status: 'in_sync', content: desired }, true, true],
    ['read/in-sync-and-right/kept', { status: 'in_sync', content: desired }, false, false],
    ['read/in-sync-but-stale/marked', { status: 'in_sync', content: '81.2.69.1' }, false, true],
    ['read/updating-never-seen/marked', { status: 'updating', content: null }, false, true],
    ['read/already-out-of-sync/left-as-is', { status: 'out_of_sync', content: '81.2.69.1' }, false, false],
    ['read/error/keeps-its-error', { status: 'error', content: '81.2.69.1' }, false, false],
  ])('%s', (_n, over, wasWrite, marked) => {
    expect(abandonedNeedsMark(st(over), desired, wasWrite)).toBe(marked);
  });
});
