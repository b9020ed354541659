/**
 * CloudflareClient: the DnsProvider over Cloudflare's API v4 (undici + zod). It only talks to
 * Cloudflare: authenticate, page through lists, validate every body, and turn every failure into
 * a CloudflareApiError whose `kind` tells the caller how to retry. It never decides what to change.
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
import {
  CloudflareApiError,
  type CloudflareFailureKind,
  type CloudflareMessage,
  errorMessage,
} from '../../errors.js';
import { BodyTooLargeError, deadline, errorCode, readTextCapped } from '../../http.js';
import type { Logger } from '../../log.js';
import { VERSION } from '../../version.js';
import type {
  BatchResult,
  DnsProvider,
  DnsRecord,
  NewRecord,
  RecordPatch,
  RecordType,
  Zone,
} from '../dns-provider.js';

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
/** Pause after a 429 without a usable Retry-After: Cloudflare blocks every call for five minutes. */
export const DEFAULT_RETRY_AFTER_MS = 300_000;
const MAX_RETRY_AFTER_MS = 86_400_000;
/** A body larger than this is not an answer we can use. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Stops a server whose result_info keeps growing from paging us forever. */
const MAX_PAGES = 10_000;

export const PERMISSION_ZONE_READ = 'Zone · Zone · Read';
export const PERMISSION_DNS_EDIT = 'Zone · DNS · Edit';

/** Lower case, no trailing dot: how record and zone names are compared everywhere. */
export function normalizeDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

// --- response schemas -----------------------------------------------------------------------------

const apiMessageSchema = z.looseObject({ code: z.number(), message: z.string() });

const resultInfoSchema = z.looseObject({
  page: z.number().optional(),
  per_page: z.number().optional(),
  count: z.number().optional(),
  total_count: z.number().optional(),
  total_pages: z.number().optional(),
});

const envelopeSchema = z.looseObject({
  success: z.boolean(),
  errors: z.array(apiMessageSchema),
  messages: z.array(z.unknown()).optional(),
  result: z.unknown(),
  result_info: resultInfoSchema.nullish(),
});

/** What we read of an error body: as lenient as possible, it only decorates the status. */
const errorBodySchema = z.looseObject({
  errors: z
    .array(z.looseObject({ code: z.number().optional(), message: z.string().optional() }))
    .nullish()
    .catch(null),
});

const zoneSchema = z.looseObject({ id: z.string().min(1), name: z.string().min(1) });

/**
 * A record of any type. A and AAAA records must carry what we use (content, proxied, ttl); other
 * types appear in unfiltered listings and are skipped, so their shape is not our business.
 */
const recordSchema = z
  .looseObject({
    id: z.string().min(1),
    name: z.string().min(1),
    type: z.string().min(1),
    content: z.string().optional(),
    proxied: z.boolean().optional(),
    ttl: z.number().optional(),
    comment: z.string().nullish(),
    tags: z.array(z.string()).nullish(),
  })
  .superRefine((r, ctx) => {
    if (r.type !== 'A' && r.type !== 'AAAA') return;
    for (const key of ['content', 'proxied', 'ttl'] as const) {
      if (r[key] === undefined)
        ctx.addIssue({ code: 'custom', path: [key], message: `missing on an ${r.type} record` });
    }
  });
type RawRecord = z.infer<typeof recordSchema>;

const deleteResultSchema = z.looseObject({ id: z.string().min(1) });

const batchResultSchema = z.looseObject({
  deletes: z.array(recordSchema).nullish(),
  patches: z.array(recordSchema).nullish(),
  puts: z.array(recordSchema).nullish(),
  posts: z.array(recordSchema).nullish(),
});

// --- the client -----------------------------------------------------------------------------------

/** Which call failed, in words, and which token permission it needs. */
interface Operation {
  what: string;
  permission: string;
}

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
  resultInfo: z.infer<typeof resultInfoSchema> | null;
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
      name === undefined ? `of zone ${zoneId}` : `of ${name}`,
    ];
    const op = { what: `listing the ${which.join(' ')}`, permission: PERMISSION_DNS_EDIT };
    const raw = await this.#paged(
      op,
      `/zones/${enc(zoneId)}/dns_records`,
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
      path: `/zones/${enc(zoneId)}/dns_records`,
      body: postBody(record),
      result: recordSchema,
      signal,
    });
    return this.#expectRecord(op, zoneId, result);
  }

  async patchRecord(zoneId: string, patch: RecordPatch, signal?: AbortSignal): Promise<DnsRecord> {
    const op = { what: `updating DNS record ${patch.id}`, permission: PERMISSION_DNS_EDIT };
    const { id: _id, ...body } = patchBody(patch);
    const { result } = await this.#call({
      op,
      method: 'PATCH',
      path: `/zones/${enc(zoneId)}/dns_records/${enc(patch.id)}`,
      body,
      result: recordSchema,
      signal,
    });
    return this.#expectRecord(op, zoneId, result);
  }

  async deleteRecord(zoneId: string, recordId: string, signal?: AbortSignal): Promise<void> {
    const op = { what: `deleting DNS record ${recordId}`, permission: PERMISSION_DNS_EDIT };
    await this.#call({
      op,
      method: 'DELETE',
      path: `/zones/${enc(zoneId)}/dns_records/${enc(recordId)}`,
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
        what: `applying a batch of ${chunk.length} DNS record changes in zone ${zoneId}${c > 0 ? part : ''}`,
        permission: PERMISSION_DNS_EDIT,
      };
      const body: Record<string, unknown> = {};
      if (patches.length > 0) body['patches'] = patches.map(patchBody);
      if (posts.length > 0) body['posts'] = posts.map(postBody);
      const { result } = await this.#call({
        op,
        method: 'POST',
        path: `/zones/${enc(zoneId)}/dns_records/batch`,
        body,
        result: batchResultSchema,
        signal,
      });
      out.patches.push(...this.#matchPatches(op, zoneId, patches, result.patches ?? []));
      out.posts.push(...this.#matchPosts(op, zoneId, posts, result.posts ?? []));
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
    if (pausedUntil !== null) {
      const left = pausedUntil - this.#clock.now();
      throw new CloudflareApiError(
        'rate_limited',
        `Cloudflare's rate limit is still in force for ${Math.ceil(left / 1000)} s: not ${op.what} until then`,
        { retryAfterMs: left },
      );
    }
    if (call.signal?.aborted) {
      throw new CloudflareApiError('transient', `Cancelled before ${op.what}`, { cause: call.signal.reason });
    }

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
    let responseHeaders: Record<string, string | string[] | undefined>;
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
      if (err instanceof BodyTooLargeError) throw this.#malformed(op, status, err.message);
      throw this.#networkError(op, err, call.signal, timeout);
    } finally {
      limit.dispose();
    }
    this.#logger?.debug(
      { method, path: url.pathname, status, ms: this.#clock.now() - started },
      `Cloudflare ${method} ${url.pathname} → ${status}`,
    );

    if (status < 200 || status > 299) throw this.#statusError(op, status, responseHeaders, text);

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.#malformed(op, status, `the body is not JSON (${describeBody(text, responseHeaders)})`);
    }
    const envelope = envelopeSchema.safeParse(json);
    if (!envelope.success) throw this.#malformed(op, status, describeIssues(envelope.error));
    if (!envelope.data.success) {
      // A 2xx that says it failed: judge it by its error codes alone.
      const apiErrors = this.#scrubAll(
        envelope.data.errors.map((e) => ({ code: e.code, message: e.message })),
      );
      throw this.#apiError(op, status, apiErrors);
    }
    const result = call.result.safeParse(envelope.data.result);
    if (!result.success) throw this.#malformed(op, status, describeIssues(result.error, 'result'));
    return { result: result.data, resultInfo: envelope.data.result_info ?? null };
  }

  #expectRecord(op: Operation, zoneId: string, raw: RawRecord): DnsRecord {
    const rec = toRecord(zoneId, raw);
    if (!rec) throw this.#malformed(op, 200, `the result is a ${raw.type} record, not an A or AAAA record`);
    return rec;
  }

  #matchPatches(op: Operation, zoneId: string, sent: RecordPatch[], got: RawRecord[]): DnsRecord[] {
    const byId = new Map(got.map((r) => [r.id, r]));
    return sent.map((p) => {
      const raw = byId.get(p.id);
      if (!raw) throw this.#malformed(op, 200, `the batch result has no record ${p.id} among its patches`);
      return this.#expectRecord(op, zoneId, raw);
    });
  }

  #matchPosts(op: Operation, zoneId: string, sent: NewRecord[], got: RawRecord[]): DnsRecord[] {
    if (got.length !== sent.length) {
      throw this.#malformed(op, 200, `the batch created ${got.length} records for ${sent.length} posts`);
    }
    const left = [...got];
    return sent.map((p) => {
      const name = normalizeDnsName(p.name);
      // Results come in the order sent; match by name and type anyway rather than trust it blindly.
      const i = left.findIndex((r) => normalizeDnsName(r.name) === name && r.type === p.type);
      if (i < 0)
        throw this.#malformed(op, 200, `the batch result has no ${p.type} record ${name} among its posts`);
      const [raw] = left.splice(i, 1);
      return this.#expectRecord(op, zoneId, raw!);
    });
  }

  #networkError(
    op: Operation,
    err: unknown,
    callerSignal: AbortSignal | undefined,
    timeout: AbortSignal,
  ): CloudflareApiError {
    if (callerSignal?.aborted) {
      return new CloudflareApiError('transient', `Cancelled while ${op.what}`, {
        cause: callerSignal.reason,
      });
    }
    if (timeout.aborted) {
      return new CloudflareApiError(
        'transient',
        `Cloudflare did not answer within ${this.#timeoutMs} ms while ${op.what}; check the network or raise http_timeout_ms`,
        { cause: err },
      );
    }
    const code = errorCode(err);
    if (code === 'UND_ERR_INVALID_ARG') {
      return new CloudflareApiError(
        'client',
        `Could not send the request while ${op.what}: ${this.#scrub(errorMessage(err))}`,
        {
          cause: err,
        },
      );
    }
    const detail = code ? `${code}: ${this.#scrub(errorMessage(err))}` : this.#scrub(errorMessage(err));
    return new CloudflareApiError(
      'transient',
      `Could not reach Cloudflare while ${op.what} (${detail}); check the network and cloudflare_api_url`,
      { cause: err },
    );
  }

  #statusError(
    op: Operation,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ): CloudflareApiError {
    const apiErrors = this.#scrubAll(parseErrorBody(text));
    const said = this.#apiSaid(apiErrors);
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'), this.#clock.now());
      // Concurrent calls may each be answered 429: the longest pause wins.
      this.#pausedUntil = Math.max(this.#pausedUntil ?? 0, this.#clock.now() + retryAfterMs);
      const seconds = Math.ceil(retryAfterMs / 1000);
      this.#logger?.warn(
        { retryAfterSeconds: seconds },
        `Cloudflare rate-limited this token (429) while ${op.what}: no API call for ${seconds} s`,
      );
      return new CloudflareApiError(
        'rate_limited',
        `Cloudflare rate-limited this token (429) while ${op.what}: pausing every API call for ${seconds} s${said}`,
        { status, apiErrors, retryAfterMs },
      );
    }
    if (status === 401 || status === 403) {
      const fix =
        status === 401
          ? `check that the API token is valid and not expired, and that it has the ${op.permission} permission for this zone`
          : `give the API token the ${op.permission} permission for this zone`;
      return new CloudflareApiError(
        'auth',
        `Cloudflare refused the token (${status}) while ${op.what}: ${fix}${said}`,
        {
          status,
          apiErrors,
        },
      );
    }
    if (status >= 400 && status < 500) return this.#apiError(op, status, apiErrors);
    if (status >= 500) {
      return new CloudflareApiError(
        'transient',
        `Cloudflare had a server error (HTTP ${status}) while ${op.what}; this is usually temporary${said}`,
        { status, apiErrors },
      );
    }
    // 1xx/3xx: undici follows no redirects, and the API never sends one.
    const location = headerValue(headers, 'location');
    return new CloudflareApiError(
      'client',
      `Cloudflare answered HTTP ${status} while ${op.what}${location ? ` (redirect to ${location})` : ''}; check cloudflare_api_url`,
      { status, apiErrors },
    );
  }

  /** A 4xx (or a 2xx with success:false), judged by the API's error codes first. */
  #apiError(op: Operation, status: number, apiErrors: CloudflareMessage[]): CloudflareApiError {
    const codes = new Set(apiErrors.map((e) => e.code));
    const said = this.#apiSaid(apiErrors);
    let kind: CloudflareFailureKind = 'client';
    let message = `Cloudflare rejected the request (${status}) while ${op.what}${said || ' (no reason given)'}`;
    if (codes.has(81057) || codes.has(81058)) {
      kind = 'already_exists';
      message = `Cloudflare says the record already exists while ${op.what}${said}`;
    } else if (codes.has(81044) || status === 404) {
      kind = 'not_found';
      message = `Cloudflare says it does not exist (${status}) while ${op.what}${said}`;
    }
    return new CloudflareApiError(kind, message, { status, apiErrors });
  }

  #malformed(op: Operation, status: number, why: string): CloudflareApiError {
    return new CloudflareApiError(
      'malformed',
      `Cloudflare's answer (HTTP ${status}) while ${op.what} is not what the API documents: ${this.#scrub(why)}. A proxy may be in the way; check cloudflare_api_url`,
      { status },
    );
  }

  #apiSaid(apiErrors: readonly CloudflareMessage[]): string {
    if (apiErrors.length === 0) return '';
    return `: ${apiErrors.map((e) => `${this.#scrub(e.message)} (code ${e.code})`).join('; ')}`;
  }

  #scrubAll(messages: CloudflareMessage[]): CloudflareMessage[] {
    return messages.map((m) => ({ code: m.code, message: this.#scrub(m.message) }));
  }

  /** Belt and braces: no text we pass on may carry the token, whatever a server echoes. */
  #scrub(text: string): string {
    return this.#token.length >= 4 ? text.split(this.#token).join('[Redacted]') : text;
  }
}

// --- helpers --------------------------------------------------------------------------------------

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function toRecord(zoneId: string, r: RawRecord): DnsRecord | null {
  if (r.type !== 'A' && r.type !== 'AAAA') return null;
  return {
    id: r.id,
    zoneId,
    name: normalizeDnsName(r.name),
    type: r.type,
    content: r.content ?? '',
    proxied: r.proxied ?? false,
    ttl: r.ttl ?? 1,
    comment: r.comment ?? null,
    tags: r.tags ?? [],
  };
}

function postBody(record: NewRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type: record.type,
    name: normalizeDnsName(record.name),
    content: record.content,
    ttl: record.ttl,
  };
  if (record.proxied !== undefined) body['proxied'] = record.proxied;
  return body;
}

/** Only what the patch names: content, plus ttl/proxied when the user set them. */
function patchBody(patch: RecordPatch): Record<string, unknown> & { id: string } {
  const body: Record<string, unknown> & { id: string } = { id: patch.id, content: patch.content };
  if (patch.ttl !== undefined) body['ttl'] = patch.ttl;
  if (patch.proxied !== undefined) body['proxied'] = patch.proxied;
  return body;
}

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`. Absent or
 * unusable → 300 s; kept within 1 s .. 24 h so a bogus value can neither hammer nor block forever.
 */
export function parseRetryAfter(value: string | undefined, now: number): number {
  if (value === undefined) return DEFAULT_RETRY_AFTER_MS;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else if (/^\d+\.\d+$/.test(v)) ms = Math.ceil(Number(v) * 1000);
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at) || !/[a-z]/i.test(v)) return DEFAULT_RETRY_AFTER_MS;
    ms = at - now;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(1000, ms));
}

function parseErrorBody(text: string): CloudflareMessage[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [];
  }
  const parsed = errorBodySchema.safeParse(json);
  if (!parsed.success || !parsed.data.errors) return [];
  return parsed.data.errors.map((e) => ({ code: e.code ?? 0, message: e.message ?? 'no message' }));
}

function describeBody(text: string, headers: Record<string, string | string[] | undefined>): string {
  const type = headerValue(headers, 'content-type');
  if (text.trim() === '') return 'it is empty';
  if (/^\s*</.test(text)) return `it looks like an HTML page${type ? `, ${type}` : ''}`;
  return `${text.length} bytes${type ? ` of ${type}` : ''}`;
}

function describeIssues(error: z.ZodError, prefix?: string): string {
  return error.issues
    .slice(0, 3)
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== undefined).join('.');
      return `${path || 'body'}: ${i.message}`;
    })
    .join('; ');
}
