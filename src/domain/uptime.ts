/**
 * Uptime (SPEC §4): time-weighted availability — time in `ready`/`degraded` over time observed —
 * for the last 24 h, 7 d and 30 d, and the log of the last 50 outages. Pure; persisted as the
 * `uptime` section of the state file. docs/health.md states what counts and how exact it is.
 *
 * Representation: one bucket per clock hour (UTC, epoch-aligned) holding exact milliseconds up
 * and observed, for the last 720 hours (30 days) — at most 720 small tuples, whatever the uptime.
 * "24 h" is the current hour so far plus the 23 whole hours before it (7 d: 167, 30 d: 719), so
 * every figure is an exact sum a hand computation gives, as of the last observation.
 *
 * The service calls `observeUptime` with the health at every probe round, at every transition
 * and at stop; the time since the previous call is credited to the health of the previous call.
 * At start, `parseUptime` then `resumeUptime`: the time the agent was not running is not counted.
 */
import { z } from 'zod';
import { DEFAULT_MAX_GAP_MS, HEALTH_STATES, type Health, isUp } from './health.js';
import { isoTime } from './time.js';

export const UPTIME_STATE_VERSION = 1;
export const HOUR_MS = 3_600_000;
/** Hourly buckets kept: 30 days. */
export const BUCKET_HOURS = 30 * 24;
export const MAX_OUTAGES = 50;

/**
 * What was done about an outage, the strongest so far: `none`; `skipped` (a cycle was due but
 * Auto recovery was off); `would_cycle` (`mode: dry-run` said what it would do); `power_cycle`
 * (the router was power-cycled, `power_cycles` times); `exhausted` (the budget ran out).
 */
export const OUTAGE_ACTIONS = ['none', 'skipped', 'would_cycle', 'power_cycle', 'exhausted'] as const;
export type OutageAction = (typeof OUTAGE_ACTIONS)[number];

/** [hour since the epoch, ms up, ms observed] */
/**
 * An hour's bucket normally holds at most an hour; after the wall clock steps back the same clock
 * hour is observed twice (real, watched time both times), so it may hold more — up to a day, which
 * keeps every bucket bounded however often the clock is corrected.
 */
const MAX_BUCKET_MS = 24 * HOUR_MS;
const bucketSchema = z
  .tuple([z.number().int(), z.number().nonnegative(), z.number().nonnegative()])
  .refine(
    ([, up, seen]) => up <= seen && seen <= MAX_BUCKET_MS,
    'a bucket holds at most a day, up ≤ observed',
  );
/** [hour since the epoch, ms up, ms observed] */
export type Bucket = z.infer<typeof bucketSchema>;

export const outageSchema = z.object({
  start: z.number().nonnegative(),
  /** Null while the outage goes on. */
  end: z.number().nonnegative().nullable().default(null),
  /** The health state that opened it. */
  class: z.enum(HEALTH_STATES),
  action: z.enum(OUTAGE_ACTIONS).default('none'),
  power_cycles: z.number().int().nonnegative().default(0),
});
export type Outage = z.infer<typeof outageSchema>;

const lastSchema = z.object({ at: z.number().nonnegative(), health: z.enum(HEALTH_STATES) }).nullable();

export const uptimeStateSchema = z.object({
  version: z.literal(UPTIME_STATE_VERSION).default(UPTIME_STATE_VERSION),
  /** Sorted by hour, one per hour, only hours with something observed. */
  buckets: z.array(bucketSchema).default([]),
  /** The last observation: the time after it is credited to this health at the next one. */
  last: lastSchema.default(null),
  /** Oldest first, at most MAX_OUTAGES; at most one (the last) has `end: null`. */
  outages: z.array(outageSchema).default([]),
});
export type UptimeState = z.infer<typeof uptimeStateSchema>;

/** The migration default: state files written before the watchdog existed have no `uptime` section. */
export function freshUptime(): UptimeState {
  return { version: UPTIME_STATE_VERSION, buckets: [], last: null, outages: [] };
}

/** How a health state counts: `probing` and `self_down` are time the agent could not judge the WAN. */
export function uptimeClass(health: Health): 'up' | 'down' | 'unobserved' {
  if (isUp(health)) return 'up';
  return health === 'probing' || health === 'self_down' ? 'unobserved' : 'down';
}

/** Every state but `probing`, `ready` and `degraded` is (part of) an outage in the log. */
export function opensOutage(health: Health): boolean {
  return health !== 'probing' && !isUp(health);
}

/**
 * Reads the `uptime` section of a state file. Missing → fresh, silently. Each field is checked on
 * its own and each unreadable bucket or outage is dropped alone, so one damaged entry never loses
 * the rest; everything dropped is named in `problems`.
 */
export function parseUptime(raw: unknown): { state: UptimeState; problems: string[] } {
  if (raw === undefined || raw === null) return { state: freshUptime(), problems: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { state: freshUptime(), problems: ['uptime: is not an object — the uptime figures start again'] };
  }
  const fields = raw as Record<string, unknown>;
  const problems: string[] = [];
  if (fields['version'] !== undefined && fields['version'] !== UPTIME_STATE_VERSION) {
    problems.push(`uptime.version: ${JSON.stringify(fields['version'])} is unknown — read as version 1`);
  }
  const buckets = entries(fields['buckets'], bucketSchema, 'uptime.buckets', problems);
  const outages = entries(fields['outages'], outageSchema, 'uptime.outages', problems);
  const last = lastSchema.default(null).safeParse(fields['last']);
  if (!last.success)
    problems.push('uptime.last: unreadable value — the time before this start is not counted');
  return {
    state: {
      version: UPTIME_STATE_VERSION,
      buckets: normaliseBuckets(buckets),
      last: last.success ? last.data : null,
      outages: normaliseOutages(outages),
    },
    problems,
  };
}

/**
 * At start: the time since the last observation (the agent was stopped) is not counted; an
 * outage still open is closed where the agent stopped watching (a new one opens if the WAN is
 * still down). Times in the future (a clock corrected backwards) are clamped to `now`, and
 * buckets of future hours dropped; `clamped` says whether that happened, for one warning.
 */
export function resumeUptime(state: UptimeState, now: number): { state: UptimeState; clamped: boolean } {
  let clamped = false;
  const clamp = (t: number): number => {
    if (t <= now) return t;
    clamped = true;
    return now;
  };
  const stoppedAt = state.last === null ? null : clamp(state.last.at);
  const outages = state.outages.map((o) => {
    const start = clamp(o.start);
    const end = Math.max(start, o.end === null ? (stoppedAt ?? start) : clamp(o.end));
    return { ...o, start, end };
  });
  if (state.buckets.some(([h]) => h > hourOf(now))) clamped = true;
  // At a start, hours "after now" (saved by a clock that ran ahead) are dropped: unlike a step
  // back while running, nothing says this time was real.
  const buckets = pruneBuckets(state.buckets, now).filter(([h]) => h <= hourOf(now));
  return { state: { ...state, buckets, outages, last: null }, clamped };
}

/**
 * Records that health is `health` at `at`. The time since the previous observation is credited to
 * the previous health, split exactly across hour buckets. A gap longer than `maxGapMs` (the agent
 * was suspended, the clock stepped forward) or a negative one (the clock stepped back) is not
 * counted at all; after a long gap an open outage is closed where watching stopped.
 */
export function observeUptime(
  state: UptimeState,
  at: number,
  health: Health,
  options: { maxGapMs?: number } = {},
): UptimeState {
  const maxGap = options.maxGapMs ?? DEFAULT_MAX_GAP_MS;
  let buckets: readonly Bucket[] = state.buckets;
  let outages = state.outages;
  const last = state.last;
  if (last !== null) {
    const gap = at - last.at;
    const counted = uptimeClass(last.health);
    if (gap > 0 && gap <= maxGap && counted !== 'unobserved') {
      buckets = addSpan(buckets, last.at, at, counted === 'up');
    } else if (gap > maxGap) {
      // Not watched continuously (a long gap, or the clock set back): an open outage ends at the
      // last observation, as across a restart.
      outages = closeOpen(outages, last.at);
    }
  }
  const open = outages.length > 0 && outages[outages.length - 1]!.end === null;
  if (open && isUp(health)) {
    outages = closeOpen(outages, at);
  } else if (!open && opensOutage(health)) {
    const added: Outage = { start: at, end: null, class: health, action: 'none', power_cycles: 0 };
    outages = [...outages, added].slice(-MAX_OUTAGES);
  }
  return { ...state, buckets: pruneBuckets(buckets, at), outages, last: { at, health } };
}

/**
 * What the recovery service did about the outage in progress: the strongest action is kept, and
 * each `power_cycle` is counted. Without an open outage nothing changes.
 */
export function noteOutageAction(state: UptimeState, action: OutageAction): UptimeState {
  const i = state.outages.length - 1;
  const open = state.outages[i];
  if (open === undefined || open.end !== null) return state;
  const stronger = OUTAGE_ACTIONS.indexOf(action) > OUTAGE_ACTIONS.indexOf(open.action);
  const updated: Outage = {
    ...open,
    action: stronger ? action : open.action,
    power_cycles: open.power_cycles + (action === 'power_cycle' ? 1 : 0),
  };
  return { ...state, outages: [...state.outages.slice(0, i), updated] };
}

/** Exact milliseconds up and observed in the current hour so far plus the `hours − 1` before it. */
export function uptimeTotals(
  state: UptimeState,
  now: number,
  hours: number,
): { upMs: number; observedMs: number } {
  const current = hourOf(now);
  let upMs = 0;
  let observedMs = 0;
  for (const [h, up, seen] of state.buckets) {
    // Hours after `now` exist only when the wall clock stepped back (NTP correcting a clock that
    // ran ahead): that time was observed all the same, so it counts as part of the window.
    if (h > current - hours) {
      upMs += up;
      observedMs += seen;
    }
  }
  return { upMs, observedMs };
}

/** Availability in percent, rounded to 0.001; null when nothing was observed in the window. */
export function availability(state: UptimeState, now: number, hours: number): number | null {
  const { upMs, observedMs } = uptimeTotals(state, now, hours);
  if (observedMs <= 0) return null;
  return Math.round((upMs / observedMs) * 100_000) / 1000;
}

export interface OutageSummary {
  start: string;
  end: string | null;
  class: string;
  action: string | null;
}

/** The §6 `uptime` values this module owns (`started_at` and `ready_since` come from elsewhere). */
export interface UptimeSummary {
  availability_24h: number | null;
  availability_7d: number | null;
  availability_30d: number | null;
  /** Newest first. */
  outages: OutageSummary[];
}

export function uptimeSummary(state: UptimeState, now: number): UptimeSummary {
  return {
    availability_24h: availability(state, now, 24),
    availability_7d: availability(state, now, 7 * 24),
    availability_30d: availability(state, now, BUCKET_HOURS),
    outages: [...state.outages].reverse().map((o) => ({
      start: isoTime(o.start),
      end: o.end === null ? null : isoTime(o.end),
      class: o.class,
      action: o.action,
    })),
  };
}

function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

/** Adds [from, to) to the buckets, split at hour boundaries. */
function addSpan(buckets: readonly Bucket[], from: number, to: number, up: boolean): Bucket[] {
  const out = [...buckets];
  let t = from;
  while (t < to) {
    const h = hourOf(t);
    const end = Math.min(to, (h + 1) * HOUR_MS);
    addToBucket(out, h, end - t, up);
    t = end;
  }
  return out;
}

function addToBucket(buckets: Bucket[], hour: number, ms: number, up: boolean): void {
  let i = buckets.length - 1;
  while (i >= 0 && buckets[i]![0] > hour) i--;
  const found = i >= 0 ? buckets[i]! : undefined;
  if (found !== undefined && found[0] === hour) {
    const seen = Math.min(found[2] + ms, MAX_BUCKET_MS);
    buckets[i] = [hour, Math.min(found[1] + (up ? ms : 0), seen), seen];
  } else {
    buckets.splice(i + 1, 0, [hour, up ? ms : 0, ms]);
  }
}

/**
 * Keeps the hours after hour(now) − BUCKET_HOURS — hours "after now" too (the clock stepped back
 * while running: that time was observed all the same) — and at most BUCKET_HOURS of them.
 */
function pruneBuckets(buckets: readonly Bucket[], now: number): Bucket[] {
  const current = hourOf(now);
  return buckets.filter(([h]) => h > current - BUCKET_HOURS).slice(-BUCKET_HOURS);
}

/** Sorted, one per hour (duplicates merged, capped at MAX_BUCKET_MS), at most BUCKET_HOURS. */
function normaliseBuckets(buckets: readonly Bucket[]): Bucket[] {
  const byHour = new Map<number, [number, number]>();
  for (const [h, up, seen] of buckets) {
    const sum = byHour.get(h) ?? [0, 0];
    byHour.set(h, [sum[0] + up, sum[1] + seen]);
  }
  return [...byHour.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([h, [up, seen]]): Bucket => [h, Math.min(up, seen, MAX_BUCKET_MS), Math.min(seen, MAX_BUCKET_MS)])
    .slice(-BUCKET_HOURS);
}

/** Oldest first, at most MAX_OUTAGES, only the last one open. */
function normaliseOutages(outages: readonly Outage[]): Outage[] {
  const sorted = [...outages].sort((a, b) => a.start - b.start).slice(-MAX_OUTAGES);
  return sorted.map((o, i) =>
    o.end === null && i < sorted.length - 1 ? { ...o, end: Math.max(o.start, sorted[i + 1]!.start) } : o,
  );
}

function closeOpen(outages: readonly Outage[], at: number): Outage[] {
  const i = outages.length - 1;
  const open = outages[i];
  if (open === undefined || open.end !== null) return [...outages];
  return [...outages.slice(0, i), { ...open, end: Math.max(open.start, at) }];
}

function entries<T>(raw: unknown, schema: z.ZodType<T>, key: string, problems: string[]): T[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${key}: is not a list — started empty`);
    return [];
  }
  const kept = raw.flatMap((e) => {
    const r = schema.safeParse(e);
    return r.success ? [r.data] : [];
  });
  const dropped = raw.length - kept.length;
  if (dropped > 0)
    problems.push(`${key}: ${dropped} unreadable ${dropped === 1 ? 'entry' : 'entries'} dropped`);
  return kept;
}
