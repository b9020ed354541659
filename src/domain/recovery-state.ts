/**
 * What the recovery policy remembers across restarts (the `recovery` section of the state file),
 * and the transitions that change it. Pure: zod and plain data; times are epoch milliseconds.
 *
 * The decisions that read this state live in ./recovery-policy.ts. The service persists the state
 * returned by `startCycle` BEFORE it sends the plug command, so a crash between "off" and "on"
 * is found again on restart (`resumeAfterRestart`).
 */
import { z } from 'zod';

export const RECOVERY_STATE_VERSION = 1;

/** The doubling wait starts again from `wan_down_after_seconds` after this much continuous `ready`. */
export const COUNTER_RESET_MS = 30 * 60_000;
/** Cycle records older than this are dropped: the longest window `power_cycle_window_hours` allows (720 h). */
export const CYCLE_HISTORY_MS = 720 * 3_600_000;
/** And never more than this many are kept, whatever the clock did. */
export const CYCLE_HISTORY_MAX = 200;

/**
 * The latest time a state file may hold (the last millisecond of the year 9999, as src/clock.ts
 * MAX_STORED_TIME_MS): anything later is damage, and would make formatting it throw.
 */
const MAX_TIME_MS = 253_402_300_799_999;
const time = z.number().nonnegative().max(MAX_TIME_MS);

/** One power cycle, started by the policy or by a manual `reboot`, real or (in dry-run) only said. */
export const cycleRecordSchema = z.object({
  /** When the cycle started (the off command, or the would-cycle decision in dry-run). */
  at: time,
  /** When it ended (plug confirmed on, or gave up); boot grace counts from here. Null while running. */
  finished_at: time.nullable().default(null),
  /** Null while running or unknown (finished by a restart). */
  ok: z.boolean().nullable().default(null),
  manual: z.boolean().default(false),
  /** A dry-run cycle: nothing was switched. Counts only for dry-run's own budget and waits. */
  simulated: z.boolean().default(false),
});
export type CycleRecord = z.infer<typeof cycleRecordSchema>;

/** The longest off time a cycle may have: `power_off_seconds` and a manual `off_seconds` are 1..3600. */
export const MAX_OFF_SECONDS = 3600;
/** The off time of a saved cycle in progress whose own could not be read (SPEC §5's default `power_off_seconds`). */
export const DEFAULT_OFF_SECONDS = 30;

/** The cycle in progress, persisted before the plug is switched off. */
export const currentCycleSchema = z.object({
  /** `off`: the off (or firmware off-then-on) command is being sent or the plug is off; `on`: the on command was sent. */
  phase: z.enum(['off', 'on']),
  started_at: time,
  /** The plug type that was switched (`tasmota`, `shelly`, …). */
  plug: z.string(),
  off_seconds: z.number().int().positive(),
  manual: z.boolean().default(false),
  reason: z.string().default(''),
});
export type CurrentCycle = z.infer<typeof currentCycleSchema>;

const nullableTime = time.nullable().default(null);

export const recoveryStateSchema = z.object({
  version: z.literal(RECOVERY_STATE_VERSION).default(RECOVERY_STATE_VERSION),
  /** The Auto recovery switch (MQTT `recovery` command): null follows `recovery_enabled` from the config. */
  enabled: z.boolean().nullable().default(null),
  /** Recent cycles, oldest first: the sliding-window budget and the doubling wait are counted from these. */
  cycles: z.array(cycleRecordSchema).default([]),
  /** Real power cycles ever (the Power cycles sensor). */
  power_cycles_total: z.number().int().nonnegative().default(0),
  current: currentCycleSchema.nullable().default(null),
  /** Cycles at or before this time no longer double the wait (set after 30 min of continuous `ready`). */
  counters_reset_at: nullableTime,
  /** Set when the `exhausted` decision was made (once per outage); cleared when the WAN is back (ready or degraded). */
  exhausted_at: nullableTime,
  /** Set when a due cycle was skipped because Auto recovery is off (once per outage); cleared when the WAN is back. */
  skip_noted_at: nullableTime,
});
export type RecoveryState = z.infer<typeof recoveryStateSchema>;

/** The migration default: state files written before the watchdog existed have no `recovery` section. */
export function freshRecovery(): RecoveryState {
  return recoveryStateSchema.parse({});
}

/**
 * Reads the `recovery` section of a state file. Missing → fresh, silently. Each field is checked on
 * its own, so one damaged field never loses the others (above all a cycle in progress); every
 * field that had to fall back to its default is named in `problems`.
 */
export function parseRecovery(raw: unknown): { state: RecoveryState; problems: string[] } {
  if (raw === undefined || raw === null) return { state: freshRecovery(), problems: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      state: freshRecovery(),
      problems: ['recovery: is not an object — started with a fresh recovery history'],
    };
  }
  const whole = recoveryStateSchema.safeParse(raw);
  if (whole.success) return { state: whole.data, problems: [] };
  const fields = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, schema] of Object.entries(recoveryStateSchema.shape)) {
    const one = (schema as z.ZodType).safeParse(fields[key]);
    if (one.success) {
      out[key] = one.data;
    } else if (key === 'current') {
      // Never dropped: a cycle in progress means the plug may be off, and the start must switch it on.
      const rebuilt = salvageCurrent(fields[key], fields['cycles']);
      out[key] = rebuilt.cycle;
      problems.push(rebuilt.problem);
    } else if (key === 'cycles' && Array.isArray(fields[key])) {
      // Keep every readable cycle record: dropping them all would refill the budget.
      const kept = fields[key].flatMap((c) => {
        const r = cycleRecordSchema.safeParse(c);
        return r.success ? [r.data] : [];
      });
      out[key] = kept;
      problems.push(`recovery.cycles: ${fields[key].length - kept.length} unreadable record(s) dropped`);
    } else {
      problems.push(`recovery.${key}: unreadable value — using the default`);
    }
  }
  return { state: recoveryStateSchema.parse(out), problems };
}

/**
 * A saved cycle in progress that is there but partly unreadable (another version wrote a field
 * differently, the disk damaged it): every readable field is kept and the others get safe
 * defaults, so the start still switches the plug on first: phase `off`; an unknown start is the
 * cycle's unfinished record, or else long past (the plug is switched on at once, as for a start
 * in the future); off time DEFAULT_OFF_SECONDS; plug `unknown` (a label only); no reason.
 */
function salvageCurrent(raw: unknown, rawCycles: unknown): { cycle: CurrentCycle; problem: string } {
  const f: Record<string, unknown> =
    typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const shape = currentCycleSchema.shape;
  const bad: string[] = [];
  const pick = <T>(key: keyof typeof shape, fallback: () => T): T => {
    const one = (shape[key] as z.ZodType).safeParse(f[key]);
    if (one.success) return one.data as T;
    bad.push(key);
    return fallback();
  };
  const cycle: CurrentCycle = {
    phase: pick('phase', () => 'off' as const),
    started_at: pick('started_at', () => unfinishedRecordAt(rawCycles) ?? 0),
    plug: pick('plug', () => 'unknown'),
    off_seconds: pick('off_seconds', () => DEFAULT_OFF_SECONDS),
    manual: pick('manual', () => false),
    reason: pick('reason', () => ''),
  };
  return {
    cycle,
    problem: `recovery.current: the power cycle in progress has unreadable field(s) (${bad.join(', ')}) — kept with safe defaults, so the plug is switched on at start`,
  };
}

/** The start of the newest readable real cycle record that never finished: the cycle in progress. */
function unfinishedRecordAt(rawCycles: unknown): number | null {
  if (!Array.isArray(rawCycles)) return null;
  const open = rawCycles.flatMap((c) => {
    const r = cycleRecordSchema.safeParse(c);
    return r.success && !r.data.simulated && r.data.finished_at === null ? [r.data.at] : [];
  });
  return open.length > 0 ? Math.max(...open) : null;
}

/** The Auto recovery switch as the user last set it, or the config when never set. */
export function effectiveEnabled(state: RecoveryState, configEnabled: boolean): boolean {
  return state.enabled ?? configEnabled;
}

/** Persists the Auto recovery choice (the `recovery` command; `null` returns to the config's value). */
export function setEnabled(state: RecoveryState, enabled: boolean | null): RecoveryState {
  return { ...state, enabled };
}

function prune(cycles: readonly CycleRecord[], now: number): CycleRecord[] {
  return cycles.filter((c) => c.at > now - CYCLE_HISTORY_MS).slice(-CYCLE_HISTORY_MAX);
}

/**
 * A real cycle begins: persist the result before the plug is told anything. Counts at once
 * toward the budget, the doubling and `power_cycles_total` — a cycle whose outcome is unknown
 * still cycled the router as far as the router is concerned.
 */
export function startCycle(
  state: RecoveryState,
  now: number,
  cycle: { plug: string; offSeconds: number; manual?: boolean; reason?: string },
): RecoveryState {
  const manual = cycle.manual ?? false;
  return {
    ...state,
    cycles: prune([...state.cycles, { at: now, finished_at: null, ok: null, manual, simulated: false }], now),
    power_cycles_total: state.power_cycles_total + 1,
    current: {
      phase: 'off',
      started_at: now,
      plug: cycle.plug,
      off_seconds: cycle.offSeconds,
      manual,
      reason: cycle.reason ?? '',
    },
  };
}

/** The on command was sent (plugs without firmware auto-on); still unfinished until confirmed. */
export function cycleOnSent(state: RecoveryState): RecoveryState {
  if (state.current === null) return state;
  return { ...state, current: { ...state.current, phase: 'on' } };
}

/**
 * The cycle ended: the plug is confirmed on (`ok`), or the agent gave up confirming. Boot grace
 * counts from `now` either way: the router may be booting even when the confirmation got lost.
 * Without a cycle in progress, nothing changes.
 */
export function finishCycle(state: RecoveryState, now: number, ok: boolean | null): RecoveryState {
  const current = state.current;
  if (current === null) return state;
  const cycles = state.cycles.map((c) =>
    !c.simulated && c.at === current.started_at && c.finished_at === null
      ? { ...c, finished_at: now, ok }
      : c,
  );
  return { ...state, cycles, current: null };
}

/**
 * Dry-run: the policy said what it would do. Recorded as a simulated cycle so the waits, grace and
 * budget that follow are the ones a real cycle would have caused — one message per would-be
 * cycle, not one every probe round. Nothing here touches the real budget or total.
 */
export function noteWouldCycle(
  state: RecoveryState,
  now: number,
  offSeconds: number,
  manual = false,
): RecoveryState {
  const record: CycleRecord = {
    at: now,
    finished_at: now + offSeconds * 1000,
    ok: null,
    manual,
    simulated: true,
  };
  return { ...state, cycles: prune([...state.cycles, record], now) };
}

/** The `exhausted` decision was reported: it is not reported again until the WAN is back. */
export function noteExhausted(state: RecoveryState, now: number): RecoveryState {
  return state.exhausted_at === null ? { ...state, exhausted_at: now } : state;
}

/** A due cycle was skipped because Auto recovery is off: said once per outage. */
export function noteSkipped(state: RecoveryState, now: number): RecoveryState {
  return state.skip_noted_at === null ? { ...state, skip_noted_at: now } : state;
}

/** What the service logs, once, when `resumeRecovery` clamped something. */
export const FUTURE_CYCLES_WARNING =
  'The saved power-cycle history holds times in the future: the system clock was probably set back since it was saved. They were clamped to now, so those cycles count as made now and free the budget one power_cycle_window_hours from now; if this happens at every start, check that NTP is running.';

/**
 * At start: every time of the section that lies in the future — the system clock was set back
 * since it was saved (a Pi booting before NTP, a corrected clock) — is clamped to `now`; `clamped`
 * says whether that happened, for one warning. Without this, cycles saved at a future date would
 * fill the budget (and double the wait) until that date plus the window: months without an
 * automatic cycle. A clamped cycle counts as made now, so the budget it uses frees one
 * `power_cycle_window_hours` from now. Call it after `resumeAfterRestart` has read `current`: a
 * start in the future there means the plug's off time is unknown, and it is switched on at once;
 * `current.started_at` and its cycle's `at` are clamped alike, so `finishCycle` still finds it.
 * The service calls it at every probe round too: a clock set back while the agent runs (NTP
 * correcting a clock that ran ahead) is then clamped once, stored, and said once (`aheadMs`: how
 * far ahead the newest time was; 0 when nothing was), instead of every read taking a future time
 * as now — which kept the boot grace running and a manual reboot "too soon" until the clock
 * caught up.
 */
export function resumeRecovery(
  state: RecoveryState,
  now: number,
): { state: RecoveryState; clamped: boolean; aheadMs: number } {
  let latest = now;
  const clamp = (t: number): number => {
    if (t <= now) return t;
    latest = Math.max(latest, t);
    return now;
  };
  const clampNull = (t: number | null): number | null => (t === null ? null : clamp(t));
  const next: RecoveryState = {
    ...state,
    cycles: state.cycles.map((c) => ({ ...c, at: clamp(c.at), finished_at: clampNull(c.finished_at) })),
    current:
      state.current === null ? null : { ...state.current, started_at: clamp(state.current.started_at) },
    counters_reset_at: clampNull(state.counters_reset_at),
    exhausted_at: clampNull(state.exhausted_at),
    skip_noted_at: clampNull(state.skip_noted_at),
  };
  const aheadMs = latest - now;
  return aheadMs > 0 ? { state: next, clamped: true, aheadMs } : { state, clamped: false, aheadMs };
}

/** A step back shorter than this is clamped without a warning (harmless; NTP makes small ones). */
export const CLOCK_BACK_WARN_MS = 60_000;

/**
 * What the service logs, once per step, when the clock went back while it ran and `resumeRecovery`
 * (called every probe round) clamped the saved times: `aheadMs` is how far ahead the newest was.
 */
export function clockBackWarning(aheadMs: number): string {
  return `The system clock went back by about ${Math.max(1, Math.round(aheadMs / 60_000))} min while the agent was running (the saved power-cycle times were that far ahead): they were set to now, so the boot grace and the 5-minute guard before a manual reboot run from now instead of until the clock catches up, and those cycles free the budget one power_cycle_window_hours from now. Nothing to do if NTP just corrected the clock; if this repeats, check that NTP is running.`;
}

/** What the agent must do first after a restart. */
export type RestartAction =
  | { kind: 'none' }
  /**
   * A cycle was unfinished when the agent stopped: make sure the plug is on — at `at`, which is
   * the cycle's planned end, or now when that is past — then `finishCycle`.
   */
  | { kind: 'ensure_on'; at: number; cycle: CurrentCycle; message: string };

export function resumeAfterRestart(state: RecoveryState, now: number): RestartAction {
  const cycle = state.current;
  if (cycle === null) return { kind: 'none' };
  // A saved off time longer than any cycle may have (damage, another version) is capped: the plug
  // is on again within MAX_OFF_SECONDS of the cycle's start, never years later.
  const offSeconds = Math.min(cycle.off_seconds, MAX_OFF_SECONDS);
  const capped =
    offSeconds < cycle.off_seconds
      ? ` (its saved off time, ${cycle.off_seconds} s, is longer than the longest allowed, ${MAX_OFF_SECONDS} s: capped)`
      : '';
  // A start in the future means the clock was set back since: how long the plug has been off is
  // unknown, so it is switched on at once rather than after a planned end that may be days away.
  const end = cycle.started_at > now ? now : cycle.started_at + offSeconds * 1000;
  const at = Math.max(now, end);
  const when =
    at === now ? 'now' : `in ${Math.ceil((at - now) / 1000)} s, at the end of its planned off time`;
  return {
    kind: 'ensure_on',
    at,
    cycle,
    message:
      `A power cycle (plug ${cycle.plug}, phase ${cycle.phase}) was unfinished when the agent stopped: ` +
      `switching the plug on ${when}${capped} so the router is not left off. Nothing to do unless it fails.`,
  };
}
