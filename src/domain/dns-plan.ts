/**
 * The reconciler's decisions about observing a record, without I/O: what a DoH answer means,
 * whether the API must be read, what the API's records mean, which zone holds a record, and
 * whether a record may be touched now. What to write is decided in dns-write.ts, what follows a
 * failure in dns-failure.ts. Pure.
 */
import type { DnsRecord, DohAnswer, RecordState, RecordStatus, Zone } from './dns.js';
import { MAX_RETRY_WAIT_MS } from './dns-failure.js';
import { ipEquals, isCloudflareAddress } from './ip.js';

export const HOUR_MS = 3_600_000;
/** How often the API is asked again while resolvers keep disagreeing with content we wrote. */
export const API_RECHECK_MS = 600_000;
/** TTL 1 means "automatic" at Cloudflare, which is 300 s. */
export const AUTO_TTL_SECONDS = 300;

/** What a DoH answer says about one record. */
export type DohVerdict =
  | { kind: 'in_sync' }
  /**
   * Resolvers still show what our own successful write replaced (or no answer, for a record it
   * created), within that write's TTL.
   */
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
  // Only the content our write replaced is lag; anything else, even seconds after the write, is an
  // edit behind our back (or a second record).
  if (recent && ipEquals(recent.content, desired) && lagExplains(state.stale_answer, addresses)) {
    return { kind: 'propagating', until: recent.until };
  }
  return addresses.length === 0 ? { kind: 'missing' } : { kind: 'differs', observed: addresses };
}

/** Our last successful write, while resolvers may still serve what came before it (its TTL). */
function recentWrite(state: RecordState, now: number): { content: string; until: number } | null {
  const written = pastTime(state.last_update, now);
  if (written === null || state.last_written_content === null) return null;
  const ttl = state.ttl === null || state.ttl === 1 ? AUTO_TTL_SECONDS : state.ttl;
  const until = written + ttl * 1000;
  return now < until ? { content: state.last_written_content, until } : null;
}

/** Whether `addresses` is the answer resolver lag explains (`stale_answer`), in any order. */
export function lagExplains(staleAnswer: string | null | undefined, addresses: readonly string[]): boolean {
  if (staleAnswer === null || staleAnswer === undefined) return false;
  const known = staleAnswer === '' ? [] : staleAnswer.split(',');
  return (
    known.length === addresses.length &&
    known.every((k) => addresses.some((a) => ipEquals(a, k))) &&
    addresses.every((a) => known.some((k) => ipEquals(a, k)))
  );
}

/** Cloudflare holds the desired content; resolvers still answer something else. */
export const LAGGING_MESSAGE = 'Cloudflare holds the new address; resolvers have not caught up yet';

/** How a record was looked at before any API call. */
export type Sighting =
  /** Proxied (configured so, or seen so before): DoH would only show Cloudflare's edge. */
  | { kind: 'proxied' }
  | { kind: 'doh'; answer: DohAnswer }
  /** The DoH lookup failed (transport, timeout, an answer that is not one). */
  | { kind: 'doh_failed'; error: string };

/** What a record needs after it was looked at. */
export type Observation =
  /**
   * Settled in sync: no API call, no write. `proxied`: DoH showed Cloudflare's edge. `lagOver`:
   * resolvers show the desired content, so an older answer seen again later is not lag.
   */
  | { kind: 'in_sync'; proxied?: true; lagOver?: true }
  /** Cloudflare holds it and resolvers lag: status `updating`, no API call, no write. */
  | { kind: 'updating'; message: string }
  /** DoH failed and there is no other way to look (no API token). */
  | { kind: 'cannot_observe'; error: string }
  /**
   * Not settled by what was seen: go on to the API and the write. `readApi`: read the record
   * through the API before writing, even with a cached id. `disagrees`: resolvers showed something
   * else (`observed`, null for no answer): the record is not in sync from here on. `dohFailed`: a
   * listing read moments ago may stand in for the lookup.
   */
  | {
      kind: 'check';
      readApi: boolean;
      proxied?: true;
      disagrees?: { observed: string | null };
      dohFailed?: true;
    };

/**
 * What was seen means for the record (SPEC §3). DNS-only records: DoH equal to the desired address
 * → in sync. Disagreement that lag explains is held, without a write or an API call: the content
 * our own write replaced within its TTL (or no answer yet for a record it created), or the very
 * answer resolvers gave when the API last confirmed the desired content, for API_RECHECK_MS. Any
 * other answer is drift — an edit behind our back, even seconds after our write: written again,
 * after one API read when we wrote or saw the desired content (the read confirms the edit, finds a
 * second record — a conflict, never a rewrite loop — or shows that Cloudflare holds ours). Proxied
 * records and uncertain answers → the API, cached for an hour.
 */
export function planObservation(
  sighting: Sighting,
  state: RecordState,
  desired: string,
  now: number,
  canReadApi: boolean,
): Observation {
  if (sighting.kind === 'proxied') {
    return apiCacheFresh(state, desired, now) ? { kind: 'in_sync' } : { kind: 'check', readApi: true };
  }
  if (sighting.kind === 'doh_failed') {
    if (!canReadApi) return { kind: 'cannot_observe', error: `cannot observe: ${sighting.error}` };
    return { kind: 'check', readApi: true, dohFailed: true };
  }
  const verdict = judgeDoh(sighting.answer, desired, state, now);
  switch (verdict.kind) {
    case 'in_sync':
      return { kind: 'in_sync', lagOver: true };
    case 'propagating':
      return {
        kind: 'updating',
        message: `written; resolvers may show the old address until ${new Date(verdict.until).toISOString()} (TTL)`,
      };
    case 'proxied':
      return apiCacheFresh(state, desired, now)
        ? { kind: 'in_sync', proxied: true }
        : { kind: 'check', readApi: true, proxied: true };
    case 'unsure':
      return { kind: 'check', readApi: true };
    case 'differs':
    case 'missing': {
      // The API showed the desired content minutes ago while resolvers gave this very answer (a
      // negative cache of a new name lasts up to 30 min): they are lagging. No write, no API call.
      const addresses = verdict.kind === 'differs' ? verdict.observed : [];
      if (apiCacheFresh(state, desired, now, API_RECHECK_MS) && lagExplains(state.stale_answer, addresses)) {
        return { kind: 'updating', message: LAGGING_MESSAGE };
      }
      // Drift. We wrote, or the API showed, this exact content and resolvers disagree: one API read
      // confirms the edit before it is written again (someone may have added a second record).
      const wroteThis = state.last_written_content !== null && ipEquals(state.last_written_content, desired);
      const sawThis = state.api_checked_ip !== null && ipEquals(state.api_checked_ip, desired);
      const observed = verdict.kind === 'differs' ? verdict.observed.join(',') : null;
      // Several addresses for one name: someone made a round-robin set. One API read finds the
      // conflict (SPEC §3: none of them is updated) before anything is written by a cached id.
      const several = addresses.length > 1;
      return { kind: 'check', readApi: wroteThis || sawThis || several, disagrees: { observed } };
    }
  }
}

/**
 * The API shows the desired content: in sync, or `updating` while resolvers still disagree — and
 * then their answer is lag (`staleAnswer`), held for API_RECHECK_MS while they keep giving it.
 */
export function confirmedByApi(disagreement: { observed: string | null } | undefined): {
  status: 'in_sync' | 'updating';
  message: string | null;
  staleAnswer?: string;
} {
  if (!disagreement) return { status: 'in_sync', message: null };
  return { status: 'updating', message: LAGGING_MESSAGE, staleAnswer: disagreement.observed ?? '' };
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

/** A refusal is remembered against `blockKey`; once the IP or the settings change, it is lifted. */
export function blockLifted(state: RecordState, blockKey: string): boolean {
  return state.blocked_for !== null && state.blocked_for !== blockKey;
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
  const next = scheduledTime(state, now);
  if (next !== null && now < next) {
    return { until: next, reason: `retrying after ${new Date(next).toISOString()}` };
  }
  return null;
}

/**
 * A time that records something past (`last_update`, `api_checked_at`), as read at `now`. One
 * later than now was written before the clock was set back (NTP corrected it, or a Pi without a
 * battery clock started before NTP): it happened at the latest now, so it counts as now. Taken at
 * face value it would hold changes back until the clock catches up, up to days. (The reconciler
 * also clamps such times in place, so this happens once per jump, not at every cycle.)
 */
export function pastTime(t: number | null, now: number): number | null {
  return t !== null && t > now ? now : t;
}

/**
 * Whether the record's times show that the clock went back since they were written: a past time
 * later than now, or a retry further ahead than any the agent schedules (MAX_RETRY_WAIT_MS).
 */
export function clockWentBack(state: RecordState, now: number): boolean {
  const ahead = (t: number | null) => t !== null && t > now;
  return (
    ahead(state.last_update) ||
    ahead(state.api_checked_at) ||
    (state.next_attempt_at !== null && state.next_attempt_at > now + MAX_RETRY_WAIT_MS)
  );
}

/**
 * `next_attempt_at` as read at `now`: a pending retry, or now when the clock went back since it
 * was scheduled (clockWentBack): the wait it stands for has been lost track of, and waiting for
 * the clock to catch up would hold the record back for as long as the clock jumped.
 */
function scheduledTime(state: RecordState, now: number): number | null {
  const next = state.next_attempt_at;
  if (next === null || next <= now) return next;
  return clockWentBack(state, now) ? now : next;
}

/**
 * Changes closer together than min_update_interval_seconds are deferred (not dropped), so a
 * flapping address does not hammer the API. Restoring the content we last wrote (`desired` equal
 * to it: repairing an edit behind our back) is not a change of address: it is never deferred.
 * A last write later than now (the clock went back since) counts as now (pastTime): deferred by
 * one interval at most, never until the clock catches up.
 */
export function deferUntil(
  state: RecordState,
  now: number,
  minIntervalMs: number,
  desired?: string,
): number | null {
  const lastUpdate = pastTime(state.last_update, now);
  if (lastUpdate === null || minIntervalMs <= 0) return null;
  const repair =
    desired !== undefined &&
    state.last_written_content !== null &&
    ipEquals(state.last_written_content, desired);
  if (repair) return null;
  const until = lastUpdate + minIntervalMs;
  return now < until ? until : null;
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

/**
 * Whether the API showed the desired content for this record less than `maxAgeMs` ago (and the
 * IP has not changed since). Proxied records trust it for an hour (HOUR_MS); records whose
 * resolvers still disagree with content we wrote trust it for API_RECHECK_MS. A check later than
 * now (the clock went back since) counts as now (pastTime).
 */
export function apiCacheFresh(state: RecordState, desired: string, now: number, maxAgeMs = HOUR_MS): boolean {
  const checkedAt = pastTime(state.api_checked_at, now);
  return (
    checkedAt !== null &&
    now - checkedAt < maxAgeMs &&
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
