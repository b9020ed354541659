/**
 * Realistic §6 state documents for the status page: five records (one failing, one updating),
 * probes with latencies, availability, an outage log with several kinds of action, and recovery.
 * Times are relative to `now` (the real clock: the browser judges "5 min ago" by its own).
 */
import type { AgentEvent } from '../../src/events.js';
import type { StatusDocument } from '../../src/status.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const IP_BEFORE = '81.2.69.160';
export const IP_AFTER = '81.2.69.192';
export const NAS_ERROR =
  'Cloudflare refused the update (403, code 10000): the API token lacks Zone:DNS:Edit on example.net';

function iso(t: number): string {
  return new Date(t).toISOString();
}

/** A home network on a normal day. */
export function healthyState(now = Date.now(), ip = IP_BEFORE): StatusDocument {
  return {
    health: 'ready',
    mode: 'enforce',
    version: '0.1.0',
    public_ip: {
      ipv4: ip,
      ipv6: '2a02:8010:6a41:2c00::17',
      verified: true,
      sources_agreeing: [
        'https://cloudflare.com/cdn-cgi/trace',
        'https://api.ipify.org/',
        'https://icanhazip.com/',
      ],
      checked_at: iso(now - 40_000),
    },
    dns: {
      status: 'error',
      last_sync: iso(now - 40_000),
      last_change: iso(now - 2 * DAY),
      records: {
        'home.example.com': {
          type: 'A',
          content: ip,
          status: 'in_sync',
          last_update: iso(now - 2 * DAY),
          error: null,
        },
        'home.example.com/AAAA': {
          type: 'AAAA',
          content: '2a02:8010:6a41:2c00::17',
          status: 'in_sync',
          last_update: iso(now - 9 * DAY),
          error: null,
        },
        'vpn.example.com': {
          type: 'A',
          content: ip,
          status: 'in_sync',
          last_update: iso(now - 2 * DAY),
          error: null,
        },
        'nas.example.net': {
          type: 'A',
          content: '81.2.69.142',
          status: 'error',
          last_update: iso(now - 12 * DAY),
          error: NAS_ERROR,
        },
        'cam.example.com': {
          type: 'A',
          content: ip,
          status: 'updating',
          last_update: iso(now - 5 * MIN),
          error: null,
        },
      },
    },
    probes: {
      router: { ok: true, latency_ms: 1.8, failure: null },
      wan: { ok: true, latency_ms: 23.4, failure: null },
    },
    uptime: {
      started_at: iso(now - 12 * DAY),
      ready_since: iso(now - 2 * DAY + 14 * MIN),
      availability_24h: 100,
      availability_7d: 99.71,
      availability_30d: 99.52,
      outages: [
        {
          start: iso(now - 2 * DAY),
          end: iso(now - 2 * DAY + 14 * MIN),
          class: 'wan_down',
          action: 'power_cycle',
        },
        {
          start: iso(now - 4 * DAY - 3 * HOUR),
          end: iso(now - 4 * DAY - 3 * HOUR + 3 * MIN),
          class: 'router_down',
          action: 'none',
        },
        {
          start: iso(now - 6 * DAY),
          end: iso(now - 6 * DAY + 40 * MIN),
          class: 'intercepted',
          action: 'none',
        },
        {
          start: iso(now - 20 * DAY),
          end: iso(now - 20 * DAY + 2 * HOUR),
          class: 'wan_down',
          action: 'exhausted',
        },
      ],
    },
    recovery: {
      enabled: true,
      state: 'idle',
      power_cycles_total: 4,
      last_power_cycle: iso(now - 2 * DAY + 3 * MIN),
      budget_remaining: 2,
    },
  };
}

/** The record keys of `healthyState` (the page shows the AAAA entry under its bare name). */
export const RECORD_KEYS = Object.keys(healthyState(0).dns.records);

/** The same network six minutes into a WAN outage. */
export function wanDownState(now = Date.now()): StatusDocument {
  const s = healthyState(now);
  s.health = 'wan_down';
  s.probes.wan = { ok: false, latency_ms: null, failure: 'every WAN target timed out (3 of 3)' };
  s.uptime.ready_since = null;
  s.uptime.availability_24h = 99.58;
  s.uptime.outages = [
    { start: iso(now - 6 * MIN), end: null, class: 'wan_down', action: 'none' },
    ...s.uptime.outages,
  ];
  s.recovery.state = 'waiting';
  return s;
}

export function ipChangedEvent(now = Date.now()): AgentEvent {
  return {
    type: 'ip_changed',
    at: iso(now),
    family: 'ipv4',
    old: IP_BEFORE,
    new: IP_AFTER,
    sources: ['https://cloudflare.com/cdn-cgi/trace', 'https://api.ipify.org/'],
  };
}
