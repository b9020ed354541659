/**
 * The recovery policy (SPEC §5): whether to power-cycle the router now, what a manual `reboot`
 * may do, and the `recovery` object of the state document. Pure: every answer is computed from
 * the persisted recovery state (./recovery-state.ts), the config, the current health and the time.
 * The service does the I/O: it persists `startCycle(...)` before switching the plug, and turns
 * decisions into events (see docs/recovery.md):
 * - `cycle` → `power_cycle_started {plug, off_seconds, reason: message}`;
 * - `would_cycle`, `exhausted`, `skip` → `power_cycle_skipped {reason: message}`;
 * - `none` → nothing; its `reason` code and `message` are for the log at debug and the state page.
 */
import type { HealthState } from './health.js';
import {
  COUNTER_RESET_MS,
  type CycleRecord,
  effectiveEnabled,
  MAX_OFF_SECONDS,
  noteExhausted,
  noteSkipped,
  noteWouldCycle,
  type RecoveryState,
} from './recovery-state.js';
import { isoTime } from './time.js';

/** The health state machine's states (SPEC §4), from ./health.ts. */
export type { HealthState } from './health.js';

/** The config keys the policy reads (SPEC §2), plus whether `mode` was set by the user. */
export interface RecoveryConfig {
  recovery_enabled: boolean;
  plug_type: string;
  mode: 'enforce' | 'dry-run';
  /**
   * True when the user set `mode`. The token-less default dry-run is about DNS only: recovery
   * stays to saying what it would do only when `mode: dry-run` was set explicitly.
   */
  mode_explicit: boolean;
  power_off_seconds: number;
  wan_down_after_seconds: number;
  boot_grace_seconds: number;
  max_power_cycles: number;
  power_cycle_window_hours: number;
  recover_when_router_down: boolean;
}

/** One probe round's worth of facts. */
export interface RecoveryInput {
  state: RecoveryState;
  config: RecoveryConfig;
  health: HealthState;
  /** When the current health state began (ms). */
  healthSince: number;
  /** When this agent process started (ms): it starts in grace. */
  startedAt: number;
  now: number;
}

/** Why nothing happens this round (for the log and the state page). */
export type NoneReason =
  | 'cycling' // a cycle is in progress
  | 'no_plug' // plug_type is none
  | 'probing' // health not known yet
  | 'wan_up' // ready or degraded: nothing to heal
  | 'not_router_fault' // self_down or intercepted: a cycle would not help
  | 'router_down' // router_down without recover_when_router_down
  | 'recovering' // the health machine is in a cycle's boot grace
  | 'start_grace' // the agent started less than wan_down_after_seconds ago
  | 'boot_grace' // a cycle ended less than boot_grace_seconds ago
  | 'waiting' // the WAN is down, not yet for long enough
  | 'exhausted' // the budget was spent during this outage (already reported)
  | 'disabled'; // Auto recovery is off (already reported for this outage)

export interface CyclePlan {
  plug: string;
  offSeconds: number;
  /** This cycle's number within the window (1-based) and the budget. */
  attempt: number;
  budget: number;
  /** How long the WAN had been down, as counted for the wait. */
  downSeconds: number;
  message: string;
}

export type Decision =
  | { kind: 'none'; reason: NoneReason; until: number | null; message: string }
  | ({ kind: 'cycle' } & CyclePlan)
  /** Explicit `mode: dry-run`: what would have happened. No plug command. */
  | ({ kind: 'would_cycle' } & CyclePlan)
  /** A cycle is due but the budget is spent: reported once, then `none`/`exhausted`. */
  | { kind: 'exhausted'; budget: number; windowHours: number; freesAt: number | null; message: string }
  /** A cycle is due but Auto recovery is off: reported once per outage. */
  | { kind: 'skip'; reason: 'disabled'; message: string };

export const MANUAL_GUARD_MS = 5 * 60_000;
export const MANUAL_OFF_MIN_SECONDS = 5;
export const MANUAL_OFF_MAX_SECONDS = MAX_OFF_SECONDS; // the longest off time a cycle may have

/** The `recovery.state` values (SPEC §6); see docs/recovery.md. */
export const RECOVERY_STATES = ['disabled', 'idle', 'waiting', 'cycling', 'grace', 'exhausted'] as const;
export type RecoveryStateName = (typeof RECOVERY_STATES)[number];

/** The §6 state document's `recovery` object. */
export interface RecoveryStatus {
  enabled: boolean;
  state: RecoveryStateName;
  power_cycles_total: number;
  last_power_cycle: string | null;
  budget_remaining: number | null;
}

export function hasPlug(config: RecoveryConfig): boolean {
  return config.plug_type !== 'none' && config.plug_type !== '';
}

/** Recovery only says what it would do: `mode: dry-run` set by the user. */
export function recoveryDryRun(config: RecoveryConfig): boolean {
  return config.mode === 'dry-run' && config.mode_explicit;
}

/** Cycles that count in this mode: real ones, or in dry-run the simulated ones. */
function counted(state: RecoveryState, config: RecoveryConfig): CycleRecord[] {
  const simulated = recoveryDryRun(config);
  return state.cycles.filter((c) => c.simulated === simulated);
}

function windowMs(config: RecoveryConfig): number {
  return config.power_cycle_window_hours * 3_600_000;
}

function inWindow(cycles: readonly CycleRecord[], config: RecoveryConfig, now: number): CycleRecord[] {
  return cycles.filter((c) => c.at > now - windowMs(config));
}

/** Cycles left in the sliding window, and when the oldest counted one leaves it. */
export function budgetLeft(
  state: RecoveryState,
  config: RecoveryConfig,
  now: number,
): { remaining: number; freesAt: number | null } {
  const used = inWindow(counted(state, config), config, now);
  const remaining = Math.max(0, config.max_power_cycles - used.length);
  const oldest = used.length > 0 ? Math.min(...used.map((c) => c.at)) : null;
  return { remaining, freesAt: oldest === null ? null : oldest + windowMs(config) };
}

/**
 * The wait before the next cycle: `wan_down_after_seconds`, doubled per cycle in the window since
 * the last reset; the window caps the doubling, never the `wan_down_after_seconds` asked for.
 */
export function currentWaitMs(state: RecoveryState, config: RecoveryConfig, now: number): number {
  const reset = state.counters_reset_at ?? Number.NEGATIVE_INFINITY;
  const streak = inWindow(counted(state, config), config, now).filter((c) => c.at > reset).length;
  const base = config.wan_down_after_seconds * 1000;
  return Math.max(base, Math.min(base * 2 ** Math.min(streak, 30), windowMs(config)));
}

/**
 * When the last counted cycle's boot grace ends (null: none). A cycle time in the future (the
 * clock was set back) counts as now, so grace never lasts longer than `boot_grace_seconds`.
 */
function graceEnd(state: RecoveryState, config: RecoveryConfig, now: number): number | null {
  const ends = counted(state, config).map((c) => Math.min(c.finished_at ?? c.at, now));
  return ends.length === 0 ? null : Math.max(...ends) + config.boot_grace_seconds * 1000;
}

/** Human time: `45 s`, `3 min`, `3 min 30 s`, `2 h`, `1 h 30 min` (an hour or more: whole minutes). */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

function none(reason: NoneReason, message: string, until: number | null = null): Decision {
  return { kind: 'none', reason, until, message };
}

/** Is this health one that a power cycle may heal? */
function eligible(health: HealthState, config: RecoveryConfig): boolean {
  return health === 'wan_down' || (health === 'router_down' && config.recover_when_router_down);
}

function healthReason(health: HealthState): Decision {
  switch (health) {
    case 'probing':
      return none('probing', 'Health is not known yet: no judgement until the probes have run.');
    case 'ready':
    case 'degraded':
      return none('wan_up', `Health is ${health}: nothing to recover.`);
    case 'self_down':
      return none(
        'not_router_fault',
        "This host has no network route (self_down): a router power cycle would not help — check this host's cable, Wi-Fi or network settings.",
      );
    case 'intercepted':
      return none(
        'not_router_fault',
        'The WAN answers with a foreign certificate (intercepted: a captive portal or the ISP): a router power cycle would not help — open a web page to see who intercepts.',
      );
    case 'router_down':
      return none(
        'router_down',
        'The router does not answer either (router_down): no power cycle, as recover_when_router_down is false — check the router, or set recover_when_router_down: true to let the agent cycle it.',
      );
    case 'recovering':
      return none('recovering', 'A power cycle or its boot grace is running: no judgement.');
    default:
      return none('wan_up', `Health is ${health}: nothing to recover.`);
  }
}

/** Whether to power-cycle now. Never changes state: see `recoveryRound` and the note* transitions. */
export function decideRecovery(input: RecoveryInput): Decision {
  const { state, config, health, now } = input;
  if (state.current !== null) {
    return none(
      'cycling',
      `A power cycle started at ${isoTime(state.current.started_at)} is in progress: waiting for it to end.`,
    );
  }
  if (!hasPlug(config)) {
    return none('no_plug', 'No plug is configured (plug_type: none): recovery only watches.');
  }
  if (!eligible(health, config)) return healthReason(health);

  const base = config.wan_down_after_seconds * 1000;
  if (now < input.startedAt + base) {
    const until = input.startedAt + base;
    return none(
      'start_grace',
      `The agent started ${humanDuration(now - input.startedAt)} ago: no judgement before it has watched for ${humanDuration(base)} (${humanDuration(until - now)} to go).`,
      until,
    );
  }
  const grace = graceEnd(state, config, now);
  if (grace !== null && now < grace) {
    return none(
      'boot_grace',
      `The router was power-cycled recently: boot grace until ${isoTime(grace)} (${humanDuration(grace - now)} to go).`,
      grace,
    );
  }
  if (state.exhausted_at !== null) {
    return none(
      'exhausted',
      'The power-cycle budget was spent during this outage: alerts only until the WAN comes back.',
    );
  }

  const wait = currentWaitMs(state, config, now);
  const downSince = Math.max(input.healthSince, input.startedAt, grace ?? Number.NEGATIVE_INFINITY);
  const down = now - downSince;
  const what = health === 'wan_down' ? 'the WAN' : 'the router and the WAN';
  if (down < wait) {
    return none(
      'waiting',
      `${capitalise(what)} has been down for ${humanDuration(down)}: a power cycle is due after ${humanDuration(wait)} (at ${isoTime(downSince + wait)}).`,
      downSince + wait,
    );
  }

  if (!effectiveEnabled(state, config.recovery_enabled)) {
    if (state.skip_noted_at !== null) {
      return none('disabled', 'Auto recovery is off: the router is not power-cycled.');
    }
    return {
      kind: 'skip',
      reason: 'disabled',
      message: `${capitalise(what)} has been down for ${humanDuration(down)}, but Auto recovery is off: the router was not power-cycled. Switch Auto recovery on (or set recovery_enabled: true) to let the agent do it.`,
    };
  }

  const { remaining, freesAt } = budgetLeft(state, config, now);
  const budget = config.max_power_cycles;
  const hours = config.power_cycle_window_hours;
  if (remaining === 0) {
    const frees = freesAt === null ? '' : ` One cycle frees up at ${isoTime(freesAt)}.`;
    return {
      kind: 'exhausted',
      budget,
      windowHours: hours,
      freesAt,
      message: `${capitalise(what)} is still down, but the power-cycle budget is spent (${budget} in ${hours} h): no more cycles during this outage, alerts only.${frees} Check the modem's lights and the ISP's status page.`,
    };
  }

  const plan: CyclePlan = {
    plug: config.plug_type,
    offSeconds: config.power_off_seconds,
    attempt: budget - remaining + 1,
    budget,
    downSeconds: Math.round(down / 1000),
    message: '',
  };
  const cause =
    health === 'wan_down'
      ? `The WAN has been down for ${humanDuration(down)} while the router answers`
      : `The router and the WAN have been down for ${humanDuration(down)}`;
  const detail = `plug ${plan.plug}, off ${plan.offSeconds} s; cycle ${plan.attempt} of ${budget} in ${hours} h`;
  if (recoveryDryRun(config)) {
    return {
      kind: 'would_cycle',
      ...plan,
      message: `${cause}: would power-cycle the router now (${detail}). Nothing was switched because mode is dry-run — set mode: enforce (or remove it) to let recovery act.`,
    };
  }
  return { kind: 'cycle', ...plan, message: `${cause}: power-cycling the router (${detail}).` };
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Resets from health alone. When the WAN is back (`ready` or `degraded`: a line with one blocked
 * target or a slow line is back all the same), the once-per-outage latches clear — `exhausted`
 * (SPEC §5: "only alerts follow until the WAN comes back") and the "Auto recovery is off" note —
 * so the next outage is judged, and reported, afresh. After 30 min of continuous `ready` the
 * doubling starts again from `wan_down_after_seconds`. Returns the same object when nothing
 * changes (the caller can skip a save).
 */
export function onHealth(
  state: RecoveryState,
  health: HealthState,
  healthSince: number,
  now: number,
): RecoveryState {
  let next = state;
  const latched = next.skip_noted_at !== null || next.exhausted_at !== null;
  if ((health === 'ready' || health === 'degraded') && latched) {
    next = { ...next, skip_noted_at: null, exhausted_at: null };
  }
  if (health === 'ready' && now - healthSince >= COUNTER_RESET_MS) {
    const reset = next.counters_reset_at ?? Number.NEGATIVE_INFINITY;
    if (next.cycles.some((c) => c.at > reset)) next = { ...next, counters_reset_at: now };
  }
  return next;
}

/** Records what a decision means for the state: a would-be cycle, the exhausted or skip latch. */
export function applyDecision(state: RecoveryState, decision: Decision, now: number): RecoveryState {
  switch (decision.kind) {
    case 'would_cycle':
      return noteWouldCycle(state, now, decision.offSeconds);
    case 'exhausted':
      return noteExhausted(state, now);
    case 'skip':
      return noteSkipped(state, now);
    default:
      return state;
  }
}

/**
 * One probe round: resets from health, the decision, and what it means for the state. For a
 * `cycle` the state is returned unchanged: the service calls `startCycle`, persists it, and only
 * then switches the plug.
 */
export function recoveryRound(input: RecoveryInput): { state: RecoveryState; decision: Decision } {
  const reset = onHealth(input.state, input.health, input.healthSince, input.now);
  const decision = decideRecovery({ ...input, state: reset });
  return { state: applyDecision(reset, decision, input.now), decision };
}

/** The §6 `recovery` object. */
export function recoveryStatus(input: RecoveryInput): RecoveryStatus {
  const { state, config, now } = input;
  const real = state.cycles.filter((c) => !c.simulated);
  const last = real.length > 0 ? Math.max(...real.map((c) => c.at)) : null;
  return {
    enabled: effectiveEnabled(state, config.recovery_enabled),
    state: statusName(input),
    power_cycles_total: state.power_cycles_total,
    last_power_cycle: last === null ? null : isoTime(last),
    budget_remaining: hasPlug(config) ? budgetLeft(state, config, now).remaining : null,
  };
}

function statusName(input: RecoveryInput): RecoveryStateName {
  const { state, config } = input;
  if (state.current !== null) return 'cycling';
  if (!hasPlug(config) || !effectiveEnabled(state, config.recovery_enabled)) return 'disabled';
  const decision = decideRecovery(input);
  if (decision.kind === 'exhausted') return 'exhausted';
  if (decision.kind !== 'none') return 'waiting'; // due this very round
  switch (decision.reason) {
    case 'start_grace':
    case 'boot_grace':
    case 'recovering':
      return 'grace';
    case 'waiting':
      return 'waiting';
    case 'exhausted':
      return 'exhausted';
    default:
      return state.exhausted_at !== null ? 'exhausted' : 'idle';
  }
}
