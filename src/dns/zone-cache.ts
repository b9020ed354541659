/**
 * ZoneCache: the zone and record-id cache in front of a DnsProvider. It owns
 * - the zone list (every zone the token can see), cached for an hour and loaded once even when
 *   many records ask at the same moment;
 * - each zone's record listing: shared by every record of one cycle (one listing per zone per
 *   cycle), and kept afterwards with its time so a cycle whose DoH lookup failed can reuse a
 *   listing read moments ago instead of listing the zone again;
 * - our own writes, applied to the kept listing so it never makes us write a change twice.
 * It only reads and remembers: which zone holds a record is decided by `pickZone` (core), what to
 * write by the reconciler. Record ids themselves persist in the state file (`zone_id`,
 * `record_id`); this cache is in memory only.
 */
import type { Clock } from '../clock.js';
import type { DnsRecord, Zone } from '../domain/dns.js';
import { HOUR_MS, pickZone } from '../domain/dns-plan.js';
import { ZoneNotFoundError } from '../errors.js';
import type { DnsProvider } from './dns-provider.js';

const ZONE_CACHE_MS = HOUR_MS;

export class ZoneCache {
  readonly #provider: DnsProvider;
  readonly #clock: Clock;
  #zones: { at: number; zones: Zone[] } | null = null;
  #zonesLoading: Promise<Zone[]> | null = null;
  /** This cycle's listing per zone (shared by every record that needs one). */
  readonly #listings = new Map<string, Promise<DnsRecord[]>>();
  /** The last successful listing per zone, with when it was asked for. */
  readonly #recent = new Map<string, { at: number; records: DnsRecord[] }>();

  constructor(provider: DnsProvider, clock: Clock) {
    this.#provider = provider;
    this.#clock = clock;
  }

  /** A new cycle: listings are read afresh unless a caller accepts an older one. */
  newCycle(): void {
    this.#listings.clear();
  }

  /** Forgets every zone and listing (an id turned out to be gone). */
  forget(): void {
    this.#zones = null;
    this.#recent.clear();
  }

  /**
   * The zone's A/AAAA records: this cycle's listing, or a listing at most `reuseMs` old, or a new
   * listing. A failed listing is not reused: the next record asks again (and meets the same pause
   * or backoff).
   */
  records(zoneId: string, signal?: AbortSignal, reuseMs = 0): Promise<DnsRecord[]> {
    const current = this.#listings.get(zoneId);
    if (current) return current;
    const now = this.#clock.now();
    const recent = this.#recent.get(zoneId);
    if (recent && reuseMs > 0 && now - recent.at < reuseMs) return Promise.resolve(recent.records);
    const listing = this.#provider.listRecords(zoneId, {}, signal);
    this.#listings.set(zoneId, listing);
    listing.then(
      (records) => this.#recent.set(zoneId, { at: now, records: [...records] }),
      () => this.#listings.delete(zoneId),
    );
    return listing;
  }

  /** Our write succeeded: the kept listing shows the record as Cloudflare now holds it. */
  written(zoneId: string, record: DnsRecord | undefined): void {
    const recent = this.#recent.get(zoneId);
    if (!recent) return;
    if (!record) {
      this.#recent.delete(zoneId);
      return;
    }
    const others = recent.records.filter((r) => r.id !== record.id);
    this.#recent.set(zoneId, { at: recent.at, records: [...others, record] });
  }

  /** The zone that holds the record: the configured one, else the longest visible suffix. */
  async zoneFor(name: string, want: string | undefined, signal?: AbortSignal): Promise<Zone> {
    const now = this.#clock.now();
    if (this.#zones && now - this.#zones.at < ZONE_CACHE_MS) {
      const hit = pickZone(this.#zones.zones, name, want);
      if (hit) return hit;
    }
    this.#zonesLoading ??= this.#provider.listZones(signal).finally(() => {
      this.#zonesLoading = null;
    });
    const zones = await this.#zonesLoading;
    this.#zones = { at: now, zones };
    const hit = pickZone(zones, name, want);
    if (hit) return hit;
    throw new ZoneNotFoundError(
      want
        ? `the zone ${want} is not visible to the API token: add it to the token's Zone Resources (Zone · Zone · Read, Zone · DNS · Edit) or fix zone`
        : `no zone visible to the API token contains ${name}: add the zone to the token's Zone Resources or set zone`,
    );
  }
}
