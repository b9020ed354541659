/**
 * One probe round (SPEC §4): every router and WAN probe started together, each under its own
 * deadline (`probe_timeout_ms`), collected into a ProbeRound. Also builds the probe set from the
 * configuration. Never: decide health, log.
 *
 * Deadlines are real time: they bound real sockets and child processes. The injected Clock only
 * stamps the round (`at`).
 */
import type { Clock } from '../clock.js';
import type { ProbeResult, ProbeRound } from '../domain/probe-result.js';
import type { Probe, ProbeNotice } from './probe.js';
import { RouterProbe } from './router.js';
import { parseTarget } from './target.js';
import { TlsProbe } from './tls.js';

export interface ProbeSet {
  /** Null when the router probe is off (`router_host` empty or unknown). */
  readonly router: readonly Probe[] | null;
  readonly wan: readonly Probe[];
}

export interface ProbeRoundOutcome {
  readonly round: ProbeRound;
  /** Notices the probes handed out during this round (say each once). */
  readonly notices: readonly ProbeNotice[];
}

export interface RunRoundOptions {
  /** Each probe's deadline (`probe_timeout_ms`). */
  timeoutMs: number;
  clock: Clock;
  /** Aborts every probe at once (shutdown). */
  signal?: AbortSignal;
}

/**
 * A probe whose run() outlives its deadline by this much is given up on (a bug in an adapter
 * must not stall the loop for months).
 */
export const STUCK_GRACE_MS = 1000;

/** Runs one probe under its own deadline; always resolves with a result. */
export function runWithDeadline(probe: Probe, timeoutMs: number, parent?: AbortSignal): Promise<ProbeResult> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const deadline = setTimeout(abort, timeoutMs);
  let stuck: NodeJS.Timeout | undefined;
  if (parent?.aborted) controller.abort();
  else parent?.addEventListener('abort', abort, { once: true });

  const gaveUp = new Promise<ProbeResult>((resolve) => {
    stuck = setTimeout(
      () =>
        resolve({
          target: probe.target,
          kind: probe.kind,
          ok: false,
          latencyMs: null,
          failure: 'timeout',
          code: 'PROBE_STUCK',
        }),
      timeoutMs + STUCK_GRACE_MS,
    );
  });
  const ran = probe.run(controller.signal).catch(
    (): ProbeResult => ({
      target: probe.target,
      kind: probe.kind,
      ok: false,
      latencyMs: null,
      failure: 'slow_fail',
      code: 'PROBE_ERROR',
    }),
  );
  return Promise.race([ran, gaveUp]).finally(() => {
    clearTimeout(deadline);
    clearTimeout(stuck);
    parent?.removeEventListener('abort', abort);
  });
}

/** One round: all probes concurrently; resolves when the last one has an answer. */
export async function runProbeRound(set: ProbeSet, o: RunRoundOptions): Promise<ProbeRoundOutcome> {
  const at = o.clock.now();
  const all = [...(set.router ?? []), ...set.wan];
  const results = await Promise.all(all.map((p) => runWithDeadline(p, o.timeoutMs, o.signal)));
  const routerCount = set.router?.length ?? 0;
  const notices = all.flatMap((p) => p.takeNotices?.() ?? []);
  return {
    round: {
      at,
      router: set.router ? results.slice(0, routerCount) : null,
      wan: results.slice(routerCount),
    },
    notices,
  };
}

export interface ProbeSetConfig {
  /** The router's IP literal; '' (or null) = no router probe. */
  routerHost: string | null;
  routerProbe: 'icmp' | `tcp:${number}`;
  /** `wan_targets`: `ip:port` / `[ipv6]:port`. */
  wanTargets: readonly string[];
  timeoutMs: number;
  /** The environment for `ping`. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  pingCommand?: string;
  /** TLS: trusted CAs instead of the system's (tests). */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** TLS: the name to send as SNI and check, for every WAN target. Default none. */
  servername?: string;
  fallbackPort?: number;
}

/**
 * The probes for a configuration. Throws a plain Error for a WAN target that is not an IP
 * literal with a port — the config schema refuses those, so that is a bug, not user input.
 */
export function buildProbeSet(c: ProbeSetConfig): ProbeSet {
  const router =
    c.routerHost === null || c.routerHost === ''
      ? null
      : [
          new RouterProbe({
            host: c.routerHost.replace(/^\[|\]$/g, ''),
            mode: c.routerProbe,
            timeoutMs: c.timeoutMs,
            ...(c.env ? { env: c.env } : {}),
            ...(c.pingCommand ? { pingCommand: c.pingCommand } : {}),
            ...(c.fallbackPort ? { fallbackPort: c.fallbackPort } : {}),
          }),
        ];
  const wan = c.wanTargets.map((text) => {
    const t = parseTarget(text);
    if (!t) throw new Error(`wan_targets entry ${JSON.stringify(text)} is not ip:port`);
    return new TlsProbe({
      host: t.host,
      port: t.port,
      ...(c.servername ? { servername: c.servername } : {}),
      ...(c.ca !== undefined ? { ca: c.ca } : {}),
    });
  });
  return { router, wan };
}
