/**
 * The watchdog's vocabulary for what a probe saw. The core owns it: probe adapters (src/probes/)
 * produce these values, the health state machine (src/domain/health.ts) reads them. Pure types.
 */

/** How a probe reached its target. */
export type ProbeKind = 'icmp' | 'tcp' | 'tls';

/**
 * Why a probe failed (SPEC §4), classified by error code and timing:
 * - `refused`: ECONNREFUSED — the host answered (for the router this still counts as alive);
 * - `unreachable`: a fast EHOSTUNREACH / ENETUNREACH (see `code` to tell them apart);
 * - `timeout`: no answer within `probe_timeout_ms`;
 * - `tls_error`: the TLS handshake failed on a certificate (a captive portal or an intercepting ISP);
 * - `fast_fail`: any other failure in under 50 ms; `slow_fail`: any other failure after that.
 */
export type ProbeFailure = 'refused' | 'unreachable' | 'timeout' | 'tls_error' | 'fast_fail' | 'slow_fail';

export const PROBE_FAILURES: readonly ProbeFailure[] = [
  'refused',
  'unreachable',
  'timeout',
  'tls_error',
  'fast_fail',
  'slow_fail',
];

/** Failures quicker than this are `fast_fail` (SPEC §4). */
export const FAST_FAIL_MS = 50;

export interface ProbeResult {
  /** The IP literal probed, with `:port` for TCP/TLS (`192.168.1.1`, `1.1.1.1:443`, `[2606:4700::1111]:443`). */
  readonly target: string;
  readonly kind: ProbeKind;
  /** The target answered. For the router an ECONNREFUSED is an answer: ok with failure `refused`. */
  readonly ok: boolean;
  /** Round-trip or handshake time; null when nothing came back. */
  readonly latencyMs: number | null;
  /** Null when the probe succeeded cleanly. */
  readonly failure: ProbeFailure | null;
  /** The underlying code when there was one: an errno (`ENETUNREACH`), a TLS code, `EXIT_1` for ping. */
  readonly code: string | null;
}

/** One probe round: every router and WAN probe, started together. */
export interface ProbeRound {
  /** When the round started (ms since the epoch). */
  readonly at: number;
  /** Router probes; null when the router probe is disabled (`router_host` empty). */
  readonly router: readonly ProbeResult[] | null;
  /** One result per `wan_targets` entry. */
  readonly wan: readonly ProbeResult[];
}
