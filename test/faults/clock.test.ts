/**
 * Fault suite, the wall clock (SPEC §7): it jumps forward (NTP stepping a Raspberry Pi without a
 * real-time clock) or back (a clock corrected backwards), mid-run and across a restart, also in
 * the middle of a power cycle. The agent's clock is a JumpClock: `now()` jumps, timers keep
 * running on the monotonic clock, as Date.now and setTimeout do. Backward jumps in a running agent
 * showed bugs (test/faults/open-bugs.test.ts, docs/reliability.md "open").
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../fakes/clock.js';
import { FakeHttpPlug } from '../fakes/http-plug.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import { until } from '../helpers/world.js';
import {
  type FaultWatchdogWorld,
  faultWatchdogWorld,
  faultWorld,
  GOOD_IP,
  NEW_IP,
  ready,
} from './fault-world.js';
import { JumpClock } from './jump-clock.js';

const DAY = 86_400_000;
const NAME = 'home.example.com';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('the clock jumps forward', () => {
  it('clock/jump-forward-a-day/dns-cycles-and-probes-go-on/a-change-is-written', async () => {
    const clock = new JumpClock();
    const w = await faultWatchdogWorld(pki, {
      agent: { clock },
      overrides: { min_update_interval_seconds: 60 },
    });
    cleanups.push(() => w.close());
    w.clock = clock.mono;
    await ready(w);
    clock.jump(DAY);
    const rounds = w.agent.watchdog!.rounds;
    await w.rounds(4);
    expect(w.agent.watchdog!.rounds).toBe(rounds + 4);
    w.setIp(NEW_IP);
    await w.cycle();
    expect(w.cf.records({ name: NAME })[0]?.content).toBe(NEW_IP);
    expect(w.agent.status().uptime.availability_24h).toEqual(expect.any(Number));
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /Updated A home\.example\.com from 81\.2\.69\.160 to 81\.2\.69\.201/,
    });
  });
});

describe('the clock jumps during a power cycle', () => {
  async function cycling(
    jump: number,
  ): Promise<{ w: FaultWatchdogWorld; plug: FakeHttpPlug; clock: JumpClock }> {
    const plug = await FakeHttpPlug.start(new ManualClock());
    cleanups.push(() => plug.close());
    const clock = new JumpClock();
    const w = await faultWatchdogWorld(pki, {
      agent: { clock },
      overrides: {
        plug_type: 'http',
        plug_off_url: `${plug.url}/relay?turn=off`,
        plug_on_url: `${plug.url}/relay?turn=on`,
        power_off_seconds: 30,
        recovery_enabled: false,
      },
    });
    cleanups.push(() => w.close());
    w.clock = clock.mono;
    await ready(w);
    expect(await w.obs.command('reboot', 'PRESS')).toMatchObject({ ok: true });
    expect(plug.ison).toBe(false);
    clock.jump(jump);
    // The off time is measured on the monotonic clock: 30 s after the off, whatever the wall clock says.
    await clock.mono.advance(29_000);
    expect(plug.ison).toBe(false);
    await clock.mono.advance(1_000);
    await until(() => plug.ison, 'the plug on after 30 s');
    await until(() => w.events.some((e) => e.type === 'power_cycle_finished'), 'power_cycle_finished');
    return { w, plug, clock };
  }

  it.each([
    ['clock/jump-forward-a-day-while-the-router-is-off/on-after-power_off_seconds', DAY],
    ['clock/jump-back-an-hour-while-the-router-is-off/on-after-power_off_seconds', -3_600_000],
  ])('%s', async (_name, jump) => {
    const { w, plug } = await cycling(jump);
    expect(plug.commands()).toEqual(['off', 'on']);
    expect(w.agent.state.state.recovery?.current ?? null).toBeNull();
    await w.check({
      verified: [GOOD_IP],
      plug: () => plug.ison,
      said: /The router was power-cycled: off for 30 s, then switched on by the agent/,
    });
  });
});

describe('the clock was set back across a restart', () => {
  it('clock/set-back-a-day-across-a-restart/future-times-clamped-with-one-warning/dns-not-frozen', async () => {
    const clock = new JumpClock();
    const w = await faultWorld({ agent: { clock }, overrides: { min_update_interval_seconds: 60 } });
    cleanups.push(() => w.close());
    w.clock = clock.mono;
    // The agent ran with a clock a day ahead, wrote and saved; the clock is corrected, it restarts.
    clock.jump(DAY);
    w.setIp(NEW_IP);
    await w.cycle();
    await w.agent.stop({ graceMs: 0 });
    clock.jump(-DAY);
    await w.restartAndStart();
    w.setIp(GOOD_IP);
    await clock.mono.advance(61_000);
    await w.cycle();
    // Written within min_update_interval_seconds of the restart, not a day later.
    expect(w.cf.records({ name: NAME })[0]?.content).toBe(GOOD_IP);
    const record = w.agent.state.state.dns.records[`${NAME}/A`]!;
    expect(record.last_update).toBeLessThanOrEqual(clock.now());
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /The saved state holds times up to 24 h in the future .* clamped to now, so no DNS change waits for them/,
    });
  });
});
