/**
 * The world of the long run, as the probes see it: what the router probe and the three WAN probes
 * answer at a moment of the script, given what the plug has done. The same function serves the run
 * of the real service (its probe port) and the reference, each with its own plug log: the real run
 * with what the service actually switched, the reference with what the rules say it switches.
 *
 * The plug powers the router: while it is off, and for BOOT_MS after it comes back on, neither the
 * router nor the WAN answers. A power cycle cures a `hung` router (once it has booted); it does not
 * help any other fault. `self_down` wins over everything: nothing leaves this host.
 */
import type { ProbeResult } from '../../src/domain/probe-result.js';
import { type Fault, faultAt, hash01, SECOND } from './script.js';

/** How long the router takes to boot after the plug is switched on. */
export const BOOT_MS = 90 * SECOND;
export const ROUTER = '192.168.1.1:80';
export const WAN_TARGETS = ['1.1.1.1:443', '8.8.8.8:443', '9.9.9.9:443'] as const;

/** When the plug was switched off and on (mono ms), oldest first. */
export class PlugLog {
  readonly spells: Array<{ off: number; on: number | null }> = [];

  off(m: number): void {
    this.spells.push({ off: m, on: null });
  }

  on(m: number): void {
    const last = this.spells[this.spells.length - 1];
    if (last !== undefined && last.on === null) last.on = m;
  }

  /** `off`, `booting` (on for less than BOOT_MS) or `on` at mono `m`. */
  power(m: number): 'off' | 'booting' | 'on' {
    for (let i = this.spells.length - 1; i >= 0; i--) {
      const s = this.spells[i]!;
      if (s.off > m) continue;
      if (s.on === null || s.on > m) return 'off';
      return m < s.on + BOOT_MS ? 'booting' : 'on';
    }
    return 'on';
  }

  /** The router was power-cycled after `from` and has booted by `m`. */
  curedSince(from: number, m: number): boolean {
    return this.spells.some((s) => s.off >= from && s.on !== null && s.on + BOOT_MS <= m);
  }
}

export interface WorldRound {
  router: ProbeResult[];
  wan: ProbeResult[];
  /** What the world was doing (for the report): a fault kind, `power_off`, `booting` or `fine`. */
  condition: string;
}

const ok = (target: string, kind: 'tcp' | 'tls', latencyMs: number): ProbeResult => ({
  target,
  kind,
  ok: true,
  latencyMs,
  failure: null,
  code: null,
});
const failed = (
  target: string,
  kind: 'tcp' | 'tls',
  failure: ProbeResult['failure'],
  code: string | null,
): ProbeResult => ({ target, kind, ok: false, latencyMs: null, failure, code });

/** What the probes answer at mono `m`. */
export function worldRound(faults: readonly Fault[], plug: PlugLog, m: number): WorldRound {
  const second = Math.floor(m / SECOND);
  const routerAlive = (): ProbeResult =>
    // A router that refuses the port still answered: alive.
    hash01(second * 7 + 1) < 0.3
      ? { target: ROUTER, kind: 'tcp', ok: true, latencyMs: 0.4, failure: 'refused', code: 'ECONNREFUSED' }
      : ok(ROUTER, 'tcp', 0.8);
  const routerDead = () => failed(ROUTER, 'tcp', 'timeout', null);
  const wanOk = (latency: (i: number) => number) =>
    WAN_TARGETS.map((t, i) => ok(t, 'tls', Math.round(latency(i) * 10) / 10));
  const normal = (i: number) => 15 + 25 * hash01(second * 3 + i);
  const wanAll = (failure: ProbeResult['failure'], code: string | null) =>
    WAN_TARGETS.map((t) => failed(t, 'tls', failure, code));

  const fault = faultAt(faults, m);
  if (fault?.kind === 'self_down') {
    return {
      router: [failed(ROUTER, 'tcp', 'unreachable', 'ENETUNREACH')],
      wan: wanAll('unreachable', 'ENETUNREACH'),
      condition: 'self_down',
    };
  }
  const power = plug.power(m);
  if (power !== 'on') {
    return { router: [routerDead()], wan: wanAll('timeout', null), condition: `power_${power}` };
  }
  const down = (condition: string) => ({
    router: [routerAlive()],
    wan: wanAll('timeout', null),
    condition,
  });
  switch (fault?.kind) {
    case undefined:
      return { router: [routerAlive()], wan: wanOk(normal), condition: 'fine' };
    case 'wan_blip':
    case 'wan_short':
    case 'wan_cycle':
    case 'wan_long':
      return down(fault.kind);
    case 'hung':
      return plug.curedSince(fault.from, m)
        ? { router: [routerAlive()], wan: wanOk(normal), condition: 'hung_cured' }
        : down('hung');
    case 'router_down':
      return { router: [routerDead()], wan: wanAll('timeout', null), condition: 'router_down' };
    case 'intercepted':
      return {
        router: [routerAlive()],
        wan: wanAll('tls_error', 'ERR_TLS_CERT_ALTNAME_INVALID'),
        condition: 'intercepted',
      };
    case 'degraded': {
      const wan = wanOk(normal);
      wan[1] = failed(WAN_TARGETS[1], 'tls', 'timeout', null);
      return { router: [routerAlive()], wan, condition: 'degraded' };
    }
    case 'slow':
      return {
        router: [routerAlive()],
        wan: wanOk((i) => 600 + 300 * hash01(second * 5 + i)),
        condition: 'slow',
      };
    case 'flaky':
      return hash01(second * 11 + 3) < 0.4
        ? down('flaky_down')
        : { router: [routerAlive()], wan: wanOk(normal), condition: 'flaky_up' };
  }
}
