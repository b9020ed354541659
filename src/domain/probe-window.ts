/**
 * The health state machine's rolling window: what the WAN probes of the last minute add up to
 * (loss and mean handshake latency, SPEC §4 `degraded`). Pure and bounded: one small entry per
 * round, entries older than the window dropped, never more than MAX_WINDOW_ROUNDS.
 */
import type { ProbeRound } from './probe-result.js';

/** "Over the last minute" (SPEC §4). */
export const WINDOW_MS = 60_000;
/** At `probe_interval_seconds: 1` a minute holds 60 rounds; this cap only bites if the clock misbehaves. */
export const MAX_WINDOW_ROUNDS = 120;
/** `degraded` when this share of the window's WAN probes failed… */
export const LOSS_DEGRADED = 0.2;
/** …or when their mean handshake time is at least this. */
export const LATENCY_DEGRADED_MS = 500;

/** One round's WAN probes, reduced to sums. */
export interface WindowEntry {
  readonly at: number;
  /** WAN probes in the round, and how many failed. */
  readonly probes: number;
  readonly failed: number;
  /** Sum and count of the latencies of the WAN probes that succeeded. */
  readonly latencySumMs: number;
  readonly latencyCount: number;
}

export interface WindowStats {
  probes: number;
  failed: number;
  /** failed / probes, null with no probes. */
  loss: number | null;
  /** Mean latency of the successful WAN probes, null with none. */
  meanLatencyMs: number | null;
}

export function windowEntry(round: ProbeRound): WindowEntry {
  let failed = 0;
  let latencySumMs = 0;
  let latencyCount = 0;
  for (const r of round.wan) {
    if (!r.ok) {
      failed++;
    } else if (r.latencyMs !== null && Number.isFinite(r.latencyMs) && r.latencyMs >= 0) {
      latencySumMs += r.latencyMs;
      latencyCount++;
    }
  }
  return { at: round.at, probes: round.wan.length, failed, latencySumMs, latencyCount };
}

/**
 * Adds an entry and keeps only the entries of the minute ending at it: `at` in
 * (entry.at − windowMs, entry.at]. Entries "after" it (a clock that went backwards) are dropped.
 */
export function pushWindow(
  window: readonly WindowEntry[],
  entry: WindowEntry,
  windowMs: number = WINDOW_MS,
): WindowEntry[] {
  const kept = window.filter((e) => e.at > entry.at - windowMs && e.at <= entry.at);
  kept.push(entry);
  return kept.length > MAX_WINDOW_ROUNDS ? kept.slice(kept.length - MAX_WINDOW_ROUNDS) : kept;
}

export function windowStats(window: readonly WindowEntry[]): WindowStats {
  let probes = 0;
  let failed = 0;
  let latencySumMs = 0;
  let latencyCount = 0;
  for (const e of window) {
    probes += e.probes;
    failed += e.failed;
    latencySumMs += e.latencySumMs;
    latencyCount += e.latencyCount;
  }
  return {
    probes,
    failed,
    loss: probes === 0 ? null : failed / probes,
    meanLatencyMs: latencyCount === 0 ? null : latencySumMs / latencyCount,
  };
}
