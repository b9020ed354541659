import { describe, expect, it } from 'vitest';
import { type BackoffPolicy, backoffCeiling, backoffDelay } from '../../src/domain/backoff.js';
import { OutageTracker } from '../../src/domain/outage.js';

const DNS: BackoffPolicy = { baseMs: 5_000, capMs: 300_000, floorMs: 1_000, jitter: 'full' };
const MQTT: BackoffPolicy = { baseMs: 1_000, capMs: 60_000, floorMs: 1_000, jitter: 'none' };

describe('backoff', () => {
  it.each([
    ['dns/first failure/5 s ceiling', DNS, 1, 5_000],
    ['dns/third failure/20 s ceiling', DNS, 3, 20_000],
    ['dns/tenth failure/capped at 5 min', DNS, 10, 300_000],
    ['dns/absurd attempt/capped, finite', DNS, 1e9, 300_000],
    ['dns/NaN attempt/treated as first', DNS, Number.NaN, 5_000],
    ['mqtt/seventh failure/capped at 60 s', MQTT, 7, 60_000],
  ])('%s', (_name, policy, attempt, ceiling) => {
    expect(backoffCeiling(attempt, policy)).toBe(ceiling);
    expect(backoffDelay(attempt, policy, () => 0.999_999_9)).toBeLessThanOrEqual(ceiling);
  });

  it.each([
    ['full jitter/zero draw/never below the floor', DNS, 3, 0, 1_000],
    ['full jitter/half draw/half the ceiling', DNS, 3, 0.5, 10_000],
    ['full jitter/broken random/floor, not NaN', DNS, 3, Number.NaN, 1_000],
    ['no jitter/any draw/the ceiling', MQTT, 3, 0.1, 4_000],
  ])('%s', (_name, policy, attempt, draw, expected) => {
    expect(backoffDelay(attempt, policy, () => draw)).toBe(expected);
  });
});

describe('outage tracker', () => {
  it('first failure starts, repeats are repeats, a new kind is a change, success ends it once', () => {
    const t = new OutageTracker();
    expect(t.ok(0)).toBeNull();
    expect(t.fail('doh_down', 1_000)).toEqual({ kind: 'started', key: 'doh_down' });
    expect(t.fail('doh_down', 2_000)).toEqual({ kind: 'repeated', key: 'doh_down', count: 2 });
    expect(t.fail('timeout', 3_000)).toEqual({ kind: 'changed', key: 'timeout', previous: 'doh_down' });
    expect(t.active).toBe(true);
    expect(t.since).toBe(1_000);
    expect(t.ok(61_000)).toEqual({ key: 'timeout', since: 1_000, failures: 3, durationMs: 60_000 });
    expect(t.active).toBe(false);
    expect(t.ok(62_000)).toBeNull();
    expect(t.fail('doh_down', 70_000).kind).toBe('started');
  });

  it('a clock set back never gives a negative duration', () => {
    const t = new OutageTracker();
    t.fail('x', 10_000);
    expect(t.ok(5_000)?.durationMs).toBe(0);
  });
});
