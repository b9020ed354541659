/**
 * WAN probe: TCP + TLS handshake to one `wan_targets` entry, with certificate verification on.
 * A certificate the system's CAs (or the configured `ca`) do not accept is failure `tls_error`
 * — a captive portal or an intercepting ISP answered, not the target — which health reads as
 * `intercepted`. No SNI is sent for an IP literal unless `servername` is set. The latency is
 * the time to a completed handshake (TCP connect included). Never: decide health.
 */
import { connect } from 'node:tls';
import type { ProbeResult } from '../domain/probe-result.js';
import { classifyFailure } from './classify.js';
import type { Probe } from './probe.js';
import { attemptSocket } from './socket.js';
import { formatTarget } from './target.js';

export interface TlsProbeOptions {
  /** An IP literal (no brackets). */
  host: string;
  port: number;
  /**
   * The name to send as SNI and to check the certificate against. Unset: no SNI, and the
   * certificate must name the IP address (1.1.1.1, 8.8.8.8 and 9.9.9.9 do).
   */
  servername?: string;
  /** Trusted CA certificates (PEM) instead of the system's; tests pass a test CA. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
}

export class TlsProbe implements Probe {
  readonly kind = 'tls' as const;
  readonly target: string;
  readonly #o: TlsProbeOptions;

  constructor(o: TlsProbeOptions) {
    this.#o = o;
    this.target = formatTarget(o.host, o.port);
  }

  async run(signal: AbortSignal): Promise<ProbeResult> {
    const { host, port, servername, ca } = this.#o;
    const attempt = await attemptSocket(
      signal,
      () =>
        connect({
          host,
          port,
          rejectUnauthorized: true,
          ...(servername ? { servername } : {}),
          ...(ca !== undefined ? { ca: ca as string | Buffer | Array<string | Buffer> } : {}),
        }),
      'secureConnect',
    );
    if (attempt.ok) {
      return {
        target: this.target,
        kind: 'tls',
        ok: true,
        latencyMs: attempt.elapsedMs,
        failure: null,
        code: null,
      };
    }
    return {
      target: this.target,
      kind: 'tls',
      ok: false,
      latencyMs: null,
      failure: classifyFailure(attempt),
      code: attempt.code,
    };
  }
}
