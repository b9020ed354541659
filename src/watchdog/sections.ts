/**
 * The watchdog's two sections of the state file at start: `uptime` and `recovery`, as loaded
 * (salvaged entry by entry by src/state/schema.ts), with what was dropped said once and the
 * time the agent was not running taken out of the uptime figures. Files without them (written
 * before the watchdog existed) start with fresh ones.
 */
import type { Config } from '../config/schema.js';
import { recoveryStatus } from '../domain/recovery-policy.js';
import {
  CLOCK_BACK_WARN_MS,
  clockBackWarning,
  freshRecovery,
  type RecoveryState,
  resumeRecovery,
} from '../domain/recovery-state.js';
import { freshUptime, resumeUptime, type UptimeState, uptimeSummary } from '../domain/uptime.js';
import type { Logger } from '../log.js';
import { type PersistedState, sectionProblems } from '../state/schema.js';
import type { RuntimeStatus } from '../status.js';

export function loadSections(
  saved: PersistedState,
  now: number,
  logger: Logger,
): { uptime: UptimeState; recovery: RecoveryState } {
  const problems = [...sectionProblems(saved.uptime), ...sectionProblems(saved.recovery)];
  if (problems.length > 0) {
    logger.warn(
      { problems },
      `Parts of the saved watchdog state could not be read and were dropped (${problems.join('; ')}); the rest was kept. Nothing to do unless this repeats (then check the disk).`,
    );
  }
  const resumed = resumeUptime(saved.uptime ?? freshUptime(), now);
  if (resumed.clamped) {
    logger.warn(
      'The saved uptime figures hold times in the future: the system clock was probably set back since they were saved. They were clamped to now; if this happens at every start, check that NTP is running.',
    );
  }
  return { uptime: resumed.state, recovery: saved.recovery ?? freshRecovery() };
}

/**
 * A power cycle or its boot grace is running at `t`: the health machine is told `recovering` and
 * judges nothing. Only real cycles count (a dry-run's would-be cycle switched nothing).
 */
export function inRecovery(state: RecoveryState, bootGraceSeconds: number, t: number): boolean {
  if (state.current !== null) return true;
  const ends = state.cycles.filter((c) => !c.simulated).map((c) => Math.min(c.finished_at ?? c.at, t));
  return ends.length > 0 && t < Math.max(...ends) + bootGraceSeconds * 1000;
}

/**
 * The `uptime` and `recovery` parts of the state document from the saved sections, for the
 * moments before the watchdog runs (the router's address is still being looked up): what was
 * saved — the Auto recovery choice, the power-cycle count, the outage log — not "off, 0, none",
 * which Home Assistant would record as a switch turned off and a counter reset at every start.
 */
export function savedWatchdogStatus(
  saved: PersistedState,
  config: Config,
  startedAt: number,
  now: number,
): Pick<Required<RuntimeStatus>, 'uptime' | 'recovery'> {
  const { outages, ...availability } = uptimeSummary(
    resumeUptime(saved.uptime ?? freshUptime(), now).state,
    now,
  );
  return {
    uptime: { ready_since: null, ...availability, outages },
    recovery: recoveryStatus({
      state: saved.recovery ?? freshRecovery(),
      config,
      health: 'probing',
      healthSince: startedAt,
      startedAt,
      now,
    }),
  };
}

/**
 * The wall clock went back while the agent ran: the saved recovery times ahead of `now` are set to
 * `now` once (saved with the round), and that is said once (a step under a minute quietly), so the
 * graces and the 5-minute guard run from here, not until the clock catches up.
 */
export function settleClockBack(recovery: RecoveryState, now: number, logger: Logger): RecoveryState {
  const settled = resumeRecovery(recovery, now);
  if (!settled.clamped) return recovery;
  if (settled.aheadMs < CLOCK_BACK_WARN_MS) {
    logger.debug(
      { aheadMs: settled.aheadMs },
      'Clock stepped back a little; power-cycle times clamped to now',
    );
  } else {
    logger.warn({ aheadMs: settled.aheadMs }, clockBackWarning(settled.aheadMs));
  }
  return settled.state;
}
