/**
 * The wall clock steps back while the agent runs (NTP correcting a clock that ran ahead, a Pi
 * without RTC): the DNS loop, sync commands, probe rounds and the availability figures go on
 * (issue 11.3; these failed before the scheduler and uptime fixes). The monotonic timers keep
 * running; only `now()` jumps (jump-clock.ts).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import { until } from '../helpers/world.js';
import { type FaultWorld, faultWatchdogWorld, faultWorld, NEW_IP, ready } from './fault-world.js';
import { JumpClock } from './jump-clock.js';

const NAME = 'home.example.com';
const content = (fw: FaultWorld) => fw.cf.records({ name: NAME, type: 'A' }).map((r) => r.content);
const DAY = 86_400_000;

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function world(o: Parameters<typeof faultWorld>[0] = {}): Promise<FaultWorld> {
  const w = await faultWorld(o);
  cleanups.push(() => w.close());
  return w;
}

/** Resolves with `p`, or fails naming `what` after `ms` of real time (instead of hanging the test). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the wall clock steps back in a running agent', () => {
  async function jumped(): Promise<{ w: FaultWorld; clock: JumpClock }> {
    const clock = new JumpClock();
    const w = await world({ agent: { clock }, overrides: { min_update_interval_seconds: 60 } });
    w.clock = clock.mono;
    await w.cycle(); // a triggered cycle (as a sync command): the trigger gap is now measured from it
    clock.jump(-DAY);
    return { w, clock };
  }

  // Before the fix (src/scheduler.ts) the loop slept until the wall clock caught up: a day.
  it('clock/jump-back-a-day/dns-interval-cycles-go-on', async () => {
    const { w, clock } = await jumped();
    const cycles = w.agent.scheduler.cycles;
    // 5 s steps, each cycle allowed to start and finish its (real) loopback I/O before the clock
    // moves on; three interval cycles must come within ten minutes (the bug waited a day).
    const started = clock.mono.now();
    for (let i = 0; i < 120 && w.agent.scheduler.cycles < cycles + 3; i++) {
      await clock.mono.advance(5_000);
      await until(() => !w.agent.scheduler.running, 'the cycle to end');
    }
    expect(clock.mono.now() - started).toBeLessThanOrEqual(10 * 60_000);
    expect(w.agent.scheduler.cycles).toBeGreaterThanOrEqual(cycles + 3);
  });

  it('clock/jump-back-a-day/sync-command-answered-at-once', async () => {
    const { w } = await jumped();
    expect(await within(w.agent.sync('command'), 3_000, 'the sync after the clock stepped back')).toBe(true);
  });

  // The watchdog's probe loop runs on the same Scheduler (src/watchdog/service.ts start): no probe
  // round — so no health, no recovery — until the wall clock catches up.
  it('clock/jump-back-an-hour/probe-rounds-go-on', async () => {
    const clock = new JumpClock();
    const w = await faultWatchdogWorld(pki, { agent: { clock } });
    cleanups.push(() => w.close());
    w.clock = clock.mono;
    await ready(w);
    clock.jump(-3_600_000);
    const rounds = w.agent.watchdog!.rounds;
    await w.rounds(4); // each round waited for before the clock moves on
    expect(w.agent.watchdog!.rounds).toBeGreaterThanOrEqual(rounds + 4);
  });

  // src/domain/uptime.ts availability(): after a step back the observed hours lie "in the future"
  // of now and the window counts none of them.
  it('clock/jump-back-an-hour/availability-still-shown', async () => {
    const clock = new JumpClock();
    const w = await faultWatchdogWorld(pki, { agent: { clock } });
    cleanups.push(() => w.close());
    w.clock = clock.mono;
    await ready(w);
    await w.rounds(4);
    expect(w.agent.status().uptime.availability_24h).toBe(100);
    clock.jump(-3_600_000);
    expect(w.agent.status().uptime.availability_24h).toBe(100);
  });

  // The first cycle after the step notices it and clamps last_update to now (one warning); the
  // change then waits one min_update_interval_seconds at most — not the length of the step (a day).
  it('clock/jump-back-a-day/ip-change-written-within-min_update_interval', async () => {
    const clock = new JumpClock();
    const w = await world({ agent: { clock }, overrides: { min_update_interval_seconds: 60 } });
    w.clock = clock.mono;
    clock.jump(-DAY);
    w.setIp(NEW_IP);
    await clock.mono.advance(61_000);
    await within(w.agent.reconciler.runCycle({ reason: 'test' }), 3_000, 'the cycle');
    await clock.mono.advance(61_000);
    await within(w.agent.reconciler.runCycle({ reason: 'test' }), 3_000, 'the cycle');
    expect(content(w)).toEqual([NEW_IP]);
  });
});
