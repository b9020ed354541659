/**
 * The Probe port: one check of one target, run under a deadline. Adapters (icmp.ts, tcp.ts,
 * tls.ts, router.ts) implement it; round.ts runs a set of them together. Types only.
 */
import type { ProbeKind, ProbeResult } from '../domain/probe-result.js';

export interface Probe {
  /** What is probed, in the form the result carries (`192.168.1.1`, `1.1.1.1:443`). */
  readonly target: string;
  /** How it probes now (a router probe that fell back from ICMP reports `tcp`). */
  readonly kind: ProbeKind;
  /**
   * Runs one probe. Contract: resolves (never rejects) with a result once the target answered,
   * failed, or `signal` aborted — an abort is the deadline and gives failure `timeout`. Every
   * socket and child process it opened is closed before it resolves.
   */
  run(signal: AbortSignal): Promise<ProbeResult>;
  /**
   * What the service should say once, e.g. that `ping` is missing and the router is probed by
   * TCP. Each notice is handed out once; later calls return only new ones.
   */
  takeNotices?(): ProbeNotice[];
}

/** Something a probe wants said once, with its wording (what happened, what to do). */
export interface ProbeNotice {
  /** Stable id, so the service can say it once per process even if it is handed out again. */
  readonly id: 'ping_unavailable';
  readonly message: string;
  /** The underlying code (ENOENT, EPERM, EXIT_2, …). */
  readonly code: string | null;
}
