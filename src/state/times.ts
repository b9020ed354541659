/**
 * Times in a loaded state that lie in the future. They mean the system clock went back since
 * they were saved (NTP corrected it, or a Raspberry Pi without a battery clock started before NTP
 * set the time). Left alone they would hold every change back "until tomorrow" while the record
 * still shows `in_sync`, so they are clamped to now.
 */
import { isoTime } from '../clock.js';
import type { PersistedState } from './schema.js';

/**
 * The longest wait the agent schedules for a record (`next_attempt_at`): a Cloudflare
 * Retry-After is honoured up to a day. A retry further ahead than this cannot be ours.
 */
export const MAX_SCHEDULED_AHEAD_MS = 86_400_000;

export interface ClampReport {
  /** How many times were set to now. */
  count: number;
  /** Which ones (paths in the state file), for the log. */
  fields: string[];
  /** The furthest of them, as it was. */
  latest: number;
}

interface TimeRef {
  path: string;
  get: () => number | null;
  set: (v: number) => void;
  /** `past` times record something that happened; `schedule` times may rightly lie ahead. */
  kind: 'past' | 'schedule';
}

function timeRefs(state: PersistedState): TimeRef[] {
  const pub = state.public_ip;
  const dns = state.dns;
  const refs: TimeRef[] = [
    {
      path: 'public_ip.checked_at',
      get: () => pub.checked_at,
      set: (v) => (pub.checked_at = v),
      kind: 'past',
    },
    { path: 'dns.last_sync', get: () => dns.last_sync, set: (v) => (dns.last_sync = v), kind: 'past' },
    { path: 'dns.last_change', get: () => dns.last_change, set: (v) => (dns.last_change = v), kind: 'past' },
  ];
  for (const [key, r] of Object.entries(dns.records)) {
    const at = `dns.records.${key}`;
    refs.push(
      { path: `${at}.last_update`, get: () => r.last_update, set: (v) => (r.last_update = v), kind: 'past' },
      {
        path: `${at}.api_checked_at`,
        get: () => r.api_checked_at,
        set: (v) => (r.api_checked_at = v),
        kind: 'past',
      },
      {
        path: `${at}.next_attempt_at`,
        get: () => r.next_attempt_at,
        set: (v) => (r.next_attempt_at = v),
        kind: 'schedule',
      },
    );
  }
  return refs;
}

/**
 * Clamps times in the future to `now`, in place. The clock went back when a past time (a save,
 * a write, a check) lies ahead of now, or a scheduled retry lies further ahead than any the
 * agent makes; then every time ahead of now is clamped, retries included. Otherwise a pending
 * retry is kept, so a restart does not skip a backoff or a Retry-After. Returns null when
 * nothing was changed.
 */
export function clampFutureTimes(state: PersistedState, now: number): ClampReport | null {
  const refs = timeRefs(state);
  const clockWentBack = refs.some((ref) => {
    const t = ref.get();
    return t !== null && t > (ref.kind === 'past' ? now : now + MAX_SCHEDULED_AHEAD_MS);
  });
  if (!clockWentBack) return null;
  const fields: string[] = [];
  let latest = now;
  for (const ref of refs) {
    const t = ref.get();
    if (t === null || t <= now) continue;
    latest = Math.max(latest, t);
    fields.push(ref.path);
    ref.set(now);
  }
  return { count: fields.length, fields, latest };
}

/** The one warning for a clamp: what happened, what was done, what to check. */
export function clampMessage(report: ClampReport, now: number): string {
  const n = report.count === 1 ? '1 time was' : `${report.count} times were`;
  return (
    `The saved state holds times up to ${span(report.latest - now)} in the future (latest ${isoTime(report.latest)}, ` +
    `the clock says ${isoTime(now)}): the system clock was probably set back since they were saved ` +
    `(corrected by NTP, or this device started before NTP set the time). ${n} clamped to now, ` +
    'so no DNS change waits for them. If this happens at every start, check that NTP is running.'
  );
}

function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
