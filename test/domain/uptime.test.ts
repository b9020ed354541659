import { describe, expect, it } from 'vitest';
import { type Health, initialHealth, stepHealth } from '../../src/domain/health.js';
import type { ProbeResult, ProbeRound } from '../../src/domain/probe-result.js';
import {
  availability,
  BUCKET_HOURS,
  freshUptime,
  HOUR_MS,
  MAX_OUTAGES,
  noteOutageAction,
  type OutageAction,
  observeUptime,
  parseUptime,
  resumeUptime,
  type UptimeState,
  uptimeClass,
  uptimeSummary,
  uptimeTotals,
} from '../../src/domain/uptime.js';
import { freshState, persistedStateSchema } from '../../src/state/schema.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const S = 1000;
const MIN = 60 * S;
const H = HOUR_MS;
const ROUND_MS = 15 * S;

/** Observes `health` every 15 s from `from` (included) to `to` (excluded). */
function span(u: UptimeState, from: number, to: number, health: Health): UptimeState {
  let state = u;
  for (let t = from; t < to; t += ROUND_MS) state = observeUptime(state, t, health);
  return state;
}

/** Through the state file, as a restart would read it. */
function throughStateFile(u: UptimeState): UptimeState {
  const file = JSON.parse(JSON.stringify({ ...freshState(), uptime: u }));
  const loaded = persistedStateSchema.parse(file);
  const parsed = parseUptime(loaded.uptime);
  expect(parsed.problems).toEqual([]);
  return parsed.state;
}

function ok(target: string): ProbeResult {
  return { target, kind: 'tls', ok: true, latencyMs: 30, failure: null, code: null };
}
function timeout(target: string, kind: ProbeResult['kind'] = 'tls'): ProbeResult {
  return { target, kind, ok: false, latencyMs: null, failure: 'timeout', code: null };
}
function cert(target: string): ProbeResult {
  return { target, kind: 'tls', ok: false, latencyMs: 40, failure: 'tls_error', code: 'CERT_HAS_EXPIRED' };
}
const WAN = ['1.1.1.1:443', '8.8.8.8:443', '9.9.9.9:443'];
const router = (alive: boolean) => [alive ? ok('192.168.1.1') : timeout('192.168.1.1', 'icmp')];

describe('availability', () => {
  it('a scripted day with known outages/exact figures by hand', () => {
    // Rounds every 15 s from 00:00:00 to 23:59:45. WAN lost 03:00–03:30 (router alive), router and
    // WAN lost 14:00–14:10, a captive portal 20:00–20:05. Each state needs two rounds to confirm, so
    // wan_down runs 03:00:15–03:30:15, router_down 14:00:15–14:10:15, intercepted 20:00:15–20:05:15.
    const at = (h: number, m: number) => T0 + h * H + m * MIN;
    const script = (t: number): Omit<ProbeRound, 'at'> => {
      if (t >= at(3, 0) && t < at(3, 30)) return { router: router(true), wan: WAN.map((w) => timeout(w)) };
      if (t >= at(14, 0) && t < at(14, 10)) return { router: router(false), wan: WAN.map((w) => timeout(w)) };
      if (t >= at(20, 0) && t < at(20, 5)) return { router: router(true), wan: WAN.map(cert) };
      return { router: router(true), wan: WAN.map(ok) };
    };
    let health = initialHealth(T0);
    let u = freshUptime();
    for (let t = T0; t < T0 + 24 * H; t += ROUND_MS) {
      health = stepHealth(health, { at: t, ...script(t) }, { recovering: false }).health;
      u = observeUptime(u, t, health.state);
    }
    const now = T0 + 24 * H - 1;
    // Observed: probing 00:00:00–00:00:15 is not; the last round (23:59:45) has no successor yet.
    // 86 400 − 15 − 15 = 86 370 s observed; down 1 800 + 600 + 300 = 2 700 s; up 83 670 s.
    expect(uptimeTotals(u, now, 24)).toEqual({ upMs: 83_670 * S, observedMs: 86_370 * S });
    // 83 670 / 86 370 = 0.968739… → 96.874 %
    expect(uptimeSummary(u, now)).toMatchObject({
      availability_24h: 96.874,
      availability_7d: 96.874,
      availability_30d: 96.874,
    });
    expect(u.outages).toEqual([
      {
        start: at(3, 0) + 15 * S,
        end: at(3, 30) + 15 * S,
        class: 'wan_down',
        action: 'none',
        power_cycles: 0,
      },
      {
        start: at(14, 0) + 15 * S,
        end: at(14, 10) + 15 * S,
        class: 'router_down',
        action: 'none',
        power_cycles: 0,
      },
      {
        start: at(20, 0) + 15 * S,
        end: at(20, 5) + 15 * S,
        class: 'intercepted',
        action: 'none',
        power_cycles: 0,
      },
    ]);
    // The hour of the first outage: 30 min down, 30 min up, exactly.
    expect(u.buckets.find(([h]) => h === T0 / H + 3)).toEqual([T0 / H + 3, 30 * MIN, 60 * MIN]);
    expect(u.buckets).toHaveLength(24);
  });

  it.each<[string, Health, 'up' | 'down' | 'unobserved']>([
    ['ready/counts up', 'ready', 'up'],
    ['degraded/counts up', 'degraded', 'up'],
    ['wan_down/counts down', 'wan_down', 'down'],
    ['router_down/counts down', 'router_down', 'down'],
    ['intercepted/counts down', 'intercepted', 'down'],
    ['recovering/counts down (the user lived through it)', 'recovering', 'down'],
    ['probing/not observed', 'probing', 'unobserved'],
    ['self_down/not observed (this host, not the WAN)', 'self_down', 'unobserved'],
  ])('%s', (_name, health, expected) => {
    expect(uptimeClass(health)).toBe(expected);
    let u = span(freshUptime(), T0, T0 + 10 * MIN, health);
    u = observeUptime(u, T0 + 10 * MIN, 'ready');
    const totals = uptimeTotals(u, T0 + 10 * MIN, 24);
    expect(totals).toEqual({
      upMs: expected === 'up' ? 10 * MIN : 0,
      observedMs: expected === 'unobserved' ? 0 : 10 * MIN,
    });
  });

  it('nothing observed yet/null, not 0 or 100', () => {
    expect(uptimeSummary(freshUptime(), T0)).toEqual({
      availability_24h: null,
      availability_7d: null,
      availability_30d: null,
      outages: [],
    });
  });

  it('restart/the gap is not counted either way and an open outage ends where the agent stopped', () => {
    let u = span(freshUptime(), T0, T0 + 30 * MIN, 'ready');
    u = span(u, T0 + 30 * MIN, T0 + H, 'wan_down');
    u = observeUptime(u, T0 + H, 'wan_down'); // the clean stop
    const restart = T0 + 5 * H;
    const resumed = resumeUptime(throughStateFile(u), restart);
    expect(resumed.clamped).toBe(false);
    u = span(resumed.state, restart, restart + 15 * S, 'probing');
    u = span(u, restart + 15 * S, restart + H, 'ready');
    u = observeUptime(u, restart + H, 'ready');
    // Observed: 1 h before the stop + 59 min 45 s after the restart = 7 185 s; up 1 800 + 3 585 = 5 385 s.
    expect(uptimeTotals(u, restart + H, 24)).toEqual({ upMs: 5_385 * S, observedMs: 7_185 * S });
    expect(availability(u, restart + H, 24)).toBe(74.948); // 5 385 / 7 185 = 0.749478…
    expect(u.outages).toEqual([
      { start: T0 + 30 * MIN, end: T0 + H, class: 'wan_down', action: 'none', power_cycles: 0 },
    ]);
  });

  it('restart/a restart during an outage that goes on opens a new outage', () => {
    let u = span(freshUptime(), T0, T0 + 10 * MIN, 'wan_down');
    u = observeUptime(u, T0 + 10 * MIN, 'wan_down');
    u = resumeUptime(throughStateFile(u), T0 + 20 * MIN).state;
    u = span(u, T0 + 20 * MIN, T0 + 21 * MIN, 'probing');
    u = span(u, T0 + 21 * MIN, T0 + 30 * MIN, 'wan_down');
    u = observeUptime(u, T0 + 30 * MIN, 'ready');
    expect(u.outages.map((o) => [o.start, o.end])).toEqual([
      [T0, T0 + 10 * MIN],
      [T0 + 21 * MIN, T0 + 30 * MIN],
    ]);
    expect(uptimeTotals(u, T0 + 30 * MIN, 24)).toEqual({ upMs: 0, observedMs: 19 * MIN });
  });

  it('30-day window rolls/the oldest hour leaves the window and the bucket list', () => {
    const opts = { maxGapMs: H };
    let u = freshUptime();
    for (let k = 0; k < 720; k++) u = observeUptime(u, T0 + k * H, k === 5 ? 'wan_down' : 'ready', opts);
    // Hours 0–718 credited (hour 719's observation has no successor yet); hour 5 down.
    expect(uptimeTotals(u, T0 + 720 * H - 1, BUCKET_HOURS)).toEqual({ upMs: 718 * H, observedMs: 719 * H });
    u = observeUptime(u, T0 + 720 * H, 'ready', opts);
    // Now the window is hours 1–720: hour 0 has rolled out, hour 719 came in.
    expect(uptimeTotals(u, T0 + 720 * H, BUCKET_HOURS)).toEqual({ upMs: 718 * H, observedMs: 719 * H });
    expect(u.buckets[0]![0]).toBe(T0 / H + 1);
    for (let k = 721; k <= 725; k++) u = observeUptime(u, T0 + k * H, 'ready', opts);
    // Hours 6–725: the outage of hour 5 is gone.
    expect(availability(u, T0 + 725 * H, BUCKET_HOURS)).toBe(100);
    expect(uptimeTotals(u, T0 + 725 * H, 24)).toEqual({ upMs: 23 * H, observedMs: 23 * H });
    expect(uptimeTotals(u, T0 + 725 * H, 7 * 24)).toEqual({ upMs: 167 * H, observedMs: 167 * H });
    for (let k = 726; k < 31 * 24; k++) u = observeUptime(u, T0 + k * H, 'ready', opts);
    expect(u.buckets.length).toBeLessThanOrEqual(BUCKET_HOURS);
  });

  it('7 days/exactly the current hour and the 167 before it', () => {
    const opts = { maxGapMs: H };
    let u = freshUptime();
    for (let k = 0; k <= 200; k++) u = observeUptime(u, T0 + k * H, k === 30 ? 'router_down' : 'ready', opts);
    const now = T0 + 200 * H + 30 * MIN;
    expect(uptimeTotals(u, now, 7 * 24)).toEqual({ upMs: 167 * H, observedMs: 167 * H }); // hours 33–199
    expect(uptimeTotals(u, now, BUCKET_HOURS)).toEqual({ upMs: 199 * H, observedMs: 200 * H });
    expect(availability(u, now, BUCKET_HOURS)).toBe(99.5);
  });
});

describe('clock jumps', () => {
  it('clock steps back within the hour/the negative gap counts nothing', () => {
    let u = observeUptime(freshUptime(), T0 + 10 * MIN, 'ready');
    u = observeUptime(u, T0 + 10 * MIN + 15 * S, 'ready');
    u = observeUptime(u, T0 + 5 * MIN, 'ready');
    u = observeUptime(u, T0 + 5 * MIN + 15 * S, 'ready');
    expect(uptimeTotals(u, T0 + 20 * MIN, 24)).toEqual({ upMs: 30 * S, observedMs: 30 * S });
  });

  it('clock steps back across an hour while running/the hour already observed still counts, never negative', () => {
    let u = span(freshUptime(), T0 + H, T0 + H + 10 * MIN, 'ready');
    u = observeUptime(u, T0 + 50 * MIN, 'wan_down');
    u = observeUptime(u, T0 + 51 * MIN, 'ready');
    // 10 min up (observed before the step, in the hour "after now") + 1 min down.
    expect(u.buckets).toEqual([
      [T0 / H, 0, MIN],
      [T0 / H + 1, 10 * MIN - 15 * S, 10 * MIN - 15 * S],
    ]);
    expect(availability(u, T0 + 51 * MIN, 24)).toBe(
      Math.round(((10 * MIN - 15 * S) / (11 * MIN - 15 * S)) * 100_000) / 1000,
    );
  });

  it('clock steps far forward/the gap is not counted and an open outage ends where watching stopped', () => {
    let u = span(freshUptime(), T0, T0 + 10 * MIN, 'wan_down');
    u = observeUptime(u, T0 + 10 * MIN + 3 * H, 'wan_down');
    u = observeUptime(u, T0 + 11 * MIN + 3 * H, 'ready');
    expect(uptimeTotals(u, T0 + 4 * H, 24)).toEqual({ upMs: 0, observedMs: 10 * MIN - 15 * S + MIN });
    expect(u.outages.map((o) => [o.start, o.end])).toEqual([
      [T0, T0 + 10 * MIN - 15 * S],
      [T0 + 10 * MIN + 3 * H, T0 + 11 * MIN + 3 * H],
    ]);
  });

  it('resume with times in the future/clamped to now, said once', () => {
    let u = span(freshUptime(), T0 + 2 * H, T0 + 2 * H + 10 * MIN, 'wan_down');
    u = observeUptime(u, T0 + 2 * H + 10 * MIN, 'wan_down');
    const resumed = resumeUptime(u, T0 + H);
    expect(resumed.clamped).toBe(true);
    expect(resumed.state.buckets).toEqual([]);
    expect(resumed.state.outages).toEqual([
      { start: T0 + H, end: T0 + H, class: 'wan_down', action: 'none', power_cycles: 0 },
    ]);
    expect(resumed.state.last).toBeNull();
  });
});

describe('outage log', () => {
  it('51 outages/50 kept, oldest dropped', () => {
    const opts = { maxGapMs: H };
    let u = freshUptime();
    for (let i = 0; i < 51; i++) {
      const t = T0 + i * 10 * MIN;
      u = observeUptime(u, t, 'ready', opts);
      u = observeUptime(u, t + MIN, i % 2 === 0 ? 'wan_down' : 'router_down', opts);
      u = observeUptime(u, t + 2 * MIN, 'ready', opts);
    }
    expect(u.outages).toHaveLength(MAX_OUTAGES);
    expect(u.outages[0]!.start).toBe(T0 + 10 * MIN + MIN);
    expect(u.outages[49]).toEqual({
      start: T0 + 500 * MIN + MIN,
      end: T0 + 500 * MIN + 2 * MIN,
      class: 'wan_down',
      action: 'none',
      power_cycles: 0,
    });
    const summary = uptimeSummary(u, T0 + 9 * H);
    expect(summary.outages).toHaveLength(50);
    expect(summary.outages[0]).toEqual({
      start: '2026-03-01T08:21:00.000+00:00',
      end: '2026-03-01T08:22:00.000+00:00',
      class: 'wan_down',
      action: 'none',
    });
  });

  it('one outage through several states/one entry, classed by the state that opened it', () => {
    let u = observeUptime(freshUptime(), T0, 'ready');
    for (const [i, h] of (
      ['wan_down', 'recovering', 'router_down', 'intercepted', 'self_down'] as const
    ).entries()) {
      u = observeUptime(u, T0 + (i + 1) * MIN, h);
    }
    expect(uptimeSummary(u, T0 + 5 * MIN).outages).toEqual([
      { start: '2026-03-01T00:01:00.000+00:00', end: null, class: 'wan_down', action: 'none' },
    ]);
    u = observeUptime(u, T0 + 6 * MIN, 'degraded');
    expect(u.outages).toEqual([
      { start: T0 + MIN, end: T0 + 6 * MIN, class: 'wan_down', action: 'none', power_cycles: 0 },
    ]);
  });

  it.each<[string, OutageAction[], { action: OutageAction; power_cycles: number }]>([
    ['none/nothing done', [], { action: 'none', power_cycles: 0 }],
    ['power_cycle twice/counted', ['power_cycle', 'power_cycle'], { action: 'power_cycle', power_cycles: 2 }],
    [
      'power_cycles then exhausted/exhausted',
      ['power_cycle', 'power_cycle', 'power_cycle', 'exhausted'],
      { action: 'exhausted', power_cycles: 3 },
    ],
    [
      'skipped then would_cycle/the stronger kept',
      ['skipped', 'would_cycle', 'skipped'],
      { action: 'would_cycle', power_cycles: 0 },
    ],
  ])('action/%s', (_name, actions, expected) => {
    let u = observeUptime(freshUptime(), T0, 'wan_down');
    for (const a of actions) u = noteOutageAction(u, a);
    expect(u.outages[0]).toMatchObject(expected);
  });

  it('action/without an open outage/nothing changes', () => {
    const u = observeUptime(freshUptime(), T0, 'ready');
    expect(noteOutageAction(u, 'power_cycle')).toBe(u);
  });

  it('manual reboot while ready/the recovering time is an outage with its power cycle', () => {
    let u = observeUptime(freshUptime(), T0, 'ready');
    u = observeUptime(u, T0 + MIN, 'recovering');
    u = noteOutageAction(u, 'power_cycle');
    u = observeUptime(u, T0 + 11 * MIN, 'ready', { maxGapMs: H });
    expect(u.outages).toEqual([
      { start: T0 + MIN, end: T0 + 11 * MIN, class: 'recovering', action: 'power_cycle', power_cycles: 1 },
    ]);
  });
});

describe('persisted uptime', () => {
  it("state file of today's version/no uptime section/fresh and silent", () => {
    const today = persistedStateSchema.parse(JSON.parse(JSON.stringify(freshState())));
    expect(today.uptime).toBeUndefined();
    expect(parseUptime(today.uptime)).toEqual({ state: freshUptime(), problems: [] });
  });

  it('round trip through the state file/equal', () => {
    let u = span(freshUptime(), T0, T0 + 2 * H, 'ready');
    u = span(u, T0 + 2 * H, T0 + 3 * H, 'wan_down');
    u = noteOutageAction(u, 'power_cycle');
    expect(throughStateFile(u)).toEqual(u);
  });

  it.each<[string, unknown, Partial<UptimeState>, string[]]>([
    [
      'not an object/fresh',
      'garbage',
      freshUptime(),
      ['uptime: is not an object — the uptime figures start again'],
    ],
    [
      'one damaged bucket/the others kept',
      {
        buckets: [
          [100, 10, 20],
          [101, 'x', 20],
          [102, 30, 20],
        ],
        outages: [],
      },
      { buckets: [[100, 10, 20]] },
      ['uptime.buckets: 2 unreadable entries dropped'],
    ],
    [
      'one damaged outage/the others kept',
      {
        outages: [
          { start: 5, end: 6, class: 'wan_down' },
          { start: 'soon', class: 'wan_down' },
        ],
      },
      { outages: [{ start: 5, end: 6, class: 'wan_down', action: 'none', power_cycles: 0 }] },
      ['uptime.outages: 1 unreadable entry dropped'],
    ],
    [
      'unreadable last/not counted',
      { last: { at: -1, health: 'ready' } },
      { last: null },
      ['uptime.last: unreadable value — the time before this start is not counted'],
    ],
    [
      'unsorted and duplicate buckets/merged in order',
      {
        buckets: [
          [7, 1000, 2000],
          [3, 0, 5],
          [7, 500, 500],
        ],
      },
      {
        buckets: [
          [3, 0, 5],
          [7, 1500, 2500],
        ],
      },
      [],
    ],
    [
      'two open outages/the older one closed at the next start',
      {
        outages: [
          { start: 10, end: null, class: 'wan_down' },
          { start: 20, end: null, class: 'router_down' },
        ],
      },
      {
        outages: [
          { start: 10, end: 20, class: 'wan_down', action: 'none', power_cycles: 0 },
          { start: 20, end: null, class: 'router_down', action: 'none', power_cycles: 0 },
        ],
      },
      [],
    ],
  ])('load/%s', (_name, raw, expected, problems) => {
    const parsed = parseUptime(raw);
    expect(parsed.state).toMatchObject(expected);
    expect(parsed.problems).toEqual(problems);
  });

  it('size/31 days and 60 outages stay a small, bounded state', () => {
    const opts = { maxGapMs: H };
    let u = freshUptime();
    for (let k = 0; k < 31 * 24; k++) {
      u = observeUptime(u, T0 + k * H, k % 12 === 0 ? 'wan_down' : 'ready', opts);
    }
    // The last observation's hour has nothing credited yet: 719 buckets, never more than 720.
    expect(u.buckets).toHaveLength(BUCKET_HOURS - 1);
    expect(u.outages).toHaveLength(MAX_OUTAGES);
    expect(JSON.stringify(u).length).toBeLessThan(30_000);
  });
});

describe('the wall clock steps back while the agent runs', () => {
  it('clock/back three hours/the hours already observed still count', () => {
    // Two hours of `ready`, then the clock is corrected an hour back: the figures stay, never blank.
    const u = span(freshUptime(), T0, T0 + 2 * 60 * MIN, 'ready');
    const back = T0 - 60 * MIN; // an hour before the first observation, as the corrected clock reads
    expect(availability(u, back, 24)).toBe(100);
    expect(uptimeSummary(u, back).availability_30d).toBe(100);
  });
});
