/**
 * The watchdog's sections of the state file: files written by today's version (neither `uptime`
 * nor `recovery`) still load; damaged sections are salvaged field by field without losing the
 * file (it holds the DNS record ids too); saves are spared on an SD card.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { persistedStateSchema } from '../../src/state/schema.js';
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
  for (const a of agents.splice(0)) await a.svc.stop();
  await world?.close();
});

async function agent(o: Parameters<typeof makeAgent>[2] = {}): Promise<Agent> {
  const a = await makeAgent(pki, world, o);
  agents.push(a);
  return a;
}

/** A state file as the version before the watchdog writes it: schema 1, no watchdog sections. */
const V1_FILE = {
  schema: 1,
  public_ip: {
    ipv4: '81.2.69.160',
    ipv6: null,
    verified: true,
    sources_agreeing: ['http://127.0.0.1:1/a', 'http://127.0.0.1:2/b'],
    checked_at: 1767225000000,
    error: null,
  },
  dns: {
    last_sync: 1767225000000,
    last_change: 1767224000000,
    records: {
      'home.example.com/A': {
        name: 'home.example.com',
        type: 'A',
        status: 'in_sync',
        content: '81.2.69.160',
        zone_id: 'zone-1',
        zone_name: 'example.com',
        record_id: 'rec-1',
        ttl: 60,
        proxied: false,
        last_update: 1767224000000,
        last_written_content: '81.2.69.160',
        api_checked_at: 1767225000000,
        api_checked_ip: '81.2.69.160',
        error: null,
        message: null,
        failures: 0,
        next_attempt_at: null,
        blocked_for: null,
      },
    },
  },
  ha_components: { public_ipv4: 'sensor' },
};

async function readState(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(world.dir, 'state.json'), 'utf8'));
}

describe.skipIf(!opensslAvailable())('the watchdog sections of the state file', () => {
  it('v1 file without uptime or recovery/loads as it is/the watchdog adds typed sections and keeps the rest', async () => {
    world = await makeWorld(pki);
    await writeFile(join(world.dir, 'state.json'), JSON.stringify(V1_FILE));
    const a = await agent({ start: false });
    const loaded = await a.store.load();
    expect(loaded.outcome).toBe('loaded');
    expect(loaded.state.uptime).toBeUndefined();
    expect(loaded.state.recovery).toBeUndefined();
    a.svc.start();
    await until(() => a.svc.rounds === 1, 'the first round');
    expect(a.svc.status().recovery).toMatchObject({ enabled: true, power_cycles_total: 0 });

    await a.rounds(4);
    await a.svc.stop();
    const saved = await readState();
    expect(saved['dns']).toEqual(V1_FILE.dns);
    expect(saved['public_ip']).toEqual(V1_FILE.public_ip);
    expect(saved['ha_components']).toEqual(V1_FILE.ha_components);
    expect(saved['uptime']).toEqual({
      version: 1,
      buckets: [[Math.floor(world.clock.now() / 3_600_000), 45_000, 45_000]],
      last: { at: world.clock.now(), health: 'ready' },
      outages: [],
    });
    expect(saved['recovery']).toMatchObject({ version: 1, enabled: null, cycles: [], current: null });
    const typed = persistedStateSchema.parse(saved);
    expect(typed.uptime?.buckets).toHaveLength(1);
    expect(typed.recovery?.power_cycles_total).toBe(0);
  });

  it('damaged sections/salvaged entry by entry/one warning, the file and the cycle in progress kept', async () => {
    world = await makeWorld(pki);
    const now = world.clock.now();
    const hour = Math.floor(now / 3_600_000);
    await writeFile(
      join(world.dir, 'state.json'),
      JSON.stringify({
        ...V1_FILE,
        uptime: {
          version: 1,
          buckets: [
            [hour - 1, 3_000_000, 3_600_000],
            [hour - 2, 'lots', 10],
          ],
          outages: 'none',
        },
        recovery: {
          enabled: false,
          cycles: [{ at: now - 3_600_000, finished_at: now - 3_570_000 }, { at: 1e308 }],
          power_cycles_total: 'seven',
          current: { phase: 'off', started_at: now - 600_000, plug: 'http', off_seconds: 30 },
        },
      }),
    );
    const a = await agent();
    expect((await readdir(world.dir)).filter((n) => n.includes('corrupt'))).toEqual([]);
    await until(() => a.of('power_cycle_finished').length === 1, 'the unfinished cycle ended');
    expect(world.plug.commands()).toEqual(['on']);
    const warning = logged(a, 'warn').find((m) => m.startsWith('Parts of the saved watchdog state'));
    expect(warning).toMatch(
      /uptime\.buckets: 1 unreadable entry dropped; uptime\.outages: is not a list — started empty; recovery\.cycles: 1 unreadable record\(s\) dropped; recovery\.power_cycles_total: unreadable value — using the default\); the rest was kept/,
    );
    const status = a.svc.status();
    expect(status.recovery).toMatchObject({
      enabled: false,
      last_power_cycle: new Date(now - 3_600_000).toISOString().replace('Z', '+00:00'),
    });
    expect(status.uptime.availability_24h).toBeCloseTo(83.333, 3);
    expect((await readState())['dns']).toEqual(V1_FILE.dns);
  });

  it('uptime saved with times in the future (clock set back)/clamped to now with one warning/the gap not counted', async () => {
    world = await makeWorld(pki);
    const now = world.clock.now();
    const hour = Math.floor(now / 3_600_000);
    await writeFile(
      join(world.dir, 'state.json'),
      JSON.stringify({
        ...V1_FILE,
        uptime: {
          buckets: [[hour - 1, 3_600_000, 3_600_000]],
          last: { at: now + 86_400_000, health: 'ready' },
          outages: [{ start: now + 3_600_000, end: null, class: 'wan_down' }],
        },
      }),
    );
    const a = await agent();
    await a.rounds(4);
    const warnings = logged(a, 'warn').filter((m) => m.includes('uptime figures hold times in the future'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/clamped to now; if this happens at every start, check that NTP is running/);
    const status = a.svc.status();
    expect(status.uptime.outages).toEqual([
      {
        start: '2026-01-01T00:00:00.000+00:00',
        end: '2026-01-01T00:00:00.000+00:00',
        class: 'wan_down',
        action: 'none',
      },
    ]);
    expect(status.uptime.availability_24h).toBe(100);
  });

  it('recovery saved with cycles in the future (clock set back)/clamped to now with one warning/the budget frees a window later', async () => {
    world = await makeWorld(pki);
    const now = world.clock.now();
    const later = now + 300 * 86_400_000; // saved while the clock ran ~10 months ahead
    await writeFile(
      join(world.dir, 'state.json'),
      JSON.stringify({
        ...V1_FILE,
        recovery: {
          cycles: [0, 1, 2].map((i) => ({
            at: later + i * 60_000,
            finished_at: later + i * 60_000 + 40_000,
            ok: true,
          })),
          power_cycles_total: 3,
          counters_reset_at: later,
        },
      }),
    );
    const first = await agent({ clock: new ManualClock(now) });
    const warnings = logged(first, 'warn').filter((m) =>
      m.includes('power-cycle history holds times in the future'),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/clamped to now.*check that NTP is running/);
    expect(first.svc.status().recovery).toMatchObject({
      last_power_cycle: new Date(now).toISOString().replace('Z', '+00:00'),
      budget_remaining: 0,
    });
    await first.svc.stop();
    const saved = persistedStateSchema.parse(await readState()).recovery;
    expect(saved?.cycles.map((c) => [c.at, c.finished_at])).toEqual([
      [now, now],
      [now, now],
      [now, now],
    ]);
    expect(saved).toMatchObject({ counters_reset_at: now, power_cycles_total: 3 });

    // A day and an hour later the three cycles have left the 24 h window: the WAN goes down and the
    // router is power-cycled (before the fix: budget 0 until ten months from now).
    const nextDay = new ManualClock(now + 25 * 3_600_000);
    const second = await agent({ clock: nextDay });
    expect(logged(second, 'warn').filter((m) => m.includes('holds times in the future'))).toEqual([]);
    expect(second.svc.status().recovery).toMatchObject({ budget_remaining: 3 });
    world.setWan('down');
    for (let i = 0; i < 40 && second.of('power_cycle_started').length === 0; i++) await second.rounds(1);
    expect(second.of('power_cycle_started')).toHaveLength(1);
  });

  it('SD card/a steady hour/a handful of writes, and a health change is saved at once', async () => {
    world = await makeWorld(pki);
    const a = await agent();
    await a.rounds(4);
    const before = a.store.saves;
    await a.rounds(240); // an hour of ready at 15 s rounds
    expect(a.store.saves - before).toBeLessThanOrEqual(5);
    world.setWan('down');
    const atChange = a.store.saves;
    await a.rounds(2);
    expect(a.svc.health).toBe('wan_down');
    expect(a.store.saves).toBeGreaterThan(atChange);
    expect(((await readState())['uptime'] as { outages: unknown[] }).outages).toEqual([
      { start: a.clock.now(), end: null, class: 'wan_down', action: 'none', power_cycles: 0 },
    ]);
  });
});
