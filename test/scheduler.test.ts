import { describe, expect, it } from 'vitest';
import { Scheduler } from '../src/scheduler.js';
import { flush, ManualClock } from './fakes/clock.js';
import { logSink } from './helpers/log-sink.js';

function setup(
  opts: {
    intervalMs?: number;
    jitterMs?: number;
    random?: () => number;
    cycleMs?: number;
    triggerGapMs?: number;
  } = {},
) {
  const clock = new ManualClock();
  const calls: Array<{ at: number; reasons: string[]; records: string[] | undefined }> = [];
  const sink = logSink();
  let retryAt: number | null = null;
  let failNext = false;
  const scheduler = new Scheduler({
    clock,
    random: opts.random ?? (() => 0.5),
    intervalMs: opts.intervalMs ?? 60_000,
    jitterMs: opts.jitterMs ?? 5_000,
    logger: sink.logger,
    ...(opts.triggerGapMs !== undefined ? { triggerGapMs: opts.triggerGapMs } : {}),
    run: async (reasons, records) => {
      calls.push({ at: clock.now(), reasons, records });
      if (opts.cycleMs) await clock.sleep(opts.cycleMs);
      if (failNext) {
        failNext = false;
        throw new Error('boom');
      }
      return { retryAt };
    },
  });
  return {
    clock,
    calls,
    scheduler,
    sink,
    setRetryAt: (v: number | null) => {
      retryAt = v;
    },
    failOnce: () => {
      failNext = true;
    },
  };
}

describe('Scheduler', () => {
  it('runs at once, then every interval; 24 simulated hours take milliseconds', async () => {
    const { clock, calls, scheduler } = setup();
    const t0 = clock.now();
    scheduler.start();
    await flush();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.reasons).toEqual(['start']);
    await clock.advance(24 * 3_600_000);
    expect(calls).toHaveLength(1 + 24 * 60);
    expect(calls[1]?.at).toBe(t0 + 60_000);
    await scheduler.stop();
  });

  it.each([
    ['jitter/low-end', 0, 55_000],
    ['jitter/middle', 0.5, 60_000],
    ['jitter/high-end', 0.999999, 65_000],
  ])('%s: sleeps are drawn from interval ± jitter', async (_n, r, expected) => {
    const { scheduler } = setup({ random: () => r });
    expect(scheduler.nextDelay()).toBe(expected);
  });

  it('a trigger cuts the sleep short and runs a cycle now', async () => {
    const { clock, calls, scheduler } = setup();
    scheduler.start();
    await clock.advance(10_000);
    const done = scheduler.trigger('command');
    await clock.advance(0);
    await done;
    expect(calls.map((c) => c.reasons)).toEqual([['start'], ['command']]);
    expect(calls[1]?.at).toBe(calls[0]!.at + 10_000);
    await scheduler.stop();
  });

  it('triggers during a running cycle coalesce into exactly one follow-up', async () => {
    const { clock, calls, scheduler } = setup({ cycleMs: 1_000 });
    scheduler.start();
    await flush();
    const a = scheduler.trigger('command');
    const b = scheduler.trigger('wan restored');
    const c = scheduler.trigger('local address change');
    await clock.advance(1_000); // first cycle ends, follow-up starts
    await clock.advance(1_000); // follow-up ends
    await Promise.all([a, b, c]);
    expect(calls.map((x) => x.reasons)).toEqual([
      ['start'],
      ['command', 'wan restored', 'local address change'],
    ]);
    await scheduler.stop();
  });

  it('a trigger for some records asks for those only; mixed with a full one asks for all', async () => {
    const { clock, calls, scheduler } = setup({ cycleMs: 1_000 });
    scheduler.start();
    await flush();
    void scheduler.trigger('command', ['a.example.com']);
    void scheduler.trigger('command', ['b.example.com']);
    await clock.advance(2_000);
    expect(calls[1]?.records).toEqual(['a.example.com', 'b.example.com']);
    void scheduler.trigger('command', ['a.example.com']);
    void scheduler.trigger('wan restored');
    await clock.advance(7_000); // after the trigger gap
    expect(calls).toHaveLength(3);
    expect(calls[2]?.records).toBeUndefined();
    await scheduler.stop();
  });

  it('a deferred record (retryAt) wakes the loop sooner than the interval', async () => {
    const { clock, calls, scheduler, setRetryAt } = setup();
    setRetryAt(clock.now() + 20_000);
    scheduler.start();
    await flush();
    setRetryAt(null);
    await clock.advance(20_000);
    expect(calls).toHaveLength(2);
  });

  it('a cycle that throws is logged and the loop keeps going', async () => {
    const { clock, calls, scheduler, sink, failOnce } = setup();
    failOnce();
    scheduler.start();
    await clock.advance(60_000);
    expect(calls).toHaveLength(2);
    expect(sink.lines().some((l) => l.level === 'error' && String(l.msg).includes('boom'))).toBe(true);
    await scheduler.stop();
  });

  it('stop ends the loop: no cycles afterwards, pending triggers resolve', async () => {
    const { clock, calls, scheduler } = setup();
    scheduler.start();
    await flush();
    await scheduler.stop();
    await scheduler.trigger('late');
    await clock.advance(600_000);
    expect(calls).toHaveLength(1);
  });
  it('triggers for some records never postpone the full cycle (no starvation of the others)', async () => {
    const { clock, calls, scheduler } = setup({ jitterMs: 0 });
    scheduler.start();
    await flush();
    // An automation syncs one record every 50 s, faster than the 60 s interval.
    for (let i = 0; i < 20; i++) {
      await clock.advance(50_000);
      void scheduler.trigger('command', ['a.example.com']);
      await flush();
    }
    const full = calls.filter((c) => c.records === undefined).map((c) => c.at - calls[0]!.at);
    // 1,000 s of time: the start cycle plus a full cycle about every 60 s.
    expect(full.length).toBeGreaterThanOrEqual(16);
    for (let i = 1; i < full.length; i++) expect(full[i]! - full[i - 1]!).toBeLessThanOrEqual(60_000);
    await scheduler.stop();
  });

  describe('trigger gap (a flood of commands never becomes an API storm)', () => {
    it('flood/1,000 triggers over 10 s/about 10 s ÷ gap + 1 cycles, every trigger answered', async () => {
      const { clock, calls, scheduler } = setup({ intervalMs: 3_600_000, cycleMs: 100, triggerGapMs: 5_000 });
      scheduler.start();
      await clock.advance(30_000); // the start cycle, then a quiet period
      const t0 = clock.now();
      const answered: boolean[] = [];
      for (let i = 0; i < 1000; i++) {
        void scheduler.trigger('command').then((ran) => answered.push(ran));
        await clock.advance(10);
      }
      await clock.advance(20_000);
      expect(answered).toHaveLength(1000);
      expect(answered.every((ran) => ran)).toBe(true);
      const flood = calls.filter((c) => c.at >= t0);
      // 10 s of triggers with a 5 s gap: one at once, then one per gap.
      expect(flood.length).toBeGreaterThanOrEqual(2);
      expect(flood.length).toBeLessThanOrEqual(10_000 / 5_000 + 1);
      expect(flood[0]?.at).toBe(t0); // the first trigger after a quiet period runs at once
      for (let i = 1; i < flood.length; i++) {
        // measured from the end of the previous triggered cycle (100 ms long)
        expect(flood[i]!.at - flood[i - 1]!.at).toBeGreaterThanOrEqual(5_000 + 100);
      }
      await scheduler.stop();
    });

    it('gap/a trigger within the gap joins the next cycle, which runs when the gap has passed', async () => {
      const { clock, calls, scheduler } = setup({ intervalMs: 3_600_000, triggerGapMs: 5_000 });
      scheduler.start();
      await clock.advance(60_000);
      const first = scheduler.trigger('command');
      await clock.advance(0);
      expect(await first).toBe(true);
      const at = clock.now();
      let secondDone = false;
      let thirdDone = false;
      const second = scheduler.trigger('command').then((r) => {
        secondDone = true;
        return r;
      });
      await clock.advance(2_000);
      const third = scheduler.trigger('wan restored').then((r) => {
        thirdDone = true;
        return r;
      });
      await clock.advance(2_999);
      expect(calls).toHaveLength(2);
      expect(secondDone || thirdDone).toBe(false);
      await clock.advance(1);
      expect(await second).toBe(true);
      expect(await third).toBe(true);
      expect(calls).toHaveLength(3);
      expect(calls[2]).toMatchObject({ at: at + 5_000, reasons: ['command', 'wan restored'] });
      // A quiet period later, a trigger runs at once again.
      await clock.advance(60_000);
      const later = scheduler.trigger('command');
      await clock.advance(0);
      expect(await later).toBe(true);
      expect(calls.at(-1)?.at).toBe(clock.now());
      await scheduler.stop();
    });

    it.each([
      [
        'records/partial+partial/merged',
        [['a.example.com'], ['b.example.com']],
        ['a.example.com', 'b.example.com'],
      ],
      ['records/partial+full/full', [['a.example.com'], undefined], undefined],
    ] as const)('%s: triggers held by the gap merge their record sets', async (_n, asked, expected) => {
      const { clock, calls, scheduler } = setup({ intervalMs: 3_600_000, triggerGapMs: 5_000 });
      scheduler.start();
      await clock.advance(60_000);
      void scheduler.trigger('command', ['c.example.com']);
      await clock.advance(0);
      for (const records of asked) void scheduler.trigger('command', records);
      await clock.advance(5_000);
      expect(calls).toHaveLength(3);
      expect(calls[1]?.records).toEqual(['c.example.com']);
      expect(calls[2]?.records).toEqual(expected);
      await scheduler.stop();
    });

    it('stop/triggers waiting for the gap resolve false when the scheduler stops', async () => {
      const { clock, calls, scheduler } = setup({ intervalMs: 3_600_000, triggerGapMs: 5_000 });
      scheduler.start();
      await clock.advance(60_000);
      void scheduler.trigger('command');
      await clock.advance(0);
      const waiting = scheduler.trigger('command');
      await clock.advance(1_000);
      await scheduler.stop();
      expect(await waiting).toBe(false);
      expect(calls).toHaveLength(2);
    });

    it('interval/the full cycle on the timer is not held back by the gap of a partial triggered one', async () => {
      const { clock, calls, scheduler } = setup({ intervalMs: 60_000, jitterMs: 0, triggerGapMs: 5_000 });
      scheduler.start();
      await clock.advance(58_000);
      void scheduler.trigger('command', ['a.example.com']);
      await clock.advance(0);
      await clock.advance(2_000);
      expect(calls.map((c) => c.at - calls[0]!.at)).toEqual([0, 58_000, 60_000]);
      await scheduler.stop();
    });
  });
});

describe('the wall clock steps back while the loop runs (NTP correcting a clock that ran ahead)', () => {
  it('clock/back a day/the next cycles come on time, not a day later', async () => {
    const mono = new ManualClock();
    let offset = 0;
    const clock = {
      now: () => mono.now() + offset,
      sleep: (ms: number, s?: AbortSignal) => mono.sleep(ms, s),
    };
    const runs: number[] = [];
    const sink = logSink();
    const scheduler = new Scheduler({
      clock,
      random: () => 0.5,
      intervalMs: 60_000,
      jitterMs: 5_000,
      logger: sink.logger,
      triggerGapMs: 5_000,
      run: async () => {
        runs.push(mono.now());
        return { retryAt: null };
      },
    });
    scheduler.start();
    await mono.advance(0);
    expect(runs).toHaveLength(1);
    offset = -24 * 3_600_000;
    // Within two intervals of monotonic time the loop has run again, however far the wall clock went back.
    await mono.advance(2 * 65_000);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const before = runs.length;
    // A trigger is answered within the trigger gap, not when the wall clock catches up.
    const answered = scheduler.trigger('command');
    await mono.advance(5_000);
    await flush();
    expect(await Promise.race([answered, Promise.resolve('pending')])).toBe(true);
    expect(runs.length).toBeGreaterThan(before);
    await scheduler.stop();
  });
});
