/**
 * The watchdog service through outages a user lives through: real probes against loopback servers
 * (router, WAN targets with a test CA), a real HTTP plug, a real state file, simulated hours.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { opensslAvailable } from '../fakes/mosquitto.js';
import { type PingStandIns, pingStandIns } from '../fakes/ping/stand-ins.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
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
    expect(a.restored.count).toBe(1);
    expect(a.of('health_changed').map((e) => e.to)).toEqual(['router_down', 'recovering', 'ready']);
    expect(a.svc.status().uptime.outages).toEqual([
      { start: expect.any(String), end: expect.any(String), class: 'router_down', action: 'power_cycle' },
    ]);
  });
});
