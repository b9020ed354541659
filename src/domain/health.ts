/**
 * The health state machine (SPEC §4), published as `health`. Pure: the watchdog service feeds it
 * one probe round at a time (and whether a power cycle is running) and gets back the new state,
 * at most one transition record per step (one `health_changed` event and one log line) and the
 * `wan_down` / `wan_restored` events, as data. docs/health.md explains each state and the rules.
 *
 * Nothing here is persisted: after a restart health starts again at `probing` and is judged
 * afresh within two rounds (the recovery policy starts in grace anyway, SPEC §5).
 */
import { transitionMessage } from './health-messages.js';
import type { ProbeResult, ProbeRound } from './probe-result.js';
import {
  LATENCY_DEGRADED_MS,
  LOSS_DEGRADED,
  pushWindow,
  type WindowEntry,
  windowEntry,
  windowStats,
} from './probe-window.js';
import { isoTime } from './time.js';

export const HEALTH_STATES = [
  'probing',
  'ready',
  'degraded',
  'wan_down',
  'router_down',
  'self_down',
  'intercepted',
  'recovering',
] as const;
export type Health = (typeof HEALTH_STATES)[number];
/** The same eight values, under the name src/domain/recovery-policy.ts uses. */
export type HealthState = Health;

/** What one round says on its own: never `probing` (no evidence) or `recovering` (an input). */
export type RoundHealth = Exclude<Health, 'probing' | 'recovering'>;

export interface RoundVerdict {
  readonly at: number;
  readonly health: RoundHealth;
  readonly reason: string;
}

/** A state changes only when this many consecutive rounds say so (see `decide`). */
export const CONFIRM_ROUNDS = 2;

/**
 * Rounds further apart than this (or going back in time) mean the agent was not watching (a
 * suspended process, a clock step): the evidence is dropped and `since` restarts. Four intervals,
 * and never less than a minute.
 */
export function maxRoundGapMs(probeIntervalSeconds: number): number {
  return Math.max(4 * probeIntervalSeconds * 1000, 60_000);
}
/** The gap limit at the default `probe_interval_seconds` (15). */
export const DEFAULT_MAX_GAP_MS = maxRoundGapMs(15);

export interface HealthMachine {
  /** The published `health`. */
  readonly state: Health;
  /**
   * When `state` began (ms): the recovery policy's "wan_down continuously for X s". Also restarts
   * (without a transition) after a gap in the rounds or a clock going backwards.
   */
  readonly since: number;
  /** Why the machine is in `state` (the reason of the transition that put it there). */
  readonly reason: string;
  /**
   * When the current WAN outage began: the first `wan_down`/`router_down` of it. Kept through
   * `recovering`, `self_down`, `intercepted` and further down states; cleared on `ready`/`degraded`
   * (with a `wan_restored` event). Null when there is none.
   */
  readonly outageSince: number | null;
  /** The verdicts of the last rounds, newest last (at most CONFIRM_ROUNDS). */
  readonly recent: readonly RoundVerdict[];
  /** The last minute of WAN probes (./probe-window.ts). */
  readonly window: readonly WindowEntry[];
  /** The last round seen, for the state document's `probes`. */
  readonly lastRound: ProbeRound | null;
}

/** One state change: one `health_changed {from, to, reason}` event and one log line (`message`). */
export interface HealthTransition {
  readonly from: Health;
  readonly to: Health;
  readonly reason: string;
  readonly at: number;
  /** The log line: what happened and what to do next. */
  readonly message: string;
}

/** Payloads as in src/events.ts: the service emits them with `bus.emit(e.type, e.payload)`. */
export type HealthEvent =
  | { readonly type: 'wan_down'; readonly payload: { since: string } }
  | { readonly type: 'wan_restored'; readonly payload: { down_seconds: number } };

export interface HealthStep {
  readonly health: HealthMachine;
  readonly transitions: HealthTransition[];
  readonly events: HealthEvent[];
}

export interface StepOptions {
  /** A power cycle or its boot grace is running (the recovery service says so). */
  recovering: boolean;
  /** See `maxRoundGapMs`; default DEFAULT_MAX_GAP_MS. */
  maxGapMs?: number;
  /** The rolling window for loss and latency; default one minute. */
  windowMs?: number;
}

/** The §6 `probes.router` / `probes.wan` values. */
export interface ProbeSummary {
  ok: boolean | null;
  latency_ms: number | null;
  failure: string | null;
}

export function initialHealth(now: number): HealthMachine {
  return {
    state: 'probing',
    since: now,
    reason: 'the agent started; no probe round has been judged yet',
    outageSince: null,
    recent: [],
    window: [],
    lastRound: null,
  };
}

export function isUp(health: Health): boolean {
  return health === 'ready' || health === 'degraded';
}

/** `ready_since` of the state document: when the current `ready` began, null in any other state. */
export function readySince(machine: HealthMachine): number | null {
  return machine.state === 'ready' ? machine.since : null;
}

/**
 * One probe round. With `recovering` set the machine enters (or stays in) `recovering` and judges
 * nothing; the rounds still count as evidence, so the first round after the grace can decide.
 */
export function stepHealth(machine: HealthMachine, round: ProbeRound, options: StepOptions): HealthStep {
  const maxGap = options.maxGapMs ?? DEFAULT_MAX_GAP_MS;
  const transitions: HealthTransition[] = [];
  const events: HealthEvent[] = [];
  let m = machine;

  const prevAt = m.lastRound?.at ?? null;
  if (prevAt !== null && (round.at < prevAt || round.at - prevAt > maxGap)) {
    // Not watched in between (or the clock stepped): nothing seen before counts as continuous.
    m = {
      ...m,
      since: round.at,
      outageSince: m.outageSince === null ? null : round.at,
      recent: [],
      window: [],
    };
  } else if (m.since > round.at) {
    m = { ...m, since: round.at };
  }
  if (m.outageSince !== null && m.outageSince > round.at) m = { ...m, outageSince: round.at };

  if (options.recovering && m.state !== 'recovering') {
    const entered = enterRecovering(m, round.at);
    m = entered.health;
    transitions.push(...entered.transitions);
    events.push(...entered.events);
  }

  if (round.wan.length === 0) return { health: { ...m, lastRound: round }, transitions, events };

  // A round in which no WAN target answered is outage evidence, not loss, unless the line is up.
  const answered = round.wan.some((r) => r.ok);
  const window =
    isUp(m.state) || answered ? pushWindow(m.window, windowEntry(round), options.windowMs) : m.window;
  const verdict = judgeRound(round, window);
  const recent = [...m.recent, verdict].slice(-CONFIRM_ROUNDS);
  m = { ...m, window, recent, lastRound: round };
  if (options.recovering) return { health: m, transitions, events };

  const target = decide(m.state, recent);
  if (target === null) return { health: m, transitions, events };
  const changed = transition(m, target.health, target.reason, round.at);
  return {
    health: changed.health,
    transitions: [...transitions, ...changed.transitions],
    events: [...events, ...changed.events],
  };
}

/**
 * A power cycle started (automatic or manual): `recovering` at once, between rounds if need be.
 * The evidence gathered so far is dropped; the outage, if any, goes on.
 */
export function enterRecovering(machine: HealthMachine, at: number): HealthStep {
  if (machine.state === 'recovering') return { health: machine, transitions: [], events: [] };
  return transition(
    { ...machine, window: [], recent: [] },
    'recovering',
    'a power cycle and its boot grace are running',
    at,
  );
}

/** What one round says, given the window that already holds it (when it was added). */
export function judgeRound(round: ProbeRound, window: readonly WindowEntry[]): RoundVerdict {
  const verdict = (health: RoundHealth, reason: string): RoundVerdict => ({ at: round.at, health, reason });
  const wan = round.wan;
  const router = round.router ?? [];
  const every = [...router, ...wan];
  if (every.length > 0 && every.every(noRouteHere)) {
    return verdict(
      'self_down',
      'every probe failed at once with ENETUNREACH: this host has no network route',
    );
  }
  const failed = wan.filter((r) => !r.ok);
  const n = wan.length;
  if (failed.length === n) {
    const tls = failed.filter((r) => r.failure === 'tls_error');
    if (tls.length > 0) {
      return verdict(
        'intercepted',
        `no WAN target answered normally and ${describe(tls, false)} answered the TLS handshake with a certificate that is not theirs`,
      );
    }
    const all =
      n === 1
        ? `the WAN target failed (${describe(failed)})`
        : `all ${n} WAN targets failed (${describe(failed)})`;
    const alive = routerAlive(round.router);
    if (alive === true) return verdict('wan_down', `the router answers but ${all}`);
    if (alive === false)
      return verdict('router_down', `the router did not answer (${describe(router)}) and ${all}`);
    return verdict(
      'wan_down',
      `${all}; the router is not probed (router_host is empty), so this counts as wan_down`,
    );
  }
  if (failed.length > 0) {
    return verdict('degraded', `${failed.length} of ${n} WAN targets failed (${describe(failed)})`);
  }
  const stats = windowStats(window);
  if (stats.loss !== null && stats.loss >= LOSS_DEGRADED) {
    return verdict(
      'degraded',
      `${Math.round(stats.loss * 100)} % of the WAN probes failed over the last minute (${stats.failed} of ${stats.probes})`,
    );
  }
  if (stats.meanLatencyMs !== null && stats.meanLatencyMs >= LATENCY_DEGRADED_MS) {
    return verdict(
      'degraded',
      `WAN handshakes took ${Math.round(stats.meanLatencyMs)} ms on average over the last minute`,
    );
  }
  return verdict('ready', n === 1 ? 'the WAN target answered' : `all ${n} WAN targets answered`);
}

/** The §6 `probes` values from the last round (all null before the first). */
export function probeSummary(machine: HealthMachine): { router: ProbeSummary; wan: ProbeSummary } {
  const round = machine.lastRound;
  return {
    router: summarise(round?.router ?? null, answeredAtAll),
    wan: summarise(round?.wan ?? null, (r) => r.ok),
  };
}

export { transitionMessage };

type Group = 'up' | 'down' | 'none';

/** `recovering` sits with the down states: one good round never ends an outage a cycle works on. */
function groupOf(health: Health): Group {
  if (health === 'probing') return 'none';
  return isUp(health) ? 'up' : 'down';
}

/**
 * Hysteresis: the state moves only when the last two verdicts both differ from it.
 * - both down (or both up): to the latest verdict — two bad rounds take `ready` to a down
 *   state, two good rounds end an outage;
 * - one down, one up: from `probing`/`ready` to `degraded` (a flapping line); a down state or
 *   `recovering` stays put (an outage ends only on two good rounds in a row).
 */
function decide(state: Health, recent: readonly RoundVerdict[]): { health: Health; reason: string } | null {
  const last = recent[recent.length - 1];
  const before = recent[recent.length - 2];
  if (last === undefined || before === undefined) return null;
  if (last.health === state || before.health === state) return null;
  if (groupOf(before.health) === groupOf(last.health)) return { health: last.health, reason: last.reason };
  if (state === 'probing' || state === 'ready') {
    return {
      health: 'degraded',
      reason: `the last two rounds disagreed (${before.reason}; then ${last.reason})`,
    };
  }
  return null;
}

function transition(m: HealthMachine, to: Health, reason: string, at: number): HealthStep {
  const events: HealthEvent[] = [];
  let outageSince = m.outageSince;
  if ((to === 'wan_down' || to === 'router_down') && outageSince === null) {
    outageSince = at;
    events.push({ type: 'wan_down', payload: { since: isoTime(at) } });
  }
  if (isUp(to) && outageSince !== null) {
    events.push({
      type: 'wan_restored',
      payload: { down_seconds: Math.max(0, Math.round((at - outageSince) / 1000)) },
    });
    outageSince = null;
  }
  const record: HealthTransition = {
    from: m.state,
    to,
    reason,
    at,
    message: transitionMessage(m.state, to, reason),
  };
  // Loss is measured while the line is up: an outage's own rounds do not linger as "loss" after it.
  const window = groupOf(to) === 'down' ? [] : m.window;
  return {
    health: { ...m, state: to, since: at, reason, outageSince, window },
    transitions: [record],
    events,
  };
}

/** A fast ENETUNREACH: the kernel has no route for it, nothing left this host. */
function noRouteHere(r: ProbeResult): boolean {
  return !r.ok && r.failure === 'unreachable' && r.code === 'ENETUNREACH';
}

/** The router answered: a success, or a refusal (ECONNREFUSED comes from the router itself). */
function answeredAtAll(r: ProbeResult): boolean {
  return r.ok || r.failure === 'refused';
}

/** True/false when probed, null when the router probe is disabled. */
function routerAlive(router: readonly ProbeResult[] | null): boolean | null {
  if (router === null || router.length === 0) return null;
  return router.some(answeredAtAll);
}

const MAX_LISTED = 4;

/** `1.1.1.1:443 timeout, 8.8.8.8:443 refused` (at most four, then `and N more`). */
function describe(results: readonly ProbeResult[], withFailure = true): string {
  const parts = results
    .slice(0, MAX_LISTED)
    .map((r) => (withFailure ? `${r.target} ${r.failure ?? 'failed'}` : r.target));
  const more = results.length > MAX_LISTED ? ` and ${results.length - MAX_LISTED} more` : '';
  return `${parts.join(', ')}${more}`;
}

function summarise(results: readonly ProbeResult[] | null, alive: (r: ProbeResult) => boolean): ProbeSummary {
  if (results === null || results.length === 0) return { ok: null, latency_ms: null, failure: null };
  const latencies = results
    .filter((r) => alive(r) && r.latencyMs !== null && Number.isFinite(r.latencyMs))
    .map((r) => r.latencyMs as number);
  const firstFailure = results.find((r) => !alive(r));
  return {
    ok: results.some(alive),
    latency_ms: median(latencies),
    failure: firstFailure === undefined ? null : (firstFailure.failure ?? 'slow_fail'),
  };
}

/** Median, to 0.1 ms; null for none. */
function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Math.round(value * 10) / 10;
}
