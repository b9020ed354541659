/**
 * What to write for one record, without I/O: the body of a PATCH or a create (built here, once,
 * for every path that writes), what a cycle does once it knows the record's id (or that it has
 * none), what a dry run says, and how a write that met a stale id or an existing record goes on.
 * Pure.
 */
import type { DnsRecord, NewRecord, RecordPatch, RecordType } from './dns.js';
import type { ApiPlan } from './dns-plan.js';

/** The record's settings as configured (its own, else the global ones). */
export interface RecordSettings {
  /** The TTL a created record gets (`ttl`, 1 = automatic). */
  ttl: number;
  /** The user set the TTL (globally or for this record): a PATCH sends it too. */
  ttlExplicit: boolean;
  /** The proxied flag the user set; undefined leaves Cloudflare's (or the record's) own. */
  proxied: boolean | undefined;
}

/**
 * The PATCH of an existing record: the content, plus TTL and proxied only when the user set them,
 * so a record's own TTL, proxied flag, comment and tags survive an address change.
 */
export function buildPatch(id: string, desired: string, settings: RecordSettings): RecordPatch {
  const patch: RecordPatch = { id, content: desired };
  if (settings.ttlExplicit) patch.ttl = settings.ttl;
  if (settings.proxied !== undefined) patch.proxied = settings.proxied;
  return patch;
}

/** A new record: name, type, content and TTL, plus the proxied flag when the user set it. */
export function buildNewRecord(
  name: string,
  type: RecordType,
  desired: string,
  settings: RecordSettings,
): NewRecord {
  const record: NewRecord = { name, type, content: desired, ttl: settings.ttl };
  if (settings.proxied !== undefined) record.proxied = settings.proxied;
  return record;
}

/** What the cycle does for a record that is not in sync, once its id is known (or known absent). */
export type WritePlan =
  | { kind: 'patch'; patch: RecordPatch; old: string | null; pending: string }
  | { kind: 'create'; record: NewRecord; pending: string }
  /** dry-run: nothing is written; the message says what would be. */
  | { kind: 'dry_run'; message: string }
  /** No such record and the agent may not create it: only the user can fix this. */
  | { kind: 'not_creatable'; message: string };

export function planWrite(input: {
  name: string;
  type: RecordType;
  desired: string;
  /** The cached (or just listed) record id; null when the record does not exist. */
  recordId: string | null;
  /** What the record holds now, when known. */
  old: string | null;
  settings: RecordSettings;
  dryRun: boolean;
  createMissing: boolean;
}): WritePlan {
  const { name, type, desired, old } = input;
  if (input.recordId) {
    if (input.dryRun) {
      return {
        kind: 'dry_run',
        message: `would update ${type} ${name} from ${old ?? 'unknown'} to ${desired}`,
      };
    }
    return {
      kind: 'patch',
      patch: buildPatch(input.recordId, desired, input.settings),
      old,
      pending: `changing from ${old ?? 'unknown'} to ${desired}`,
    };
  }
  if (!input.createMissing) {
    return {
      kind: 'not_creatable',
      message: `${type} record ${name} does not exist and create_missing_records is off: create it in Cloudflare or turn the option on`,
    };
  }
  if (input.dryRun) return { kind: 'dry_run', message: `would create ${type} ${name} → ${desired}` };
  return {
    kind: 'create',
    record: buildNewRecord(name, type, desired, input.settings),
    pending: `creating it with ${desired}`,
  };
}

/**
 * Without an API token only DoH is seen, so the record is always reported as a dry run: what
 * would change, or that a proxied record cannot be read at all. `counts`: whether it is a change
 * (a record that needed the API is not counted: it may well be right).
 */
export function planWithoutToken(input: {
  name: string;
  type: RecordType;
  desired: string;
  /** The observation wanted the API (proxied, unsure, or a disagreement with content we wrote). */
  neededApi: boolean;
  proxied: boolean;
  /** What resolvers showed, when anything. */
  content: string | null;
}): { message: string; counts: boolean } {
  const { name, type, desired } = input;
  const message =
    input.neededApi && input.proxied
      ? `proxied record: its origin address cannot be read without cloudflare_api_token`
      : input.content === null
        ? `would create ${type} ${name} → ${desired}`
        : `would update ${type} ${name} from ${input.content} to ${desired}`;
  return { message, counts: !input.neededApi };
}

/** How a write goes on after Cloudflare said its target was gone, or already existed. */
export type RecoveryPlan =
  /** The record already holds the desired content: nothing more to write. */
  | { kind: 'done'; record: DnsRecord }
  /** Patch the record found by the re-listing. */
  | { kind: 'patch'; id: string }
  | { kind: 'create' }
  /** Several records of the type: report the conflict, change none. */
  | { kind: 'conflict'; count: number }
  /** Nothing sensible to do: the original failure stands. */
  | { kind: 'give_up' };

/**
 * After a PATCH answered "no such record" (`gone`: the cached id is stale) or a create answered
 * "already exists" (`exists`), the name was listed again; `plan` is what that listing means.
 */
export function planRecovery(cause: 'gone' | 'exists', plan: ApiPlan, createMissing: boolean): RecoveryPlan {
  switch (plan.kind) {
    case 'conflict':
      return { kind: 'conflict', count: plan.count };
    case 'in_sync':
      return { kind: 'done', record: plan.record };
    case 'update':
      return { kind: 'patch', id: plan.record.id };
    case 'create':
      return cause === 'gone' && createMissing ? { kind: 'create' } : { kind: 'give_up' };
  }
}
