/**
 * The wall clock steps back while the agent runs (NTP correcting a clock that ran ahead). Timers
 * are monotonic; only now() jumps. The saved power-cycle times then lie in the future: they are set
 * to now once, with one warning, so the boot grace and the 5-minute reboot guard run from there.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../fakes/clock.js';
import { opensslAvailable } from '../fakes/mosquitto.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import { type Agent, logged, makeAgent, makeWorld, until, type World } from './harness.js';

/** A manual clock whose wall reading can be stepped: `offset` is added to now(), timers unaffected. */
class SteppingClock extends ManualClock {
  offset = 0;
  override now(): number {
    return super.now() + this.offset;
  }
}

const DAY = 86_400_000;
let pki: TestPki;
let world: World;
let agent: Agent | null = null;

beforeAll(async () => {
  if (opensslAvailable()) pki = await makeTestPki();
});
afterEach(async () => {
  if (agent?.svc.running) await agent.svc.stop();
  agent = null;
  await world?.close();
});

/** An agent (60 s rounds) that reboots the router, sees the cycle end, then has its clock set back. */
async function rebootThenStepBack(by: number, config: Record<string, unknown> = {}) {
  const clock = new SteppingClock();
  world = await makeWorld(pki, { clock });
  const a = await makeAgent(pki, world, { config: { probe_interval_seconds: 60, ...config } });
  agent = a;
  await a.rounds(2);
  expect(a.svc.health).toBe('ready');
  expect((await a.svc.commands.reboot()).ok).toBe(true);
  await a.rounds(1); // the 30 s off ends, the plug is switched on
  await until(() => a.of('power_cycle_finished').length === 1, 'the cycle finished');
  const finishedAt = clock.now();
  clock.offset = -by;
  return { a, clock, finishedAt };
}

const warnings = (a: Agent) => logged(a, 'warn').filter((m) => m.startsWith('The system clock went back'));

describe.skipIf(!opensslAvailable())('clock set back while running, after a power cycle', () => {
  it('back a day/boot grace ends after boot_grace_seconds from the step/health judged again, one warning', async () => {
    const { a } = await rebootThenStepBack(DAY);
    await a.rounds(9); // 9 min after the step: still inside the 600 s grace
    expect(a.svc.health).toBe('recovering');
    expect(a.svc.status().recovery.state).toBe('grace');
    await a.rounds(3);
    expect(a.svc.health).toBe('ready');
    expect(a.svc.status().recovery.state).toBe('idle');
    await a.rounds(108); // two hours after the step, the WAN fine all along
    expect(a.svc.health).toBe('ready');
    expect(warnings(a)).toHaveLength(1);
    expect(warnings(a)[0]).toMatch(
      /^The system clock went back by about 14\d\d min while the agent was running .*boot grace and the 5-minute guard before a manual reboot run from now.*check that NTP is running\.$/,
    );
    // Stored once: nothing in the saved section lies ahead of the clock any more.
    const saved = JSON.parse(await readFile(join(world.dir, 'state.json'), 'utf8')).recovery;
    expect(Math.max(saved.cycles[0].at, saved.cycles[0].finished_at)).toBeLessThanOrEqual(a.clock.now());
  });

  it('back a day/a manual reboot an hour later/accepted, not refused as "ended 0 s ago"', async () => {
    const { a } = await rebootThenStepBack(DAY);
    await a.rounds(2); // the first round after the step clamps; this one is a minute later
    expect(await a.svc.commands.reboot()).toMatchObject({
      ok: false,
      message: expect.stringMatching(/ended \d+ s ago.*try again in 4 min/),
    });
    await a.rounds(58); // an hour after the step (monotonic)
    const answer = await a.svc.commands.reboot();
    expect(answer.message).not.toMatch(/ended 0 s ago/);
    expect(answer).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^power-cycling the router now/),
    });
  });

  it('back 20 s/clamped quietly: no warning, the grace as before', async () => {
    const { a, finishedAt } = await rebootThenStepBack(20_000);
    await a.rounds(12);
    expect(a.svc.health).toBe('ready');
    expect(warnings(a)).toEqual([]);
    expect(a.clock.now()).toBeGreaterThan(finishedAt + 600_000);
  });

  it('back a day/an outage after the grace/power-cycled after wan_down_after_seconds, not a day later', async () => {
    const { a } = await rebootThenStepBack(DAY, { wan_down_after_seconds: 120 });
    await a.rounds(12);
    expect(a.svc.health).toBe('ready');
    world.setWan('down');
    for (let i = 0; i < 8 && a.of('power_cycle_started').length < 2; i++) await a.rounds(1);
    expect(a.of('power_cycle_started')).toHaveLength(2);
  });
});
