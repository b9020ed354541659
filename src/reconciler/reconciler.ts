/**
 * One reconciliation pass: detect the public IP → observe each record (DoH first, the API only
 * when needed) → decide (src/domain/dns-plan.ts) → write through the DnsProvider, batching per
 * zone → record the outcome in state and emit events. Never: timers, MQTT, HTTP servers.
 */
import type { Clock, Random } from '../clock.js';
import type { Config, RecordConfig } from '../config/schema.js';
import type {
  DnsProvider,
  DnsRecord,
  DohResolver,
  NewRecord,
  RecordPatch,
  RecordType,
} from '../dns/dns-provider.js';
import {
  API_RECHECK_MS,
  aggregateStatus,
  apiCacheFresh,
  deferUntil,
  dohDownListingReuseMs,
  type FailureKind,
  gate,
  judgeDoh,
  planAfterFailure,
  planFromApi,
} from '../domain/dns-plan.js';
import { ipEquals } from '../domain/ip.js';
import { CloudflareApiError, errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Detection, IpFamily } from '../ip/ip-source.js';
import type { Logger } from '../log.js';
import type { StateHolder } from '../state/holder.js';
import { freshRecordState, type RecordState, recordKey } from '../state/schema.js';
import { ZoneView } from './zone-view.js';

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

export interface ReconcilerDeps {
  config: ReconcilerConfig;
  /** null when there is no token: observation through DoH only, nothing is written. */
  provider: DnsProvider | null;
  doh: DohResolver;
  detect: (family: IpFamily, signal?: AbortSignal) => Promise<Detection>;
  state: StateHolder;
  events: EventBus;
  clock: Clock;
  random: Random;
  logger: Logger;
}

export interface CycleOptions {
  reason: string;
  /** Only these record names (a `sync` command with a list); all when absent. */
  records?: readonly string[];
  signal?: AbortSignal;
}

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

interface WorkItem {
  rc: RecordConfig;
  type: RecordType;
  key: string;
  desired: string;
  zoneId: string;
  op: { kind: 'patch'; patch: RecordPatch; old: string | null } | { kind: 'create'; record: NewRecord };
}

/** How many records are observed (DoH or API reads) at once. */
const OBSERVE_CONCURRENCY = 8;

/** Runs the tasks with at most `limit` in flight; results keep the tasks' order. */
async function runLimited<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

export class Reconciler {
  readonly #d: ReconcilerDeps;
  /** Zones and record listings as read through the API (null without a token). */
  readonly #view: ZoneView | null;
  /** Errors thrown by a write (create, PATCH, batch): only a refused write blocks a record. */
  readonly #writeErrors = new WeakSet<object>();
  /** The running cycle's signal (aborted when the agent stops). */
  #signal: AbortSignal | undefined;
  /** Warnings logged once per outage: key → when it started. */
  readonly #ongoing = new Map<string, number>();

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    this.#view = deps.provider ? new ZoneView(deps.provider, deps.clock) : null;
    // A refusal blocks a record until the IP or the configuration changes; a restart may carry a
    // new token or new permissions, so it counts as a change.
    for (const st of Object.values(deps.state.state.dns.records)) st.blocked_for = null;
  }

  get #families(): IpFamily[] {
    const v = this.#d.config.ip_version;
    return v === 'both' ? [4, 6] : v === 'ipv6' ? [6] : [4];
  }

  async runCycle(options: CycleOptions): Promise<CycleResult> {
    const { state, clock, logger } = this.#d;
    const signal = options.signal;
    const result: CycleResult = { ok: true, changes: 0, retryAt: null, summary: [], ipVerified: true };
    this.#pruneState();

    this.#view?.newCycle();
    this.#signal = signal;
    const desiredByFamily = new Map<IpFamily, string>();
    const problems: string[] = [];
    const agreeing: string[] = [];
    for (const family of this.#families) {
      const detection = await this.#detect(family, signal);
      if (detection.kind === 'verified') {
        desiredByFamily.set(family, detection.ip);
        for (const source of detection.agreeing) if (!agreeing.includes(source)) agreeing.push(source);
      } else {
        result.ipVerified = false;
        problems.push(this.#families.length > 1 ? `IPv${family}: ${detection.reason}` : detection.reason);
      }
    }
    if (!result.ipVerified) result.ok = false;
    const pub = state.state.public_ip;
    pub.verified = result.ipVerified;
    pub.error = problems.length > 0 ? problems.join('; ') : null;
    if (agreeing.length > 0) pub.sources_agreeing = agreeing;

    const wanted = options.records?.map((n) => n.toLowerCase().replace(/\.$/, ''));
    const tasks: Array<() => Promise<WorkItem | null>> = [];
    for (const rc of this.#d.config.records) {
      if (wanted && !wanted.includes(rc.name)) continue;
      for (const family of this.#families) {
        const type: RecordType = family === 4 ? 'A' : 'AAAA';
        const desired = desiredByFamily.get(family);
        if (!desired) {
          result.summary.push(`${rc.name} ${type}: not checked, no verified public IPv${family}`);
          continue;
        }
        tasks.push(async () => {
          if (signal?.aborted) return null;
          try {
            return await this.#examine(rc, type, desired, result, signal);
          } catch (err) {
            this.#fail(rc.name, type, err, desired, result);
            return null;
          }
        });
      }
    }
    // Observation runs a few records at a time; writes keep configuration order.
    const work = (await runLimited(tasks, OBSERVE_CONCURRENCY)).filter((w): w is WorkItem => w !== null);

    await this.#apply(work, result, signal);

    const s = state.state;
    s.dns.last_sync = clock.now();
    if (result.changes > 0 && this.#d.config.mode === 'enforce') s.dns.last_change = clock.now();
    const statuses = Object.values(s.dns.records).map((r) => r.status);
    for (const r of Object.values(s.dns.records)) {
      if (r.status === 'error' || r.status === 'out_of_sync') result.ok = false;
    }
    state.changed();
    await state.persist();
    logger.debug(
      { reason: options.reason, changes: result.changes, status: aggregateStatus(statuses) },
      'DNS cycle finished',
    );
    return result;
  }

  /** Deletes the records this agent manages (delete_on_stop). Never throws. */
  async deleteManaged(signal?: AbortSignal): Promise<number> {
    const { provider, state, logger } = this.#d;
    if (!provider || this.#d.config.mode !== 'enforce') return 0;
    let deleted = 0;
    for (const st of Object.values(state.state.dns.records)) {
      try {
        let zoneId = st.zone_id;
        let recordId = st.record_id;
        if (!zoneId || !recordId) {
          const rc = this.#d.config.records.find((r) => r.name === st.name);
          if (!rc) continue;
          const zone = await this.#view!.zoneFor(rc.name, rc.zone ?? this.#d.config.zone, signal);
          const found = await provider.listRecords(zone.id, { name: st.name, type: st.type }, signal);
          if (found.length !== 1) continue;
          zoneId = zone.id;
          recordId = found[0]!.id;
        }
        await provider.deleteRecord(zoneId, recordId, signal);
        deleted++;
        st.record_id = null;
        st.content = null;
        st.status = 'out_of_sync';
        st.message = 'deleted on stop (delete_on_stop is on)';
        logger.info(
          { record: st.name, type: st.type },
          `Deleted ${st.type} record ${st.name} (delete_on_stop is on).`,
        );
      } catch (err) {
        logger.warn(
          { record: st.name, type: st.type, err: errorMessage(err) },
          `Could not delete ${st.type} record ${st.name} on stop: ${errorMessage(err)}. Delete it in the Cloudflare dashboard if it should not stay.`,
        );
      }
    }
    this.#d.state.changed();
    await this.#d.state.persist();
    return deleted;
  }

  // ---------------------------------------------------------------------------------------------

  async #detect(family: IpFamily, signal?: AbortSignal): Promise<Detection> {
    const { state, events, logger, clock } = this.#d;
    const key = family === 4 ? 'ipv4' : 'ipv6';
    const pub = state.state.public_ip;
    const detection = await this.#d.detect(family, signal);
    for (const w of detection.warnings) this.#warnOnce(`ip-warning:${w}`, w);
    pub.checked_at = clock.now();
    if (detection.kind === 'unverified') {
      this.#warnOnce(
        `ip:${family}`,
        `Could not verify the public IPv${family}: ${detection.reason}. Keeping the last verified address (${pub[key] ?? 'none'}) and writing nothing until it is verified again; check ip_sources or lower ip_quorum if sources keep disagreeing.`,
        { family: key },
      );
      return detection;
    }
    this.#recovered(`ip:${family}`, `The public IPv${family} is verified again (${detection.ip}).`);
    const old = pub[key];
    pub[key] = detection.ip;
    if (old === null || !ipEquals(old, detection.ip)) {
      logger.info(
        { family: key, old, new: detection.ip, sources: detection.agreeing },
        old === null
          ? `Public IPv${family} is ${detection.ip} (agreed by ${detection.agreeing.length} sources).`
          : `Public IPv${family} changed from ${old} to ${detection.ip}.`,
      );
      events.emit('ip_changed', { family: key, old, new: detection.ip, sources: detection.agreeing });
    }
    return detection;
  }

  /** Observes one record and returns the write it needs, if any. Updates its state otherwise. */
  async #examine(
    rc: RecordConfig,
    type: RecordType,
    desired: string,
    result: CycleResult,
    signal?: AbortSignal,
  ): Promise<WorkItem | null> {
    const { provider, doh, clock, config } = this.#d;
    const key = recordKey(rc.name, type);
    const st = this.#recordState(rc.name, type);
    const now = clock.now();
    const blockKey = this.#blockKey(rc, desired);
    if (st.blocked_for !== null && st.blocked_for !== blockKey) {
      st.blocked_for = null;
      st.failures = 0;
      st.next_attempt_at = null;
    }
    const held = gate(st, now, blockKey);
    if (held) {
      st.message = held.reason;
      this.#retryAt(result, held.until);
      result.summary.push(`${rc.name} ${type}: ${held.reason}`);
      return null;
    }

    // Observe: DoH for DNS-only records, the API (cached) for proxied ones.
    let needApi = false;
    /** DoH showed something else than the desired content (or nothing). */
    let dohDisagrees = false;
    /** The DoH lookup failed: the API is asked instead, reusing a listing read moments ago. */
    let dohFailed = false;
    const proxied = rc.proxied ?? (st.proxied === true ? true : undefined);
    if (proxied === true) {
      if (apiCacheFresh(st, desired, now)) return this.#settled(st, 'in_sync', desired, null);
      needApi = true;
    } else {
      let verdict: ReturnType<typeof judgeDoh> | null = null;
      try {
        verdict = judgeDoh(await doh.resolve(rc.name, type, signal), desired, st, now);
      } catch (err) {
        if (signal?.aborted) throw err; // stopping: not a DoH problem
        this.#warnOnce(
          `doh:${key}`,
          provider
            ? `DoH lookup of ${rc.name} ${type} failed (${errorMessage(err)}); reading the record through the Cloudflare API instead. Check doh_url if this repeats.`
            : `DoH lookup of ${rc.name} ${type} failed (${errorMessage(err)}); without cloudflare_api_token there is no other way to observe it. Check doh_url.`,
          { record: rc.name, type, err: errorMessage(err) },
        );
        if (!provider)
          return this.#settled(st, 'error', st.content, `cannot observe: ${errorMessage(err)}`, result);
        needApi = true;
        dohFailed = true;
      }
      if (verdict) this.#recovered(`doh:${key}`, `DoH lookups of ${rc.name} ${type} work again.`);
      if (verdict?.kind === 'in_sync') return this.#settled(st, 'in_sync', desired, null);
      if (verdict?.kind === 'propagating') {
        st.status = 'updating';
        st.error = null;
        st.message = `written; resolvers may show the old address until ${new Date(verdict.until).toISOString()} (TTL)`;
        return null;
      }
      if (verdict?.kind === 'proxied') {
        st.proxied = true;
        if (apiCacheFresh(st, desired, now)) return this.#settled(st, 'in_sync', desired, null);
        needApi = true;
      }
      if (verdict?.kind === 'unsure') needApi = true;
      if (verdict?.kind === 'differs' || verdict?.kind === 'missing') {
        if (apiCacheFresh(st, desired, now, API_RECHECK_MS)) {
          // The API showed this content minutes ago: resolvers are lagging (a negative cache of
          // a new name lasts up to 30 min). No write, no API call.
          st.status = 'updating';
          st.error = null;
          st.message = 'Cloudflare holds the new address; resolvers have not caught up yet';
          return null;
        }
        // We wrote, or the API showed, this exact content and resolvers still disagree: look at
        // the record itself rather than writing it again (someone may have added a second record).
        const wroteThis = st.last_written_content !== null && ipEquals(st.last_written_content, desired);
        const sawThis = st.api_checked_ip !== null && ipEquals(st.api_checked_ip, desired);
        if (wroteThis || sawThis) needApi = true;
        dohDisagrees = true;
        // Not in sync from here on, whatever happens next (a stop may abandon the rest of the cycle).
        if (st.status !== 'error') st.status = 'out_of_sync';
        if (verdict.kind === 'differs') st.content = verdict.observed.join(',');
        else st.content = null;
      }
    }

    if (!provider) {
      // No token: we can only say what we would do.
      const msg =
        needApi && st.proxied === true
          ? `proxied record: its origin address cannot be read without cloudflare_api_token`
          : st.content === null
            ? `would create ${type} ${rc.name} → ${desired}`
            : `would update ${type} ${rc.name} from ${st.content} to ${desired}`;
      result.changes += needApi ? 0 : 1;
      return this.#dryRun(st, msg, result);
    }

    // Find the record: by cached id when we have one and DoH said it differs, else list it.
    let existing: DnsRecord | null = null;
    const configuredZone = rc.zone ?? config.zone;
    if (configuredZone && st.zone_id && st.zone_name !== configuredZone) {
      // The cached ids belong to another zone (the zone setting changed), or the state predates
      // zone names: compare with the configured zone (the zone list is cached for an hour).
      const zone = await this.#view!.zoneFor(rc.name, configuredZone, signal);
      if (zone.id !== st.zone_id) {
        st.zone_id = null;
        st.record_id = null;
        needApi = true;
      }
      st.zone_name = zone.name;
    }
    if (needApi || !st.record_id || !st.zone_id) {
      let zoneId = st.zone_id;
      if (!zoneId) {
        const zone = await this.#view!.zoneFor(rc.name, configuredZone, signal);
        zoneId = zone.id;
        st.zone_name = zone.name;
      }
      // With DoH down, a listing read moments ago (another cycle's) stands in for the lookup.
      const reuseMs = dohFailed ? dohDownListingReuseMs(config.interval_seconds) : 0;
      const records = (await this.#view!.records(zoneId, signal, reuseMs)).filter(
        (r) => r.name === rc.name && r.type === type,
      );
      st.zone_id = zoneId;
      const plan = planFromApi(records, desired);
      if (plan.kind === 'conflict') {
        st.record_id = null;
        throw conflictError(plan.count, rc.name, type);
      }
      if (plan.kind === 'in_sync' || plan.kind === 'update') {
        existing = plan.record;
        this.#remember(st, plan.record, desired);
      } else {
        st.record_id = null;
        st.content = null;
      }
      if (plan.kind === 'in_sync') {
        this.#settled(st, 'in_sync', desired, null);
        if (dohDisagrees) {
          st.status = 'updating';
          st.message = 'Cloudflare holds the new address; resolvers have not caught up yet';
        }
        return null;
      }
    }

    const deferred = deferUntil(st, now, config.min_update_interval_seconds * 1000);
    if (deferred !== null) {
      st.status = 'out_of_sync';
      st.message = `change deferred until ${new Date(deferred).toISOString()} (min_update_interval_seconds)`;
      this.#retryAt(result, deferred);
      result.summary.push(`${rc.name} ${type}: ${st.message}`);
      return null;
    }

    const zoneId = st.zone_id!;
    if (st.record_id) {
      const old = existing?.content ?? st.content;
      if (config.mode === 'dry-run') {
        result.changes++;
        return this.#dryRun(
          st,
          `would update ${type} ${rc.name} from ${old ?? 'unknown'} to ${desired}`,
          result,
        );
      }
      const patch: RecordPatch = { id: st.record_id, content: desired };
      if (config.ttl_explicit || rc.ttl !== undefined) patch.ttl = rc.ttl ?? config.ttl;
      const proxiedSetting = rc.proxied ?? config.proxied;
      if (proxiedSetting !== undefined) patch.proxied = proxiedSetting;
      this.#pending(st, `changing from ${old ?? 'unknown'} to ${desired}`);
      return { rc, type, key, desired, zoneId, op: { kind: 'patch', patch, old } };
    }
    if (!config.create_missing_records) {
      throw new RecheckLaterError(
        `${type} record ${rc.name} does not exist and create_missing_records is off: create it in Cloudflare or turn the option on`,
      );
    }
    if (config.mode === 'dry-run') {
      result.changes++;
      return this.#dryRun(st, `would create ${type} ${rc.name} → ${desired}`, result);
    }
    const record: NewRecord = { name: rc.name, type, content: desired, ttl: rc.ttl ?? config.ttl };
    const proxiedSetting = rc.proxied ?? config.proxied;
    if (proxiedSetting !== undefined) record.proxied = proxiedSetting;
    this.#pending(st, `creating it with ${desired}`);
    return { rc, type, key, desired, zoneId, op: { kind: 'create', record } };
  }

  /** Applies the queued writes: a batch per zone when two or more, single calls otherwise. */
  async #apply(work: WorkItem[], result: CycleResult, signal?: AbortSignal): Promise<void> {
    const provider = this.#d.provider;
    if (!provider || work.length === 0) return;
    const byZone = new Map<string, WorkItem[]>();
    for (const w of work) byZone.set(w.zoneId, [...(byZone.get(w.zoneId) ?? []), w]);
    for (const [zoneId, items] of byZone) {
      if (items.length >= 2) {
        const patches = items.filter((i) => i.op.kind === 'patch');
        const posts = items.filter((i) => i.op.kind === 'create');
        try {
          const res = await this.#write(
            provider.batch(
              zoneId,
              {
                patches: patches.map((i) => (i.op as { patch: RecordPatch }).patch),
                posts: posts.map((i) => (i.op as { record: NewRecord }).record),
              },
              signal,
            ),
          );
          for (const [n, item] of patches.entries()) this.#written(item, res.patches[n], result);
          for (const [n, item] of posts.entries()) this.#written(item, res.posts[n], result);
          continue;
        } catch (err) {
          if (signal?.aborted) {
            // Stopping: the batch may or may not have been applied; nothing is tried one by one.
            for (const item of items) this.#fail(item.rc.name, item.type, err, item.desired, result);
            continue;
          }
          if (err instanceof CloudflareApiError && (err.kind === 'rate_limited' || err.kind === 'auth')) {
            for (const item of items) this.#fail(item.rc.name, item.type, err, item.desired, result);
            continue;
          }
          this.#d.logger.warn(
            { zoneId, err: errorMessage(err) },
            `The batch write of ${items.length} records failed (${errorMessage(err)}); writing them one by one instead.`,
          );
        }
      }
      for (const item of items) {
        if (signal?.aborted) {
          this.#abandoned(item.rc.name, item.type, false, result);
          continue;
        }
        try {
          this.#written(item, await this.#applyOne(item, signal), result);
        } catch (err) {
          this.#fail(item.rc.name, item.type, err, item.desired, result);
        }
      }
    }
  }

  async #applyOne(item: WorkItem, signal?: AbortSignal): Promise<DnsRecord | undefined> {
    const provider = this.#d.provider!;
    const relist = async (): Promise<DnsRecord[]> =>
      provider.listRecords(item.zoneId, { name: item.rc.name, type: item.type }, signal);
    if (item.op.kind === 'patch') {
      try {
        return await this.#write(provider.patchRecord(item.zoneId, item.op.patch, signal));
      } catch (err) {
        if (!(err instanceof CloudflareApiError && err.kind === 'not_found')) throw err;
        // The cached id is stale (the record was deleted or recreated): look again.
        const plan = planFromApi(await relist(), item.desired);
        if (plan.kind === 'conflict') throw conflictError(plan.count, item.rc.name, item.type);
        if (plan.kind === 'in_sync') return plan.record;
        if (plan.kind === 'update')
          return this.#write(
            provider.patchRecord(item.zoneId, { ...item.op.patch, id: plan.record.id }, signal),
          );
        if (!this.#d.config.create_missing_records) throw err;
        const record: NewRecord = {
          name: item.rc.name,
          type: item.type,
          content: item.desired,
          ttl: item.rc.ttl ?? this.#d.config.ttl,
        };
        const p = item.rc.proxied ?? this.#d.config.proxied;
        if (p !== undefined) record.proxied = p;
        return this.#write(provider.createRecord(item.zoneId, record, signal));
      }
    }
    try {
      return await this.#write(provider.createRecord(item.zoneId, item.op.record, signal));
    } catch (err) {
      if (!(err instanceof CloudflareApiError && err.kind === 'already_exists')) throw err;
      // Someone (or an earlier try of ours) created it meanwhile: re-read and treat as satisfied.
      const plan = planFromApi(await relist(), item.desired);
      if (plan.kind === 'in_sync') return plan.record;
      if (plan.kind === 'update')
        return this.#write(
          provider.patchRecord(item.zoneId, { id: plan.record.id, content: item.desired }, signal),
        );
      if (plan.kind === 'conflict') throw conflictError(plan.count, item.rc.name, item.type);
      throw err;
    }
  }

  #written(item: WorkItem, record: DnsRecord | undefined, result: CycleResult): void {
    const { clock, events, logger } = this.#d;
    const st = this.#recordState(item.rc.name, item.type);
    const now = clock.now();
    const old = item.op.kind === 'patch' ? item.op.old : null;
    if (record) this.#remember(st, record, item.desired);
    this.#view?.written(item.zoneId, record);
    st.content = item.desired;
    st.last_update = now;
    st.last_written_content = item.desired;
    st.api_checked_at = now;
    st.api_checked_ip = item.desired;
    st.failures = 0;
    st.next_attempt_at = null;
    st.blocked_for = null;
    this.#settled(st, 'in_sync', item.desired, null);
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

  #fail(name: string, type: RecordType, err: unknown, desired: string, result: CycleResult): void {
    const { clock, random, logger, events } = this.#d;
    const st = this.#recordState(name, type);
    const now = clock.now();
    const message = errorMessage(err);
    const write = typeof err === 'object' && err !== null && this.#writeErrors.has(err);
    if (this.#signal?.aborted) {
      // The agent is stopping: the request was abandoned, not failed. No backoff, no event.
      const stale = st.content === null || !ipEquals(st.content, desired);
      if (write || (stale && (st.status === 'in_sync' || st.status === 'updating'))) {
        this.#abandoned(name, type, write, result);
      }
      return;
    }
    // The same failure again (a retry during an outage) is not news: debug log, no new event.
    const repeat = st.status === 'error' && st.error === message;
    if (err instanceof CloudflareApiError && err.kind === 'not_found') {
      // The cached zone or record id is gone (zone deleted and re-added…): find them afresh.
      st.zone_id = null;
      st.zone_name = null;
      st.record_id = null;
      this.#view?.forget();
    }
    const kind: FailureKind =
      err instanceof RecheckLaterError ? 'recheck' : err instanceof CloudflareApiError ? err.kind : 'other';
    const retryAfterMs = err instanceof CloudflareApiError ? err.retryAfterMs : undefined;
    const plan = planAfterFailure({ kind, write, retryAfterMs }, st.failures, random);
    let retryAt: number | null = null;
    if (plan.kind === 'block') {
      const rc = this.#d.config.records.find((r) => r.name === name);
      st.blocked_for = rc ? this.#blockKey(rc, desired) : null;
    } else {
      retryAt = now + plan.afterMs;
      st.failures = plan.failures;
    }
    st.next_attempt_at = retryAt;
    this.#settled(st, 'error', st.content, message, result);
    this.#retryAt(result, retryAt);
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
  #abandoned(name: string, type: RecordType, wrote: boolean, result: CycleResult): void {
    const st = this.#recordState(name, type);
    const what = wrote
      ? `the change of ${type} ${name} was abandoned while Cloudflare was writing it (it may or may not have been applied)`
      : `the check of ${type} ${name} was abandoned`;
    this.#d.logger.info(
      { record: name, type },
      `Stopping: ${what}; it is checked and corrected at the next start.`,
    );
    if (st.status === 'error') return; // already says it is not in sync, and why
    st.status = 'out_of_sync';
    st.error = null;
    st.message = `${what} because the agent stopped; checked again at the next start`;
    result.ok = false;
    result.summary.push(`${name} ${type}: ${st.message}`);
  }

  /**
   * A write is about to be sent: until it is confirmed the record is not in sync. A record in
   * `error` keeps its status and error (a retry), so the same failure again is recognised.
   */
  #pending(st: RecordState, message: string): void {
    if (st.status === 'error') return;
    st.status = 'out_of_sync';
    st.message = message;
  }

  /** Runs a write call; a failure it throws is remembered as a refused or failed write. */
  async #write<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (err) {
      if (typeof err === 'object' && err !== null) this.#writeErrors.add(err);
      throw err;
    }
  }

  /**
   * A warning that would repeat every cycle during an outage (no verified IP, DoH down) is logged
   * once; repeats go to debug, and `#recovered` logs one line when it is over.
   */
  #warnOnce(key: string, message: string, fields: Record<string, unknown> = {}): void {
    if (this.#ongoing.has(key)) {
      this.#d.logger.debug(fields, message);
      return;
    }
    this.#ongoing.set(key, this.#d.clock.now());
    this.#d.logger.warn(fields, `${message} (Logged once until it recovers.)`);
  }

  #recovered(key: string, message: string): void {
    const since = this.#ongoing.get(key);
    if (since === undefined) return;
    this.#ongoing.delete(key);
    const minutes = Math.round((this.#d.clock.now() - since) / 60_000);
    this.#d.logger.info(`${message} The problem lasted about ${minutes} min.`);
  }

  #settled(
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

  #dryRun(st: RecordState, message: string, result: CycleResult): null {
    st.status = 'dry_run';
    st.error = null;
    st.message = message;
    result.summary.push(`${st.name} ${st.type}: ${message}`);
    this.#d.logger.info({ record: st.name, type: st.type }, `Dry run: ${message}.`);
    return null;
  }

  #remember(st: RecordState, record: DnsRecord, desired: string): void {
    st.record_id = record.id;
    st.zone_id = record.zoneId || st.zone_id;
    st.content = record.content;
    st.ttl = record.ttl;
    st.proxied = record.proxied;
    st.api_checked_at = this.#d.clock.now();
    st.api_checked_ip = desired;
  }

  #recordState(name: string, type: RecordType): RecordState {
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
  #pruneState(): void {
    const keep = new Set<string>();
    for (const rc of this.#d.config.records) {
      for (const f of this.#families) keep.add(recordKey(rc.name, f === 4 ? 'A' : 'AAAA'));
    }
    const records = this.#d.state.state.dns.records;
    for (const key of Object.keys(records)) if (!keep.has(key)) delete records[key];
    // Keep configuration order, which is the order of updates and of the published state.
    const ordered: typeof records = {};
    for (const key of keep) if (records[key]) ordered[key] = records[key];
    this.#d.state.state.dns.records = ordered;
  }

  #blockKey(rc: RecordConfig, desired: string): string {
    return `${desired}|${rc.ttl ?? this.#d.config.ttl}|${rc.proxied ?? this.#d.config.proxied ?? ''}|${rc.zone ?? this.#d.config.zone ?? ''}`;
  }

  #retryAt(result: CycleResult, at: number | null): void {
    if (at === null) return;
    result.retryAt = result.retryAt === null ? at : Math.min(result.retryAt, at);
  }
}

/**
 * A state of the zone only the user can fix (a round-robin set, a missing record the agent may not
 * create): reported once, looked at again every 10 minutes, never "fixed" by the agent.
 */
class RecheckLaterError extends CloudflareApiError {
  constructor(message: string) {
    super('client', message);
  }
}

function conflictError(count: number, name: string, type: RecordType): RecheckLaterError {
  return new RecheckLaterError(
    `${count} ${type} records exist for ${name}; ddns-watchdog does not flatten a round-robin set. Delete the extra records in Cloudflare or remove ${name} from records.`,
  );
}
