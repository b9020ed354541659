/**
 * DnsProvider: the only way the reconciler talks to the authoritative DNS API (Cloudflare).
 * Implementations do I/O and validation, never decide what to change.
 *
 * Every method throws CloudflareApiError (src/errors.ts) on failure, with `kind` telling how to
 * retry. While a 429 pause is running, every method throws `rate_limited` at once without a
 * network call.
 */
export type RecordType = 'A' | 'AAAA';

export interface Zone {
  id: string;
  /** Lower-case, punycode, no trailing dot. */
  name: string;
}

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
export type DohAnswer =
  | { kind: 'answer'; addresses: string[]; ttl: number }
  | { kind: 'nxdomain' }
  | { kind: 'nodata' };

export interface DohResolver {
  /** Throws on transport failure, timeout or malformed response (never returns garbage). */
  resolve(name: string, type: RecordType, signal?: AbortSignal): Promise<DohAnswer>;
}
