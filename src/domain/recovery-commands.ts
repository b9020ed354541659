/**
 * What the `reboot` and `recovery` commands (SPEC §6) may do, decided from the recovery state and
 * the config. Pure. Parsing payloads (empty, `PRESS`, JSON) is src/commands.ts's job; this module
 * gets the parsed values.
 */
import {
  budgetLeft,
  hasPlug,
  humanDuration,
  MANUAL_GUARD_MS,
  MANUAL_OFF_MAX_SECONDS,
  MANUAL_OFF_MIN_SECONDS,
  type RecoveryConfig,
  recoveryDryRun,
} from './recovery-policy.js';
import { type RecoveryState, setEnabled } from './recovery-state.js';

export type RebootRefusal = 'no_plug' | 'bad_off_seconds' | 'cycling' | 'too_soon' | 'budget_spent';

export type ManualRebootResult =
  /**
   * Go ahead: `startCycle(state, now, {plug, offSeconds, manual: true})`, persist, then switch. When
   * `dryRun`, switch nothing: `noteWouldCycle(state, now, offSeconds, true)` and say `message`.
   */
  | { kind: 'accepted'; plug: string; offSeconds: number; dryRun: boolean; message: string }
  | { kind: 'refused'; code: RebootRefusal; reason: string };

/**
 * A manual `reboot`: skips the waiting, the grace and the health conditions (the user asked), and
 * works with Auto recovery off — but never without a plug, during a running cycle, within 5 min of
 * the last cycle's end, or beyond the budget.
 */
export function manualReboot(
  state: RecoveryState,
  input: { config: RecoveryConfig; now: number; offSeconds?: number | undefined },
): ManualRebootResult {
  const { config, now } = input;
  if (!hasPlug(config)) {
    return {
      kind: 'refused',
      code: 'no_plug',
      reason:
        'reboot refused: no plug is configured — set plug_type and its address to let the agent power-cycle the router',
    };
  }
  const off = input.offSeconds ?? config.power_off_seconds;
  if (
    input.offSeconds !== undefined &&
    (!Number.isInteger(off) || off < MANUAL_OFF_MIN_SECONDS || off > MANUAL_OFF_MAX_SECONDS)
  ) {
    return {
      kind: 'refused',
      code: 'bad_off_seconds',
      reason: `reboot refused: off_seconds ${off} is out of range — give a whole number of seconds from ${MANUAL_OFF_MIN_SECONDS} to ${MANUAL_OFF_MAX_SECONDS}, or leave it out for power_off_seconds (${config.power_off_seconds})`,
    };
  }
  if (state.current !== null) {
    return {
      kind: 'refused',
      code: 'cycling',
      reason: `reboot refused: a power cycle is already running (started ${humanDuration(now - state.current.started_at)} ago) — wait for it to finish`,
    };
  }
  const dryRun = recoveryDryRun(config);
  const ends = state.cycles
    .filter((c) => c.simulated === dryRun)
    .map((c) => Math.min(Math.max(c.at, c.finished_at ?? c.at), now)); // a future time (clock set back) counts as now
  const lastEnd = ends.length > 0 ? Math.max(...ends) : null;
  if (lastEnd !== null && now < lastEnd + MANUAL_GUARD_MS) {
    return {
      kind: 'refused',
      code: 'too_soon',
      reason: `reboot refused: the last power cycle ended ${humanDuration(now - lastEnd)} ago, and the router gets at least 5 min to boot — try again in ${humanDuration(lastEnd + MANUAL_GUARD_MS - now)}`,
    };
  }
  const { remaining, freesAt } = budgetLeft(state, config, now);
  if (remaining === 0) {
    const when = freesAt === null ? '' : ` — the next one frees up in ${humanDuration(freesAt - now)}`;
    return {
      kind: 'refused',
      code: 'budget_spent',
      reason: `reboot refused: the power-cycle budget is spent (${config.max_power_cycles} in ${config.power_cycle_window_hours} h)${when}; raise max_power_cycles to allow more`,
    };
  }
  const plug = config.plug_type;
  if (dryRun) {
    return {
      kind: 'accepted',
      plug,
      offSeconds: off,
      dryRun,
      message: `would power-cycle the router now (plug ${plug}, off ${off} s); nothing was switched because mode is dry-run — set mode: enforce (or remove it) to let recovery act`,
    };
  }
  return {
    kind: 'accepted',
    plug,
    offSeconds: off,
    dryRun,
    message: `power-cycling the router now (plug ${plug}, off ${off} s)`,
  };
}

export type AutoRecoveryResult =
  | { kind: 'accepted'; state: RecoveryState; message: string }
  | { kind: 'refused'; code: 'no_plug'; reason: string };

/**
 * The `recovery` command (the Auto recovery switch). The choice persists and overrides
 * `recovery_enabled` from then on. ON without a plug is refused (the switch would promise what
 * cannot happen); OFF never stops a running cycle — the router is never left off.
 */
export function setAutoRecovery(
  state: RecoveryState,
  config: RecoveryConfig,
  enabled: boolean,
): AutoRecoveryResult {
  if (enabled && !hasPlug(config)) {
    return {
      kind: 'refused',
      code: 'no_plug',
      reason: 'Auto recovery stays off: no plug is configured — set plug_type and its address first',
    };
  }
  const next = setEnabled(state, enabled);
  let message: string;
  if (!enabled) {
    message =
      state.current !== null
        ? 'Auto recovery is off; the power cycle already running will still finish with the plug on'
        : 'Auto recovery is off: the agent will watch and alert but not power-cycle the router (a manual reboot still works)';
  } else if (recoveryDryRun(config)) {
    message =
      'Auto recovery is on, but mode is dry-run: the agent will say what it would do and switch nothing';
  } else {
    message = `Auto recovery is on: the router is power-cycled after ${humanDuration(config.wan_down_after_seconds * 1000)} of WAN down, at most ${config.max_power_cycles} times in ${config.power_cycle_window_hours} h`;
  }
  return { kind: 'accepted', state: next, message };
}
