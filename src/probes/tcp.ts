/**
 * TCP connect probe (`router_probe: tcp:PORT`, and the router's fallback when `ping` cannot
 * run). A completed handshake is ok; for the router an ECONNREFUSED is ok too — the router sent
 * the RST, so it is alive. Its own deadline is the signal; the kernel's 2-minute connect timeout
 * never matters. Never: decide health.
 */
import { connect } from 'node:net';
import type { ProbeResult } from '../domain/probe-result.js';
import { classifyFailure } from './classify.js';
import type { Probe } from './probe.js';
import { attemptSocket } from './socket.js';
import { formatTarget } from './target.js';

export interface TcpProbeOptions {
  /** An IP literal (no brackets). */
  host: string;
  port: number;
  /** ECONNREFUSED counts as an answer (ok, failure `refused`). True for the router. */
  refusedIsAlive: boolean;
}

export class TcpProbe implements Probe {
  readonly kind = 'tcp' as const;
  readonly target: string;
  readonly #o: TcpProbeOptions;

  constructor(o: TcpProbeOptions) {
    this.#o = o;
    this.target = formatTarget(o.host, o.port);
  }

  async run(signal: AbortSignal): Promise<ProbeResult> {
    const { host, port, refusedIsAlive } = this.#o;
    const attempt = await attemptSocket(signal, () => connect({ host, port }), 'connect');
    if (attempt.ok) {
      return {
        target: this.target,
        kind: 'tcp',
        ok: true,
        latencyMs: attempt.elapsedMs,
        failure: null,
        code: null,
      };
    }
    const failure = classifyFailure(attempt);
    const alive = failure === 'refused' && refusedIsAlive;
    return {
      target: this.target,
      kind: 'tcp',
      ok: alive,
      latencyMs: alive ? attempt.elapsedMs : null,
      failure,
      code: attempt.code,
    };
  }
}
