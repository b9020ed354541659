/**
 * The reconciler's decisions, without I/O: how to read an observation, whether a record may be
 * touched now, what to write, and how long to back off. Pure.
 */
import type { DnsRecord, DohAnswer, RecordState, RecordStatus, Zone } from './dns.js';
import { ipEquals, isCloudflareAddress } from './ip.js';

export const HOUR_MS = 3_600_000;
export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_CAP_MS = 300_000;
export const AUTH_RETRY_MS = 600_000;
/** How often the API is asked again while resolvers keep disagreeing with content we wrote. */
export const API_RECHECK_MS = 600_000;
/** TTL 1 means "automatic" at Cloudflare, which is 300 s. */
export const AUTO_TTL_SECONDS = 300;

/** What a DoH answer says about one record. */
export type DohVerdict =
  | { kind: 'in_sync' }
  /** Resolvers still show the old content within the TTL of our own successful write. */
  | { kind: 'propagating'; until: number }
  /** The answer is Cloudflare's edge: the record is proxied and must be observed through the API. */
  | { kind: 'proxied' }
  | { kind: 'differs'; observed: string[] }
  | { kind: 'missing' }
  /** Resolvers may be serving an answer older than our last write: ask the API. */
  | { kind: 'unsure' };

export function judgeDoh(answer: DohAnswer, desired: string, state: RecordState, now: number): DohVerdict {
  const recent = recentWrite(state, now);
  const addresses = answer.kind === 'answer' ? answer.addresses : [];
  if (addresses.length === 1 && ipEquals(addresses[0] ?? '', desired)) {
    // Within our last write's TTL a resolver may still serve what the record held before it: when
    // the IP went back (A → B → A) that stale A looks right but Cloudflare holds B.
    if (recent && !ipEquals(recent.content, desired)) return { kind: 'unsure' };
    return { kind: 'in_sync' };
  }
  if (
    addresses.length > 0 &&
    addresses.every((a) => isCloudflareAddress(a)) &&
    !isCloudflareAddress(desired)
  ) {
    return { kind: 'proxied' };
  }
  if (recent && ipEquals(recent.content, desired)) return { kind: 'propagating', until: recent.until };
  return addresses.length === 0 ? { kind: 'missing' } : { kind: 'differs', observed: addresses };
}

/** Our last successful write, while resolvers may still serve what came before it (its TTL). */
function recentWrite(state: RecordState, now: number): { content: string; until: number } | null {
  if (state.last_update === null || state.last_written_content === null) return null;
  const ttl = state.ttl === null || state.ttl === 1 ? AUTO_TTL_SECONDS : state.ttl;
  const until = state.last_update + ttl * 1000;
  return now < until ? { content: state.last_written_content, until } : null;
}

/** What the API's records of one name and type mean for the desired content. */
export type ApiPlan =
  | { kind: 'in_sync'; record: DnsRecord }
  | { kind: 'update'; record: DnsRecord }
  | { kind: 'create' }
  | { kind: 'conflict'; count: number };

export function planFromApi(records: readonly DnsRecord[], desired: string): ApiPlan {
  if (records.length === 0) return { kind: 'create' };
  if (records.length > 1) return { kind: 'conflict', count: records.length };
  const record = records[0]!;
  return ipEquals(record.content, desired) ? { kind: 'in_sync', record } : { kind: 'update', record };
}

/**
 * The zone that holds `name`: the configured zone `want` when given (it must be visible), else the
 * longest visible zone that is the name or a suffix of it (sub.example.com over example.com).
 */
export function pickZone(zones: readonly Zone[], name: string, want: string | undefined): Zone | undefined {
  if (want) return zones.find((z) => z.name === want);
  return zones
    .filter((z) => name === z.name || name.endsWith(`.${z.name}`))
    .sort((a, b) => b.name.length - a.name.length)[0];
}

/** Whether the record may be worked on now; if not, until when and why. */
export function gate(
  state: RecordState,
  now: number,
  blockKey: string,
): { until: number | null; reason: string } | null {
  if (state.blocked_for !== null && state.blocked_for === blockKey) {
    return {
      until: null,
      reason: `Cloudflare refused the last change (${state.error ?? 'see the log'}); not retried until the public IP or the configuration changes`,
    };
  }
  if (state.next_attempt_at !== null && now < state.next_attempt_at) {
    return {
      until: state.next_attempt_at,
      reason: `retrying after ${new Date(state.next_attempt_at).toISOString()}`,
    };
  }
  return null;
}

/** Writes closer together than min_update_interval_seconds are deferred (not dropped). */
export function deferUntil(state: RecordState, now: number, minIntervalMs: number): number | null {
  if (state.last_update === null || minIntervalMs <= 0) return null;
  const until = state.last_update + minIntervalMs;
  return now < until ? until : null;
}

/**
 * Why a Cloudflare call failed, as far as retrying goes: the API error kinds of src/errors.ts, plus
 * `recheck` (a state of the zone only the user can fix) and `other` (anything else that threw).
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
 * After a failure: 429 → Retry-After (300 s without); 401/403, a zone the token cannot see and
 * a record set only the user can fix (`recheck`) → every 10 min;
 * another 4xx on a **write** blocks the record until the IP or config changes, while the same on a
 * **read** (a zone or record listing) is not a verdict on the change and is retried every 10 min;
 * anything else → exponential backoff with full jitter.
 */
export function planAfterFailure(
  failure: { kind: FailureKind; write: boolean; retryAfterMs?: number | undefined },
  failures: number,
  random: () => number,
): FailurePlan {
  switch (failure.kind) {
    case 'rate_limited':
      return { kind: 'retry', afterMs: failure.retryAfterMs ?? 300_000, failures, schedule: 'rate_limit' };
    case 'auth':
    case 'zone_not_found':
      return { kind: 'retry', afterMs: AUTH_RETRY_MS, failures, schedule: 'permission' };
    case 'recheck':
      return { kind: 'retry', afterMs: AUTH_RETRY_MS, failures, schedule: 'recheck' };
    case 'client':
      return failure.write
        ? { kind: 'block' }
        : { kind: 'retry', afterMs: AUTH_RETRY_MS, failures, schedule: 'refused_read' };
    default:
      return {
        kind: 'retry',
        afterMs: backoffDelay(failures + 1, random),
        failures: failures + 1,
        schedule: 'backoff',
      };
  }
}

/** Longest reuse of a zone listing while DoH is down. */
export const DOH_DOWN_LISTING_REUSE_CAP_MS = 60_000;

/**
 * While DoH fails, how long a zone's record listing is reused instead of listing again: half the
 * interval, at most 60 s. Half the interval because jitter is at most half of it, so every timer
 * cycle still reads afresh (an edit behind our back is found within one interval as before); only
 * cycles triggered in between (sync commands, WAN back) reuse the listing.
 */
export function dohDownListingReuseMs(intervalSeconds: number): number {
  return Math.max(0, Math.min(DOH_DOWN_LISTING_REUSE_CAP_MS, Math.floor((intervalSeconds * 1000) / 2)));
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(failures-1))]. */
export function backoffDelay(failures: number, random: () => number): number {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.max(1_000, Math.floor(random() * exp));
}

/**
 * Whether the API showed the desired content for this record less than `maxAgeMs` ago (and the
 * IP has not changed since). Proxied records trust it for an hour (HOUR_MS); records whose
 * resolvers still disagree with content we wrote trust it for API_RECHECK_MS.
 */
export function apiCacheFresh(state: RecordState, desired: string, now: number, maxAgeMs = HOUR_MS): boolean {
  return (
    state.api_checked_at !== null &&
    now - state.api_checked_at < maxAgeMs &&
    state.api_checked_ip !== null &&
    ipEquals(state.api_checked_ip, desired) &&
    state.content !== null &&
    ipEquals(state.content, desired)
  );
}

const STATUS_RANK: Record<RecordStatus, number> = {
  error: 5,
  out_of_sync: 4,
  dry_run: 3,
  updating: 2,
  in_sync: 1,
  disabled: 0,
};

/** The overall DNS status: the worst of the records', `disabled` when there are none. */
export function aggregateStatus(statuses: readonly RecordStatus[]): RecordStatus {
  let worst: RecordStatus = 'disabled';
  for (const s of statuses) if (STATUS_RANK[s] > STATUS_RANK[worst]) worst = s;
  return worst;
}
