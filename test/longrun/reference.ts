/**
 * The reference for the long run: what docs/health.md and docs/recovery.md say the agent must do,
 * worked out round by round from the same fault script, by plain code written from the documents.
 * It imports nothing from src/ but a type: no health machine, uptime module or policy of the agent
 * is called. The rules it applies, with where they are written:
 *
 * - one round's verdict (health.md "The states"): every probe failed with ENETUNREACH → self_down;
 *   every WAN target failed → intercepted if any had a certificate error, else wan_down when the
 *   router answered (a refusal is an answer) and router_down when not; some failed → degraded;
 *   ≥ 20 % of the last minute's WAN probes failed, or their mean time ≥ 500 ms → degraded; else ready;
 * - the last minute (health.md "The loss window"): rounds in (t − 60 s, t]; a round in which no WAN
 *   target answered enters it only while health is ready/degraded; emptied when an outage begins;
 * - two rounds (health.md "Hysteresis"): health moves only when the last two verdicts both differ
 *   from it — to the latest when both are on one side (up: ready/degraded; down: the rest), to
 *   degraded from probing/ready when they are split, nowhere otherwise; `since` is the confirming
 *   round; rounds more than 60 s apart (or going back) drop the evidence and restart `since`;
 * - recovering (health.md, recovery.md "Grace"): from the cycle's start to boot_grace after it ends;
 *   the verdicts keep coming, and the first round after the grace can decide with the last one in it;
 * - a cycle (recovery.md "What it takes", "The doubling wait", "Budget", "Resets"): health wan_down;
 *   no start grace (wan_down_after since the start) and no boot grace; not exhausted; down for the
 *   wait — wan_down_after × 2^(cycles in the window since the last reset), the doubling capped at the
 *   window but never below wan_down_after — counted from the latest of
 *   `since`, the start and the end of the last boot grace; budget: fewer than max cycles in the
 *   window, else `exhausted` once, until the WAN is back (ready or degraded); 30 min of continuous
 *   ready reset the counters (the doubling);
 * - uptime (health.md "Uptime"): the time from one observation to the next counts as the earlier
 *   health — up (ready, degraded), down (wan_down, router_down, intercepted, recovering) or not at
 *   all (probing, self_down) — in exact ms per UTC hour, the last 720 hours; a gap over four rounds
 *   (60 s) or backwards is not counted and ends an open outage where watching stopped; the agent
 *   not running is not counted; figures = up / observed over the current hour and the 23 / 167 /
 *   719 before it, rounded to 0.001 %, null when none; hours "after now" (the clock was set back
 *   while running) still count in the figures;
 * - the outage log (health.md "The outage log"): opens when health enters a state other than
 *   probing/ready/degraded, class = that state, ends at ready/degraded; an outage open at a stop
 *   ends where the agent stopped; last 50 kept; action = the strongest of none < skipped <
 *   would_cycle < power_cycle < exhausted, with the power cycles counted;
 * - a restart (SPEC §7, health.md "Restarts and clock jumps"): health starts at probing; saved
 *   times in the future are clamped to now, and hours in the future dropped;
 * - the clock set back while running (recovery.md "Grace"): at each round, saved recovery times
 *   ahead of the clock, and the start, are set to now, so the graces run from there.
 */
import type { ProbeResult } from '../../src/domain/probe-result.js';
import { HOUR, MINUTE, ROUND_MS, runsOf, type Script, wallAt } from './script.js';
import { PlugLog, worldRound } from './world.js';

export interface RefConfig {
  wanDownAfterMs: number;
  bootGraceMs: number;
  offMs: number;
  maxCycles: number;
  windowMs: number;
}

type Verdict = 'ready' | 'degraded' | 'wan_down' | 'router_down' | 'self_down' | 'intercepted';
type Health = Verdict | 'probing' | 'recovering';
const ACTIONS = ['none', 'skipped', 'would_cycle', 'power_cycle', 'exhausted'] as const;
type Action = (typeof ACTIONS)[number];

export interface RefOutage {
  start: number;
  end: number | null;
  class: Health;
  action: Action;
  power_cycles: number;
}
export interface RefCycle {
  at: number;
  finished_at: number | null;
}
interface WindowRound {
  at: number;
  probes: number;
  failed: number;
  latencySum: number;
  latencyCount: number;
}

/** The figures at one moment. */
export interface RefSnapshot {
  mono: number;
  wall: number;
  health: Health;
  availability: { h24: number | null; d7: number | null; d30: number | null };
  /** [hour, ms up, ms observed], by hour. */
  buckets: Array<[number, number, number]>;
  /** Oldest first, as the state file keeps them. */
  outages: RefOutage[];
  cycles: RefCycle[];
  cyclesTotal: number;
}

export interface RefResult {
  checkpoints: RefSnapshot[];
  /** Right after each stop (the restarts, then the final stop). */
  stops: RefSnapshot[];
  /** Mono times at which the plug was switched off. */
  plug: PlugLog;
  rounds: number;
  /** Every change of health, in order (mono time, new state). */
  transitions: Array<{ mono: number; to: string }>;
}

const UP = new Set<Health>(['ready', 'degraded']);
const isUp = (h: Health) => UP.has(h);
/** Counts as up, down, or not at all (not observed). */
const counts = (h: Health): 'up' | 'down' | null =>
  isUp(h) ? 'up' : h === 'probing' || h === 'self_down' ? null : 'down';
const opensOutage = (h: Health) => h !== 'probing' && !isUp(h);
const side = (h: Health) => (h === 'probing' ? 'none' : isUp(h) ? 'up' : 'down');
const hourOf = (t: number) => Math.floor(t / HOUR);
const MAX_GAP = 60_000;

export function runReference(script: Script, cfg: RefConfig): RefResult {
  const plug = new PlugLog();
  const wall = (m: number) => wallAt(script, m);
  const result: RefResult = { checkpoints: [], stops: [], plug, rounds: 0, transitions: [] };
  let mono = 0;

  // Saved across restarts (the state file).
  const hours = new Map<number, { up: number; seen: number }>();
  let outages: RefOutage[] = [];
  let last = null as { at: number; health: Health } | null;
  let prunedAt = Number.NaN;
  let cycles: RefCycle[] = [];
  let cyclesTotal = 0;
  let countersResetAt = Number.NEGATIVE_INFINITY;
  let exhaustedAt: number | null = null;
  // One process.
  let health: Health = 'probing';
  let since = 0;
  let recent: Verdict[] = [];
  let window: WindowRound[] = [];
  let lastRoundAt: number | null = null;
  let startedAt = 0;
  let running = null as { onMono: number } | null;

  const setHealth = (to: Health, at: number) => {
    health = to;
    since = at;
    result.transitions.push({ mono, to });
    if (side(to) === 'down') window = [];
  };

  const closeOpen = (at: number) => {
    const o = outages[outages.length - 1];
    if (o !== undefined && o.end === null) o.end = Math.max(o.start, at);
  };

  const observe = (at: number, h: Health) => {
    if (last !== null) {
      const gap = at - last.at;
      const kind = counts(last.health);
      if (gap > 0 && gap <= MAX_GAP) {
        if (kind !== null) {
          for (let t = last.at; t < at; ) {
            const end = Math.min(at, (hourOf(t) + 1) * HOUR);
            const b = hours.get(hourOf(t)) ?? { up: 0, seen: 0 };
            b.seen += end - t;
            if (kind === 'up') b.up += end - t;
            hours.set(hourOf(t), b);
            t = end;
          }
        }
      } else if (gap !== 0) {
        closeOpen(last.at);
      }
    }
    const open = outages.length > 0 && outages[outages.length - 1]!.end === null;
    if (open && isUp(h)) closeOpen(at);
    else if (!open && opensOutage(h)) {
      outages.push({ start: at, end: null, class: h, action: 'none', power_cycles: 0 });
      if (outages.length > 50) outages = outages.slice(-50);
    }
    // Hours leave the 720 only when the hour changes.
    if (hourOf(at) !== prunedAt) {
      for (const hr of [...hours.keys()]) if (hr <= hourOf(at) - 720) hours.delete(hr);
      prunedAt = hourOf(at);
    }
    last = { at, health: h };
  };

  const noteAction = (action: Action) => {
    const o = outages[outages.length - 1];
    if (o === undefined || o.end !== null) return;
    if (ACTIONS.indexOf(action) > ACTIONS.indexOf(o.action)) o.action = action;
    if (action === 'power_cycle') o.power_cycles++;
  };

  /** Saved recovery times in the future (the clock was set back) become `now`. */
  const clampRecovery = (now: number) => {
    const clamp = (t: number) => Math.min(t, now);
    for (const c of cycles) {
      c.at = clamp(c.at);
      if (c.finished_at !== null) c.finished_at = clamp(c.finished_at);
    }
    if (Number.isFinite(countersResetAt)) countersResetAt = clamp(countersResetAt);
    if (exhaustedAt !== null) exhaustedAt = clamp(exhaustedAt);
  };

  const graceEnd = (): number | null =>
    cycles.length === 0 ? null : Math.max(...cycles.map((c) => (c.finished_at ?? c.at) + cfg.bootGraceMs));

  const judge = (router: ProbeResult[], wan: ProbeResult[]): Verdict => {
    const every = [...router, ...wan];
    if (every.every((r) => !r.ok && r.failure === 'unreachable' && r.code === 'ENETUNREACH'))
      return 'self_down';
    const failed = wan.filter((r) => !r.ok).length;
    if (failed === wan.length) {
      if (wan.some((r) => r.failure === 'tls_error')) return 'intercepted';
      return router.some((r) => r.ok || r.failure === 'refused') ? 'wan_down' : 'router_down';
    }
    if (failed > 0) return 'degraded';
    let probes = 0;
    let lost = 0;
    let latencySum = 0;
    let latencyCount = 0;
    for (const w of window) {
      probes += w.probes;
      lost += w.failed;
      latencySum += w.latencySum;
      latencyCount += w.latencyCount;
    }
    if (probes > 0 && lost / probes >= 0.2) return 'degraded';
    if (latencyCount > 0 && latencySum / latencyCount >= 500) return 'degraded';
    return 'ready';
  };

  const round = (m: number) => {
    mono = m;
    result.rounds++;
    const at = wall(m);
    const { router, wan } = worldRound(script.faults, plug, m);
    // The clock went back while running: saved recovery times ahead of it, and the start, set to now.
    clampRecovery(at);
    startedAt = Math.min(startedAt, at);
    if (lastRoundAt !== null && (at < lastRoundAt || at - lastRoundAt > MAX_GAP)) {
      recent = [];
      window = [];
      since = at;
    }
    lastRoundAt = at;
    const inGrace = running !== null || cycles.some((c) => at < (c.finished_at ?? c.at) + cfg.bootGraceMs);
    if (inGrace && health !== 'recovering') {
      setHealth('recovering', at);
      recent = [];
    }
    if (isUp(health) || wan.some((r) => r.ok)) {
      const ok = wan.filter((r) => r.ok && r.latencyMs !== null);
      window = window.filter((w) => w.at > at - 60_000 && w.at <= at);
      window.push({
        at,
        probes: wan.length,
        failed: wan.filter((r) => !r.ok).length,
        latencySum: ok.reduce((s, r) => s + (r.latencyMs ?? 0), 0),
        latencyCount: ok.length,
      });
      if (window.length > 120) window = window.slice(-120);
    }
    recent = [...recent, judge(router, wan)].slice(-2);
    if (!inGrace && recent.length === 2) {
      const [before, latest] = recent as [Verdict, Verdict];
      if (before !== health && latest !== health) {
        if (side(before) === side(latest)) setHealth(latest, at);
        else if (health === 'probing' || health === 'ready') setHealth('degraded', at);
      }
    }
    observe(at, health);
    recover(m, at);
  };

  const recover = (m: number, at: number) => {
    if (isUp(health)) exhaustedAt = null;
    if (health === 'ready' && at - since >= 30 * MINUTE && cycles.some((c) => c.at > countersResetAt)) {
      countersResetAt = at;
    }
    if (running !== null || health !== 'wan_down') return;
    if (at < startedAt + cfg.wanDownAfterMs) return;
    const grace = graceEnd();
    if (grace !== null && at < grace) return;
    if (exhaustedAt !== null) return;
    const inWindow = cycles.filter((c) => c.at > at - cfg.windowMs);
    const streak = inWindow.filter((c) => c.at > countersResetAt).length;
    const wait = Math.max(cfg.wanDownAfterMs, Math.min(cfg.wanDownAfterMs * 2 ** streak, cfg.windowMs));
    const downSince = Math.max(since, startedAt, grace ?? Number.NEGATIVE_INFINITY);
    if (at - downSince < wait) return;
    if (inWindow.length >= cfg.maxCycles) {
      exhaustedAt = at;
      noteAction('exhausted');
      return;
    }
    cycles.push({ at, finished_at: null });
    cycles = cycles.filter((c) => c.at > at - 720 * HOUR).slice(-200);
    cyclesTotal++;
    running = { onMono: m + cfg.offMs };
    noteAction('power_cycle');
    plug.off(m);
    setHealth('recovering', at);
    recent = [];
    observe(at, 'recovering');
  };

  const finishCycle = (m: number) => {
    plug.on(m);
    const c = cycles[cycles.length - 1];
    if (c !== undefined && c.finished_at === null) c.finished_at = wall(m);
    running = null;
  };

  const snapshot = (m: number): RefSnapshot => {
    const now = wall(m);
    const figure = (n: number) => {
      let up = 0;
      let seen = 0;
      for (const [h, b] of hours) {
        if (h > hourOf(now) - n) {
          up += b.up;
          seen += b.seen;
        }
      }
      return seen === 0 ? null : Math.round((up / seen) * 100_000) / 1000;
    };
    return {
      mono: m,
      wall: now,
      health,
      availability: { h24: figure(24), d7: figure(168), d30: figure(720) },
      buckets: [...hours.entries()].sort((a, b) => a[0] - b[0]).map(([h, b]) => [h, b.up, b.seen]),
      outages: outages.map((o) => ({ ...o })),
      cycles: cycles.map((c) => ({ ...c })),
      cyclesTotal,
    };
  };

  const checkpoints = [...script.checkpoints].sort((a, b) => a - b);
  let cp = 0;
  for (const run of runsOf(script)) {
    // Start: clamp saved times in the future, close the outage left open, probing again.
    const now = wall(run.from);
    const clamp = (t: number) => Math.min(t, now);
    const stoppedAt = last === null ? null : clamp(last.at);
    for (const o of outages) {
      o.start = clamp(o.start);
      o.end = Math.max(o.start, o.end === null ? (stoppedAt ?? o.start) : clamp(o.end));
    }
    for (const hr of [...hours.keys()]) if (hr > hourOf(now)) hours.delete(hr);
    clampRecovery(now);
    last = null;
    health = 'probing';
    since = now;
    recent = [];
    window = [];
    lastRoundAt = null;
    startedAt = now;

    let next = run.from;
    for (;;) {
      const on = running?.onMono ?? Number.POSITIVE_INFINITY;
      const t = Math.min(on, next);
      while (cp < checkpoints.length && checkpoints[cp]! < Math.min(t, run.to)) {
        result.checkpoints.push(snapshot(checkpoints[cp]!));
        cp++;
      }
      if (t >= run.to) break;
      if (on <= next) finishCycle(on);
      else {
        round(next);
        next += ROUND_MS;
      }
    }
    // Stop: a cycle in progress ends with the plug on; the time since the last round is counted.
    if (running !== null) finishCycle(run.to);
    observe(wall(run.to), health);
    result.stops.push(snapshot(run.to));
  }
  return result;
}
