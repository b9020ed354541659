/**
 * How a failed Cloudflare call becomes a CloudflareApiError (src/errors.ts): the HTTP status and
 * the API's error codes mapped to a failure kind, with a message that names the operation, the
 * permission it needs and the API's own words. No I/O; `scrub` removes the token from any text a
 * server echoes.
 *
 * 429 → rate_limited (Retry-After, 300 s without) · 401/403 → auth, naming the permission ·
 * 81057/81058 → already_exists · 81044 or 404 → not_found · other 4xx → client · 5xx → transient ·
 * network failure or timeout → transient (an invalid request argument → client) · a body that
 * is not the documented shape → malformed · 1xx/3xx → client (check cloudflare_api_url), the
 * redirect shown as scheme, host and path only · a cached id that cannot be one → not_found, unsent.
 */

import { MAX_RETRY_WAIT_MS } from '../../domain/dns-failure.js';
import {
  CloudflareApiError,
  type CloudflareFailureKind,
  type CloudflareMessage,
  errorMessage,
} from '../../errors.js';
import { errorCode } from '../../http.js';
import { MASK, splitUrlText } from '../../redact.js';
import { errorBodySchema, isCloudflareId, showId } from './schemas.js';

/** Which call failed, in words, and which token permission it needs. */
export interface Operation {
  what: string;
  permission: string;
}

export type Headers = Record<string, string | string[] | undefined>;

/** Removes the token from a text a server sent back. */
export type Scrub = (text: string) => string;

/** Pause after a 429 without a usable Retry-After: Cloudflare blocks every call for five minutes. */
export const DEFAULT_RETRY_AFTER_MS = 300_000;
/** The longest Retry-After honoured: the core's longest wait for a record. */
const MAX_RETRY_AFTER_MS = MAX_RETRY_WAIT_MS;

/** Calls are refused without a request while an earlier 429's pause runs. */
export function stillPaused(op: Operation, leftMs: number): CloudflareApiError {
  return new CloudflareApiError(
    'rate_limited',
    `Cloudflare's rate limit is still in force for ${Math.ceil(leftMs / 1000)} s: not ${op.what} until then`,
    { retryAfterMs: leftMs },
  );
}

/**
 * An id as a request path segment. An id no Cloudflare object can have (isCloudflareId: a lone
 * surrogate, on which encodeURIComponent throws URIError; `..`, which a URL resolves to another
 * endpoint), e.g. from a hand-edited state file, is never sent: it throws `not_found`, so the
 * caller drops its cached ids and finds the record afresh.
 */
export function idSegment(op: Operation, which: 'zone' | 'record', id: string): string {
  if (isCloudflareId(id)) return encodeURIComponent(id);
  throw new CloudflareApiError(
    'not_found',
    `Not ${op.what}: the cached ${which} id ${showId(id)} cannot be a Cloudflare id, so it was not sent; it is dropped and the ${which} looked up again`,
  );
}

export function cancelledBefore(op: Operation, reason: unknown): CloudflareApiError {
  return new CloudflareApiError('transient', `Cancelled before ${op.what}`, { cause: reason });
}

/** The request did not complete: cancelled by the caller, timed out, or the network failed. */
export function networkFailure(
  op: Operation,
  err: unknown,
  how: { cancelled: boolean; cancelReason?: unknown; timedOut: boolean; timeoutMs: number },
  scrub: Scrub,
): CloudflareApiError {
  if (how.cancelled) {
    return new CloudflareApiError('transient', `Cancelled while ${op.what}`, { cause: how.cancelReason });
  }
  if (how.timedOut) {
    return new CloudflareApiError(
      'transient',
      `Cloudflare did not answer within ${how.timeoutMs} ms while ${op.what}; check the network or raise http_timeout_ms`,
      { cause: err },
    );
  }
  const code = errorCode(err);
  if (code === 'UND_ERR_INVALID_ARG') {
    return new CloudflareApiError(
      'client',
      `Could not send the request while ${op.what}: ${scrub(errorMessage(err))}`,
      { cause: err },
    );
  }
  const detail = code ? `${code}: ${scrub(errorMessage(err))}` : scrub(errorMessage(err));
  return new CloudflareApiError(
    'transient',
    `Could not reach Cloudflare while ${op.what} (${detail}); check the network and cloudflare_api_url`,
    { cause: err },
  );
}

/** A non-2xx answer. A 429's `retryAfterMs` is how long every call must now pause. */
export function statusFailure(
  op: Operation,
  status: number,
  headers: Headers,
  text: string,
  ctx: { now: number; scrub: Scrub },
): CloudflareApiError {
  const apiErrors = scrubAll(parseErrorBody(text), ctx.scrub);
  const said = apiSaid(apiErrors, ctx.scrub);
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headerValue(headers, 'retry-after'), ctx.now);
    const seconds = Math.ceil(retryAfterMs / 1000);
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
  if (status >= 400 && status < 500) return apiFailure(op, status, apiErrors, ctx.scrub);
  if (status >= 500) {
    return new CloudflareApiError(
      'transient',
      `Cloudflare had a server error (HTTP ${status}) while ${op.what}; this is usually temporary${said}`,
      { status, apiErrors },
    );
  }
  // 1xx/3xx: undici follows no redirects, and the API never sends one.
  const location = headerValue(headers, 'location');
  const shown = location ? showLocation(location, ctx.scrub) : '';
  return new CloudflareApiError(
    'client',
    `Cloudflare answered HTTP ${status} while ${op.what}${shown ? ` (redirect to ${shown})` : ''}; check cloudflare_api_url`,
    { status, apiErrors },
  );
}

/** Longest redirect target shown in a message. */
const MAX_LOCATION_SHOWN = 120;

/**
 * A redirect's target as a message may show it: scheme, host and path only. User info, query and
 * fragment (where a proxy or a captive portal puts tokens) are never shown, nor the API token
 * anywhere in it; a text that cannot be read safely keeps only its scheme (src/redact.ts).
 */
export function showLocation(location: string, scrub: Scrub): string {
  const p = splitUrlText(location.trim());
  const shown = p.ambiguous
    ? `${p.scheme}${MASK}`
    : `${p.scheme}${p.userInfo ? `${MASK}@` : ''}${p.host}${p.path}${p.tail ? `${p.tail}${MASK}` : ''}`;
  const safe = scrub(shown).replace(/\p{Cc}/gu, ' ');
  return safe.length > MAX_LOCATION_SHOWN ? `${safe.slice(0, MAX_LOCATION_SHOWN)}…` : safe;
}

/** A 4xx (or a 2xx with success:false), judged by the API's error codes first. */
export function apiFailure(
  op: Operation,
  status: number,
  apiErrors: CloudflareMessage[],
  scrub: Scrub,
): CloudflareApiError {
  const codes = new Set(apiErrors.map((e) => e.code));
  const said = apiSaid(apiErrors, scrub);
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

export function malformed(op: Operation, status: number, why: string, scrub: Scrub): CloudflareApiError {
  return new CloudflareApiError(
    'malformed',
    `Cloudflare's answer (HTTP ${status}) while ${op.what} is not what the API documents: ${scrub(why)}. A proxy may be in the way; check cloudflare_api_url`,
    { status },
  );
}

export function scrubAll(messages: CloudflareMessage[], scrub: Scrub): CloudflareMessage[] {
  return messages.map((m) => ({ code: m.code, message: scrub(m.message) }));
}

function apiSaid(apiErrors: readonly CloudflareMessage[], scrub: Scrub): string {
  if (apiErrors.length === 0) return '';
  return `: ${apiErrors.map((e) => `${scrub(e.message)} (code ${e.code})`).join('; ')}`;
}

export function headerValue(headers: Headers, name: string): string | undefined {
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

/** A body that is not JSON, in words (empty, an HTML page, n bytes of some type). */
export function describeBody(text: string, headers: Headers): string {
  const type = headerValue(headers, 'content-type');
  if (text.trim() === '') return 'it is empty';
  if (/^\s*</.test(text)) return `it looks like an HTML page${type ? `, ${type}` : ''}`;
  return `${text.length} bytes${type ? ` of ${type}` : ''}`;
}
