/**
 * DnsProvider and DohResolver: the ports through which the reconciler reads and writes DNS. The
 * records, zones and answers they carry are the core's vocabulary (src/domain/dns.ts), re-exported
 * here for the adapters. Implementations do I/O and validation, never decide what to change.
 *
 * Every method throws CloudflareApiError (src/errors.ts) on failure, with `kind` telling how to
 * retry. While a 429 pause is running, every method throws `rate_limited` at once without a
 * network call.
 */
import type { DnsRecord, DohAnswer, NewRecord, RecordPatch, RecordType, Zone } from '../domain/dns.js';

export type { DnsRecord, DohAnswer, NewRecord, RecordPatch, RecordType, Zone } from '../domain/dns.js';

export interface BatchResult {
  patches: DnsRecord[];
  posts: DnsRecord[];
}

export interface DnsProvider {
  /** Every zone the token can see (all pages). */
  listZones(signal?: AbortSignal): Promise<Zone[]>;
  /** Records of the zone, all pages, optionally filtered by exact name and/or type. */
  listRecords(
    zoneId: string,
    filter?: { name?: string; type?: RecordType },
    signal?: AbortSignal,
  ): Promise<DnsRecord[]>;
  createRecord(zoneId: string, record: NewRecord, signal?: AbortSignal): Promise<DnsRecord>;
  patchRecord(zoneId: string, patch: RecordPatch, signal?: AbortSignal): Promise<DnsRecord>;
  deleteRecord(zoneId: string, recordId: string, signal?: AbortSignal): Promise<void>;
  /**
   * POST /zones/{id}/dns_records/batch, chunked at 200 operations per call. Results are in the
   * order given. A failing chunk throws; chunks before it have been applied.
   */
  batch(
    zoneId: string,
    ops: { patches: RecordPatch[]; posts: NewRecord[] },
    signal?: AbortSignal,
  ): Promise<BatchResult>;
}

/** DoH observation of what resolvers see. */
export interface DohResolver {
  /** Throws on transport failure, timeout or malformed response (never returns garbage). */
  resolve(name: string, type: RecordType, signal?: AbortSignal): Promise<DohAnswer>;
}
