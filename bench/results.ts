/**
 * The benchmarks' shared results. Each bench file calls `record(id, figure)`; the figures go to a
 * JSON-lines file that bench/global-setup.ts names (vitest `provide`), because every bench file runs
 * in its own worker. At the end of `npm run bench` the global setup's teardown writes
 * bench/results.json and prints the one table, in the order of FIGURES below: a figure a bench did
 * not record shows as "not measured" (✘), so a skipped or failed benchmark cannot go unnoticed.
 */
import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where record() appends its JSON lines (bench/global-setup.ts). */
    benchResultsFile: string;
  }
}

export interface Figure {
  /** What is measured, as the table shows it (default: the catalog's label for this id). */
  label?: string;
  /** The number compared with the target. */
  value: number;
  unit: string;
  /** The value as the table shows it, when more than `value unit` (e.g. p50 / p99 / p99.9). */
  shown?: string;
  /** The target, in words (e.g. `p99 ≤ 100 ms`); `—` when there is none. */
  target: string;
  /** Whether the target is met; null when there is no target. */
  met: boolean | null;
  /** Other numbers behind the figure (quantiles, counts), kept in results.json. */
  extra?: Record<string, number | string>;
}

export interface RecordedFigure extends Figure {
  id: string;
  label: string;
  /** The bench file that recorded it. */
  file: string;
}

/** Every figure `npm run bench` reports, in table order: [id, label]. */
export const FIGURES: ReadonlyArray<readonly [string, string]> = [
  ['dns.steady.calls', 'Cloudflare API calls per steady-state cycle (10 DNS-only records)'],
  ['dns.drift.60s.long-after', 'dashboard edit → repaired, 1 h after our write (interval 60 s)'],
  ['dns.drift.60s.seconds-after', 'dashboard edit → repaired, 3 s after our write (interval 60 s)'],
  ['dns.drift.2s.long-after', 'dashboard edit → repaired, 1 h after our write (interval 2 s)'],
  ['dns.drift.2s.seconds-after', 'dashboard edit → repaired, 1 s after our write (interval 2 s)'],
  ['dns.change.1.calls', 'API calls per IP change, 1 record'],
  ['dns.change.1.time', 'IP change → record correct, 1 record'],
  ['dns.change.10.calls', 'API calls per IP change, 10 records'],
  ['dns.change.10.time', 'IP change → every record correct, 10 records'],
  ['dns.change.100.calls', 'API calls per IP change, 100 records'],
  ['dns.change.100.time', 'IP change → every record correct, 100 records'],
  ['dns.change.1000.calls', 'API calls per IP change, 1,000 records'],
  ['dns.change.1000.time', 'IP change → every record correct, 1,000 records'],
  ['ip.detect.plain-hung', 'IP detection, 1 plain source hung + 1 slow (10,000 detections)'],
  ['ip.detect.trace-hung', 'IP detection, 1 trace source hung (the WARP wait)'],
  ['ip.detect.warp-veto', 'WARP trace 50 ms after 3 plain sources agree → vetoed'],
  ['mqtt.command.no-io', 'MQTT command → result, refused `reboot` (no I/O), 1,000 commands'],
  ['mqtt.command.sync', 'MQTT `sync` command → result (a whole DNS cycle each), 1,000 commands'],
  ['mqtt.sync-flood', '1,000 `sync` commands at once (5 s gap) → DNS cycles run'],
  ['mqtt.start-to-discovery', 'process start → first discovery publish (dist/bin.js, 5 starts)'],
  ['soak.rss', 'agent RSS after 100 → 10,000 simulated DNS cycles'],
  ['soak.heap', 'agent heap used (after GC), 100 → 10,000 cycles'],
  ['rss.idle', 'agent RSS 5 s after start (dist/bin.js run)'],
  ['cpu.dns-cycle', 'CPU time per DNS cycle (agent process only)'],
  ['cpu.probe-round', 'CPU time per probe round (router TCP + 3 TLS handshakes)'],
  ['cpu.watchdog-round', 'CPU time per watchdog round in the agent (+ health, state, MQTT)'],
  ['watchdog.wan-down', 'WAN lost → wan_down event (defaults, simulated time)'],
  ['watchdog.cycle-start', 'WAN lost → power cycle started (defaults, simulated time)'],
  ['page.size', 'status page transfer size, every file, uncompressed'],
  ['page.first-paint', 'status page first-contentful-paint, 10 cold loads'],
  ['page.sse', 'state pushed → page DOM updated through SSE, 200 changes'],
  ['redact.growth', 'redactText on 1 MiB → 10 MiB of 7 hostile shapes (every log line)'],
];

function currentFile(): string {
  const stack = new Error().stack ?? '';
  const m = stack.match(/bench\/([\w.-]+\.bench\.ts)/);
  return m?.[1] ?? 'unknown';
}

/** Records one figure for bench/results.json and the final table. */
export function record(id: string, figure: Figure): void {
  const label = figure.label ?? FIGURES.find(([known]) => known === id)?.[1] ?? id;
  const line: RecordedFigure = { id, ...figure, label, file: currentFile() };
  appendFileSync(inject('benchResultsFile'), `${JSON.stringify(line)}\n`);
}

/** The q-quantile of ascending `sorted` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** Ascending copy. */
export function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/** `1.23` with `digits` decimals, thousands separated. */
export function fmt(n: number, digits = 1): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `p50 1.2 / p99 3.4 / max 5.6 ms` for the given quantiles of `samples` (ms). */
export function quantiles(samples: readonly number[], qs: readonly number[], digits = 1): string {
  const s = sorted(samples);
  const parts = qs.map((q) =>
    q === 1 ? `max ${fmt(s[s.length - 1]!, digits)}` : `p${q * 100} ${fmt(quantile(s, q), digits)}`,
  );
  return `${parts.join(' / ')} ms`;
}
