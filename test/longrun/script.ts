/**
 * The fault script of the long run: everything that happens to the agent's world over the
 * simulated days, drawn from one seed (the same seed gives the same script, byte for byte).
 *
 * All times are monotonic ms since the start of the run (the SimClock's `mono`): the world lives in
 * real time, whatever the agent's wall clock says. Faults never overlap; restarts and clock steps
 * fall anywhere, outages included. So that no two things happen at the same instant, the agent's
 * probe rounds fall on whole 15 s steps from each start, clock steps 5 s after a round, stops
 * 7.5 s after one, and no restart comes near a checkpoint (the day boundaries the test checks).
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const ROUND_MS = 15 * SECOND;

/**
 * What the world does for a while:
 * - `wan_blip` … `wan_long`: the ISP line is down (the router answers, no WAN target does) for a
 *   while, whatever the agent does — from shorter than two rounds to long enough to spend the budget;
 * - `hung`: the router hangs (it answers, nothing passes) until it is power-cycled, or hours later;
 * - `router_down`: the router does not answer either; `self_down`: this host has no route at all;
 * - `intercepted`: every WAN target answers with a foreign certificate (a captive portal);
 * - `degraded`: one of the three WAN targets never answers; `slow`: every handshake takes 600–900 ms;
 * - `flaky`: each round, the whole WAN fails with a 40 % chance.
 */
export const FAULT_KINDS = [
  'wan_blip',
  'wan_short',
  'wan_cycle',
  'wan_long',
  'hung',
  'router_down',
  'self_down',
  'intercepted',
  'degraded',
  'slow',
  'flaky',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  from: number;
  to: number;
}

/** The agent is stopped cleanly at `stopAt` and started again at `startAt` (not running between). */
export interface Restart {
  stopAt: number;
  startAt: number;
}

/** The wall clock is set forward (by > 0) or back (by < 0) at `at`. */
export interface ClockStep {
  at: number;
  by: number;
}

export interface Script {
  seed: number;
  /** Simulated length, ms: faults and checkpoints fall before it. */
  length: number;
  /** The final stop: the first moment 7.5 s after a round that is not before `length`. */
  end: number;
  /** What the wall clock reads at mono 0. */
  wallStart: number;
  faults: Fault[];
  restarts: Restart[];
  steps: ClockStep[];
  /** Mono times at which the test compares the agent with the reference (day boundaries). */
  checkpoints: number[];
}

export interface ScriptOptions {
  seed: number;
  days: number;
  /** Day numbers to check at (their end, e.g. 1 → mono 1 day). */
  checkpointDays: number[];
  restarts: number;
  /** Clock steps while the agent runs; `back` of them set the clock back. */
  runningSteps: { forward: number; back: number };
  /**
   * Restarts whose wall clock was also set forward / back while the agent was stopped. With
   * `backLast`, the steps back go to the last restarts (no restart follows them).
   */
  stoppedSteps: { forward: number; back: number; backLast?: boolean };
}

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A deterministic value in [0, 1) for an integer (a second of the run): per-round coin flips. */
export function hash01(n: number): number {
  let h = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4_294_967_296;
}

const DURATIONS: Record<FaultKind, [number, number]> = {
  wan_blip: [10 * SECOND, 40 * SECOND],
  wan_short: [45 * SECOND, 170 * SECOND],
  wan_cycle: [4 * MINUTE, 45 * MINUTE],
  wan_long: [90 * MINUTE, 7 * HOUR],
  hung: [2 * HOUR, 9 * HOUR],
  router_down: [30 * SECOND, 30 * MINUTE],
  self_down: [1 * MINUTE, 45 * MINUTE],
  intercepted: [1 * MINUTE, 60 * MINUTE],
  degraded: [5 * MINUTE, 2 * HOUR],
  slow: [3 * MINUTE, 40 * MINUTE],
  flaky: [5 * MINUTE, 30 * MINUTE],
};
const WEIGHTS: Record<FaultKind, number> = {
  wan_blip: 6,
  wan_short: 4,
  wan_cycle: 4,
  wan_long: 1,
  hung: 2,
  router_down: 2,
  self_down: 2,
  intercepted: 2,
  degraded: 3,
  slow: 2,
  flaky: 2,
};

/** The fault kind at `point` of the weights laid end to end. */
function weighted(point: number): FaultKind {
  let rest = point;
  for (const k of FAULT_KINDS) {
    rest -= WEIGHTS[k];
    if (rest < 0) return k;
  }
  return 'wan_blip';
}

export function makeScript(o: ScriptOptions): Script {
  const rnd = prng(o.seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const length = o.days * DAY;
  const checkpoints = o.checkpointDays.map((d) => d * DAY);

  const faults: Fault[] = [];
  const total = FAULT_KINDS.reduce((s, k) => s + WEIGHTS[k], 0);
  // The first minutes are calm: the agent learns that the line works.
  let t = 20 * MINUTE;
  for (;;) {
    // Mostly hours apart; sometimes back to back, sometimes 20–40 min (around the 30 min of
    // ready that reset the recovery counters).
    const gap = rnd();
    t +=
      gap < 0.15
        ? between(10 * SECOND, 5 * MINUTE)
        : gap < 0.35
          ? between(20 * MINUTE, 40 * MINUTE)
          : between(40 * MINUTE, 5 * HOUR);
    const kind = weighted(rnd() * total);
    const [lo, hi] = DURATIONS[kind];
    const to = t + between(lo / SECOND, hi / SECOND) * SECOND + between(0, 999);
    if (to >= length) break;
    faults.push({ kind, from: t, to });
    t = to;
  }

  // Restarts: stops 7.5 s after a round of the run they end, never within 15 min of a checkpoint.
  const restarts: Restart[] = [];
  const nearCheckpoint = (a: number, b: number) =>
    checkpoints.some((c) => c > a - 15 * MINUTE && c < b + 15 * MINUTE);
  let runStart = 0;
  const slots = Math.max(1, o.restarts);
  for (let i = 0; i < o.restarts; i++) {
    const lo = Math.max(runStart + HOUR, (i * length) / slots + HOUR);
    const hi = ((i + 1) * length) / slots - 4 * HOUR;
    if (hi <= lo) continue;
    const k = Math.floor((between(lo, hi) - runStart) / ROUND_MS);
    const stopAt = runStart + k * ROUND_MS + 7500;
    const down = rnd() < 0.4 ? between(5, 90) * SECOND : between(2, 180) * MINUTE + between(0, 59) * SECOND;
    const startAt = stopAt + down + 500;
    if (nearCheckpoint(stopAt, startAt)) continue;
    restarts.push({ stopAt, startAt });
    runStart = startAt;
  }

  // Clock steps while the agent runs: 5 s after one of its rounds.
  const runs = runsOf({ end: length, restarts });
  const steps: ClockStep[] = [];
  const running = [
    ...Array.from({ length: o.runningSteps.forward }, () => 1),
    ...Array.from({ length: o.runningSteps.back }, () => -1),
  ];
  // Every other one falls in an outage (the outage log must end it where watching stopped).
  const inOutage = faults.flatMap((f) => {
    const run = runs.find((r) => r.from + 30 * MINUTE <= f.from && f.to <= r.to - 30 * MINUTE);
    const outage = ['wan_cycle', 'wan_long', 'hung', 'router_down', 'intercepted'].includes(f.kind);
    return run && outage && f.to - f.from >= 8 * MINUTE
      ? [{ run, lo: f.from + 5 * MINUTE, hi: f.to - 2 * MINUTE }]
      : [];
  });
  for (const [i, sign] of running.entries()) {
    const run = runs[between(0, runs.length - 1)]!;
    const spot =
      i % 2 === 1 && inOutage.length > 0
        ? inOutage[between(0, inOutage.length - 1)]!
        : { run, lo: run.from + HOUR, hi: run.to - HOUR };
    if (spot.hi <= spot.lo) continue;
    const k = Math.floor((between(spot.lo, spot.hi) - spot.run.from) / ROUND_MS);
    const at = spot.run.from + k * ROUND_MS + 5000;
    const by = sign > 0 ? between(50, 6 * 3600) * SECOND : -between(5 * 60, 3 * 3600) * SECOND;
    steps.push({ at, by });
  }
  // Steps while stopped: half-way through a stop.
  const stopped = [
    ...Array.from({ length: o.stoppedSteps.back }, () => -1),
    ...Array.from({ length: o.stoppedSteps.forward }, () => 1),
  ];
  const free = restarts.slice();
  for (const sign of stopped) {
    if (free.length === 0) break;
    const last = sign < 0 && o.stoppedSteps.backLast === true;
    const r = free.splice(last ? free.length - 1 : between(0, free.length - 1), 1)[0]!;
    const by = sign > 0 ? between(60, 12 * 3600) * SECOND : -between(5 * 60, 2 * 3600) * SECOND;
    steps.push({ at: Math.floor((r.stopAt + r.startAt) / 2), by });
  }
  steps.sort((a, b) => a.at - b.at);
  const end = runStart + Math.ceil((length - runStart - 7500) / ROUND_MS) * ROUND_MS + 7500;

  return {
    seed: o.seed,
    length,
    end,
    wallStart: Date.parse('2026-03-01T00:00:00Z'),
    faults,
    restarts,
    steps,
    checkpoints,
  };
}

/** A script by hand: `hours` long, with the faults, restarts and steps given (times in mono ms). */
export function handScript(o: Partial<Script> & { hours: number; checkpoints: number[] }): Script {
  const length = o.hours * HOUR;
  const restarts = o.restarts ?? [];
  const runStart = restarts.length === 0 ? 0 : restarts[restarts.length - 1]!.startAt;
  return {
    seed: 0,
    length,
    end: runStart + Math.ceil((length - runStart - 7500) / ROUND_MS) * ROUND_MS + 7500,
    wallStart: Date.parse('2026-03-01T00:00:00Z'),
    faults: o.faults ?? [],
    restarts,
    steps: o.steps ?? [],
    checkpoints: o.checkpoints,
  };
}

/** The spans in which the agent runs, [from, to) in mono ms. */
export function runsOf(s: Pick<Script, 'end' | 'restarts'>): Array<{ from: number; to: number }> {
  const runs: Array<{ from: number; to: number }> = [];
  let from = 0;
  for (const r of s.restarts) {
    runs.push({ from, to: r.stopAt });
    from = r.startAt;
  }
  runs.push({ from, to: s.end });
  return runs;
}

/** The fault at mono `m`, if any (faults are sorted and never overlap). */
export function faultAt(faults: readonly Fault[], m: number): Fault | null {
  let lo = 0;
  let hi = faults.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const f = faults[mid]!;
    if (m < f.from) hi = mid - 1;
    else if (m >= f.to) lo = mid + 1;
    else return f;
  }
  return null;
}

/** Wall clock reading at mono `m`: the start plus every step made at or before `m`. */
export function wallAt(s: Pick<Script, 'wallStart' | 'steps'>, m: number): number {
  let offset = s.wallStart;
  for (const st of s.steps) if (st.at <= m) offset += st.by;
  return m + offset;
}

/** One line per fault kind: how many, for the report. */
export function describeScript(s: Script): string {
  const counts = new Map<string, number>();
  for (const f of s.faults) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  const faults = [...counts.entries()].map(([k, n]) => `${k} ${n}`).join(', ');
  const fwd = s.steps.filter((x) => x.by > 0).length;
  return `seed ${s.seed}: ${s.faults.length} faults (${faults}); ${s.restarts.length} restarts; clock steps ${fwd} forward, ${s.steps.length - fwd} back`;
}
