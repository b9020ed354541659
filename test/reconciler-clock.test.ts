/**
 * A wall clock set back while the agent runs (a review finding; SPEC §3 "deferred, not dropped",
 * §7 "timestamps in the future are clamped to now with one warning"). Before the fix the clamp of
 * future times ran only at load: a cycle wrote at 12:00 with min_update_interval_seconds 60, the
 * clock was set back a day and moved 120 s on, the IP changed — and the change was deferred
 * "until" tomorrow 12:01; a record in backoff was held a day. Now each cycle clamps the DNS
 * state's future times to now (one warning per jump) and the core reads them as now meanwhile.
 * Timers stay monotonic here (JumpClock): only `now()` steps, as a real clock step does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.js';
import { ManualClock } from './fakes/clock.js';
import { makeWorld, type World } from './helpers/world.js';

const DAY = 86_400_000;
const NAME = 'home.example.com';

/** Wall time that can step; sleeps run on the monotonic clock underneath. */
class JumpClock implements Clock {
  readonly mono = new ManualClock();
  #offset = 0;
  now(): number {
    return this.mono.now() + this.#offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.mono.sleep(ms, signal);
  }
  jump(ms: number): void {
    this.#offset += ms;
  }
}

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

async function running(clock: JumpClock): Promise<World> {
  world = await makeWorld({
    records: [NAME],
    ip: '81.2.69.1',
    overrides: { min_update_interval_seconds: 60 },
    agent: { clock },
  });
  await world.agent.reconciler.runCycle({ reason: 'test' });
  expect(content(world)).toEqual(['81.2.69.1']);
  return world;
}

const content = (w: World) => w.cf.records({ name: NAME, type: 'A' }).map((r) => r.content);
const record = (w: World) => w.agent.state.state.dns.records[`${NAME}/A`]!;
const jumpWarnings = (w: World) =>
  w.sink.lines().filter((l) => l.level === 'warn' && /clock went back/.test(String(l.msg)));
const cycle = (w: World) => w.agent.reconciler.runCycle({ reason: 'test' });

/**
 * The next cycle writes the new address, or defers it by one min_update_interval_seconds at most
 * (the clamped last write counts as now) and the cycle after that writes it — never "until
 * tomorrow".
 */
async function writtenWithinOneInterval(w: World, clock: JumpClock): Promise<void> {
  const r = await cycle(w);
  if (content(w)[0] !== '81.2.69.2') {
    expect(r.retryAt).not.toBeNull();
    expect(r.retryAt!).toBeLessThanOrEqual(clock.now() + 60_000);
    expect(record(w).message).toBe(
      `change deferred until ${new Date(r.retryAt!).toISOString()} (min_update_interval_seconds)`,
    );
    await clock.mono.advance(r.retryAt! - clock.now());
    await cycle(w);
  }
  expect(content(w)).toEqual(['81.2.69.2']);
  expect(record(w).status).toBe('in_sync');
}

describe('the clock set back while running', () => {
  it('back a day, 120 s on, the IP changes/deferred one interval at most, not a day; written; one warning', async () => {
    const clock = new JumpClock();
    const w = await running(clock);
    clock.jump(-DAY);
    await clock.mono.advance(120_000);
    w.setIp('81.2.69.2');
    await writtenWithinOneInterval(w, clock);
    // Said once, saying what happened and what to do.
    const warned = jumpWarnings(w);
    expect(warned).toHaveLength(1);
    expect(String(warned[0]!.msg)).toMatch(/went back by about 24 h while the agent was running/);
    expect(String(warned[0]!.msg)).toMatch(/check that NTP is running/);
    // No time in the state lies ahead of the clock any more.
    const r0 = record(w);
    for (const t of [
      r0.last_update,
      r0.api_checked_at,
      r0.next_attempt_at,
      w.agent.state.state.dns.last_sync,
    ]) {
      if (t !== null) expect(t).toBeLessThanOrEqual(clock.now());
    }
  });

  it('back a day, a cycle, 120 s on, the IP changes/written at once (the interval counts from the clamp)', async () => {
    const clock = new JumpClock();
    const w = await running(clock);
    clock.jump(-DAY);
    await clock.mono.advance(1_000);
    await cycle(w); // the next timer cycle notices the jump
    expect(jumpWarnings(w)).toHaveLength(1);
    await clock.mono.advance(120_000);
    w.setIp('81.2.69.2');
    const r = await cycle(w);
    expect(content(w)).toEqual(['81.2.69.2']);
    expect(r.retryAt).toBeNull();
    expect(jumpWarnings(w)).toHaveLength(1);
  });

  it('a record in backoff when the clock goes back a day/looked at again at once, written within one interval, not a day later', async () => {
    const clock = new JumpClock();
    const w = await running(clock);
    w.cf.failNext({ method: 'PATCH', status: 500 });
    await clock.mono.advance(120_000);
    w.setIp('81.2.69.2');
    await cycle(w);
    expect(content(w)).toEqual(['81.2.69.1']);
    const retry = record(w).next_attempt_at;
    expect(retry).not.toBeNull();
    clock.jump(-DAY);
    await clock.mono.advance(retry! - (clock.now() + DAY) + 1); // just past the backoff, in real time
    await writtenWithinOneInterval(w, clock);
    expect(jumpWarnings(w)).toHaveLength(1);
  });

  it('two jumps/two warnings; cycles in between/none; a step back of seconds/clamped without one', async () => {
    const clock = new JumpClock();
    const w = await running(clock);
    clock.jump(-DAY);
    await cycle(w);
    for (let i = 0; i < 3; i++) {
      await clock.mono.advance(60_000);
      await cycle(w);
    }
    expect(jumpWarnings(w)).toHaveLength(1);
    clock.jump(-2 * 3_600_000);
    await cycle(w);
    expect(jumpWarnings(w)).toHaveLength(2);
    expect(String(jumpWarnings(w)[1]!.msg)).toMatch(/about 2 h/);
    await clock.mono.advance(60_000);
    clock.jump(-5_000);
    await cycle(w);
    expect(jumpWarnings(w)).toHaveLength(2);
    expect(w.agent.state.state.dns.last_sync).toBe(clock.now());
  });
});
