/**
 * CloudflareClient: the DnsProvider over Cloudflare's API v4 (undici + zod). It only talks to
 * Cloudflare: authenticate, page through lists, validate every body, and turn every failure into
 * a CloudflareApiError whose `kind` tells the caller how to retry. It never decides what to change.
 * Beside it: schemas.ts (the wire format: zod schemas, request bodies, record conversion) and
 * failures.ts (status, API error codes and network failures → CloudflareApiError).
 *
 * Endpoints (API v4):
 * - zones:   GET  /zones?per_page=50&page=N                       (50 is the documented maximum)
 * - records: GET  /zones/{zone}/dns_records?per_page=5000&page=N&name.exact=&type=
 *            POST /zones/{zone}/dns_records, PATCH|DELETE /zones/{zone}/dns_records/{id}
 * - batch:   POST /zones/{zone}/dns_records/batch {patches, posts} — one database transaction per
 *            call (all or nothing), run by Cloudflare in the order deletes, patches, puts, posts;
 *            200 operations per call is the Free plan's limit, so every plan accepts our chunks.
 *
 * A 429 pauses the whole client: until `Retry-After` has passed on the injected clock, every call
 * throws `rate_limited` at once, without touching the network.
 */
import { type Dispatcher, request } from 'undici';
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import type { DnsRecord, NewRecord, RecordPatch, RecordType, Zone } from '../../domain/dns.js';
import type { CloudflareApiError } from '../../errors.js';
import { BodyTooLargeError, deadline, readTextCapped } from '../../http.js';
import type { Logger } from '../../log.js';
import { VERSION } from '../../version.js';
import type { BatchResult, DnsProvider } from '../dns-provider.js';
import {
  apiFailure,
  cancelledBefore,
  describeBody,
  type Headers,
  idSegment,
  malformed,
  networkFailure,
  type Operation,
  scrubAll,
  statusFailure,
  stillPaused,
} from './failures.js';
import {
  batchResultSchema,
  deleteResultSchema,
  describeIssues,
  envelopeSchema,
  expectRecord,
  matchPatches,
  matchPosts,
  normalizeDnsName,
  patchBody,
  postBody,
  type ResultInfo,
  recordSchema,
  showId,
  toRecord,
  zoneSchema,
} from './schemas.js';

export { DEFAULT_RETRY_AFTER_MS, parseRetryAfter } from './failures.js';
export { normalizeDnsName } from './schemas.js';

export interface CloudflareClientOptions {
  /** API base, e.g. https://api.cloudflare.com/client/v4 (cloudflare_api_url). */
  apiUrl: string;
  token: string;
  /** Transport for every request (tests pass loopback agents). Default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
  /** Deadline of each request, connect to last body byte (http_timeout_ms). */
  timeoutMs: number;
  /** Decides when a 429 pause is over. */
  clock: Clock;
  logger?: Logger;
}

/** Operations per batch call: the Free plan's limit (Pro and above allow 3,500). */
export const BATCH_CHUNK = 200;
/** Documented maxima of `per_page`. */
export const ZONES_PER_PAGE = 50;
export const RECORDS_PER_PAGE = 5000;
/** A body larger than this is not an answer we can use. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Stops a server whose result_info keeps growing from paging us forever. */
const MAX_PAGES = 10_000;

export const PERMISSION_ZONE_READ = 'Zone · Zone · Read';
export const PERMISSION_DNS_EDIT = 'Zone · DNS · Edit';

// --- the client -----------------------------------------------------------------------------------

interface Call<T> {
  op: Operation;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  result: z.ZodType<T>;
  signal: AbortSignal | undefined;
}

interface Answer<T> {
  result: T;
  resultInfo: ResultInfo | null;
}

export class CloudflareClient implements DnsProvider {
  readonly #base: string;
  readonly #token: string;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  #pausedUntil: number | null = null;

  constructor(options: CloudflareClientOptions) {
    this.#base = options.apiUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#dispatcher = options.dispatcher;
    this.#timeoutMs = options.timeoutMs;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** While a 429 pause runs, the clock time (ms) when calls resume; otherwise null. */
  get pausedUntil(): number | null {
    if (this.#pausedUntil !== null && this.#clock.now() >= this.#pausedUntil) this.#pausedUntil = null;
    return this.#pausedUntil;
  }

  async listZones(signal?: AbortSignal): Promise<Zone[]> {
    const op = { what: 'listing zones', permission: PERMISSION_ZONE_READ };
    const zones = await this.#paged(op, '/zones', {}, ZONES_PER_PAGE, zoneSchema, signal);
    return zones.map((z) => ({ id: z.id, name: normalizeDnsName(z.name) }));
  }

  async listRecords(
    zoneId: string,
    filter: { name?: string; type?: RecordType } = {},
    signal?: AbortSignal,
  ): Promise<DnsRecord[]> {
    const name = filter.name === undefined ? undefined : normalizeDnsName(filter.name);
    const query: Record<string, string> = {};
    if (name !== undefined) query['name.exact'] = name;
    if (filter.type !== undefined) query['type'] = filter.type;
    const which = [
      filter.type ?? 'A/AAAA',
      'records',
      name === undefined ? `of zone ${showId(zoneId)}` : `of ${name}`,
    ];
    const op = { what: `listing the ${which.join(' ')}`, permission: PERMISSION_DNS_EDIT };
    const raw = await this.#paged(
      op,
      `/zones/${idSegment(op, 'zone', zoneId)}/dns_records`,
      query,
      RECORDS_PER_PAGE,
      recordSchema,
      signal,
    );
    const out: DnsRecord[] = [];
    for (const r of raw) {
      const rec = toRecord(zoneId, r);
      if (!rec) continue; // another type (CNAME, TXT, MX…) in an unfiltered listing
      // The server filters; this guards against a proxy or API change that ignores the filter.
      if (name !== undefined && rec.name !== name) continue;
      if (filter.type !== undefined && rec.type !== filter.type) continue;
      out.push(rec);
    }
    return out;
  }

  async createRecord(zoneId: string, record: NewRecord, signal?: AbortSignal): Promise<DnsRecord> {
    const name = normalizeDnsName(record.name);
    const op = { what: `creating the ${record.type} record ${name}`, permission: PERMISSION_DNS_EDIT };
    const { result } = await this.#call({
      op,
      method: 'POST',
      path: `/zones/${idSegment(op, 'zone', zoneId)}/dns_records`,
      body: postBody(record),
      result: recordSchema,
      signal,
    });
    return expectRecord(zoneId, result, this.#malformed200(op));
  }

  async patchRecord(zoneId: string, patch: RecordPatch, signal?: AbortSignal): Promise<DnsRecord> {
    const op = { what: `updating DNS record ${showId(patch.id)}`, permission: PERMISSION_DNS_EDIT };
    const { id: _id, ...body } = patchBody(patch);
    const { result } = await this.#call({
      op,
      method: 'PATCH',
      path: `/zones/${idSegment(op, 'zone', zoneId)}/dns_records/${idSegment(op, 'record', patch.id)}`,
      body,
      result: recordSchema,
      signal,
    });
    return expectRecord(zoneId, result, this.#malformed200(op));
  }

  async deleteRecord(zoneId: string, recordId: string, signal?: AbortSignal): Promise<void> {
    const op = { what: `deleting DNS record ${showId(recordId)}`, permission: PERMISSION_DNS_EDIT };
    await this.#call({
      op,
      method: 'DELETE',
      path: `/zones/${idSegment(op, 'zone', zoneId)}/dns_records/${idSegment(op, 'record', recordId)}`,
      result: deleteResultSchema,
      signal,
    });
  }

  async batch(
    zoneId: string,
    ops: { patches: RecordPatch[]; posts: NewRecord[] },
    signal?: AbortSignal,
  ): Promise<BatchResult> {
    type Item = { kind: 'patch'; patch: RecordPatch } | { kind: 'post'; record: NewRecord };
    const items: Item[] = [
      ...ops.patches.map((patch): Item => ({ kind: 'patch', patch })),
      ...ops.posts.map((record): Item => ({ kind: 'post', record })),
    ];
    const out: BatchResult = { patches: [], posts: [] };
    const chunks = Math.ceil(items.length / BATCH_CHUNK);
    for (let c = 0; c < chunks; c++) {
      const chunk = items.slice(c * BATCH_CHUNK, (c + 1) * BATCH_CHUNK);
      const patches = chunk.flatMap((i) => (i.kind === 'patch' ? [i.patch] : []));
      const posts = chunk.flatMap((i) => (i.kind === 'post' ? [i.record] : []));
      const part =
        chunks > 1
          ? ` (call ${c + 1} of ${chunks}; the ${c * BATCH_CHUNK} changes before it were applied)`
          : '';
      const op = {
        what: `applying a batch of ${chunk.length} DNS record changes in zone ${showId(zoneId)}${c > 0 ? part : ''}`,
        permission: PERMISSION_DNS_EDIT,
      };
      for (const p of patches) idSegment(op, 'record', p.id); // not sent when one cannot be an id
      const body: Record<string, unknown> = {};
      if (patches.length > 0) body['patches'] = patches.map(patchBody);
      if (posts.length > 0) body['posts'] = posts.map(postBody);
      const { result } = await this.#call({
        op,
        method: 'POST',
        path: `/zones/${idSegment(op, 'zone', zoneId)}/dns_records/batch`,
        body,
        result: batchResultSchema,
        signal,
      });
      out.patches.push(...matchPatches(zoneId, patches, result.patches ?? [], this.#malformed200(op)));
      out.posts.push(...matchPosts(zoneId, posts, result.posts ?? [], this.#malformed200(op)));
    }
    return out;
  }

  // --- internals ----------------------------------------------------------------------------------

  async #paged<T>(
    op: Operation,
    path: string,
    query: Record<string, string>,
    perPage: number,
    item: z.ZodType<T>,
    signal: AbortSignal | undefined,
  ): Promise<T[]> {
    const all: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { result, resultInfo } = await this.#call({
        op,
        method: 'GET',
        path,
        query: { ...query, per_page: String(perPage), page: String(page) },
        result: z.array(item),
        signal,
      });
      all.push(...result);
      if (result.length === 0 || !resultInfo) break;
      const totalPages =
        resultInfo.total_pages ??
        (resultInfo.total_count !== undefined && resultInfo.per_page
          ? Math.ceil(resultInfo.total_count / resultInfo.per_page)
          : undefined);
      if (totalPages === undefined ? result.length < perPage : page >= totalPages) break;
    }
    return all;
  }

  async #call<T>(call: Call<T>): Promise<Answer<T>> {
    const { op, method } = call;
    const pausedUntil = this.pausedUntil;
    if (pausedUntil !== null) throw stillPaused(op, pausedUntil - this.#clock.now());
    if (call.signal?.aborted) throw cancelledBefore(op, call.signal.reason);

    const url = new URL(this.#base + call.path);
    for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
    const limit = deadline(this.#timeoutMs, call.signal);
    const { signal, timeout } = limit;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
      'user-agent': `ddns-watchdog/${VERSION}`,
    };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const started = this.#clock.now();

    let status = 0;
    let responseHeaders: Headers;
    let text: string;
    try {
      const res = await request(url, {
        method,
        headers,
        signal,
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
      });
      status = res.statusCode;
      responseHeaders = res.headers;
      text = await readTextCapped(res.body, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw malformed(op, status, err.message, this.#scrub);
      const how = {
        cancelled: call.signal?.aborted === true,
        cancelReason: call.signal?.reason,
        timedOut: timeout.aborted,
        timeoutMs: this.#timeoutMs,
      };
      throw networkFailure(op, err, how, this.#scrub);
    } finally {
      limit.dispose();
    }
    this.#logger?.debug(
      { method, path: url.pathname, status, ms: this.#clock.now() - started },
      `Cloudflare ${method} ${url.pathname} → ${status}`,
    );

    if (status < 200 || status > 299) {
      const err = statusFailure(op, status, responseHeaders, text, {
        now: this.#clock.now(),
        scrub: this.#scrub,
      });
      if (err.kind === 'rate_limited') this.#pause(op, err);
      throw err;
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw malformed(
        op,
        status,
        `the body is not JSON (${describeBody(text, responseHeaders)})`,
        this.#scrub,
      );
    }
    const envelope = envelopeSchema.safeParse(json);
    if (!envelope.success) throw malformed(op, status, describeIssues(envelope.error), this.#scrub);
    if (!envelope.data.success) {
      // A 2xx that says it failed: judge it by its error codes alone.
      const apiErrors = scrubAll(
        envelope.data.errors.map((e) => ({ code: e.code, message: e.message })),
        this.#scrub,
      );
      throw apiFailure(op, status, apiErrors, this.#scrub);
    }
    const result = call.result.safeParse(envelope.data.result);
    if (!result.success) throw malformed(op, status, describeIssues(result.error, 'result'), this.#scrub);
    return { result: result.data, resultInfo: envelope.data.result_info ?? null };
  }

  /** After a 429: no call at all until Retry-After has passed (concurrent 429s: the longest wins). */
  #pause(op: Operation, err: CloudflareApiError): void {
    const retryAfterMs = err.retryAfterMs ?? 0;
    this.#pausedUntil = Math.max(this.#pausedUntil ?? 0, this.#clock.now() + retryAfterMs);
    const seconds = Math.ceil(retryAfterMs / 1000);
    this.#logger?.warn(
      { retryAfterSeconds: seconds },
      `Cloudflare rate-limited this token (429) while ${op.what}: no API call for ${seconds} s`,
    );
  }

  /** A 2xx whose result does not fit what was asked. */
  #malformed200(op: Operation): (why: string) => CloudflareApiError {
    return (why) => malformed(op, 200, why, this.#scrub);
  }

  /** Belt and braces: no text we pass on may carry the token, whatever a server echoes. */
  readonly #scrub = (text: string): string =>
    this.#token.length >= 4 ? text.split(this.#token).join('[Redacted]') : text;
}
