/**
 * The reconciler's decisions, without I/O: how to read an observation, whether a record may be
 * touched now, what to write, and how long to back off. Pure.
 */
import type { DnsRecord, DohAnswer } from '../dns/dns-provider.js';
import type { RecordState, RecordStatus } from '../state/schema.js';
import { ipEquals, isCloudflareAddress } from './ip.js';

export const HOUR_MS = 3_600_000;
export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_CAP_MS = 300_000;
export const AUTH_RETRY_MS = 600_000;
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
  | { kind: 'missing' };

export function judgeDoh(answer: DohAnswer, desired: string, state: RecordState, now: number): DohVerdict {
  if (answer.kind !== 'answer' || answer.addresses.length === 0) {
    return withinPropagation(state, desired, now) ?? { kind: 'missing' };
  }
  const addresses = answer.addresses;
  if (addresses.length === 1 && ipEquals(addresses[0] ?? '', desired)) return { kind: 'in_sync' };
  if (addresses.every((a) => isCloudflareAddress(a)) && !isCloudflareAddress(desired))
    return { kind: 'proxied' };
  return withinPropagation(state, desired, now) ?? { kind: 'differs', observed: addresses };
}

function withinPropagation(state: RecordState, desired: string, now: number): DohVerdict | null {
  if (state.last_update === null || state.last_written_content === null) return null;
  if (!ipEquals(state.last_written_content, desired)) return null;
  const ttl = state.ttl === null || state.ttl === 1 ? AUTO_TTL_SECONDS : state.ttl;
  const until = state.last_update + ttl * 1000;
  return now < until ? { kind: 'propagating', until } : null;
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

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(failures-1))]. */
export function backoffDelay(failures: number, random: () => number): number {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.max(1_000, Math.floor(random() * exp));
}

/** Whether a proxied record's cached API observation is still good enough. */
export function apiCacheFresh(state: RecordState, desired: string, now: number): boolean {
  return (
    state.api_checked_at !== null &&
    now - state.api_checked_at < HOUR_MS &&
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
