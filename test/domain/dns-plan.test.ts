import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RecordState as CoreRecordState, DnsRecord } from '../../src/domain/dns.js';
import { MAX_RETRY_WAIT_MS } from '../../src/domain/dns-failure.js';
import {
  aggregateStatus,
  apiCacheFresh,
  blockLifted,
  clockWentBack,
  confirmedByApi,
  deferUntil,
  dohDownListingReuseMs,
  gate,
  judgeDoh,
  pastTime,
  pickZone,
  planFromApi,
  planObservation,
  type Sighting,
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
      st({
        last_update: NOW - 30_000,
        last_written_content: '81.2.69.1',
        ttl: 60,
        stale_answer: '81.2.69.9',
      }),
      'propagating',
    ],
    [
      'propagation/new-name-no-answer-yet-within-ttl-of-our-create',
      { kind: 'nxdomain' },
      st({ last_update: NOW - 30_000, last_written_content: '81.2.69.1', ttl: 60, stale_answer: '' }),
      'propagating',
    ],
    [
      'drift/third-content-seconds-after-our-write',
      { kind: 'answer', addresses: ['81.2.69.99'], ttl: 60 },
      st({ last_update: NOW - 3_000, last_written_content: '81.2.69.1', ttl: 60, stale_answer: '81.2.69.9' }),
      'differs',
    ],
    [
      'drift/no-answer-seconds-after-our-patch-is-a-deletion',
      { kind: 'nodata' },
      st({ last_update: NOW - 3_000, last_written_content: '81.2.69.1', ttl: 60, stale_answer: '81.2.69.9' }),
      'missing',
    ],
    [
      'drift/second-record-seconds-after-our-write',
      { kind: 'answer', addresses: ['81.2.69.1', '81.2.69.99'], ttl: 60 },
      st({ last_update: NOW - 3_000, last_written_content: '81.2.69.1', ttl: 60, stale_answer: '81.2.69.9' }),
      'differs',
    ],
    [
      'drift/replaced-content-unknown-so-nothing-is-taken-for-lag',
      { kind: 'answer', addresses: ['81.2.69.9'], ttl: 60 },
      st({ last_update: NOW - 3_000, last_written_content: '81.2.69.1', ttl: 60, stale_answer: null }),
      'differs',
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
      st({
        last_update: NOW - 200_000,
        last_written_content: '81.2.69.1',
        ttl: 1,
        stale_answer: '81.2.69.9',
      }),
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

describe('planObservation (what was seen means for the record)', () => {
  const D = '81.2.69.1';
  const answer = (...addresses: string[]): Sighting => ({
    kind: 'doh',
    answer: { kind: 'answer', addresses, ttl: 60 },
  });
  const apiSawIt = { api_checked_at: NOW - 60_000, api_checked_ip: D, content: D };
  it.each<[string, Sighting, Partial<RecordState>, boolean, object]>([
    [
      'proxied-config/api-read-this-hour/in-sync-no-call',
      { kind: 'proxied' },
      apiSawIt,
      true,
      { kind: 'in_sync' },
    ],
    ['proxied-config/api-not-read/read-api', { kind: 'proxied' }, {}, true, { kind: 'check', readApi: true }],
    [
      'doh-failed/token/read-api-listing-may-be-reused',
      { kind: 'doh_failed', error: 'timeout' },
      {},
      true,
      { kind: 'check', readApi: true, dohFailed: true },
    ],
    [
      'doh-failed/no-token/cannot-observe',
      { kind: 'doh_failed', error: 'timeout' },
      {},
      false,
      { kind: 'cannot_observe', error: 'cannot observe: timeout' },
    ],
    ['doh/equal/in-sync-no-call-lag-over', answer(D), {}, true, { kind: 'in_sync', lagOver: true }],
    [
      'doh/two-addresses-after-an-ip-change/read-api-first-a-round-robin-is-never-patched',
      answer('81.2.69.160', '81.2.69.2'),
      { record_id: 'rec-1', last_written_content: '81.2.69.160' },
      true,
      { kind: 'check', readApi: true, disagrees: { observed: '81.2.69.160,81.2.69.2' } },
    ],
    [
      'doh/old-content-within-ttl-of-our-write/updating-no-call',
      answer('81.2.69.9'),
      { last_update: NOW - 30_000, last_written_content: D, ttl: 60, stale_answer: '81.2.69.9' },
      true,
      {
        kind: 'updating',
        message: 'written; resolvers may show the old address until 2026-03-01T12:00:30.000Z (TTL)',
      },
    ],
    [
      'doh/edge/api-read-this-hour/in-sync-and-proxied',
      answer('104.16.1.1'),
      apiSawIt,
      true,
      { kind: 'in_sync', proxied: true },
    ],
    [
      'doh/edge/api-not-read/read-api',
      answer('104.16.1.1'),
      {},
      true,
      { kind: 'check', readApi: true, proxied: true },
    ],
    [
      'doh/equal-but-we-wrote-another-address-within-ttl/read-api',
      answer(D),
      { last_update: NOW - 10_000, last_written_content: '81.2.69.7', ttl: 60 },
      true,
      { kind: 'check', readApi: true },
    ],
    [
      'doh/differs/api-confirmed-ours-minutes-ago-while-resolvers-gave-this-answer/updating-no-call',
      answer('81.2.69.9'),
      { ...apiSawIt, stale_answer: '81.2.69.9' },
      true,
      { kind: 'updating', message: 'Cloudflare holds the new address; resolvers have not caught up yet' },
    ],
    [
      'drift/edit-seconds-after-our-write/one-api-read-then-repair',
      answer('81.2.69.99'),
      {
        ...apiSawIt,
        last_update: NOW - 3_000,
        last_written_content: D,
        api_checked_at: NOW - 3_000,
        ttl: 60,
        stale_answer: '81.2.69.9',
      },
      true,
      { kind: 'check', readApi: true, disagrees: { observed: '81.2.69.99' } },
    ],
    [
      'drift/edit-minutes-after-the-api-confirmed-ours/not-taken-for-lag',
      answer('81.2.69.99'),
      { ...apiSawIt, stale_answer: '81.2.69.9' },
      true,
      { kind: 'check', readApi: true, disagrees: { observed: '81.2.69.99' } },
    ],
    [
      'drift/second-record-seconds-after-our-write/api-read-finds-the-conflict',
      answer(D, '81.2.69.99'),
      { ...apiSawIt, last_update: NOW - 3_000, last_written_content: D, ttl: 60, stale_answer: '81.2.69.9' },
      true,
      { kind: 'check', readApi: true, disagrees: { observed: `${D},81.2.69.99` } },
    ],
    [
      'lag/new-name-no-answer-yet-after-our-create/updating-no-call',
      { kind: 'doh', answer: { kind: 'nxdomain' } },
      { ...apiSawIt, last_update: NOW - 120_000, last_written_content: D, ttl: 60, stale_answer: '' },
      true,
      { kind: 'updating', message: 'Cloudflare holds the new address; resolvers have not caught up yet' },
    ],
    [
      'drift/no-answer-after-our-patch-is-a-deletion/api-read-then-create',
      { kind: 'doh', answer: { kind: 'nxdomain' } },
      { ...apiSawIt, last_update: NOW - 3_000, last_written_content: D, ttl: 60, stale_answer: '81.2.69.9' },
      true,
      { kind: 'check', readApi: true, disagrees: { observed: null } },
    ],
    [
      'doh/differs/ip-changed/write-by-cached-id-without-a-read',
      answer('81.2.69.9'),
      { last_written_content: '81.2.69.9', last_update: NOW - 86_400_000 },
      true,
      { kind: 'check', readApi: false, disagrees: { observed: '81.2.69.9' } },
    ],
    [
      'doh/differs/we-wrote-this-long-ago/read-api-before-writing',
      answer('81.2.69.9'),
      { last_written_content: D, last_update: NOW - 86_400_000 },
      true,
      { kind: 'check', readApi: true, disagrees: { observed: '81.2.69.9' } },
    ],
    [
      'doh/round-robin/read-api-never-flattened-blindly',
      answer(D, '81.2.69.2'),
      { api_checked_ip: D, api_checked_at: NOW - 3_600_000 },
      true,
      { kind: 'check', readApi: true, disagrees: { observed: `${D},81.2.69.2` } },
    ],
    [
      'doh/nxdomain/never-written/create-without-a-read',
      { kind: 'doh', answer: { kind: 'nxdomain' } },
      {},
      true,
      { kind: 'check', readApi: false, disagrees: { observed: null } },
    ],
  ])('%s', (_n, sighting, over, canReadApi, expected) => {
    expect(planObservation(sighting, st(over), D, NOW, canReadApi)).toEqual(expected);
  });
});

describe('confirmedByApi / blockLifted', () => {
  it.each([
    ['api-right/resolvers-agree/in-sync', undefined, { status: 'in_sync', message: null }],
    [
      'api-right/resolvers-show-another-address/updating-and-that-answer-is-lag',
      { observed: '81.2.69.99' },
      {
        status: 'updating',
        message: 'Cloudflare holds the new address; resolvers have not caught up yet',
        staleAnswer: '81.2.69.99',
      },
    ],
    [
      'api-right/resolvers-show-no-answer/updating-and-no-answer-is-lag',
      { observed: null },
      {
        status: 'updating',
        message: 'Cloudflare holds the new address; resolvers have not caught up yet',
        staleAnswer: '',
      },
    ],
  ] as const)('%s', (_n, disagrees, expected) => {
    expect(confirmedByApi(disagrees)).toEqual(expected);
  });
  it.each([
    ['not-blocked/nothing-to-lift', null, 'k', false],
    ['blocked/same-ip-and-settings/stays', 'k', 'k', false],
    ['blocked/ip-or-settings-changed/lifted', 'k', 'k2', true],
  ] as const)('%s', (_n, blockedFor, key, lifted) => {
    expect(blockLifted(st({ blocked_for: blockedFor }), key)).toBe(lifted);
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

  it.each([
    ['new-address-30s-after-our-write/deferred', '81.2.69.1', '81.2.69.2', NOW + 30_000],
    ['repair-of-our-own-content-30s-after-our-write/not-deferred', '81.2.69.1', '81.2.69.1', null],
    ['repair/other-spelling-of-the-same-address/not-deferred', '2001:db8::1', '2001:db8:0:0::1', null],
  ] as const)('%s', (_n, written, desired, expected) => {
    const s = st({ last_update: NOW - 30_000, last_written_content: written });
    expect(deferUntil(s, NOW, 60_000, desired)).toBe(expected);
  });
});

/**
 * The clock set back while running (a review finding): a record written at 12:00 with
 * min_update_interval 60 s, the clock then set back a day and moved 120 s on — before the fix the
 * next change was deferred "until" tomorrow 12:01, and a pending retry held the record a day.
 */
describe('a clock set back: past times count as now, retries beyond any we schedule are void', () => {
  const DAY = 86_400_000;
  const BACK = NOW - DAY + 120_000; // the clock after the jump, 120 s later

  it.each([
    ['pastTime/in the past/kept', NOW - 1, NOW, NOW - 1],
    ['pastTime/now/kept', NOW, NOW, NOW],
    ['pastTime/a day ahead/now', NOW + DAY, NOW, NOW],
    ['pastTime/null/null', null, NOW, null],
  ] as const)('%s', (_n, t, now, expected) => {
    expect(pastTime(t, now)).toBe(expected);
  });

  it.each([
    [
      'deferUntil/written a day ahead, 120 s after the jump/one interval from now, not tomorrow',
      NOW,
      BACK,
      BACK + 60_000,
    ],
    [
      'deferUntil/written 30 s ahead (small step back)/one interval from now',
      BACK + 30_000,
      BACK,
      BACK + 60_000,
    ],
    ['deferUntil/written before the jump, clamped/counts from the clamp', BACK - 120_000, BACK, null],
  ] as const)('%s', (_n, lastUpdate, now, expected) => {
    const s = st({ last_update: lastUpdate, last_written_content: '81.2.69.1' });
    expect(deferUntil(s, now, 60_000, '81.2.69.2')).toBe(expected);
  });

  it.each([
    // [name, next_attempt_at, last_update, now, held until]
    ['gate/backoff, clock fine/held until the retry', NOW + 5_000, NOW - 60_000, NOW, NOW + 5_000],
    [
      'gate/Retry-After of a day, clock fine/held a day',
      NOW + MAX_RETRY_WAIT_MS,
      NOW - 1,
      NOW,
      NOW + MAX_RETRY_WAIT_MS,
    ],
    ['gate/retry beyond any we schedule/not held', NOW + MAX_RETRY_WAIT_MS + 1, null, NOW, null],
    ['gate/retry 5 min after a write, clock back a day/not held', NOW + 300_000, NOW, BACK, null],
    [
      'gate/retry 5 min ahead, clock back an hour (the last write shows it)/not held',
      NOW + 300_000,
      NOW,
      NOW - 3_600_000,
      null,
    ],
    ['gate/retry in the past/not held', NOW - 1, NOW - 60_000, NOW, null],
  ] as const)('%s', (_n, next, lastUpdate, now, until) => {
    const held = gate(st({ next_attempt_at: next, last_update: lastUpdate }), now, 'k');
    expect(held?.until ?? null).toBe(until);
  });

  it.each([
    ['clockWentBack/nothing ahead', st({ last_update: NOW - 1, next_attempt_at: NOW + 300_000 }), false],
    ['clockWentBack/last write ahead', st({ last_update: NOW + 1 }), true],
    ['clockWentBack/API check ahead', st({ api_checked_at: NOW + DAY }), true],
    ['clockWentBack/retry beyond a day', st({ next_attempt_at: NOW + MAX_RETRY_WAIT_MS + 1 }), true],
    ['clockWentBack/retry within a day', st({ next_attempt_at: NOW + MAX_RETRY_WAIT_MS }), false],
  ] as const)('%s', (_n, s, expected) => {
    expect(clockWentBack(s, NOW)).toBe(expected);
  });

  it('judgeDoh/our write a day ahead/lag is judged from now, for one TTL', () => {
    const s = st({
      last_update: NOW + DAY,
      last_written_content: '81.2.69.2',
      ttl: 60,
      stale_answer: '81.2.69.1',
    });
    expect(judgeDoh({ kind: 'answer', addresses: ['81.2.69.1'], ttl: 60 }, '81.2.69.2', s, NOW)).toEqual({
      kind: 'propagating',
      until: NOW + 60_000,
    });
  });

  it('apiCacheFresh/checked a day ahead/counts as checked now: fresh', () => {
    const s = st({ api_checked_at: NOW + DAY, api_checked_ip: '81.2.69.1', content: '81.2.69.1' });
    expect(apiCacheFresh(s, '81.2.69.1', NOW)).toBe(true);
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
