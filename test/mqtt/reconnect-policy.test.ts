/**
 * The MQTT reconnect policy alone: event sequences in, the wait mqtt.js is given and what is said
 * about a lost session out. No broker, no timers: the times are numbers.
 */
import { describe, expect, it } from 'vitest';
import {
  decideReconnect,
  FALLBACK_RETRY_MS,
  INITIAL_RECONNECT_STATE,
  type ReconnectEvent,
  reconnectBackoff,
  reconnectWait,
  type SessionLostNotice,
} from '../../src/mqtt/reconnect-policy.js';

/** The defaults: 1 s doubling to 60 s. */
const DEFAULT = reconnectBackoff(1000, 60_000);

const retry: ReconnectEvent = { kind: 'retrying' };
const fallback: ReconnectEvent = { kind: 'protocol-fallback' };
const up = (at: number): ReconnectEvent => ({ kind: 'connected', at });
const lost = (at: number): ReconnectEvent => ({ kind: 'session-lost', at });

/** Runs `events` from the start; returns each step's wait and notice (`-` when none). */
function run(events: ReconnectEvent[], policy = DEFAULT): Array<[number, SessionLostNotice | '-']> {
  let state = INITIAL_RECONNECT_STATE;
  return events.map((event) => {
    const d = decideReconnect(state, event, policy);
    state = d.state;
    return [d.waitMs, d.notice ?? '-'];
  });
}

describe('reconnect policy', () => {
  it('starts at the base wait', () => {
    expect(reconnectWait(INITIAL_RECONNECT_STATE, DEFAULT)).toBe(1000);
  });

  it.each<[string, ReconnectEvent[], Array<[number, SessionLostNotice | '-']>]>([
    [
      'failed attempts/each one/doubles up to the 60 s cap',
      [retry, retry, retry, retry, retry, retry, retry],
      [
        [2000, '-'],
        [4000, '-'],
        [8000, '-'],
        [16_000, '-'],
        [32_000, '-'],
        [60_000, '-'],
        [60_000, '-'],
      ],
    ],
    [
      'connect/after failures/starts over at the base',
      [retry, retry, retry, up(0)],
      [
        [2000, '-'],
        [4000, '-'],
        [8000, '-'],
        [1000, '-'],
      ],
    ],
    [
      'session lost/after 30 s/starts over and warns',
      [up(0), lost(30_000)],
      [
        [1000, '-'],
        [1000, 'lost'],
      ],
    ],
    [
      'session lost/within 30 s/keeps backing off and warns',
      [up(0), lost(29_999)],
      [
        [1000, '-'],
        [2000, 'lost'],
      ],
    ],
    [
      'storm/third short session in a row/hint once, then debug',
      [
        up(0),
        lost(1),
        retry,
        up(5000),
        lost(5001),
        retry,
        up(20_000),
        lost(20_001),
        retry,
        up(80_000),
        lost(80_001),
      ],
      [
        [1000, '-'],
        [2000, 'lost'],
        [4000, '-'],
        [4000, '-'], // a connect during a storm keeps the grown wait
        [8000, 'lost-again'],
        [16_000, '-'],
        [16_000, '-'],
        [32_000, 'storm'],
        [60_000, '-'],
        [60_000, '-'],
        [60_000, 'lost-again'],
      ],
    ],
    [
      'storm/then a session that lasts/ends it: base wait, the next loss warns',
      [
        up(0),
        lost(1),
        retry,
        up(5000),
        lost(5001),
        retry,
        up(20_000),
        lost(80_000),
        retry,
        up(90_000),
        lost(90_001),
      ],
      [
        [1000, '-'],
        [2000, 'lost'],
        [4000, '-'],
        [4000, '-'],
        [8000, 'lost-again'],
        [16_000, '-'],
        [16_000, '-'],
        [1000, 'lost'],
        [2000, '-'],
        [1000, '-'],
        [2000, 'lost'],
      ],
    ],
    [
      'protocol fallback/quick retry/does not grow the wait',
      [fallback, retry, retry],
      [
        [FALLBACK_RETRY_MS, '-'],
        [1000, '-'],
        [2000, '-'],
      ],
    ],
    [
      'clock set back/session "ended" before it began/counts as short',
      [up(50_000), lost(10_000)],
      [
        [1000, '-'],
        [2000, 'lost'],
      ],
    ],
  ])('%s', (_name, events, expected) => {
    expect(run(events)).toEqual(expected);
  });

  it.each([
    ['settings/test figures/50 ms doubling to 400 ms', 50, 400, [100, 200, 400, 400]],
    ['settings/cap below base/the cap is raised to the base', 5000, 1000, [5000, 5000]],
    ['settings/zero base/at least 1 ms', 0, 4, [2, 4, 4]],
  ])('%s', (_name, base, cap, waits) => {
    const policy = reconnectBackoff(base, cap);
    expect(
      run(
        waits.map(() => retry),
        policy,
      ).map(([w]) => w),
    ).toEqual(waits);
  });
});
