/**
 * One reconciliation pass: detect the public IP → observe each record (DoH first, the API only
 * when needed) → decide (src/domain/dns-plan.ts) → write through the DnsProvider, batching per
 * zone → record the outcome in state and emit events. Never: timers, MQTT, HTTP servers.
 *
 * Its parts: src/dns/zone-cache.ts (zones and listings as the API showed them, and how recent),
 * record-book.ts (each record's status, failures and their retry schedule, events), writer.ts
 * (batches and single writes, delete on stop), types.ts (what they share).
 */
import type { Clock, Random } from '../clock.js';
import type { RecordConfig } from '../config/schema.js';
import type {
  DnsProvider,
  DnsRecord,
  DohResolver,
  NewRecord,
  RecordPatch,
  RecordType,
} from '../dns/dns-provider.js';
import { ZoneCache } from '../dns/zone-cache.js';
import {
  API_RECHECK_MS,
  aggregateStatus,
  apiCacheFresh,
  deferUntil,
  dohDownListingReuseMs,
  gate,
  judgeDoh,
  planFromApi,
} from '../domain/dns-plan.js';
import { ipEquals } from '../domain/ip.js';
import { errorMessage, RecordSetError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Detection, IpFamily } from '../ip/ip-source.js';
import type { Logger } from '../log.js';
import type { StateHolder } from '../state/holder.js';
import { recordKey } from '../state/schema.js';
import { RecordBook } from './record-book.js';
import {
  type CycleResult,
  conflictError,
  noteRetryAt,
  type ReconcilerConfig,
  type WorkItem,
} from './types.js';
import { Writer } from './writer.js';

export type { CycleResult, ReconcilerConfig } from './types.js';

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
  readonly #view: ZoneCache | null;
  readonly #book: RecordBook;
  /** Sends the writes (null without a token). */
  readonly #writer: Writer | null;
  /** The running cycle's signal (aborted when the agent stops). */
  #signal: AbortSignal | undefined;

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    const { provider, config, state, logger } = deps;
    this.#view = provider ? new ZoneCache(provider, deps.clock) : null;
    this.#book = new RecordBook({ ...deps, view: this.#view });
    this.#writer =
      provider && this.#view
        ? new Writer({ provider, view: this.#view, config, state, book: this.#book, logger })
        : null;
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
    this.#book.prune(this.#families.map((f) => (f === 4 ? 'A' : 'AAAA')));

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
          if (signal?.aborted) {
            // Stopping before this record was looked at: it must not keep saying in_sync if stale.
            this.#fail(rc.name, type, signal.reason, desired, result);
            return null;
          }
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

    await this.#writer?.apply(
      work,
      result,
      (i, err) => this.#fail(i.rc.name, i.type, err, i.desired, result),
      signal,
    );

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
    if (!this.#writer || this.#d.config.mode !== 'enforce') return 0;
    return this.#writer.deleteManaged(signal);
  }

  // ---------------------------------------------------------------------------------------------

  async #detect(family: IpFamily, signal?: AbortSignal): Promise<Detection> {
    const { state, events, logger, clock } = this.#d;
    const key = family === 4 ? 'ipv4' : 'ipv6';
    const pub = state.state.public_ip;
    const detection = await this.#d.detect(family, signal);
    for (const w of detection.warnings) this.#book.warnOnce(`ip-warning:${w}`, w);
    pub.checked_at = clock.now();
    if (detection.kind === 'unverified') {
      this.#book.warnOnce(
        `ip:${family}`,
        `Could not verify the public IPv${family}: ${detection.reason}. Keeping the last verified address (${pub[key] ?? 'none'}) and writing nothing until it is verified again; check ip_sources or lower ip_quorum if sources keep disagreeing.`,
        { family: key },
      );
      return detection;
    }
    this.#book.recovered(`ip:${family}`, `The public IPv${family} is verified again (${detection.ip}).`);
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
    const st = this.#book.get(rc.name, type);
    const now = clock.now();
    const blockKey = this.#book.blockKey(rc, desired);
    if (st.blocked_for !== null && st.blocked_for !== blockKey) {
      st.blocked_for = null;
      st.failures = 0;
      st.next_attempt_at = null;
    }
    const held = gate(st, now, blockKey);
    if (held) {
      st.message = held.reason;
      noteRetryAt(result, held.until);
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
      if (apiCacheFresh(st, desired, now)) return this.#book.settled(st, 'in_sync', desired, null);
      needApi = true;
    } else {
      let verdict: ReturnType<typeof judgeDoh> | null = null;
      try {
        verdict = judgeDoh(await doh.resolve(rc.name, type, signal), desired, st, now);
      } catch (err) {
        if (signal?.aborted) throw err; // stopping: not a DoH problem
        this.#book.warnOnce(
          `doh:${key}`,
          provider
            ? `DoH lookup of ${rc.name} ${type} failed (${errorMessage(err)}); reading the record through the Cloudflare API instead. Check doh_url if this repeats.`
            : `DoH lookup of ${rc.name} ${type} failed (${errorMessage(err)}); without cloudflare_api_token there is no other way to observe it. Check doh_url.`,
          { record: rc.name, type, err: errorMessage(err) },
        );
        if (!provider)
          return this.#book.settled(st, 'error', st.content, `cannot observe: ${errorMessage(err)}`, result);
        needApi = true;
        dohFailed = true;
      }
      if (verdict) this.#book.recovered(`doh:${key}`, `DoH lookups of ${rc.name} ${type} work again.`);
      if (verdict?.kind === 'in_sync') return this.#book.settled(st, 'in_sync', desired, null);
      if (verdict?.kind === 'propagating') {
        st.status = 'updating';
        st.error = null;
        st.message = `written; resolvers may show the old address until ${new Date(verdict.until).toISOString()} (TTL)`;
        return null;
      }
      if (verdict?.kind === 'proxied') {
        st.proxied = true;
        if (apiCacheFresh(st, desired, now)) return this.#book.settled(st, 'in_sync', desired, null);
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
      return this.#book.dryRun(st, msg, result);
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
        this.#book.remember(st, plan.record, desired);
      } else {
        st.record_id = null;
        st.content = null;
      }
      if (plan.kind === 'in_sync') {
        this.#book.settled(st, 'in_sync', desired, null);
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
      noteRetryAt(result, deferred);
      result.summary.push(`${rc.name} ${type}: ${st.message}`);
      return null;
    }

    const zoneId = st.zone_id!;
    if (st.record_id) {
      const old = existing?.content ?? st.content;
      if (config.mode === 'dry-run') {
        result.changes++;
        return this.#book.dryRun(
          st,
          `would update ${type} ${rc.name} from ${old ?? 'unknown'} to ${desired}`,
          result,
        );
      }
      const patch: RecordPatch = { id: st.record_id, content: desired };
      if (config.ttl_explicit || rc.ttl !== undefined) patch.ttl = rc.ttl ?? config.ttl;
      const proxiedSetting = rc.proxied ?? config.proxied;
      if (proxiedSetting !== undefined) patch.proxied = proxiedSetting;
      this.#book.pending(st, `changing from ${old ?? 'unknown'} to ${desired}`);
      return { rc, type, key, desired, zoneId, op: { kind: 'patch', patch, old } };
    }
    if (!config.create_missing_records) {
      throw new RecordSetError(
        'DNS_RECORD_MISSING',
        `${type} record ${rc.name} does not exist and create_missing_records is off: create it in Cloudflare or turn the option on`,
      );
    }
    if (config.mode === 'dry-run') {
      result.changes++;
      return this.#book.dryRun(st, `would create ${type} ${rc.name} → ${desired}`, result);
    }
    const record: NewRecord = { name: rc.name, type, content: desired, ttl: rc.ttl ?? config.ttl };
    const proxiedSetting = rc.proxied ?? config.proxied;
    if (proxiedSetting !== undefined) record.proxied = proxiedSetting;
    this.#book.pending(st, `creating it with ${desired}`);
    return { rc, type, key, desired, zoneId, op: { kind: 'create', record } };
  }

  #fail(name: string, type: RecordType, err: unknown, desired: string, result: CycleResult): void {
    const write = this.#writer?.isWriteError(err) ?? false;
    this.#book.fail(name, type, err, desired, result, { write, aborted: this.#signal?.aborted === true });
  }
}
