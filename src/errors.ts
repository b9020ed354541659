/**
 * One error hierarchy for the whole agent. Each failure mode has a stable machine `code` and a
 * message written for the user (what happened, what to do). Nothing here logs.
 */
export class AppError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The configuration is invalid. `problems` holds one line per problem (key, fault, fix). */
export class ConfigError extends AppError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', problems.join('\n'));
    this.problems = problems;
  }
}

/** An outbound HTTP request did not finish within its deadline. */
export class HttpTimeoutError extends AppError {
  constructor(what: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(
      'HTTP_TIMEOUT',
      `${what} did not answer within ${timeoutMs} ms; check the network or raise http_timeout_ms`,
      options,
    );
  }
}

/** Why a Cloudflare API call failed, which decides how it is retried. */
export type CloudflareFailureKind =
  | 'rate_limited' // 429: every call pauses for retryAfterMs
  | 'auth' // 401/403: the token lacks a permission; retried every 10 min
  | 'transient' // 5xx, timeout, reset: exponential backoff per record
  | 'client' // other 4xx: the API's own message; not retried until IP or config changes
  | 'not_found' // 404 / record gone (81044): re-list
  | 'already_exists' // 81057/81058 on create: re-list and treat as satisfied
  | 'malformed'; // a response that does not match the API's schema

export interface CloudflareMessage {
  code: number;
  message: string;
}

export class CloudflareApiError extends AppError {
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
    super(`CLOUDFLARE_${kind.toUpperCase()}`, message, { cause: details.cause });
    this.kind = kind;
    this.status = details.status;
    this.apiErrors = details.apiErrors ?? [];
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The state file could not be read or written. */
export class StateError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STATE_IO', message, options);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
