/**
 * The watchdog service through outages a user lives through: real probes against loopback servers
 * (router, WAN targets with a test CA), a real HTTP plug, a real state file, simulated hours.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeKind, ProbeResult } from '../../src/domain/probe-result.js';
import type { Probe } from '../../src/probes/probe.js';
import { opensslAvailable } from '../fakes/mosquitto.js';
import { type PingStandIns, pingStandIns } from '../fakes/ping/stand-ins.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import type { WanMode } from '../fakes/wan-target.js';
import { type Agent, makeAgent, makeWorld, until, type World } from './harness.js';

let pki: TestPki;
let ping: PingStandIns;
let world: World;
let agent: Agent | null = null;

beforeAll(async () => {
  if (!opensslAvailable()) return;
  [pki, ping] = await Promise.all([makeTestPki(), pingStandIns()]);
});
afterAll(async () => {
  await ping?.remove();
});
afterEach(async () => {
  await agent?.svc.stop();
  agent = null;
  await world?.close();
});

describe.skipIf(!opensslAvailable())('the watchdog through outages', () => {
  it('a 12-hour ISP outage with the router alive: 3 cycles with doubling waits, then exhausted and alerts only', async () => {
    world = await makeWorld(pki);
    world.setWan('down');
    const t0 = world.clock.now();
    agent = await makeAgent(pki, world, {
      plug: 'self_timed',
      config: { probe_interval_seconds: 60 },
    });
    await agent.rounds(12 * 60);

    const cycles = world.plug.calls.filter((c) => c.accepted).map((c) => (c.at - t0) / 1000);
    // Down from the start; judged after the 3-min start grace: 3 min of wan_down, then 6, then 12
    // more, each counted after the 10-min boot grace (60 s rounds).
    expect(cycles).toEqual([240, 1260, 2640]);
    expect(world.plug.commands()).toEqual(['off+30', 'off+30', 'off+30']);
    expect(world.plug.ison).toBe(true); // the plug's own timer switched it back each time
    expect(agent.of('power_cycle_started')).toHaveLength(3);
    expect(agent.of('power_cycle_finished').map((e) => e.ok)).toEqual([true, true, true]);
    const skipped = agent.of('power_cycle_skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]?.reason).toMatch(/budget is spent \(3 in 24 h\).*alerts only/);
    expect(agent.of('wan_down')).toHaveLength(1);
    expect(agent.of('wan_restored')).toHaveLength(0);

    const status = agent.svc.status();
    expect(status.health).toBe('wan_down');
    expect(status.recovery).toMatchObject({
      enabled: true,
      state: 'exhausted',
      power_cycles_total: 3,
      budget_remaining: 0,
    });
    expect(status.uptime.availability_24h).toBe(0);
    expect(status.uptime.outages).toEqual([
      { start: expect.any(String), end: null, class: 'wan_down', action: 'exhausted' },
    ]);
    expect(status.probes.router.ok).toBe(true);
    expect(status.probes.wan.ok).toBe(false);
  });

  it('a hung router (router_down, recover_when_router_down): exactly one cycle, then ready and a DNS cycle', async () => {
    world = await makeWorld(pki);
    world.setWan('down');
    await ping.write('no-reply');
    agent = await makeAgent(pki, world, {
      router: { ping },
      config: { recover_when_router_down: true },
    });
    await agent.rounds(4);
    expect(agent.svc.health).toBe('router_down');
    const a = agent;
    // 3 min of router_down after the start grace → the cycle.
    while (world.plug.calls.length === 0) await a.rounds(1);
    expect(world.plug.commands()).toEqual(['off']);
    expect(world.plug.ison).toBe(false);
    expect(a.svc.health).toBe('recovering');

    // The router comes back when its power does.
    await a.rounds(2);
    await until(() => world.plug.commands().length === 2, 'the on command');
    expect(world.plug.commands()).toEqual(['off', 'on']);
    await until(() => a.of('power_cycle_finished').length === 1, 'power_cycle_finished');
    expect(a.of('power_cycle_finished')[0]).toMatchObject({ ok: true });
    await ping.write('iputils-reply');
    world.setWan('up');

    await a.rounds(45); // boot grace (10 min) and two good rounds
    expect(a.svc.health).toBe('ready');
    expect(world.plug.commands()).toEqual(['off', 'on']);
    expect(a.of('wan_restored')).toHaveLength(1);
    // DNS is synced at the first good WAN round after the cycle, and again at wan_restored.
    expect(a.restored.count).toBe(2);
    expect(a.of('health_changed').map((e) => e.to)).toEqual(['router_down', 'recovering', 'ready']);
    expect(a.svc.status().uptime.outages).toEqual([
      { start: expect.any(String), end: expect.any(String), class: 'router_down', action: 'power_cycle' },
    ]);
  });

  it('blips shorter than wan_down_after_seconds: no cycle; each return of the WAN starts one DNS cycle', async () => {
    world = await makeWorld(pki);
    agent = await makeAgent(pki, world);
    await agent.rounds(40); // 10 min of ready: past every grace
    expect(agent.svc.health).toBe('ready');
    for (let blip = 0; blip < 3; blip++) {
      world.setWan('down');
      await agent.rounds(10); // 150 s without the WAN: wan_down for 135 s
      expect(agent.svc.health).toBe('wan_down');
      world.setWan('up');
      await agent.rounds(20);
      expect(agent.svc.health).toBe('ready');
    }
    expect(world.plug.calls).toEqual([]);
    expect(agent.of('power_cycle_started')).toEqual([]);
    expect(agent.of('power_cycle_skipped')).toEqual([]);
    expect(agent.of('wan_down')).toHaveLength(3);
    expect(agent.of('wan_restored')).toHaveLength(3);
    expect(agent.restored.count).toBe(3);
    expect(agent.svc.status().uptime.outages.map((o) => o.action)).toEqual(['none', 'none', 'none']);
    expect(agent.svc.status().recovery.state).toBe('idle');
  });

  const noRoute = (target: string, kind: ProbeKind): Probe => ({
    target,
    kind,
    run: async (): Promise<ProbeResult> => ({
      target,
      kind,
      ok: false,
      latencyMs: 3,
      failure: 'unreachable',
      code: 'ENETUNREACH',
    }),
  });

  it.each<[string, WanMode[] | 'no_route', string, number]>([
    ['self_down/no route from this host/no cycle', 'no_route', 'self_down', 60],
    [
      'intercepted/every target answers with a foreign certificate/no cycle',
      ['intercept', 'intercept', 'intercept'],
      'intercepted',
      60,
    ],
    ['degraded/one of three targets down/no cycle', ['up', 'down', 'up'], 'degraded', 60],
    ['degraded/one target hangs/no cycle', ['hang', 'up', 'up'], 'degraded', 12],
  ])('%s', async (_name, wan, health, minutes) => {
    world = await makeWorld(pki);
    if (wan !== 'no_route') {
      for (const [i, mode] of wan.entries()) world.wan[i]!.mode = mode;
    }
    agent = await makeAgent(pki, world, {
      config: { probe_interval_seconds: 60 },
      ...(wan === 'no_route'
        ? { probes: { router: [noRoute('127.0.0.1', 'icmp')], wan: [noRoute('127.0.0.1:443', 'tls')] } }
        : {}),
    });
    // An hour (12 min for a hanging target, whose rounds each wait out the real deadline): long
    // past the start grace and the 3-min wait.
    await agent.rounds(minutes);
    expect(agent.svc.health).toBe(health);
    expect(world.plug.calls).toEqual([]);
    expect(agent.events.filter((e) => e.type.startsWith('power_cycle'))).toEqual([]);
    expect(agent.of('health_changed').map((e) => e.to)).toEqual([health]);
    expect(agent.svc.status().recovery.state).toBe('idle');
  });

  it('explicit mode: dry-run: no plug command; an event says what would have happened, at the times a real cycle would', async () => {
    world = await makeWorld(pki);
    world.setWan('down');
    agent = await makeAgent(pki, world, {
      config: { probe_interval_seconds: 60, mode: 'dry-run', mode_explicit: true },
    });
    await agent.rounds(30);
    expect(world.plug.calls).toEqual([]);
    const skipped = agent.of('power_cycle_skipped');
    expect(skipped.map((e) => e.reason)).toEqual([
      expect.stringMatching(
        /would power-cycle the router now \(plug http, off 30 s; cycle 1 of 3 in 24 h\)\. Nothing was switched because mode is dry-run/,
      ),
      expect.stringMatching(/would power-cycle the router now \(plug http, off 30 s; cycle 2 of 3 in 24 h\)/),
    ]);
    expect(agent.of('power_cycle_started')).toEqual([]);
    expect(agent.of('health_changed').map((e) => e.to)).toEqual(['wan_down']);
    const status = agent.svc.status();
    expect(status.recovery).toMatchObject({ power_cycles_total: 0, last_power_cycle: null });
    expect(status.uptime.outages[0]?.action).toBe('would_cycle');
  });

  it('no Cloudflare token (mode dry-run by default): the watchdog still power-cycles', async () => {
    world = await makeWorld(pki);
    world.setWan('down');
    agent = await makeAgent(pki, world, {
      config: { probe_interval_seconds: 60, mode: 'dry-run', mode_explicit: false },
    });
    await agent.rounds(4);
    expect(world.plug.commands()).toEqual(['off']);
    await agent.rounds(1);
    await until(() => world.plug.commands().length === 2, 'the on command');
    expect(world.plug.commands()).toEqual(['off', 'on']);
    expect(agent.of('power_cycle_skipped')).toEqual([]);
    expect(agent.svc.status().recovery.power_cycles_total).toBe(1);
  });

  it('budget spent, then the WAN back but degraded for hours (one target blocked): the next outage is power-cycled again', async () => {
    world = await makeWorld(pki);
    agent = await makeAgent(pki, world, {
      config: {
        probe_interval_seconds: 60,
        max_power_cycles: 1,
        power_cycle_window_hours: 1,
        wan_down_after_seconds: 60,
        boot_grace_seconds: 60,
      },
    });
    const a = agent;
    const roundsUntil = async (cond: () => boolean, what: string, max: number) => {
      for (let i = 0; i < max && !cond(); i++) await a.rounds(1);
      if (!cond()) throw new Error(`${what} did not happen within ${max} rounds`);
    };
    await roundsUntil(() => a.svc.health === 'ready', 'ready', 4);
    world.setWan('down');
    await roundsUntil(() => a.of('power_cycle_started').length === 1, 'the first cycle', 15);
    await roundsUntil(
      () => a.of('power_cycle_skipped').some((e) => /budget is spent/.test(e.reason)),
      'the budget-spent event',
      20,
    );
    expect(a.svc.status().recovery.state).toBe('exhausted');
    // The WAN is back, but one of the three targets stays blocked: degraded, never ready.
    world.setWan('up');
    world.wan[2]!.mode = 'down';
    await roundsUntil(() => a.svc.health === 'degraded', 'degraded', 6);
    expect(a.svc.status().recovery.state).toBe('idle');
    await a.rounds(180);
    expect(a.svc.health).toBe('degraded');
    expect(a.svc.status().recovery.budget_remaining).toBe(1);
    // A new outage hours later, with the budget free again: judged afresh, and cycled.
    world.setWan('down');
    await roundsUntil(() => a.svc.health === 'wan_down', 'wan_down', 3);
    expect(a.svc.status().recovery.state).toBe('waiting');
    await roundsUntil(() => a.of('power_cycle_started').length === 2, 'the second cycle', 4);
    expect(a.of('power_cycle_skipped')).toHaveLength(1);
  });
});
