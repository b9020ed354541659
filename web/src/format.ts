/**
 * Words and numbers for people: health, record status, outage classes and actions, times and
 * durations. Pure (the current time is passed in), so it reads the same in every browser.
 */
import type { AgentEvent } from './types.js';

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';

export const HEALTH: Record<string, { label: string; tone: Tone; detail: string }> = {
  probing: { label: 'Checking', tone: 'info', detail: 'Just started: the first probe rounds are running.' },
  ready: { label: 'Online', tone: 'ok', detail: 'The internet works.' },
  degraded: {
    label: 'Online, degraded',
    tone: 'warn',
    detail: 'The internet works, but some probes fail or answer slowly.',
  },
  wan_down: { label: 'Internet down', tone: 'bad', detail: 'The router answers, the internet does not.' },
  router_down: {
    label: 'Router down',
    tone: 'bad',
    detail: 'Neither the router nor the internet answers.',
  },
  self_down: {
    label: 'This host is offline',
    tone: 'bad',
    detail:
      "The agent's own machine has no network (cable, Wi-Fi, its settings). A power cycle would not help.",
  },
  intercepted: {
    label: 'Intercepted',
    tone: 'bad',
    detail:
      'Something answers for the internet (a captive portal or an ISP notice page): open a web page from this network to see who.',
  },
  recovering: {
    label: 'Recovering',
    tone: 'warn',
    detail: 'The router is being power-cycled, or is booting after it.',
  },
};

export function health(value: string): { label: string; tone: Tone; detail: string } {
  return HEALTH[value] ?? { label: value, tone: 'muted', detail: '' };
}

/** The health states in which the internet is not usable (the page shows a banner). */
export function isDown(value: string): boolean {
  return ['wan_down', 'router_down', 'self_down', 'intercepted'].includes(value);
}

export const RECORD_STATUS: Record<string, { label: string; tone: Tone }> = {
  in_sync: { label: 'In sync', tone: 'ok' },
  out_of_sync: { label: 'Out of sync', tone: 'warn' },
  updating: { label: 'Updating', tone: 'info' },
  error: { label: 'Error', tone: 'bad' },
  dry_run: { label: 'Dry run', tone: 'muted' },
  disabled: { label: 'Disabled', tone: 'muted' },
};

export function recordStatus(value: string): { label: string; tone: Tone } {
  return RECORD_STATUS[value] ?? { label: value, tone: 'muted' };
}

export const RECOVERY_STATE: Record<string, string> = {
  disabled: 'Off: Auto recovery is off, or no plug is configured.',
  idle: 'Idle: nothing to recover.',
  waiting: 'Waiting: the internet is down; a power cycle is due when the wait is over.',
  cycling: 'Power-cycling the router now.',
  grace: 'Grace: the router is booting (or the agent just started); no judgement yet.',
  exhausted: 'Budget spent: alerts only until the internet has been back for 30 minutes.',
};

export const OUTAGE_ACTION: Record<string, string> = {
  none: 'no action',
  skipped: 'power cycle skipped (Auto recovery off)',
  would_cycle: 'would have power-cycled (dry run)',
  power_cycle: 'router power-cycled',
  exhausted: 'power-cycle budget spent',
};

export function outageAction(action: string | null): string {
  if (action === null) return 'no action';
  return OUTAGE_ACTION[action] ?? action;
}

/** `12 s`, `4 min`, `2 h 5 min`, `3 d 4 h`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** `just now`, `5 min ago`, `in 3 min`. */
export function relative(iso: string | null, now: number): string {
  const t = iso === null ? Number.NaN : Date.parse(iso);
  if (Number.isNaN(t)) return 'never';
  const diff = now - t;
  if (Math.abs(diff) < 10_000) return 'just now';
  return diff > 0 ? `${duration(diff)} ago` : `in ${duration(-diff)}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

/** The local time of day for today's times, the date and time for others. */
export function when(iso: string | null, now: number): string {
  const t = iso === null ? Number.NaN : Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const sameDay = new Date(t).toDateString() === new Date(now).toDateString();
  return sameDay ? timeFmt.format(t) : dateTimeFmt.format(t);
}

export function clockTime(t: number): string {
  return timeFmt.format(t);
}

/** `99.95 %`, or `—` when nothing was observed yet. */
export function percent(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const digits = value >= 99.995 || value < 10 ? 1 : 2;
  return `${value.toFixed(value === 100 ? 0 : digits)} %`;
}

export function ms(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function str(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

/** One §6 event as a sentence for the activity list. */
export function eventSentence(e: AgentEvent): { text: string; tone: Tone } {
  switch (e.type) {
    case 'ip_changed': {
      const family = e.family === 'ipv6' ? 'IPv6' : 'IPv4';
      const from = str(e.old) || 'nothing';
      return { text: `Public ${family} changed from ${from} to ${str(e.new)}.`, tone: 'info' };
    }
    case 'dns_updated':
      return {
        text: `${str(e.record)} (${str(e.record_type)}) ${e.action === 'create' ? 'created' : 'updated'}: ${str(e.old) || 'nothing'} → ${str(e.new)}.`,
        tone: 'ok',
      };
    case 'dns_update_failed': {
      const retry = str(e.retry_at) ? ` Next try at ${when(str(e.retry_at), Date.parse(e.at))}.` : '';
      return {
        text: `${str(e.record)} (${str(e.record_type)}) could not be updated: ${str(e.error)}.${retry}`,
        tone: 'bad',
      };
    }
    case 'health_changed': {
      const reason = str(e.reason) ? ` (${str(e.reason)})` : '';
      return {
        text: `Health: ${health(str(e.from)).label} → ${health(str(e.to)).label}${reason}.`,
        tone: health(str(e.to)).tone,
      };
    }
    case 'wan_down':
      return { text: 'The internet went down.', tone: 'bad' };
    case 'wan_restored':
      return {
        text: `The internet is back after ${duration(Number(e.down_seconds) * 1000)}.`,
        tone: 'ok',
      };
    case 'power_cycle_started':
      return {
        text: `Power cycle started: ${str(e.plug)} off for ${str(e.off_seconds)} s (${str(e.reason)}).`,
        tone: 'warn',
      };
    case 'power_cycle_finished':
      return e.ok === true
        ? { text: `Power cycle finished: ${str(e.plug)} is back on.`, tone: 'ok' }
        : { text: `Power cycle failed: ${str(e.message) || str(e.plug)}.`, tone: 'bad' };
    case 'power_cycle_skipped':
      return { text: `Power cycle skipped: ${str(e.reason)}.`, tone: 'warn' };
    default:
      return { text: `${e.type}`, tone: 'muted' };
  }
}
