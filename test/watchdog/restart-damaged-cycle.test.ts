/**
 * A restart that finds a cycle in progress in a state file it cannot fully read (a field another
 * version wrote differently, an absurd off time): the router is never left off (SPEC §5). Real
 * HTTP plug, real state file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  for (const a of agents.splice(0)) if (a.svc.running) await a.svc.stop();
  await world?.close();
});

async function agent(): Promise<Agent> {
  const a = await makeAgent(pki, world);
  agents.push(a);
  return a;
}

/** A state file whose recovery section holds `current`, a cycle the last run left unfinished. */
async function writeCycleInProgress(current: Record<string, unknown>): Promise<void> {
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
      recovery: { current, cycles: [{ at: current['started_at'] }], power_cycles_total: 1 },
    }),
  );
}

describe.skipIf(!opensslAvailable())('restart with a cycle in progress the file holds oddly', () => {
  it('reason not a string (another version wrote it)/the cycle is kept with one warning/the plug is switched on first', async () => {
    world = await makeWorld(pki);
    const now = world.clock.now();
    await writeCycleInProgress({
      phase: 'off',
      started_at: now - 60_000,
      plug: 'http',
      off_seconds: 30,
      reason: { text: 'x' },
    });
    world.plug.ison = false; // the router is without power
    const a = await agent();
    await until(() => a.of('power_cycle_finished').length === 1, 'the unfinished cycle ended');
    expect(world.plug.commands()).toEqual(['on']);
    expect(world.plug.ison).toBe(true);
    const warnings = logged(a, 'warn').filter((m) => m.startsWith('Parts of the saved watchdog state'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      'recovery.current: the power cycle in progress has unreadable field(s) (reason) — kept with safe defaults, so the plug is switched on at start',
    );
    const saved = JSON.parse(await readFile(join(world.dir, 'state.json'), 'utf8')).recovery;
    expect(saved.current).toBeNull();
    expect(saved.cycles).toEqual([expect.objectContaining({ at: now - 60_000, finished_at: now })]);
  });

  it('off_seconds 1e9 (31 years)/the cycle is kept/the plug is on an hour after its start, not decades later', async () => {
    world = await makeWorld(pki);
    const now = world.clock.now();
    await writeCycleInProgress({ phase: 'off', started_at: now - 60_000, plug: 'http', off_seconds: 1e9 });
    world.plug.ison = false;
    const a = await agent();
    expect(logged(a, 'warn').join('\n')).toMatch(
      /switching the plug on in 3540 s, at the end of its planned off time \(its saved off time, 1000000000 s, is longer than the longest allowed, 3600 s: capped\)/,
    );
    await a.clock.advance(3_539_000);
    expect(world.plug.commands()).toEqual([]);
    await a.clock.advance(1_000);
    await until(() => world.plug.commands().length > 0, 'the on command an hour after the start');
    expect(world.plug.commands()).toEqual(['on']);
    expect(world.plug.calls[0]?.at).toBe(now + 3_540_000);
    await until(() => a.of('power_cycle_finished').length === 1, 'the unfinished cycle ended');
    expect(world.plug.ison).toBe(true);
  });
});
