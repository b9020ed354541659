/**
 * Failure classes by error code and timing (SPEC §4). Pure: the adapters pass what they saw,
 * this decides the class. No I/O, no node:* modules.
 */
import { FAST_FAIL_MS, type ProbeFailure } from '../domain/probe-result.js';

/**
 * TLS codes that mean "the certificate was not the one a public resolver would show": an
 * intercepting proxy, a captive portal, a wrong clock. Node reports OpenSSL's verify results by
 * these names, and `ERR_TLS_CERT_ALTNAME_INVALID` when the name or IP is not in the certificate.
 */
export const CERT_ERROR_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function isCertErrorCode(code: string | null | undefined): boolean {
  return typeof code === 'string' && CERT_ERROR_CODES.has(code);
}

/** Error codes that say "no route": the kernel (or a router on the way) gave up at once. */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['EHOSTUNREACH', 'ENETUNREACH']);

export interface FailureFacts {
  /** errno (`ECONNREFUSED`), TLS code, or `EXIT_n` for ping; null when there was none. */
  code: string | null;
  /** Time from the start of the probe to the failure. */
  elapsedMs: number;
  /** The probe's own deadline fired (or the round was aborted) before any answer. */
  timedOut: boolean;
}

/**
 * The class of a failed probe:
 * deadline → `timeout`; ECONNREFUSED → `refused`; a certificate error → `tls_error`;
 * EHOSTUNREACH / ENETUNREACH in under FAST_FAIL_MS → `unreachable`; anything else in under
 * FAST_FAIL_MS → `fast_fail`, else `slow_fail` (the code is kept in the result either way).
 */
export function classifyFailure(facts: FailureFacts): ProbeFailure {
  const { code, elapsedMs, timedOut } = facts;
  if (timedOut || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (isCertErrorCode(code)) return 'tls_error';
  const fast = elapsedMs < FAST_FAIL_MS;
  if (code !== null && UNREACHABLE_CODES.has(code) && fast) return 'unreachable';
  return fast ? 'fast_fail' : 'slow_fail';
}

/** The code carried by a Node.js error (`err.code`), or null. */
export function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : null;
}
