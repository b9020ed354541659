/**
 * One long run: the reference worked out for a script, the real service run through it, and
 * what both said at each checkpoint and after each stop, side by side, plus the measurements
 * (heap after a forced GC, state file size) the test asserts on and docs/longrun.md records.
 */
import { stat } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PersistedState } from '../../src/state/schema.js';
import { type RefConfig, type RefResult, type RefSnapshot, runReference } from './reference.js';
import { LONGRUN_CONFIG, type RunStats, runService } from './run-service.js';
import { DAY, HOUR, MINUTE, ROUND_MS, type Script } from './script.js';

export const REF_CONFIG: RefConfig = {
  wanDownAfterMs: LONGRUN_CONFIG.wan_down_after_seconds * 1000,
  bootGraceMs: LONGRUN_CONFIG.boot_grace_seconds * 1000,
  offMs: LONGRUN_CONFIG.power_off_seconds * 1000,
  maxCycles: LONGRUN_CONFIG.max_power_cycles,
  windowMs: LONGRUN_CONFIG.power_cycle_window_hours * HOUR,
};

/** A forced full GC: the one --expose-gc gives, or switched on for this process. */
export function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const iso = (t: number) => new Date(t).toISOString().replace(/Z$/, '+00:00');

/** What the agent publishes (§6 `health`, `uptime`), and what the reference says it must. */
export interface Figures {
  health: string;
  availability: [number | null, number | null, number | null];
  /** Newest first, as published. */
  outages: Array<{ start: string; end: string | null; class: string; action: string | null }>;
}

/** The watchdog's sections of the state file right after a stop, and the reference's. */
export interface Saved {
  buckets: unknown;
  outages: unknown;
  last: unknown;
  cycles: unknown;
  total: unknown;
}

export interface Measure {
  day: number;
  /** heapUsed after a forced GC. */
  heapBytes: number;
  /** state.json on disk (as last saved). */
  stateBytes: number;
  /** The `uptime` and `recovery` sections as compact JSON. */
  sectionBytes: number;
  buckets: number;
  outages: number;
  cycleRecords: number;
}

export interface LongRun {
  script: Script;
  ref: RefResult;
  stats: RunStats;
  /**
   * The checkpoints compared, and kept whole: those of `keepDays`, and the first few that differ
   * (the others are not kept, so the test's own records do not grow the heap it measures).
   */
  compared: { days: number[]; stops: number; transitions: number };
  /** The first health changes that differ from the reference's (agent, reference). */
  transitions: Array<{ index: number; actual: unknown; expected: unknown }>;
  figures: Array<{ day: number; actual: Figures; expected: Figures }>;
  stops: Array<{ mono: number; actual: Saved; expected: Saved }>;
  measures: Measure[];
  referenceMs: number;
  simulationMs: number;
  sleepersLeft: number;
}

export function expectedFigures(s: RefSnapshot): Figures {
  return {
    health: s.health,
    availability: [s.availability.h24, s.availability.d7, s.availability.d30],
    outages: [...s.outages].reverse().map((o) => ({
      start: iso(o.start),
      end: o.end === null ? null : iso(o.end),
      class: o.class,
      action: o.action,
    })),
  };
}

/**
 * Adds restarts where a random script rarely puts them: 7.5 s into a power cycle (the stop switches
 * the plug on early; the next start falls in its boot grace) and during a boot grace. The script
 * does not know when cycles happen (they depend on the agent), so the reference finds them: the
 * k-th cycle of the reference for the script so far, for each k of `cycles` (`grace` ones 1 min
 * after the plug came back on). A restart placed after a moment changes nothing before it, so the
 * cycle is still there in the final script. The agent is down 60–75 s, in phase with its rounds.
 */
export function withRestartsInCycles(
  script: Script,
  cycles: ReadonlyArray<{ k: number; grace?: boolean }>,
): Script {
  let out = script;
  for (const { k, grace } of cycles) {
    const spell = runReference(out, REF_CONFIG).plug.spells[k];
    if (spell === undefined || spell.on === null) continue;
    const stopAt = grace ? spell.on + 4 * ROUND_MS + 7500 : spell.off + 7500;
    const startAt = stopAt + 7500 + 4 * ROUND_MS;
    const apart = (from: number, to: number) => to < stopAt - 20 * MINUTE || from > startAt + 20 * MINUTE;
    const free =
      out.restarts.every((r) => apart(r.stopAt, r.startAt)) &&
      out.checkpoints.every((c) => apart(c, c)) &&
      startAt < out.end - HOUR;
    if (!free) continue;
    const restarts = [...out.restarts, { stopAt, startAt }].sort((a, b) => a.stopAt - b.stopAt);
    out = { ...out, restarts };
  }
  return out;
}

const KEEP_DIFFERENT = 3;

export async function longRun(script: Script, keepDays: readonly number[] = [1, 7, 30]): Promise<LongRun> {
  const t0 = performance.now();
  const ref = runReference(script, REF_CONFIG);
  const referenceMs = performance.now() - t0;
  const gc = gcFunction();
  const out: Omit<LongRun, 'stats' | 'simulationMs' | 'sleepersLeft'> = {
    script,
    ref,
    compared: { days: [], stops: 0, transitions: 0 },
    transitions: [],
    figures: [],
    stops: [],
    measures: [],
    referenceMs,
  };
  let stopIndex = 0;
  let sleepersLeft = 0;
  const t1 = performance.now();
  const stats = await runService(script, {
    transition: (mono, to) => {
      const index = out.compared.transitions++;
      const expected = ref.transitions[index];
      if ((expected?.mono !== mono || expected.to !== to) && out.transitions.length < KEEP_DIFFERENT) {
        out.transitions.push({ index, actual: { mono, to }, expected });
      }
    },
    checkpoint: async (mono, v) => {
      const day = mono / DAY;
      const expected = ref.checkpoints.find((c) => c.mono === mono);
      if (expected === undefined) throw new Error(`the reference has no checkpoint at day ${day}`);
      const status = v.svc.status();
      const actual: Figures = {
        health: status.health,
        availability: [
          status.uptime.availability_24h,
          status.uptime.availability_7d,
          status.uptime.availability_30d,
        ],
        outages: status.uptime.outages,
      };
      const wanted = expectedFigures(expected);
      out.compared.days.push(day);
      const differs = !isDeepStrictEqual(actual, wanted);
      const differing = out.figures.filter((f) => !keepDays.includes(f.day)).length;
      if (keepDays.includes(day) || (differs && differing < KEEP_DIFFERENT)) {
        out.figures.push({ day, actual, expected: wanted });
      }
      gc();
      const heapBytes = process.memoryUsage().heapUsed;
      const saved = await v.saved();
      out.measures.push({
        day,
        heapBytes,
        stateBytes: (await stat(v.store.path)).size,
        sectionBytes: Buffer.byteLength(JSON.stringify({ uptime: saved.uptime, recovery: saved.recovery })),
        buckets: saved.uptime?.buckets.length ?? 0,
        outages: saved.uptime?.outages.length ?? 0,
        cycleRecords: saved.recovery?.cycles.length ?? 0,
      });
    },
    stopped: async (mono, v) => {
      const expected = ref.stops[stopIndex++];
      if (expected === undefined) throw new Error(`the reference has no stop at ${mono}`);
      const saved: PersistedState = await v.saved();
      const stop = {
        mono,
        actual: {
          buckets: saved.uptime?.buckets,
          outages: saved.uptime?.outages,
          last: saved.uptime?.last,
          cycles: saved.recovery?.cycles.map((c) => ({ at: c.at, finished_at: c.finished_at })),
          total: saved.recovery?.power_cycles_total,
        },
        expected: {
          buckets: expected.buckets,
          outages: expected.outages,
          last: { at: expected.wall, health: expected.health },
          cycles: expected.cycles,
          total: expected.cyclesTotal,
        },
      };
      out.compared.stops++;
      if (!isDeepStrictEqual(stop.actual, stop.expected) && out.stops.length < KEEP_DIFFERENT)
        out.stops.push(stop);
      sleepersLeft = v.clock.pending;
    },
  });
  return { ...out, stats, simulationMs: performance.now() - t1, sleepersLeft };
}

/** Least-squares slope of heap over the days given (bytes per simulated day). */
export function heapSlope(measures: readonly Measure[], fromDay: number, toDay: number): number {
  const m = measures.filter((x) => x.day >= fromDay && x.day <= toDay);
  const n = m.length;
  const mx = m.reduce((s, x) => s + x.day, 0) / n;
  const my = m.reduce((s, x) => s + x.heapBytes, 0) / n;
  const num = m.reduce((s, x) => s + (x.day - mx) * (x.heapBytes - my), 0);
  const den = m.reduce((s, x) => s + (x.day - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** Where the agent and the reference first part, in words (for a report). */
export function firstDifference(run: LongRun): string | null {
  const f = run.figures.find((x) => !isDeepStrictEqual(x.actual, x.expected));
  const s = run.stops[0];
  const t = run.transitions[0];
  const parts = [
    t &&
      `health change #${t.index}: agent ${JSON.stringify(t.actual)}, reference ${JSON.stringify(t.expected)}`,
    f &&
      `day ${f.day}: agent ${JSON.stringify(f.actual.availability)} ${f.actual.health}, reference ${JSON.stringify(f.expected.availability)} ${f.expected.health}`,
    s && `stop at mono ${s.mono} (day ${(s.mono / DAY).toFixed(3)}): the saved sections differ`,
  ].filter((x) => x);
  return parts.length === 0 ? null : parts.join('; ');
}
