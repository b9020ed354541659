/**
 * Times in the core: epoch milliseconds, and their one printed form. Pure; src/clock.ts
 * re-exports these for the rest of the agent.
 */

/** The latest time a state file may hold: the last millisecond of the year 9999. */
export const MAX_STORED_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Whether `ms` can be a time the agent saved: finite epoch milliseconds from 1970 (a Raspberry
 * Pi that started before NTP reads 1970) to the year 9999. Anything else in a state file came
 * from damage or a hand edit.
 */
export function isStoredTime(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && ms <= MAX_STORED_TIME_MS;
}

/** What `Date` can represent at all (±8.64e15 ms); beyond it, toISOString throws. */
function isDateTime(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15;
}

/**
 * ISO 8601 with an explicit offset (`2026-01-01T00:00:00.000+00:00`), the form Home Assistant's
 * timestamp sensors and every JSON consumer parse without guessing a time zone. Never throws: a
 * number no date can have gives `invalid time (…)`.
 */
export function isoTime(ms: number): string {
  if (!isDateTime(ms)) return `invalid time (${String(ms)})`;
  return new Date(ms).toISOString().replace(/Z$/, '+00:00');
}

/** Like isoTime, but `null` for a missing time and for a number no date can have. */
export function isoTimeOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || !isDateTime(ms) ? null : isoTime(ms);
}
