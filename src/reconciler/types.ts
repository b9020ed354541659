/** Types shared by the reconciler's parts (reconciler, record book, writer). */
import type { Config, RecordConfig } from '../config/schema.js';
import type { NewRecord, RecordPatch, RecordType } from '../dns/dns-provider.js';
import { RecordSetError } from '../errors.js';

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
