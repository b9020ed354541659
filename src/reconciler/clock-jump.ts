/**
 * A wall clock set back while the agent runs (NTP stepped it, someone set the date) leaves the
 * DNS state holding times in the future: a last write "tomorrow" would defer every change by
 * min_update_interval_seconds until the clock catches up, a retry "tomorrow" would hold a record
 * as long. At the start of each cycle such times are clamped to now, in place, as on load
 * (src/state/times.ts), and the jump is said once: the clamp leaves nothing ahead, so only another
 * jump warns again. The core reads such times the same way meanwhile (pastTime, clockWentBack in
 * src/domain/dns-plan.ts).
 */
import { isoTime } from '../clock.js';
import type { Logger } from '../log.js';
import type { PersistedState } from '../state/schema.js';
import { clampFutureTimes } from '../state/times.js';

/** A step back shorter than this is clamped without a warning (harmless, and NTP makes small ones). */
export const CLOCK_JUMP_WARN_MS = 60_000;

/** Clamps the DNS state's future times to `now`; returns how far ahead the furthest was (ms), 0 for none. */
export function settleClockJump(state: PersistedState, now: number, logger: Logger): number {
  const report = clampFutureTimes(state, now);
  if (!report || report.count === 0) return 0;
  const ahead = report.latest - now;
  const fields = report.fields.slice(0, 10);
  if (ahead < CLOCK_JUMP_WARN_MS) {
    logger.debug(
      { clamped: report.count, fields, aheadMs: ahead },
      'Clock stepped back a little; times clamped to now',
    );
    return ahead;
  }
  const n = report.count === 1 ? '1 time' : `${report.count} times`;
  logger.warn(
    { clamped: report.count, fields, aheadMs: ahead },
    `The system clock went back by about ${span(ahead)} while the agent was running ` +
      `(the DNS state holds times up to ${isoTime(report.latest)}, the clock says ${isoTime(now)}): ` +
      `${n} set to now, so no DNS change waits for the clock to catch up ` +
      '(a changed address may still wait one min_update_interval_seconds). If this repeats, check that NTP is running.',
  );
  return ahead;
}

function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
