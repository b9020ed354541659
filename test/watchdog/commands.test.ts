/**
 * The watchdog's commands (SPEC §6) and what it reports: `reboot`, `probe` and `recovery` answer
 * `{ok, message}` with the reason for every refusal; the state document's parts; the heartbeat.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { opensslAvailable } from '../fakes/mosquitto.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import { type Agent, makeAgent, makeWorld, until, type World } from './harness.js';

let pki: TestPki;
let world: World;
const agents: Agent[] = [];

beforeAll(async () => {
  if (opensslAvailable()) pki = await makeTestPki();
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.svc.stop();
  await world?.close();
});

async function agent(o: Parameters<typeof makeAgent>[2] = {}): Promise<Agent> {
  const a = await makeAgent(pki, world, o);
  agents.push(a);
  return a;
}

/** A manual reboot that runs to its end (agent_timed: off, the wait, on). */
async function rebootToTheEnd(a: Agent, offSeconds = 30): Promise<void> {
  const finished = a.of('power_cycle_finished').length;
  expect(await a.svc.commands.reboot()).toMatchObject({ ok: true });
  await a.clock.advance(offSeconds * 1000);
  await until(() => a.of('power_cycle_finished').length > finished, 'power_cycle_finished');
}

describe.skipIf(!opensslAvailable())('reboot', () => {
  it('reboot/no plug/refused with the reason', async () => {
    world = await makeWorld(pki);
    const a = await agent({ plug: 'none' });
    expect(await a.svc.commands.reboot()).toEqual({
      ok: false,
      message: expect.stringMatching(/^reboot refused: no plug is configured — set plug_type/),
    });
    expect(world.plug.calls).toEqual([]);
  });

  it('reboot/within 5 min of the last cycle/refused, and says when to try again', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    await rebootToTheEnd(a);
    await a.clock.advance(120_000);
    expect(await a.svc.commands.reboot()).toEqual({
      ok: false,
      message:
        'reboot refused: the last power cycle ended 2 min ago, and the router gets at least 5 min to boot — try again in 3 min',
    });
    await a.clock.advance(180_000);
    expect(await a.svc.commands.reboot()).toMatchObject({ ok: true });
    expect(world.plug.commands()).toEqual(['off', 'on', 'off']);
  });

  it('reboot/while a cycle runs/refused', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    await a.svc.commands.reboot();
    expect(await a.svc.commands.reboot()).toEqual({
      ok: false,
      message: expect.stringMatching(
        /^reboot refused: a power cycle is already running .* wait for it to finish/,
      ),
    });
    expect(world.plug.commands()).toEqual(['off']);
  });

  it('reboot/budget spent/refused, and says when a cycle frees up', async () => {
    world = await makeWorld(pki);
    const a = await agent({ config: { max_power_cycles: 1 } });
    await rebootToTheEnd(a);
    await a.clock.advance(600_000);
    expect(await a.svc.commands.reboot()).toEqual({
      ok: false,
      message: expect.stringMatching(
        /^reboot refused: the power-cycle budget is spent \(1 in 24 h\) — the next one frees up in 23 h 49 min/,
      ),
    });
  });

  it('reboot/off_seconds given/the plug stays off that long', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    expect(await a.svc.commands.reboot(45)).toEqual({
      ok: true,
      message: expect.stringMatching(
        /^power-cycling the router now \(plug http, off 45 s\): the plug answered/,
      ),
    });
    await a.clock.advance(44_000);
    expect(world.plug.commands()).toEqual(['off']);
    await a.clock.advance(1_000);
    await until(() => world.plug.commands().length === 2, 'the on command');
    expect(a.of('power_cycle_started')[0]).toMatchObject({ off_seconds: 45 });
    expect(a.svc.status().recovery).toMatchObject({
      power_cycles_total: 1,
      last_power_cycle: expect.any(String),
    });
  });

  it('reboot/self-timed plug/one command that the plug completes itself', async () => {
    world = await makeWorld(pki);
    const a = await agent({ plug: 'self_timed' });
    expect(await a.svc.commands.reboot()).toMatchObject({ ok: true });
    expect(world.plug.commands()).toEqual(['off+30']);
    await a.clock.advance(30_000);
    await until(() => a.of('power_cycle_finished').length === 1, 'power_cycle_finished');
    expect(world.plug.commands()).toEqual(['off+30']);
    expect(world.plug.ison).toBe(true);
  });

  it('reboot/explicit dry-run/accepted, says what it would do, switches nothing', async () => {
    world = await makeWorld(pki);
    const a = await agent({ config: { mode: 'dry-run', mode_explicit: true } });
    const answer = await a.svc.commands.reboot();
    expect(answer).toEqual({
      ok: true,
      message: expect.stringMatching(
        /^would power-cycle the router now \(plug http, off 30 s\); nothing was switched/,
      ),
    });
    expect(a.of('power_cycle_skipped')).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/would power-cycle the router now/) }),
    ]);
    expect(world.plug.calls).toEqual([]);
    expect(a.svc.health).not.toBe('recovering');
  });
});

describe.skipIf(!opensslAvailable())('probe, recovery, status', () => {
  it('probe/runs a round now/answers with what it saw', async () => {
    world = await makeWorld(pki);
    world.wan[1]!.mode = 'down';
    const a = await agent();
    const rounds = a.svc.rounds;
    const answer = await a.svc.commands.probe();
    expect(a.svc.rounds).toBe(rounds + 1); // no clock advance: the command ran it
    expect(answer).toEqual({
      ok: true,
      message: expect.stringMatching(
        /^probe round done: health \w+; router answered in [\d.]+ ms; WAN: 2 of 3 targets answered, median [\d.]+ ms; first failure: \w+$/,
      ),
    });
  });

  it('probe/a burst of 50 commands/two rounds, every command answered (no flood of handshakes)', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    const rounds = a.svc.rounds;
    // The first runs at once; the other 49 arrive within the 2 s gap and share the next round.
    const first = a.svc.commands.probe();
    await first;
    const burst = Array.from({ length: 49 }, () => a.svc.commands.probe());
    await a.clock.advance(2_000);
    const answers = await Promise.all(burst);
    expect(answers.every((x) => x.ok)).toBe(true);
    expect(a.svc.rounds - rounds).toBe(2);
    // Right after a round for a command, the next command waits out the gap (no round at once).
    const next = a.svc.commands.probe();
    await until(() => false, 'nothing', 200).catch(() => undefined);
    expect(a.svc.rounds - rounds).toBe(2);
    await a.clock.advance(2_000);
    expect((await next).ok).toBe(true);
    expect(a.svc.rounds - rounds).toBe(3);
  });

  it('recovery/OFF/persists across a restart and keeps the watchdog to alerts', async () => {
    world = await makeWorld(pki);
    const a = await agent({ config: { probe_interval_seconds: 60 } });
    expect(await a.svc.commands.recovery(false)).toEqual({
      ok: true,
      message: expect.stringMatching(
        /^Auto recovery is off: the agent will watch and alert but not power-cycle/,
      ),
    });
    const saved = JSON.parse(await readFile(join(world.dir, 'state.json'), 'utf8'));
    expect(saved.recovery.enabled).toBe(false);
    await a.svc.stop();

    world.setWan('down');
    const b = await agent({ config: { probe_interval_seconds: 60 } }); // recovery_enabled: true in the config
    expect(b.svc.status().recovery.enabled).toBe(false);
    await b.rounds(30);
    expect(world.plug.calls).toEqual([]);
    expect(b.of('power_cycle_skipped')).toEqual([
      expect.objectContaining({
        reason: expect.stringMatching(/but Auto recovery is off: the router was not power-cycled/),
      }),
    ]);
    expect(b.svc.status().uptime.outages[0]?.action).toBe('skipped');
    expect(b.svc.status().recovery.state).toBe('disabled');

    expect(await b.svc.commands.recovery(true)).toMatchObject({ ok: true, message: /^Auto recovery is on/ });
    await b.rounds(1);
    await until(() => world.plug.commands().length === 1, 'a cycle once Auto recovery is on');
  });

  it('recovery/ON without a plug/refused with the reason', async () => {
    world = await makeWorld(pki);
    const a = await agent({ plug: 'none' });
    expect(await a.svc.commands.recovery(true)).toEqual({
      ok: false,
      message: 'Auto recovery stays off: no plug is configured — set plug_type and its address first',
    });
  });

  it('not running/every command refused with the reason', async () => {
    world = await makeWorld(pki);
    const a = await agent({ start: false });
    for (const answer of [
      await a.svc.commands.reboot(),
      await a.svc.commands.probe(),
      await a.svc.commands.recovery(false),
    ]) {
      expect(answer).toEqual({ ok: false, message: expect.stringMatching(/the watchdog is not running/) });
    }
  });

  it('status/the state document parts and the heartbeat', async () => {
    world = await makeWorld(pki);
    const t0 = world.clock.now();
    const a = await agent();
    expect(a.svc.lastTickAt).toBe(t0);
    expect(a.svc.status().health).toBe('probing');
    await a.rounds(2); // rounds at 0 s, 15 s, 30 s: ready from the second
    expect(a.svc.lastTickAt).toBe(t0 + 30_000);
    expect(a.svc.status()).toEqual({
      health: 'ready',
      probes: {
        router: { ok: true, latency_ms: expect.any(Number), failure: null },
        wan: { ok: true, latency_ms: expect.any(Number), failure: null },
      },
      uptime: {
        ready_since: '2026-01-01T00:00:15.000+00:00',
        availability_24h: 100,
        availability_7d: 100,
        availability_30d: 100,
        outages: [],
      },
      recovery: {
        enabled: true,
        state: 'idle',
        power_cycles_total: 0,
        last_power_cycle: null,
        budget_remaining: 3,
      },
    });
    // 2 of 3 targets for a minute: degraded counts as up.
    world.wan[0]!.mode = 'down';
    await a.rounds(4);
    expect(a.svc.status()).toMatchObject({ health: 'degraded', uptime: { availability_24h: 100 } });
  });
});
