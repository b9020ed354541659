/**
 * A power cycle never leaves the router off: stopped or killed between off and on, a failing or
 * vanished plug, a clock set back. Real HTTP plug, real state file; manual reboots start the cycles.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../fakes/clock.js';
import { opensslAvailable } from '../fakes/mosquitto.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import { type Agent, logged, makeAgent, makeWorld, until, type World } from './harness.js';

let pki: TestPki;
let world: World;
const agents: Agent[] = [];

beforeAll(async () => {
  if (opensslAvailable()) pki = await makeTestPki();
});
afterEach(async () => {
  // A "killed" agent is stopped too, once the test has made its assertions: nothing is left pending.
  for (const a of agents.splice(0)) if (a.svc.running) await a.svc.stop();
  await world?.close();
});

async function agent(o: Parameters<typeof makeAgent>[2] = {}): Promise<Agent> {
  const a = await makeAgent(pki, world, o);
  agents.push(a);
  return a;
}

/** The recovery section as saved on disk. */
async function savedRecovery(): Promise<{ current: { phase: string } | null; cycles: unknown[] }> {
  const text = await readFile(join(world.dir, 'state.json'), 'utf8');
  return JSON.parse(text).recovery;
}

/** An agent that will be "killed": it runs on a clock of its own that never moves again. */
function frozenClock(): ManualClock {
  return new ManualClock(world.clock.now());
}

describe.skipIf(!opensslAvailable())('power cycles end with the plug on', () => {
  it('agent_timed/stopped between off and on/the plug is switched on before stop() resolves', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    const answer = await a.svc.commands.reboot();
    expect(answer).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^power-cycling the router now/),
    });
    expect(world.plug.commands()).toEqual(['off']);
    expect((await savedRecovery()).current).toMatchObject({ phase: 'off' });

    await a.clock.advance(10_000);
    await a.svc.stop();
    expect(world.plug.commands()).toEqual(['off', 'on']);
    expect(world.plug.ison).toBe(true);
    expect(a.of('power_cycle_finished')).toEqual([
      expect.objectContaining({ ok: true, message: expect.stringMatching(/off for 10 s instead of 30 s/) }),
    ]);
    expect((await savedRecovery()).current).toBeNull();
  });

  it('agent_timed/killed between off and on/the next start switches the plug on first', async () => {
    world = await makeWorld(pki);
    const first = await agent({ clock: frozenClock() });
    await first.svc.commands.reboot();
    expect(world.plug.commands()).toEqual(['off']);
    // Killed: nothing more from the first agent. It comes back a minute later.
    const later = new ManualClock(world.clock.now() + 60_000);
    const second = await agent({ clock: later });
    await until(() => second.of('power_cycle_finished').length === 1, 'the cycle finished after the restart');
    expect(world.plug.commands()).toEqual(['off', 'on']);
    expect(world.plug.ison).toBe(true);
    expect(second.of('power_cycle_finished')[0]).toMatchObject({
      ok: true,
      message: expect.stringMatching(/left unfinished by a restart was completed: the plug is on/),
    });
    expect(logged(second, 'warn').join('\n')).toMatch(
      /was unfinished when the agent stopped: switching the plug on now so the router is not left off/,
    );
    expect((await savedRecovery()).current).toBeNull();
    // The restart's cycle counts: a manual reboot now is inside the 5-minute guard.
    expect(await second.svc.commands.reboot()).toMatchObject({ ok: false, message: /try again in/ });
  });

  it('agent_timed/restarted before the planned off time ended/on at the planned end, not before', async () => {
    world = await makeWorld(pki);
    const first = await agent({ clock: frozenClock() });
    await first.svc.commands.reboot();
    const later = new ManualClock(world.clock.now() + 10_000);
    const second = await agent({ clock: later });
    await later.advance(19_000);
    expect(world.plug.commands()).toEqual(['off']);
    await later.advance(1_000);
    await until(() => world.plug.commands().length === 2, 'the on command at the planned end');
    expect(world.plug.commands()).toEqual(['off', 'on']);
    await until(() => second.of('power_cycle_finished').length === 1, 'power_cycle_finished');
    expect(Date.parse(second.of('power_cycle_finished')[0]!.at)).toBe(later.now());
    expect(second.svc.health).not.toBe('wan_down');
  });

  it('self_timed/killed mid-cycle/the plug switches itself back on, and the next start makes sure', async () => {
    world = await makeWorld(pki);
    const first = await agent({ clock: frozenClock(), plug: 'self_timed' });
    await first.svc.commands.reboot();
    expect(world.plug.commands()).toEqual(['off+30']);
    expect(world.plug.ison).toBe(false);
    await world.clock.advance(30_000); // the plug's own timer
    expect(world.plug.ison).toBe(true);
    const second = await agent({ clock: new ManualClock(world.clock.now()), plug: 'self_timed' });
    await until(() => second.of('power_cycle_finished').length === 1, 'the cycle finished after the restart');
    expect(world.plug.commands()).toEqual(['off+30', 'on']);
    expect(world.plug.ison).toBe(true);
  });

  it('clock set back since the cycle started/the next start switches the plug on at once', async () => {
    world = await makeWorld(pki);
    const now = world.clock.now();
    const cycle = { phase: 'off', started_at: now + 86_400_000, plug: 'http', off_seconds: 30 };
    await writeFile(
      join(world.dir, 'state.json'),
      JSON.stringify({
        schema: 1,
        public_ip: {
          ipv4: null,
          ipv6: null,
          verified: false,
          sources_agreeing: [],
          checked_at: null,
          error: null,
        },
        dns: { last_sync: null, last_change: null, records: {} },
        recovery: { current: cycle, cycles: [{ at: cycle.started_at }], power_cycles_total: 1 },
      }),
    );
    const a = await agent();
    await until(() => world.plug.commands().length === 1, 'the on command');
    expect(world.plug.commands()).toEqual(['on']);
    expect(world.plug.calls[0]?.at).toBe(now);
    await until(() => a.of('power_cycle_finished').length === 1, 'power_cycle_finished');
  });

  it('no plug configured any more/an unfinished cycle is closed with an error that says to check the router', async () => {
    world = await makeWorld(pki);
    const first = await agent({ clock: frozenClock() });
    await first.svc.commands.reboot();
    const second = await agent({ plug: 'none' });
    expect(logged(second, 'error').join('\n')).toMatch(
      /unfinished when the agent stopped, but no plug is configured now.*check that the router has power/,
    );
    await second.svc.stop();
    expect((await savedRecovery()).current).toBeNull();
  });

  it('agent_timed/the plug refuses the off command/reported, and the plug is still switched on', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    world.plug.mode = 'fail';
    const answer = await a.svc.commands.reboot();
    expect(answer).toEqual({
      ok: false,
      failure: 'failed', // it ran and did not work (HTTP 502), not a refusal (409)
      message: expect.stringMatching(
        /the plug did not take the command \(the plug answered HTTP 500.*\); it is switched on again in 30 s to be safe/,
      ),
    });
    world.plug.mode = 'ok';
    await a.clock.advance(30_000);
    await until(() => a.of('power_cycle_finished').length === 1, 'power_cycle_finished');
    expect(world.plug.calls.map((c) => [c.turn, c.accepted])).toEqual([
      ['off', false],
      ['on', true],
    ]);
    expect(a.of('power_cycle_finished')[0]).toMatchObject({
      ok: false,
      message: expect.stringMatching(
        /did not take the off command .* probably not power-cycled; it was switched on/,
      ),
    });
  });

  it('agent_timed/the plug is unreachable when it should switch on/retried with a growing wait until it answers', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    await a.svc.commands.reboot();
    world.plug.mode = 'offline';
    await a.clock.advance(30_000);
    await until(() => world.plug.calls.length === 2, 'the first on attempt');
    await until(
      () => logged(a, 'warn').some((m) => m.includes('Could not switch the plug on (attempt 1)')),
      'warning',
    );
    for (const [wait, calls] of [
      [1000, 3],
      [2000, 4],
    ] as const) {
      await a.clock.advance(wait);
      await until(() => world.plug.calls.length === calls, `on attempt ${calls - 1}`);
    }
    expect(a.svc.status().recovery.state).toBe('cycling');
    expect(await a.svc.commands.reboot()).toMatchObject({ ok: false, message: /already running/ });
    world.plug.mode = 'ok';
    await a.clock.advance(4000);
    await until(() => a.of('power_cycle_finished').length === 1, 'power_cycle_finished');
    expect(world.plug.ison).toBe(true);
    expect(a.of('power_cycle_finished')[0]).toMatchObject({ ok: true });
    expect(logged(a).join('\n')).toMatch(/The plug is on again/);
  });
});
