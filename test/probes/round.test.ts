import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../src/domain/probe-result.js';
import type { Probe } from '../../src/probes/probe.js';
import { buildProbeSet, runProbeRound, runWithDeadline, STUCK_GRACE_MS } from '../../src/probes/round.js';
import { ManualClock } from '../fakes/clock.js';
import { opensslAvailable } from '../fakes/mosquitto.js';
import { type PingStandIns, pingStandIns } from '../fakes/ping/stand-ins.js';
import {
  type FakeTlsServer,
  type LoopbackServer,
  makeTestPki,
  startHungServer,
  startTlsServer,
  type TestPki,
} from '../fakes/tls-server.js';
import { freePort } from '../helpers/net.js';

const TIMEOUT_MS = 200;

let pki: TestPki;
let good: FakeTlsServer;
let hung: LoopbackServer;
let ping: PingStandIns;
let closed: number;

beforeAll(async () => {
  pki = await makeTestPki();
  [good, hung, ping, closed] = await Promise.all([
    startTlsServer(pki.good),
    startHungServer(),
    pingStandIns(),
    freePort(),
  ]);
});
afterAll(async () => {
  await Promise.all([good?.close(), hung?.close(), ping?.remove()]);
});

describe.skipIf(!opensslAvailable())('one probe round', () => {
  it('all probes at once, each under its own deadline; stamped by the injected clock', async () => {
    await ping.write('hang');
    const clock = new ManualClock();
    const set = buildProbeSet({
      routerHost: '127.0.0.1',
      routerProbe: 'icmp',
      wanTargets: [good.target, hung.target, `127.0.0.1:${closed}`],
      timeoutMs: TIMEOUT_MS,
      env: ping.env,
      ca: pki.ca,
    });
    const started = performance.now();
    const { round, notices } = await runProbeRound(set, { timeoutMs: TIMEOUT_MS, clock });
    const took = performance.now() - started;

    expect(round.at).toBe(clock.now());
    expect(round.router).toMatchObject([
      { target: '127.0.0.1', kind: 'icmp', ok: false, failure: 'timeout' },
    ]);
    expect(round.wan).toMatchObject([
      { target: good.target, kind: 'tls', ok: true },
      { target: hung.target, kind: 'tls', ok: false, failure: 'timeout' },
      { target: `127.0.0.1:${closed}`, kind: 'tls', ok: false, failure: 'refused' },
    ]);
    expect(notices).toEqual([]);
    // Two probes that each wait out the deadline, run together: one deadline, not two.
    expect(took).toBeLessThan(2 * TIMEOUT_MS);
  });

  it('router_host empty: no router probe (router null)', async () => {
    const set = buildProbeSet({
      routerHost: '',
      routerProbe: 'icmp',
      wanTargets: [good.target],
      timeoutMs: TIMEOUT_MS,
      ca: pki.ca,
    });
    const { round } = await runProbeRound(set, { timeoutMs: TIMEOUT_MS, clock: new ManualClock() });
    expect(round.router).toBeNull();
    expect(round.wan).toHaveLength(1);
  });

  it('router_probe tcp:PORT: the router is probed by TCP only', async () => {
    const set = buildProbeSet({
      routerHost: '127.0.0.1',
      routerProbe: `tcp:${closed}`,
      wanTargets: [],
      timeoutMs: TIMEOUT_MS,
      env: ping.env,
    });
    const { round } = await runProbeRound(set, { timeoutMs: TIMEOUT_MS, clock: new ManualClock() });
    expect(round.router).toMatchObject([
      { target: `127.0.0.1:${closed}`, kind: 'tcp', ok: true, failure: 'refused' },
    ]);
  });

  it('ping missing: the round hands the notice out once', async () => {
    const empty = await pingStandIns();
    try {
      const set = buildProbeSet({
        routerHost: '127.0.0.1',
        routerProbe: 'icmp',
        wanTargets: [],
        timeoutMs: TIMEOUT_MS,
        env: empty.env,
        fallbackPort: closed,
      });
      const clock = new ManualClock();
      const first = await runProbeRound(set, { timeoutMs: TIMEOUT_MS, clock });
      expect(first.notices).toMatchObject([{ id: 'ping_unavailable', code: 'ENOENT' }]);
      expect(first.round.router).toMatchObject([{ kind: 'tcp', ok: true }]);
      const second = await runProbeRound(set, { timeoutMs: TIMEOUT_MS, clock });
      expect(second.notices).toEqual([]);
      expect(second.round.router).toMatchObject([{ kind: 'tcp', ok: true }]);
    } finally {
      await empty.remove();
    }
  });

  it('shutdown: aborting the round ends every probe at once', async () => {
    await ping.write('hang');
    const set = buildProbeSet({
      routerHost: '127.0.0.1',
      routerProbe: 'icmp',
      wanTargets: [hung.target],
      timeoutMs: 10_000,
      env: ping.env,
      ca: pki.ca,
    });
    const stop = new AbortController();
    const started = performance.now();
    const pending = runProbeRound(set, { timeoutMs: 10_000, clock: new ManualClock(), signal: stop.signal });
    setTimeout(() => stop.abort(), 20);
    const { round } = await pending;
    expect(performance.now() - started).toBeLessThan(2000);
    expect([...(round.router ?? []), ...round.wan].map((r) => r.failure)).toEqual(['timeout', 'timeout']);
  });

  it('buildProbeSet: a WAN target that is not ip:port is a bug, refused at once', () => {
    expect(() =>
      buildProbeSet({
        routerHost: '',
        routerProbe: 'icmp',
        wanTargets: ['one.one.one.one:443'],
        timeoutMs: 100,
      }),
    ).toThrow(/wan_targets entry "one.one.one.one:443" is not ip:port/);
  });
});

describe('a broken adapter cannot stall the loop', () => {
  const broken = (run: Probe['run']): Probe => ({ target: '192.0.2.1:443', kind: 'tls', run });

  it('a probe that throws: slow_fail PROBE_ERROR', async () => {
    const result = await runWithDeadline(
      broken(() => Promise.reject(new Error('bug'))),
      TIMEOUT_MS,
    );
    expect(result).toEqual({
      target: '192.0.2.1:443',
      kind: 'tls',
      ok: false,
      latencyMs: null,
      failure: 'slow_fail',
      code: 'PROBE_ERROR',
    });
  });

  it('a probe that ignores its deadline: given up on, timeout PROBE_STUCK', async () => {
    const started = performance.now();
    const result = await runWithDeadline(
      broken(() => new Promise<ProbeResult>(() => {})),
      20,
    );
    expect(result).toMatchObject({ ok: false, failure: 'timeout', code: 'PROBE_STUCK' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(20 + STUCK_GRACE_MS - 5);
  });
});

/** Handles of the kinds a probe opens: sockets, child processes and their pipes, timers. */
function countHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    if (/TCP|Process|Pipe|Timeout|TLS/.test(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

function noneGrew(before: Record<string, number>, after: Record<string, number>): boolean {
  return Object.entries(after).every(([kind, n]) => n <= (before[kind] ?? 0));
}

describe.skipIf(!opensslAvailable())('resource hygiene', () => {
  it('200 rounds against a closed port, a hung TLS server and a hung ping: no handle is left behind', async () => {
    const hangDir = await pingStandIns();
    await hangDir.write('hang');
    const timeoutMs = 15;
    const set = buildProbeSet({
      routerHost: '127.0.0.1',
      routerProbe: 'icmp',
      wanTargets: [hung.target, `127.0.0.1:${closed}`],
      timeoutMs,
      env: hangDir.env,
      ca: pki.ca,
    });
    const routerTcp = buildProbeSet({
      routerHost: '127.0.0.1',
      routerProbe: `tcp:${closed}`,
      wanTargets: [],
      timeoutMs,
    });
    const clock = new ManualClock();
    try {
      // One warm-up round, so lazily created handles (the TLS context, a signal pipe) exist before counting.
      await runProbeRound(set, { timeoutMs, clock });
      await expect.poll(() => hung.openConnections(), { timeout: 2000, interval: 5 }).toBe(0);
      const before = countHandles();

      for (let i = 0; i < 200; i++) {
        // ping is spawned in every 10th round only: 200 process starts would take most of the time budget.
        const { round } = await runProbeRound(
          i % 10 === 0 ? set : { router: routerTcp.router, wan: set.wan },
          {
            timeoutMs,
            clock,
          },
        );
        // The hung server always times out; the closed port refuses — or, on a machine so loaded
        // that the refusal takes longer than the 15 ms deadline, times out too. Either way it failed.
        expect(round.wan[0]?.failure).toBe('timeout');
        expect(['refused', 'timeout']).toContain(round.wan[1]?.failure);
      }

      await expect.poll(() => hung.openConnections(), { timeout: 2000, interval: 5 }).toBe(0);
      await expect.poll(() => noneGrew(before, countHandles()), { timeout: 2000, interval: 10 }).toBe(true);
    } finally {
      await hangDir.remove();
    }
  }, 30_000);
});
