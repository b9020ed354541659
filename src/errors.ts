/**
 * One error hierarchy for the whole agent. Every error the agent throws on purpose is an
 * `AppError` whose `code` is one of a closed set (`ErrorCode`), so callers switch on it and the
 * compiler notices a code nobody handles. The message is written for the user (what happened,
 * what to do). Nothing here logs. Every code is listed, with what the agent does about it, in
 * docs/errors.md.
 */

/** Why a Cloudflare API call failed, which decides how it is retried. */
export type CloudflareFailureKind =
  | 'rate_limited' // 429: every call pauses for retryAfterMs
  | 'auth' // 401/403: the token lacks a permission; retried every 10 min
  | 'zone_not_found' // no zone visible to the token holds the record; retried every 10 min
  | 'transient' // 5xx, timeout, reset: exponential backoff per record
  | 'client' // other 4xx: the API's own message; a refused write is not retried until IP or config changes
  | 'not_found' // 404 / record gone (81044): re-list
  | 'already_exists' // 81057/81058 on create: re-list and treat as satisfied
  | 'malformed'; // a response that does not match the API's schema

export type CloudflareErrorCode = `CLOUDFLARE_${Uppercase<CloudflareFailureKind>}`;

/** The records of a name are in a state only the user can fix (the agent changes nothing). */
export type RecordSetErrorCode =
  | 'DNS_RECORD_CONFLICT' // several records of one type for the name (a round-robin set)
  | 'DNS_RECORD_MISSING'; // no record, and create_missing_records is off

export type PlugErrorCode = 'PLUG_UNREACHABLE' | 'PLUG_REFUSED' | 'PLUG_TIMEOUT' | 'PLUG_BAD_ANSWER';

/** Every code an AppError can carry. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'HTTP_TIMEOUT'
  | 'HTTP_LISTEN'
  | 'PAGE_ASSETS_MISSING'
  | CloudflareErrorCode
  | RecordSetErrorCode
  | 'DOH_FAILED'
  | 'STATE_IO'
  | PlugErrorCode
  | 'SUPERVISOR_AUTH'
  | 'SUPERVISOR_HTTP'
  | 'SUPERVISOR_MALFORMED'
  | 'SUPERVISOR_UNREACHABLE'
  | 'BROKER_BIND'
  | 'BROKER_PORT_IN_USE';

export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The configuration is invalid. `problems` holds one line per problem (key, fault, fix). */
export class ConfigError extends AppError<'CONFIG_INVALID'> {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', problems.join('\n'));
    this.problems = problems;
  }
}

/** An outbound HTTP request did not finish within its deadline. */
export class HttpTimeoutError extends AppError<'HTTP_TIMEOUT'> {
  constructor(what: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(
      'HTTP_TIMEOUT',
      `${what} did not answer within ${timeoutMs} ms; check the network or raise http_timeout_ms`,
      options,
    );
  }
}

export interface CloudflareMessage {
  code: number;
  message: string;
}

/** A Cloudflare API call failed; `kind` (and the code made from it) tells how to retry. */
export class CloudflareApiError extends AppError<CloudflareErrorCode> {
  readonly kind: CloudflareFailureKind;
  readonly status: number | undefined;
  readonly apiErrors: readonly CloudflareMessage[];
  readonly retryAfterMs: number | undefined;
  constructor(
    kind: CloudflareFailureKind,
    message: string,
    details: {
      status?: number;
      apiErrors?: readonly CloudflareMessage[];
      retryAfterMs?: number;
      cause?: unknown;
    } = {},
  ) {
    super(`CLOUDFLARE_${kind.toUpperCase()}` as CloudflareErrorCode, message, { cause: details.cause });
    this.kind = kind;
    this.status = details.status;
    this.apiErrors = details.apiErrors ?? [];
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * No zone visible to the API token holds the record (or the configured `zone` is not among them).
 * Retried like a permission problem (every 10 min): the user is most likely fixing the token.
 */
export class ZoneNotFoundError extends CloudflareApiError {
  constructor(message: string) {
    super('zone_not_found', message);
  }
}

/**
 * The records of a name are in a state only the user can fix — a round-robin set, or a missing
 * record the agent may not create: reported once, looked at again every 10 minutes, never
 * "fixed" by the agent.
 */
export class RecordSetError extends AppError<RecordSetErrorCode> {}

/** A DoH query failed: the resolver could not be asked, or did not give a usable answer. */
export class DohError extends AppError<'DOH_FAILED'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DOH_FAILED', message, options);
  }
}

/** The state file could not be read or written. */
export class StateError extends AppError<'STATE_IO'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_IO', message, options);
  }
}

/** A plug command that failed: the message says what to check. */
export class PlugError extends AppError<PlugErrorCode> {}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
