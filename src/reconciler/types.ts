/** Types shared by the reconciler's parts (reconciler, record book, writer). */
import type { Config, RecordConfig } from '../config/schema.js';
import type { NewRecord, RecordPatch, RecordType } from '../domain/dns.js';
import type { FailureKind } from '../domain/dns-failure.js';
import type { RecordSettings } from '../domain/dns-write.js';
import { AppError, CloudflareApiError, RecordSetError } from '../errors.js';

export type ReconcilerConfig = Pick<
  Config,
  | 'records'
  | 'zone'
  | 'ip_version'
  | 'ttl'
  | 'ttl_explicit'
  | 'proxied'
  | 'create_missing_records'
  | 'mode'
  | 'interval_seconds'
> & { min_update_interval_seconds: number };

export interface CycleResult {
  /** Every selected record ended in_sync/updating/dry_run, and the IP was verified. */
  ok: boolean;
  /** Records written (or, in dry-run, that would be). */
  changes: number;
  /** The earliest time a deferred or backed-off record wants another look, if any. */
  retryAt: number | null;
  /** One line per record that is not in sync, for `check` and the command result. */
  summary: string[];
  ipVerified: boolean;
}

/** One write the cycle decided on: a PATCH by cached id, or a create. */
export interface WorkItem {
  rc: RecordConfig;
  type: RecordType;
  key: string;
  desired: string;
  zoneId: string;
  op: { kind: 'patch'; patch: RecordPatch; old: string | null } | { kind: 'create'; record: NewRecord };
}

/** The record's settings as configured: its own, else the global ones (what a write sends). */
export function settingsOf(rc: RecordConfig, config: ReconcilerConfig): RecordSettings {
  return {
    ttl: rc.ttl ?? config.ttl,
    ttlExplicit: config.ttl_explicit || rc.ttl !== undefined,
    proxied: rc.proxied ?? config.proxied,
  };
}

/** Keeps the earliest time any record wants another look. */
export function noteRetryAt(result: CycleResult, at: number | null): void {
  if (at === null) return;
  result.retryAt = result.retryAt === null ? at : Math.min(result.retryAt, at);
}

export function conflictError(count: number, name: string, type: RecordType): RecordSetError {
  return new RecordSetError(
    'DNS_RECORD_CONFLICT',
    `${count} ${type} records exist for ${name}; ddns-watchdog does not flatten a round-robin set. Delete the extra records in Cloudflare or remove ${name} from records.`,
  );
}

/**
 * What the core needs to know of a thrown error to plan the retry: its failure kind (by the
 * error's code) and, for a 429, how long Cloudflare asked us to wait.
 */
export function failureKindOf(err: unknown): { kind: FailureKind; retryAfterMs?: number | undefined } {
  if (err instanceof CloudflareApiError) return { kind: err.kind, retryAfterMs: err.retryAfterMs };
  if (!(err instanceof AppError)) return { kind: 'other' };
  switch (err.code) {
    case 'DNS_RECORD_CONFLICT':
    case 'DNS_RECORD_MISSING':
      return { kind: 'recheck' };
    default:
      return { kind: 'other' };
  }
}
