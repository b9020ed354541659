/**
 * The router probe as configured by `router_probe`: `icmp` (the system `ping`) or `tcp:PORT`.
 * With `icmp`, when `ping` cannot run here (not installed, or no permission for ICMP), the probe
 * switches to TCP on ROUTER_FALLBACK_PORT for good — in the same round, within the same deadline
 * — and hands out one notice saying so. Never: log (the service says the notice once).
 */
import type { ProbeKind, ProbeResult } from '../domain/probe-result.js';
import { PingProbe } from './icmp.js';
import type { Probe, ProbeNotice } from './probe.js';
import { TcpProbe } from './tcp.js';

/**
 * The TCP port the router is probed on when `ping` cannot run: 80, the router's own web page,
 * which nearly every home router serves on its LAN side. A closed port still answers (RST =
 * ECONNREFUSED = alive); only a router that silently drops port 80 needs `router_probe: tcp:PORT`.
 */
export const ROUTER_FALLBACK_PORT = 80;

export interface RouterProbeOptions {
  /** An IP literal (no brackets). */
  host: string;
  mode: 'icmp' | `tcp:${number}`;
  /** For ping's own `-W` wait. */
  timeoutMs: number;
  /** The environment for `ping` (its PATH). Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The `ping` command. Default `ping`. */
  pingCommand?: string;
  /** Default ROUTER_FALLBACK_PORT. */
  fallbackPort?: number;
}

export class RouterProbe implements Probe {
  readonly #o: RouterProbeOptions;
  readonly #ping: PingProbe | null;
  #tcp: TcpProbe | null;
  #notices: ProbeNotice[] = [];

  constructor(o: RouterProbeOptions) {
    this.#o = o;
    if (o.mode === 'icmp') {
      this.#ping = new PingProbe({
        host: o.host,
        timeoutMs: o.timeoutMs,
        ...(o.env ? { env: o.env } : {}),
        ...(o.pingCommand ? { command: o.pingCommand } : {}),
      });
      this.#tcp = null;
    } else {
      this.#ping = null;
      this.#tcp = new TcpProbe({ host: o.host, port: Number(o.mode.slice(4)), refusedIsAlive: true });
    }
  }

  get kind(): ProbeKind {
    return this.#tcp ? 'tcp' : 'icmp';
  }

  get target(): string {
    return this.#tcp ? this.#tcp.target : this.#o.host;
  }

  /** True once ICMP gave way to TCP. */
  get fellBack(): boolean {
    return this.#ping !== null && this.#tcp !== null;
  }

  async run(signal: AbortSignal): Promise<ProbeResult> {
    if (this.#tcp) return this.#tcp.run(signal);
    const ping = this.#ping as PingProbe;
    const run = await ping.ping(signal);
    if (run.kind === 'result') return run.result;

    const port = this.#o.fallbackPort ?? ROUTER_FALLBACK_PORT;
    this.#tcp = new TcpProbe({ host: this.#o.host, port, refusedIsAlive: true });
    this.#notices.push({
      id: 'ping_unavailable',
      code: run.code,
      message:
        `The router ${this.#o.host} is probed by TCP to port ${port} instead of ping: ${run.detail}. ` +
        (run.code === 'ENOENT'
          ? 'Install ping (iputils-ping or busybox), '
          : 'Allow ICMP (in a container: cap_add NET_RAW, or sysctl net.ipv4.ping_group_range), ') +
        `or set router_probe: tcp:PORT to a port the router answers on to keep TCP and silence this.`,
    });
    return this.#tcp.run(signal);
  }

  takeNotices(): ProbeNotice[] {
    const out = this.#notices;
    this.#notices = [];
    return out;
  }
}
