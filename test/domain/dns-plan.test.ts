import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RecordState as CoreRecordState, DnsRecord } from '../../src/domain/dns.js';
import {
  aggregateStatus,
  apiCacheFresh,
  BACKOFF_CAP_MS,
  backoffDelay,
  deferUntil,
  dohDownListingReuseMs,
  type FailureKind,
  gate,
  judgeDoh,
  pickZone,
  planAfterFailure,
  planFromApi,
} from '../../src/domain/dns-plan.js';
import { freshRecordState, type RecordState } from '../../src/state/schema.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function st(over: Partial<RecordState> = {}): RecordState {
  return { ...freshRecordState('home.example.com', 'A'), ...over };
}

function rec(content: string, id = 'r1'): DnsRecord {
  return {
    id,
    zoneId: 'z',
    name: 'home.example.com',
    type: 'A',
    content,
    proxied: false,
    ttl: 60,
    comment: null,
    tags: [],
  };
}

describe('vocabulary', () => {
  it('state/record-state-is-the-core-type', () => {
    // The state file's parsed record is exactly what the core's decisions read and write.
    expectTypeOf<RecordState>().toEqualTypeOf<CoreRecordState>();
  });
});

describe('judgeDoh', () => {
  it.each([
    ['answer/equal', { kind: 'answer', addresses: ['81.2.69.1'], ttl: 60 }, st(), 'in_sync'],
    [
      'answer/ipv6-equal-other-spelling',
      { kind: 'answer', addresses: ['2001:db8:0:0::1'], ttl: 60 },
      st(),
      'in_sync',
    ],
    ['answer/differs', { kind: 'answer', addresses: ['81.2.69.9'], ttl: 60 }, st(), 'differs'],
    [
      'answer/round-robin-contains-desired',
      { kind: 'answer', addresses: ['81.2.69.1', '81.2.69.2'], ttl: 60 },
      st(),
      'differs',
    ],
    [
      'answer/cloudflare-edge',
      { kind: 'answer', addresses: ['104.16.1.1', '172.67.1.1'], ttl: 300 },
      st(),
      'proxied',
    ],
    ['nxdomain', { kind: 'nxdomain' }, st(), 'missing'],
    ['nodata', { kind: 'nodata' }, st(), 'missing'],
    [
      'propagation/old-content-within-ttl-of-our-write',
      { kind: 'answer', addresses: ['81.2.69.9'], ttl: 60 },
      st({ last_update: NOW - 30_000, last_written_content: '81.2.69.1', ttl: 60 }),
      'propagating',
    ],
    [
      'propagation/ttl-passed-is-drift',
      { kind: 'answer', addresses: ['81.2.69.9'], ttl: 60 },
      st({ last_update: NOW - 61_000, last_written_content: '81.2.69.1', ttl: 60 }),
      'differs',
    ],
    [
      'propagation/auto-ttl-counts-as-300s',
      { kind: 'answer', addresses: ['81.2.69.9'], ttl: 60 },
      st({ last_update: NOW - 200_000, last_written_content: '81.2.69.1', ttl: 1 }),
      'propagating',
    ],
    [
      'propagation/we-wrote-another-ip-so-it-is-drift',
      { kind: 'answer', addresses: ['81.2.69.9'], ttl: 60 },
      st({ last_update: NOW - 10_000, last_written_content: '81.2.69.7', ttl: 60 }),
      'differs',
    ],
  ] as const)('%s', (_n, answer, state, kind) => {
    const desired = _n.includes('ipv6') ? '2001:db8::1' : '81.2.69.1';
    expect(judgeDoh(answer as never, desired, state, NOW).kind).toBe(kind);
  });
});

describe('planFromApi', () => {
  it.each([
    ['none/create', [], 'create'],
    ['one/same', [rec('81.2.69.1')], 'in_sync'],
    ['one/other', [rec('81.2.69.5')], 'update'],
    ['two/conflict-never-flattened', [rec('81.2.69.1', 'a'), rec('81.2.69.2', 'b')], 'conflict'],
  ] as const)('%s', (_n, records, kind) => {
    expect(planFromApi(records as unknown as DnsRecord[], '81.2.69.1').kind).toBe(kind);
  });
});

describe('pickZone (which visible zone holds a record)', () => {
  const zones = [
    { id: 'z1', name: 'example.com' },
    { id: 'z2', name: 'sub.example.com' },
    { id: 'z3', name: 'other.org' },
  ];
  it.each([
    ['suffix/longest-visible-wins', 'a.sub.example.com', undefined, 'z2'],
    ['suffix/parent-zone', 'a.example.com', undefined, 'z1'],
    ['suffix/apex-is-its-own-zone', 'example.com', undefined, 'z1'],
    ['suffix/label-boundary-not-a-substring', 'aexample.com', undefined, undefined],
    ['suffix/none-visible', 'a.example.net', undefined, undefined],
    ['configured/wins-over-longest', 'a.sub.example.com', 'example.com', 'z1'],
    ['configured/not-visible', 'a.example.com', 'example.net', undefined],
  ] as const)('%s', (_n, name, want, id) => {
    expect(pickZone(zones, name, want)?.id).toBe(id);
  });
});

describe('gate', () => {
  it('blocked until the IP or config changes', () => {
    const s = st({ blocked_for: '81.2.69.1|60', error: 'bad request' });
    expect(gate(s, NOW, '81.2.69.1|60')?.reason).toMatch(
      /not retried until the public IP or the configuration changes/,
    );
    expect(gate(s, NOW, '81.2.69.2|60')).toBeNull();
  });
  it('backoff holds the record until next_attempt_at', () => {
    const s = st({ next_attempt_at: NOW + 5_000 });
    expect(gate(s, NOW, 'k')?.until).toBe(NOW + 5_000);
    expect(gate(s, NOW + 5_000, 'k')).toBeNull();
  });
});

describe('deferUntil (min_update_interval_seconds)', () => {
  it.each([
    ['never-written', null, 60_000, null],
    ['written-30s-ago/min-60s', NOW - 30_000, 60_000, NOW + 30_000],
    ['written-61s-ago/min-60s', NOW - 61_000, 60_000, null],
    ['min-0-never-defers', NOW - 1, 0, null],
  ] as const)('%s', (_n, last, min, expected) => {
    expect(deferUntil(st({ last_update: last }), NOW, min)).toBe(expected);
  });
});

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

describe('apiCacheFresh (proxied records re-read hourly or on IP change)', () => {
  const base = st({ api_checked_at: NOW - 10 * 60_000, api_checked_ip: '81.2.69.1', content: '81.2.69.1' });
  it.each([
    ['fresh', base, '81.2.69.1', NOW, true],
    ['an-hour-old', base, '81.2.69.1', NOW + 50 * 60_000, false],
    ['ip-changed', base, '81.2.69.2', NOW, false],
    ['never-read', st(), '81.2.69.1', NOW, false],
  ] as const)('%s', (_n, s, ip, now, fresh) => {
    expect(apiCacheFresh(s, ip, now)).toBe(fresh);
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

describe('dohDownListingReuseMs (DoH down: how long a zone listing is reused)', () => {
  it.each([
    ['interval-60s/half-of-it', 60, 30_000],
    ['interval-10s/half-of-it', 10, 5_000],
    ['interval-1s/half-of-it', 1, 500],
    ['interval-300s/capped-at-60s', 300, 60_000],
    ['interval-1-day/capped-at-60s', 86_400, 60_000],
  ] as const)('%s', (_n, interval, ms) => {
    expect(dohDownListingReuseMs(interval)).toBe(ms);
  });
});

describe('aggregateStatus', () => {
  it.each([
    ['none', [], 'disabled'],
    ['all-in-sync', ['in_sync', 'in_sync'], 'in_sync'],
    ['one-updating', ['in_sync', 'updating'], 'updating'],
    ['dry-run', ['in_sync', 'dry_run'], 'dry_run'],
    ['error-wins', ['dry_run', 'error', 'out_of_sync'], 'error'],
  ] as const)('%s', (_n, statuses, expected) => {
    expect(aggregateStatus(statuses as never)).toBe(expected);
  });
});
