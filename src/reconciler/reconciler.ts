/**
 * One reconciliation pass: detect the public IP → observe each record (DoH first, the API only
 * when needed) → decide (src/domain/dns-plan.ts) → write through the DnsProvider, batching per
 * zone → record the outcome in state and emit events. Never: timers, MQTT, HTTP servers.
 *
 * Every decision is the core's (src/domain/dns-plan.ts: what was seen means; dns-write.ts: what to
 * write; dns-failure.ts: what follows a failure): this service observes, asks, writes and records.
 * Its parts: src/dns/zone-cache.ts (zones and listings as the API showed them, and how recent),
 * public-ip.ts (detection recorded in state), record-book.ts (each record's status, failures and
 * their retry schedule, events), writer.ts (batches and single writes, delete on stop),
 * outage-log.ts (warnings once per outage), clock-jump.ts (a clock set back while running),
 * types.ts (what they share).
 */
import type { Clock, Random } from '../clock.js';
import type { RecordConfig } from '../config/schema.js';
import type { DnsProvider, DohResolver } from '../dns/dns-provider.js';
import { ZoneCache } from '../dns/zone-cache.js';
import type { DnsRecord, RecordState, RecordType } from '../domain/dns.js';
import {
  aggregateStatus,
  blockLifted,
  confirmedByApi,
  deferUntil,
  dohDownListingReuseMs,
  gate,
  planFromApi,
  planObservation,
  type Sighting,
} from '../domain/dns-plan.js';
import { planWithoutToken, planWrite } from '../domain/dns-write.js';
import { errorMessage, RecordSetError } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Detection, IpFamily } from '../ip/ip-source.js';
import type { Logger } from '../log.js';
import type { StateHolder } from '../state/holder.js';
import { recordKey } from '../state/schema.js';
import { settleClockJump } from './clock-jump.js';
import { OutageLog } from './outage-log.js';
import { detectPublicIp } from './public-ip.js';
import { RecordBook } from './record-book.js';
import { runLimited } from './run-limited.js';
import {
  type CycleResult,
  conflictError,
  noteRetryAt,
  type ReconcilerConfig,
  settingsOf,
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

export class Reconciler {
  readonly #d: ReconcilerDeps;
  /** Zones and record listings as read through the API (null without a token). */
  readonly #view: ZoneCache | null;
  readonly #book: RecordBook;
  /** Warnings logged once per outage (no verified IP, DoH down). */
  readonly #outages: OutageLog;
  /** Sends the writes (null without a token). */
  readonly #writer: Writer | null;
  /** The running cycle's signal (aborted when the agent stops). */
  #signal: AbortSignal | undefined;

  constructor(deps: ReconcilerDeps) {
    this.#d = deps;
    const { provider, config, state, logger } = deps;
    this.#view = provider ? new ZoneCache(provider, deps.clock) : null;
    this.#book = new RecordBook({ ...deps, view: this.#view });
    this.#outages = new OutageLog(deps);
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
    settleClockJump(state.state, clock.now(), logger); // a clock set back: nothing waits for it to catch up
    this.#book.prune(this.#families.map((f) => (f === 4 ? 'A' : 'AAAA')));
    if (options.reason === 'wan restored') this.#book.liftOutageBackoff();
    // A family no longer checked (ip_version narrowed since the last run) is not shown as public.
    if (!this.#families.includes(4)) state.state.public_ip.ipv4 = null;
    if (!this.#families.includes(6)) state.state.public_ip.ipv6 = null;

    this.#view?.newCycle();
    this.#signal = signal;
    const desiredByFamily = new Map<IpFamily, string>();
    const problems: string[] = [];
    const agreeing: string[] = [];
    for (const family of this.#families) {
      const detection = await detectPublicIp({ ...this.#d, outages: this.#outages }, family, signal);
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

  /**
   * One record: observe it (DoH, or the API when needed), ask the core what that means, and
   * return the write it needs, if any; its state records everything else.
   */
  async #examine(
    rc: RecordConfig,
    type: RecordType,
    desired: string,
    result: CycleResult,
    signal?: AbortSignal,
  ): Promise<WorkItem | null> {
    const { provider, clock, config } = this.#d;
    const key = recordKey(rc.name, type);
    const st = this.#book.get(rc.name, type);
    const now = clock.now();
    const blockKey = this.#book.blockKey(rc, desired);
    if (blockLifted(st, blockKey)) {
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

    const seen = planObservation(await this.#look(rc, type, st, signal), st, desired, now, provider !== null);
    if (seen.kind === 'in_sync') {
      if (seen.proxied) st.proxied = true;
      if (seen.lagOver && st.stale_answer != null) st.stale_answer = null;
      return this.#book.settled(st, 'in_sync', desired, null);
    }
    if (seen.kind === 'updating') {
      st.status = 'updating';
      st.error = null;
      st.message = seen.message;
      return null;
    }
    if (seen.kind === 'cannot_observe')
      return this.#book.settled(st, 'error', st.content, seen.error, result);
    if (seen.proxied) st.proxied = true;
    if (seen.disagrees) {
      // Not in sync from here on, whatever happens next (a stop may abandon the rest of the cycle).
      if (st.status !== 'error') st.status = 'out_of_sync';
      st.content = seen.disagrees.observed;
    }

    if (!provider) {
      // No token: we can only say what we would do.
      const dry = planWithoutToken({
        name: rc.name,
        type,
        desired,
        neededApi: seen.readApi,
        proxied: st.proxied === true,
        content: st.content,
      });
      if (dry.counts) result.changes++;
      return this.#book.dryRun(st, dry.message, result);
    }

    const existing = await this.#find(rc, type, st, desired, seen.readApi, seen.dohFailed === true, signal);
    if (existing === 'settled') {
      const confirmed = confirmedByApi(seen.disagrees);
      this.#book.settled(st, 'in_sync', desired, null);
      if (confirmed.status === 'updating') {
        st.status = confirmed.status;
        st.message = confirmed.message;
        st.stale_answer = confirmed.staleAnswer ?? null;
      }
      return null;
    }

    const deferred = deferUntil(st, now, config.min_update_interval_seconds * 1000, desired);
    if (deferred !== null) {
      st.status = 'out_of_sync';
      st.message = `change deferred until ${new Date(deferred).toISOString()} (min_update_interval_seconds)`;
      noteRetryAt(result, deferred);
      result.summary.push(`${rc.name} ${type}: ${st.message}`);
      return null;
    }

    const plan = planWrite({
      name: rc.name,
      type,
      desired,
      recordId: st.record_id,
      old: existing?.content ?? st.content,
      settings: settingsOf(rc, config),
      dryRun: config.mode === 'dry-run',
      createMissing: config.create_missing_records,
    });
    const zoneId = st.zone_id!;
    switch (plan.kind) {
      case 'dry_run':
        result.changes++;
        return this.#book.dryRun(st, plan.message, result);
      case 'not_creatable':
        throw new RecordSetError('DNS_RECORD_MISSING', plan.message);
      case 'patch':
        this.#book.pending(st, plan.pending);
        return { rc, type, key, desired, zoneId, op: { kind: 'patch', patch: plan.patch, old: plan.old } };
      case 'create':
        this.#book.pending(st, plan.pending);
        return { rc, type, key, desired, zoneId, op: { kind: 'create', record: plan.record } };
    }
  }

  /** Looks at the record before any API call: DoH for DNS-only records (a failure is reported once). */
  async #look(rc: RecordConfig, type: RecordType, st: RecordState, signal?: AbortSignal): Promise<Sighting> {
    const { provider, doh } = this.#d;
    const key = recordKey(rc.name, type);
    if ((rc.proxied ?? (st.proxied === true ? true : undefined)) === true) return { kind: 'proxied' };
    try {
      const answer = await doh.resolve(rc.name, type, signal);
      this.#outages.recovered(`doh:${key}`, `DoH lookups of ${rc.name} ${type} work again.`);
      return { kind: 'doh', answer };
    } catch (err) {
      if (signal?.aborted) throw err; // stopping: not a DoH problem
      this.#outages.warnOnce(
        `doh:${key}`,
        provider
          ? `DoH lookup of ${rc.name} ${type} failed (${errorMessage(err)}); reading the record through the Cloudflare API instead. Check doh_url if this repeats.`
          : `DoH lookup of ${rc.name} ${type} failed (${errorMessage(err)}); without cloudflare_api_token there is no other way to observe it. Check doh_url.`,
        { record: rc.name, type, err: errorMessage(err) },
      );
      return { kind: 'doh_failed', error: errorMessage(err) };
    }
  }

  /**
   * Finds the record at Cloudflare when the cached ids cannot be used as they are (`readApi`, no
   * id, another zone): the zone's listing, shared by the cycle's records. Returns the record the
   * API showed (null: none, or ids used unread), or `settled` when it already holds the desired
   * content. Throws a conflict when several records of the type exist.
   */
  async #find(
    rc: RecordConfig,
    type: RecordType,
    st: RecordState,
    desired: string,
    readApi: boolean,
    dohFailed: boolean,
    signal?: AbortSignal,
  ): Promise<DnsRecord | null | 'settled'> {
    const view = this.#view!;
    const configuredZone = rc.zone ?? this.#d.config.zone;
    let needApi = readApi;
    if (configuredZone && st.zone_id && st.zone_name !== configuredZone) {
      // The cached ids belong to another zone (the zone setting changed), or the state predates
      // zone names: compare with the configured zone (the zone list is cached for an hour).
      const zone = await view.zoneFor(rc.name, configuredZone, signal);
      if (zone.id !== st.zone_id) {
        st.zone_id = null;
        st.record_id = null;
        needApi = true;
      }
      st.zone_name = zone.name;
    }
    if (!needApi && st.record_id && st.zone_id) return null;
    let zoneId = st.zone_id;
    if (!zoneId) {
      const zone = await view.zoneFor(rc.name, configuredZone, signal);
      zoneId = zone.id;
      st.zone_name = zone.name;
    }
    // With DoH down, a listing read moments ago (another cycle's) stands in for the lookup.
    const reuseMs = dohFailed ? dohDownListingReuseMs(this.#d.config.interval_seconds) : 0;
    const records = (await view.records(zoneId, signal, reuseMs)).filter(
      (r) => r.name === rc.name && r.type === type,
    );
    st.zone_id = zoneId;
    const plan = planFromApi(records, desired);
    if (plan.kind === 'conflict') {
      st.record_id = null;
      throw conflictError(plan.count, rc.name, type);
    }
    if (plan.kind === 'create') {
      st.record_id = null;
      st.content = null;
      return null;
    }
    this.#book.remember(st, plan.record, desired);
    return plan.kind === 'in_sync' ? 'settled' : plan.record;
  }

  #fail(name: string, type: RecordType, err: unknown, desired: string, result: CycleResult): void {
    const write = this.#writer?.isWriteError(err) ?? false;
    this.#book.fail(name, type, err, desired, result, { write, aborted: this.#signal?.aborted === true });
  }
}
