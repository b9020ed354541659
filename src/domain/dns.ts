/**
 * The DNS vocabulary of the core: what a record is, what resolvers answer, what the agent keeps
 * per record between cycles, and the statuses it reports. Adapters (src/dns/*) and the state
 * schema (src/state/schema.ts) import these; nothing here imports them. Pure: zod only.
 */
import { z } from 'zod';

/** The record types the agent manages. */
export const recordTypeSchema = z.enum(['A', 'AAAA']);
export type RecordType = z.infer<typeof recordTypeSchema>;

/**
 * What a record is reported as: `in_sync` (resolvers or the API show the desired address),
 * `updating` (Cloudflare holds it, resolvers have not caught up), `out_of_sync` (a change is due or
 * was abandoned), `error` (the last attempt failed; see the record's error), `dry_run` (a change
 * would be made), `disabled` (no records).
 */
export const recordStatusSchema = z.enum([
  'in_sync',
  'out_of_sync',
  'updating',
  'error',
  'dry_run',
  'disabled',
]);
export type RecordStatus = z.infer<typeof recordStatusSchema>;

/** A zone as the API shows it. */
export interface Zone {
  id: string;
  /** Lower-case, punycode, no trailing dot. */
  name: string;
}

/** An A or AAAA record as the API shows it. */
export interface DnsRecord {
  id: string;
  zoneId: string;
  /** Lower-case, punycode, no trailing dot. */
  name: string;
  type: RecordType;
  content: string;
  proxied: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
}

/** The body of a record to create. */
export interface NewRecord {
  name: string;
  type: RecordType;
  content: string;
  ttl: number;
  proxied?: boolean;
}

/**
 * A change to an existing record. Only `content` is sent unless ttl/proxied are given (they are
 * given only when the user set them explicitly), so comment, tags, TTL and proxied survive.
 */
export interface RecordPatch {
  id: string;
  content: string;
  ttl?: number;
  proxied?: boolean;
}

/** What public resolvers answer for a name (DNS over HTTPS). */
export type DohAnswer =
  | { kind: 'answer'; addresses: string[]; ttl: number }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' };

/**
 * What the agent keeps about one record between cycles (persisted by src/state/schema.ts, which
 * validates it on load; its parsed type is this one). Times are epoch milliseconds.
 */
export interface RecordState {
  name: string;
  type: RecordType;
  status: RecordStatus;
  /** What the published record holds, as last observed (DoH or API). */
  content: string | null;
  zone_id: string | null;
  /** The zone's name when zone_id was found, to notice a change of the `zone` setting. */
  zone_name: string | null;
  record_id: string | null;
  /** TTL of the published record, for telling propagation from drift. */
  ttl: number | null;
  proxied: boolean | null;
  /** When we last wrote it, and what. */
  last_update: number | null;
  last_written_content: string | null;
  /** When the API was last read for this record (proxied records are re-read at most hourly). */
  api_checked_at: number | null;
  api_checked_ip: string | null;
  /**
   * A DoH answer that resolver lag explains, so it is not drift: what our last write replaced
   * (`''` when it created the record: resolvers may not know the name yet), or what resolvers
   * answered when the API last confirmed the desired content. Addresses joined by `,`; null or
   * absent when none (then any disagreement is checked through the API).
   */
  stale_answer?: string | null;
  error: string | null;
  /** A human sentence about the current status (what would change in dry-run, why deferred…). */
  message: string | null;
  failures: number;
  next_attempt_at: number | null;
  /**
   * Which schedule `next_attempt_at` follows (src/domain/dns-failure.ts); `backoff` (network
   * errors, 5xx) is lifted when the WAN comes back. Absent in files written before it existed.
   */
  retry_schedule?: 'rate_limit' | 'permission' | 'recheck' | 'refused_read' | 'backoff' | null;
  /** A non-retryable API refusal is retried only when the IP or the configuration changes. */
  blocked_for: string | null;
}
