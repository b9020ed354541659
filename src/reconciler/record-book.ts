/**
 * RecordBook: each record's state and what is said about it. Sets statuses and messages, applies
 * the retry schedule after a failure (decided by src/domain/dns-failure.ts), logs and emits events
 * for successes and failures. No I/O but the logger and the event bus.
 */
import type { Clock, Random } from '../clock.js';
import type { RecordConfig } from '../config/schema.js';
import type { ZoneCache } from '../dns/zone-cache.js';
import type { DnsRecord, RecordType } from '../domain/dns.js';
import { abandonedNeedsMark, dropsCachedIds, planAfterFailure } from '../domain/dns-failure.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { StateHolder } from '../state/holder.js';
import { freshRecordState, type RecordState, recordKey } from '../state/schema.js';
import {
  type CycleResult,
  failureKindOf,
  noteRetryAt,
  type ReconcilerConfig,
  type WorkItem,
} from './types.js';

export interface RecordBookDeps {
  config: ReconcilerConfig;
  state: StateHolder;
  events: EventBus;
  clock: Clock;
  random: Random;
  logger: Logger;
  view: ZoneCache | null;
}

export class RecordBook {
  readonly #d: RecordBookDeps;

  constructor(deps: RecordBookDeps) {
    this.#d = deps;
  }

  /** The record's state, created (out_of_sync) when it is new. */
  get(name: string, type: RecordType): RecordState {
    const key = recordKey(name, type);
    const records = this.#d.state.state.dns.records;
    let st = records[key];
    if (!st) {
      st = freshRecordState(name, type);
      records[key] = st;
    }
    return st;
  }

  /** Drops state of records no longer configured (or of a family no longer enabled). */
  prune(types: readonly RecordType[]): void {
    const keep = new Set<string>();
    for (const rc of this.#d.config.records) for (const t of types) keep.add(recordKey(rc.name, t));
    const records = this.#d.state.state.dns.records;
    for (const key of Object.keys(records)) if (!keep.has(key)) delete records[key];
    // Keep configuration order, which is the order of updates and of the published state.
    const ordered: typeof records = {};
    for (const key of keep) if (records[key]) ordered[key] = records[key];
    this.#d.state.state.dns.records = ordered;
  }

  /**
   * The WAN is back: waits built up by network errors and 5xx during the outage (ours, not
   * Cloudflare's) end now, so the resync of a changed IP is not held for up to 5 min. A 429's
   * Retry-After, a permission recheck and a refused change keep their schedules.
   */
  liftOutageBackoff(): void {
    for (const st of Object.values(this.#d.state.state.dns.records)) {
      if (st.retry_schedule !== 'backoff') continue;
      st.failures = 0;
      st.next_attempt_at = null;
    }
  }

  /** What a refused change is remembered against: it is retried once any of these change. */
  blockKey(rc: RecordConfig, desired: string): string {
    const c = this.#d.config;
    return `${desired}|${rc.ttl ?? c.ttl}|${rc.proxied ?? c.proxied ?? ''}|${rc.zone ?? c.zone ?? ''}`;
  }

  settled(
    st: RecordState,
    status: RecordState['status'],
    content: string | null,
    error: string | null,
    result?: CycleResult,
  ): null {
    st.status = status;
    st.content = content;
    st.error = error;
    st.message = error;
    if (status !== 'error') {
      st.failures = 0;
      st.next_attempt_at = null;
    }
    if (result && (status === 'error' || status === 'out_of_sync')) {
      result.ok = false;
      result.summary.push(`${st.name} ${st.type}: ${error ?? status}`);
    }
    return null;
  }

  dryRun(st: RecordState, message: string, result: CycleResult): null {
    st.status = 'dry_run';
    st.error = null;
    st.message = message;
    result.summary.push(`${st.name} ${st.type}: ${message}`);
    this.#d.logger.info({ record: st.name, type: st.type }, `Dry run: ${message}.`);
    return null;
  }

  /** What the API showed for the record. */
  remember(st: RecordState, record: DnsRecord, desired: string): void {
    st.record_id = record.id;
    st.zone_id = record.zoneId || st.zone_id;
    st.content = record.content;
    st.ttl = record.ttl;
    st.proxied = record.proxied;
    st.api_checked_at = this.#d.clock.now();
    st.api_checked_ip = desired;
  }

  /**
   * A write is about to be sent: until it is confirmed the record is not in sync. A record in
   * `error` keeps its status and error (a retry), so the same failure again is recognised.
   */
  pending(st: RecordState, message: string): void {
    if (st.status === 'error') return;
    st.status = 'out_of_sync';
    st.message = message;
  }

  written(item: WorkItem, record: DnsRecord | undefined, result: CycleResult): void {
    const { clock, events, logger } = this.#d;
    const st = this.get(item.rc.name, item.type);
    const now = clock.now();
    const old = item.op.kind === 'patch' ? item.op.old : null;
    if (record) this.remember(st, record, item.desired);
    this.#d.view?.written(item.zoneId, record);
    st.content = item.desired;
    st.last_update = now;
    st.last_written_content = item.desired;
    // Resolvers may keep answering what this write replaced (nothing, for a new record) for its TTL.
    st.stale_answer = item.op.kind === 'patch' ? item.op.old : '';
    st.api_checked_at = now;
    st.api_checked_ip = item.desired;
    st.failures = 0;
    st.next_attempt_at = null;
    st.blocked_for = null;
    this.settled(st, 'in_sync', item.desired, null);
    result.changes++;
    const action = item.op.kind === 'patch' ? 'update' : 'create';
    logger.info(
      { record: item.rc.name, type: item.type, old, new: item.desired },
      action === 'create'
        ? `Created ${item.type} ${item.rc.name} → ${item.desired}.`
        : `Updated ${item.type} ${item.rc.name} from ${old ?? 'unknown'} to ${item.desired}.`,
    );
    events.emit('dns_updated', {
      record: item.rc.name,
      record_type: item.type,
      old,
      new: item.desired,
      action,
    });
  }

  /**
   * A read or write for this record failed. `write`: the error came from a write call (only a
   * refused write blocks the record). `aborted`: the agent is stopping, so nothing failed.
   */
  fail(
    name: string,
    type: RecordType,
    err: unknown,
    desired: string,
    result: CycleResult,
    how: { write: boolean; aborted: boolean },
  ): void {
    const { clock, random, logger, events } = this.#d;
    const st = this.get(name, type);
    const now = clock.now();
    const message = errorMessage(err);
    if (how.aborted) {
      // The request was abandoned, not failed: no backoff, no event.
      if (abandonedNeedsMark(st, desired, how.write)) this.abandoned(name, type, how.write, result);
      return;
    }
    // The same failure again (a retry during an outage) is not news: debug log, no new event.
    const repeat = st.status === 'error' && st.error === message;
    const failure = failureKindOf(err);
    if (dropsCachedIds(failure.kind)) {
      // The cached zone or record id is gone (zone deleted and re-added…): find them afresh.
      st.zone_id = null;
      st.zone_name = null;
      st.record_id = null;
      this.#d.view?.forget();
    }
    const plan = planAfterFailure({ ...failure, write: how.write }, st.failures, random);
    let retryAt: number | null = null;
    if (plan.kind === 'block') {
      const rc = this.#d.config.records.find((r) => r.name === name);
      st.blocked_for = rc ? this.blockKey(rc, desired) : null;
    } else {
      retryAt = now + plan.afterMs;
      st.failures = plan.failures;
    }
    st.next_attempt_at = retryAt;
    st.retry_schedule = plan.kind === 'retry' ? plan.schedule : null;
    this.settled(st, 'error', st.content, message, result);
    noteRetryAt(result, retryAt);
    const when = retryAt === null ? null : new Date(retryAt).toISOString();
    let line = `Could not update ${type} ${name}: ${message}${when ? ` Next try after ${when}.` : ''}`;
    if (plan.kind === 'retry' && plan.schedule === 'refused_read') {
      // Not a verdict on the change: the record is read again on the permission schedule.
      st.message = `${message}; this was a read, not a change, so it is tried again every 10 min (next after ${when})`;
      line = `Could not read ${type} ${name} from Cloudflare: ${message}. A refused read does not block the record: it is read again every 10 min (next after ${when}); if this repeats, check cloudflare_api_url and the token's zone resources.`;
    }
    if (repeat) {
      logger.debug({ record: name, type, err: message, retry_at: when, failures: st.failures }, line);
      return;
    }
    logger.warn({ record: name, type, err: message, retry_at: when }, line);
    events.emit('dns_update_failed', { record: name, record_type: type, error: message, retry_at: when });
  }

  /** A stop cut this record's cycle short: it is not known to be in sync, and says so. */
  abandoned(name: string, type: RecordType, wrote: boolean, result: CycleResult): void {
    const st = this.get(name, type);
    const what = wrote
      ? `the change of ${type} ${name} was abandoned while Cloudflare was writing it (it may or may not have been applied)`
      : `the check of ${type} ${name} was abandoned`;
    this.#d.logger.info(
      { record: name, type },
      `Stopping: ${what}; it is checked and corrected at the next start.`,
    );
    result.ok = false;
    if (st.status === 'error') return; // already says it is not in sync, and why
    st.status = 'out_of_sync';
    st.error = null;
    st.message = `${what} because the agent stopped; checked again at the next start`;
    result.summary.push(`${name} ${type}: ${st.message}`);
  }
}
