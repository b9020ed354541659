import { describe, expect, it } from 'vitest';
import { manualReboot, setAutoRecovery } from '../../src/domain/recovery-commands.js';
import {
  currentWaitMs,
  type Decision,
  decideRecovery,
  type HealthState,
  humanDuration,
  onHealth,
  type RecoveryConfig,
  type RecoveryInput,
  recoveryRound,
  recoveryStatus,
} from '../../src/domain/recovery-policy.js';
import {
  type CycleRecord,
  cycleOnSent,
  finishCycle,
  freshRecovery,
  parseRecovery,
  type RecoveryState,
  recoveryStateSchema,
  resumeAfterRestart,
  resumeRecovery,
  startCycle,
} from '../../src/domain/recovery-state.js';
import { freshState, persistedStateSchema } from '../../src/state/schema.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

/** The SPEC §2 defaults, with a Tasmota plug and Auto recovery on. */
function cfg(over: Partial<RecoveryConfig> = {}): RecoveryConfig {
  return {
    recovery_enabled: true,
    plug_type: 'tasmota',
    mode: 'enforce',
    mode_explicit: false,
    power_off_seconds: 30,
    wan_down_after_seconds: 180,
    boot_grace_seconds: 600,
    max_power_cycles: 3,
    power_cycle_window_hours: 24,
    recover_when_router_down: false,
    ...over,
  };
}

/** A finished real cycle that started `ago` ms before NOW (30 s off). */
function cycleAgo(ago: number, over: Partial<CycleRecord> = {}): CycleRecord {
  return {
    at: NOW - ago,
    finished_at: NOW - ago + 30 * S,
    ok: true,
    manual: false,
    simulated: false,
    ...over,
  };
}

function st(over: Partial<RecoveryState> = {}): RecoveryState {
  return { ...freshRecovery(), ...over };
}

interface Round {
  state?: RecoveryState;
  config?: Partial<RecoveryConfig>;
  health: HealthState;
  /** How long the health has been what it is. */
  healthFor: number;
  /** How long ago the agent started (default a day). */
  startedAgo?: number;
}

function input(r: Round): RecoveryInput {
  return {
    state: r.state ?? freshRecovery(),
    config: cfg(r.config),
    health: r.health,
    healthSince: NOW - r.healthFor,
    startedAt: NOW - (r.startedAgo ?? 24 * H),
    now: NOW,
  };
}

function summary(d: Decision): string {
  return d.kind === 'none' ? `none (${d.reason})` : d.kind;
}

describe('decideRecovery', () => {
  it.each<[string, Round, string]>([
    ['wan_down/179 s/none (waiting)', { health: 'wan_down', healthFor: 179 * S }, 'none (waiting)'],
    ['wan_down/180 s/cycle', { health: 'wan_down', healthFor: 180 * S }, 'cycle'],
    [
      'wan_down after 1 cycle/359 s/none (waiting)',
      { health: 'wan_down', healthFor: 359 * S, state: st({ cycles: [cycleAgo(H)] }) },
      'none (waiting)',
    ],
    [
      'wan_down after 1 cycle/360 s needed',
      { health: 'wan_down', healthFor: 360 * S, state: st({ cycles: [cycleAgo(H)] }) },
      'cycle',
    ],
    [
      'wan_down after 2 cycles/719 s/none (waiting)',
      { health: 'wan_down', healthFor: 719 * S, state: st({ cycles: [cycleAgo(3 * H), cycleAgo(H)] }) },
      'none (waiting)',
    ],
    [
      'wan_down after 2 cycles/720 s needed',
      { health: 'wan_down', healthFor: 720 * S, state: st({ cycles: [cycleAgo(3 * H), cycleAgo(H)] }) },
      'cycle',
    ],
    [
      'wan_down after a cycle 25 h ago/180 s (outside the window)',
      { health: 'wan_down', healthFor: 180 * S, state: st({ cycles: [cycleAgo(25 * H)] }) },
      'cycle',
    ],
    [
      'wan_down after a cycle before the counter reset/180 s',
      {
        health: 'wan_down',
        healthFor: 180 * S,
        state: st({ cycles: [cycleAgo(3 * H)], counters_reset_at: NOW - 2 * H }),
      },
      'cycle',
    ],
    [
      'router_down/an hour/none (recover_when_router_down off)',
      { health: 'router_down', healthFor: H },
      'none (router_down)',
    ],
    [
      'router_down/180 s/cycle with recover_when_router_down',
      { health: 'router_down', healthFor: 180 * S, config: { recover_when_router_down: true } },
      'cycle',
    ],
    ['self_down/any time/none', { health: 'self_down', healthFor: 12 * H }, 'none (not_router_fault)'],
    ['intercepted/any time/none', { health: 'intercepted', healthFor: 12 * H }, 'none (not_router_fault)'],
    ['degraded/any time/none', { health: 'degraded', healthFor: 12 * H }, 'none (wan_up)'],
    ['ready/any time/none', { health: 'ready', healthFor: 12 * H }, 'none (wan_up)'],
    ['probing/any time/none', { health: 'probing', healthFor: 12 * H }, 'none (probing)'],
    ['recovering/any time/none', { health: 'recovering', healthFor: 12 * H }, 'none (recovering)'],
    [
      'boot grace/no judgement',
      { health: 'wan_down', healthFor: H, state: st({ cycles: [cycleAgo(5 * MIN)] }) },
      'none (boot_grace)',
    ],
    [
      'boot grace over/wait counts from its end',
      // Finished 10 min + 5 min ago: grace ended 5 min ago, and 1 cycle doubles the wait to 6 min.
      { health: 'wan_down', healthFor: H, state: st({ cycles: [cycleAgo(15 * MIN + 30 * S)] }) },
      'none (waiting)',
    ],
    [
      'clock set back a day/boot grace at most boot_grace_seconds from now',
      { health: 'wan_down', healthFor: H, state: st({ cycles: [cycleAgo(-24 * H)] }) },
      'none (boot_grace)',
    ],
    [
      'start/grace until wan_down_after observed',
      { health: 'wan_down', healthFor: 100 * S, startedAgo: 179 * S },
      'none (start_grace)',
    ],
    [
      'start/wan_down since start/180 s/cycle',
      { health: 'wan_down', healthFor: 180 * S, startedAgo: 180 * S },
      'cycle',
    ],
    [
      'start/health since before start/counted from start',
      { health: 'wan_down', healthFor: H, startedAgo: 200 * S, state: st({ cycles: [cycleAgo(H)] }) },
      'none (waiting)',
    ],
    [
      'budget spent/exhausted',
      {
        health: 'wan_down',
        healthFor: 2 * H,
        state: st({ cycles: [cycleAgo(5 * H), cycleAgo(4 * H), cycleAgo(3 * H)] }),
      },
      'exhausted',
    ],
    [
      'budget spent/already reported/none (exhausted)',
      {
        health: 'wan_down',
        healthFor: 2 * H,
        state: st({ cycles: [cycleAgo(3 * H)], exhausted_at: NOW - H }),
      },
      'none (exhausted)',
    ],
    [
      'max_power_cycles 0/due/exhausted',
      { health: 'wan_down', healthFor: H, config: { max_power_cycles: 0 } },
      'exhausted',
    ],
    [
      'no plug/an hour down/none',
      { health: 'wan_down', healthFor: H, config: { plug_type: 'none' } },
      'none (no_plug)',
    ],
    [
      'recovery_enabled false/due/skip',
      { health: 'wan_down', healthFor: H, config: { recovery_enabled: false } },
      'skip',
    ],
    [
      'recovery_enabled false/already said/none (disabled)',
      {
        health: 'wan_down',
        healthFor: H,
        config: { recovery_enabled: false },
        state: st({ skip_noted_at: NOW - MIN }),
      },
      'none (disabled)',
    ],
    [
      'recovery_enabled false/179 s/none (waiting)',
      { health: 'wan_down', healthFor: 179 * S, config: { recovery_enabled: false } },
      'none (waiting)',
    ],
    [
      'switch off, config on/due/skip',
      { health: 'wan_down', healthFor: H, state: st({ enabled: false }) },
      'skip',
    ],
    [
      'switch on, config off/due/cycle',
      { health: 'wan_down', healthFor: H, config: { recovery_enabled: false }, state: st({ enabled: true }) },
      'cycle',
    ],
    [
      'dry-run explicit/would_cycle',
      { health: 'wan_down', healthFor: 180 * S, config: { mode: 'dry-run', mode_explicit: true } },
      'would_cycle',
    ],
    [
      'dry-run default (no token)/cycle',
      { health: 'wan_down', healthFor: 180 * S, config: { mode: 'dry-run', mode_explicit: false } },
      'cycle',
    ],
    [
      'dry-run explicit/real cycles do not spend its budget',
      {
        health: 'wan_down',
        healthFor: H,
        config: { mode: 'dry-run', mode_explicit: true },
        state: st({ cycles: [cycleAgo(5 * H), cycleAgo(4 * H), cycleAgo(3 * H)] }),
      },
      'would_cycle',
    ],
    [
      'enforce/would-be cycles of a dry-run do not spend the budget',
      {
        health: 'wan_down',
        healthFor: H,
        state: st({
          cycles: [5 * H, 4 * H, 3 * H].map((ago) => cycleAgo(ago, { simulated: true })),
        }),
      },
      'cycle',
    ],
    [
      'cycle in progress/none (cycling)',
      {
        health: 'wan_down',
        healthFor: H,
        state: startCycle(freshRecovery(), NOW - 10 * S, { plug: 'tasmota', offSeconds: 30 }),
      },
      'none (cycling)',
    ],
  ])('%s', (_name, round, expected) => {
    expect(summary(decideRecovery(input(round)))).toBe(expected);
  });

  it('clock set back a day/judging resumes after boot_grace_seconds, not a day', () => {
    const state = st({ cycles: [cycleAgo(-24 * H)] });
    const d = decideRecovery(input({ health: 'wan_down', healthFor: H, state }));
    expect(d).toMatchObject({ kind: 'none', reason: 'boot_grace', until: NOW + 10 * MIN });
  });

  it('wan_down/179 s/says when the cycle is due', () => {
    const d = decideRecovery(input({ health: 'wan_down', healthFor: 179 * S }));
    expect(d).toMatchObject({ kind: 'none', reason: 'waiting', until: NOW + S });
    expect(d.message).toContain('due after 3 min');
  });

  it('wan_down/180 s/cycle plan names the plug, off time and budget', () => {
    const d = decideRecovery(input({ health: 'wan_down', healthFor: 180 * S }));
    expect(d).toMatchObject({
      kind: 'cycle',
      plug: 'tasmota',
      offSeconds: 30,
      attempt: 1,
      budget: 3,
      downSeconds: 180,
    });
    expect(d.message).toBe(
      'The WAN has been down for 3 min while the router answers: power-cycling the router (plug tasmota, off 30 s; cycle 1 of 3 in 24 h).',
    );
  });

  it('dry-run explicit/would_cycle/says nothing was switched and how to let it act', () => {
    const d = decideRecovery(
      input({ health: 'wan_down', healthFor: 180 * S, config: { mode: 'dry-run', mode_explicit: true } }),
    );
    expect(d.kind).toBe('would_cycle');
    expect(d.message).toContain('would power-cycle the router now');
    expect(d.message).toContain('Nothing was switched because mode is dry-run');
  });

  it.each<[string, number, number]>([
    ['doubling/0 cycles/180 s', 0, 180],
    ['doubling/1 cycle/360 s', 1, 360],
    ['doubling/2 cycles/720 s', 2, 720],
    ['doubling/3 cycles/1440 s', 3, 1440],
    ['doubling/12 cycles/capped at the 24 h window', 12, 24 * 3600],
  ])('%s', (_name, cycles, seconds) => {
    const state = st({ cycles: Array.from({ length: cycles }, (_, i) => cycleAgo((i + 1) * MIN)) });
    expect(currentWaitMs(state, cfg({ max_power_cycles: 100 }), NOW)).toBe(seconds * S);
  });

  // wan_down_after_seconds (10..86400) may be longer than power_cycle_window_hours (1..720 h):
  // the window caps the doubling, never the wait the user asked for.
  it.each<[string, Partial<RecoveryConfig>, number, number]>([
    [
      'wan_down_after 4 h, window 1 h/0 cycles/4 h',
      { wan_down_after_seconds: 4 * 3600, power_cycle_window_hours: 1 },
      0,
      4 * 3600,
    ],
    [
      'wan_down_after 4 h, window 1 h/1 cycle/4 h',
      { wan_down_after_seconds: 4 * 3600, power_cycle_window_hours: 1 },
      1,
      4 * 3600,
    ],
    [
      'wan_down_after 24 h, window 1 h/0 cycles/24 h',
      { wan_down_after_seconds: 86400, power_cycle_window_hours: 1 },
      0,
      86400,
    ],
    [
      'wan_down_after 40 min, window 1 h/1 cycle/capped at the window',
      { wan_down_after_seconds: 2400, power_cycle_window_hours: 1 },
      1,
      3600,
    ],
    [
      'wan_down_after 1 h, window 1 h/2 cycles/1 h',
      { wan_down_after_seconds: 3600, power_cycle_window_hours: 1 },
      2,
      3600,
    ],
  ])('wait never below wan_down_after_seconds/%s', (_name, over, cycles, seconds) => {
    const state = st({ cycles: Array.from({ length: cycles }, (_, i) => cycleAgo((i + 1) * MIN)) });
    expect(currentWaitMs(state, cfg({ max_power_cycles: 100, ...over }), NOW)).toBe(seconds * S);
  });

  it.each<[string, number, string]>([
    ['wan_down_after 4 h, window 1 h/down 61 min/none (waiting)', 61 * MIN, 'none (waiting)'],
    ['wan_down_after 4 h, window 1 h/down 3 h 59 min/none (waiting)', 4 * H - MIN, 'none (waiting)'],
    ['wan_down_after 4 h, window 1 h/down 4 h/cycle', 4 * H, 'cycle'],
  ])('%s', (_name, down, expected) => {
    const config = { wan_down_after_seconds: 4 * 3600, power_cycle_window_hours: 1 };
    expect(summary(decideRecovery(input({ health: 'wan_down', healthFor: down, config })))).toBe(expected);
  });
});

describe('humanDuration (wording of waits)', () => {
  it.each<[string, number, string]>([
    ['seconds/under 2 min', 119 * S, '119 s'],
    ['minutes/whole', 3 * MIN, '3 min'],
    ['minutes/with seconds', 210 * S, '3 min 30 s'],
    ['hours/whole', 24 * H, '24 h'],
    ['hours/with minutes', 76 * MIN + 30 * S, '1 h 16 min'],
  ])('%s', (_name, ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('recoveryRound (decision + what it means for the state)', () => {
  it('budget spent/exhausted once', () => {
    const spent = st({ cycles: [cycleAgo(5 * H), cycleAgo(4 * H), cycleAgo(3 * H)] });
    const r = { health: 'wan_down' as const, healthFor: 2 * H };
    const first = recoveryRound(input({ ...r, state: spent }));
    expect(first.decision.kind).toBe('exhausted');
    expect(first.decision.message).toContain('power-cycle budget is spent (3 in 24 h)');
    const second = recoveryRound({ ...input(r), state: first.state, now: NOW + 15 * S });
    expect(summary(second.decision)).toBe('none (exhausted)');
    const later = recoveryRound({ ...input(r), state: first.state, now: NOW + 6 * H });
    expect(summary(later.decision)).toBe('none (exhausted)');
  });

  it('recovery off/skip said once per outage, again in the next one', () => {
    const r = { health: 'wan_down' as const, healthFor: H, config: { recovery_enabled: false } };
    const first = recoveryRound(input(r));
    expect(first.decision.kind).toBe('skip');
    expect(first.decision.message).toContain('Auto recovery is off');
    expect(recoveryRound({ ...input(r), state: first.state }).decision.kind).toBe('none');
    const back = onHealth(first.state, 'ready', NOW, NOW + MIN);
    expect(recoveryRound({ ...input(r), state: back }).decision.kind).toBe('skip');
  });

  it('dry-run explicit/would_cycle once, then boot grace as a real cycle would cause', () => {
    const r = {
      health: 'wan_down' as const,
      healthFor: 180 * S,
      config: { mode: 'dry-run' as const, mode_explicit: true },
    };
    const first = recoveryRound(input(r));
    expect(first.decision.kind).toBe('would_cycle');
    expect(first.state.power_cycles_total).toBe(0);
    expect(first.state.current).toBeNull();
    const next = recoveryRound({ ...input(r), state: first.state, now: NOW + 15 * S });
    expect(summary(next.decision)).toBe('none (boot_grace)');
  });
});

describe('onHealth (exhausted clears when the WAN is back; counters reset after 30 min of ready)', () => {
  const streaky = st({ cycles: [cycleAgo(2 * H), cycleAgo(H + 30 * MIN)], exhausted_at: NOW - H });
  it.each<[string, HealthState, number, { exhaustedCleared: boolean; countersReset: boolean }]>([
    [
      'ready 15 s/exhausted cleared, counters kept',
      'ready',
      15 * S,
      { exhaustedCleared: true, countersReset: false },
    ],
    [
      'ready 29 min/exhausted cleared, counters kept',
      'ready',
      29 * MIN,
      { exhaustedCleared: true, countersReset: false },
    ],
    [
      'ready 30 min/exhausted cleared, counters reset',
      'ready',
      30 * MIN,
      { exhaustedCleared: true, countersReset: true },
    ],
    [
      'degraded 15 s/exhausted cleared, counters kept',
      'degraded',
      15 * S,
      { exhaustedCleared: true, countersReset: false },
    ],
    [
      'degraded 3 h/exhausted cleared, counters kept',
      'degraded',
      3 * H,
      { exhaustedCleared: true, countersReset: false },
    ],
    ['wan_down 30 min/both kept', 'wan_down', 30 * MIN, { exhaustedCleared: false, countersReset: false }],
    [
      'router_down 30 min/both kept',
      'router_down',
      30 * MIN,
      { exhaustedCleared: false, countersReset: false },
    ],
    ['self_down 30 min/both kept', 'self_down', 30 * MIN, { exhaustedCleared: false, countersReset: false }],
    [
      'intercepted 30 min/both kept',
      'intercepted',
      30 * MIN,
      { exhaustedCleared: false, countersReset: false },
    ],
    [
      'recovering 30 min/both kept',
      'recovering',
      30 * MIN,
      { exhaustedCleared: false, countersReset: false },
    ],
    ['probing 30 min/both kept', 'probing', 30 * MIN, { exhaustedCleared: false, countersReset: false }],
  ])('%s', (_name, health, lasted, want) => {
    const next = onHealth(streaky, health, NOW - lasted, NOW);
    expect(next.exhausted_at === null).toBe(want.exhaustedCleared);
    expect(currentWaitMs(next, cfg(), NOW)).toBe(want.countersReset ? 180 * S : 720 * S);
    expect(next.cycles).toEqual(streaky.cycles); // the budget is a sliding window, not reset
  });

  it('budget spent, WAN back degraded for 3 h/the next outage is judged afresh: a cycle once the budget frees', () => {
    // Budget 1 in 1 h: one cycle, exhausted, then the WAN comes back with one target blocked.
    const c = { max_power_cycles: 1, power_cycle_window_hours: 1 };
    const spent = recoveryRound(
      input({ health: 'wan_down', healthFor: H, config: c, state: st({ cycles: [cycleAgo(20 * MIN)] }) }),
    );
    expect(spent.decision.kind).toBe('exhausted');
    const back = recoveryRound({
      ...input({ health: 'degraded', healthFor: 0, config: c }),
      state: spent.state,
      now: NOW + MIN,
    });
    expect(back.state.exhausted_at).toBeNull();
    const later = NOW + 3 * H;
    const down = { ...input({ health: 'wan_down', healthFor: 0, config: c }), state: back.state, now: later };
    expect(recoveryStatus({ ...down, healthSince: later }).state).toBe('waiting');
    const due = recoveryRound({ ...down, healthSince: later - 180 * S });
    expect(due.decision.kind).toBe('cycle');
  });

  it('ready 30 min/nothing to reset/same object (no save needed)', () => {
    const quiet = st();
    expect(onHealth(quiet, 'ready', NOW - H, NOW)).toBe(quiet);
  });
});

describe('manualReboot', () => {
  const ok = (offSeconds = 30) => ({ kind: 'accepted', offSeconds, dryRun: false, plug: 'tasmota' });
  it.each<[string, RecoveryState, Partial<RecoveryConfig>, number | undefined, object]>([
    [
      'manual reboot/within 5 min/refused',
      st({ cycles: [cycleAgo(4 * MIN)] }),
      {},
      undefined,
      { code: 'too_soon' },
    ],
    [
      'manual reboot/5 min after the last ended/accepted',
      st({ cycles: [cycleAgo(5 * MIN + 30 * S)] }),
      {},
      undefined,
      ok(),
    ],
    ['manual reboot/no plug/refused', st(), { plug_type: 'none' }, undefined, { code: 'no_plug' }],
    [
      'manual reboot/budget spent/refused',
      st({ cycles: [cycleAgo(5 * H), cycleAgo(4 * H), cycleAgo(3 * H)] }),
      {},
      undefined,
      { code: 'budget_spent' },
    ],
    [
      'manual reboot/cycle running/refused',
      startCycle(freshRecovery(), NOW - 20 * S, { plug: 'tasmota', offSeconds: 30 }),
      {},
      undefined,
      { code: 'cycling' },
    ],
    ['manual reboot/off_seconds 4/refused', st(), {}, 4, { code: 'bad_off_seconds' }],
    ['manual reboot/off_seconds 3601/refused', st(), {}, 3601, { code: 'bad_off_seconds' }],
    ['manual reboot/off_seconds 2.5/refused', st(), {}, 2.5, { code: 'bad_off_seconds' }],
    ['manual reboot/off_seconds 5/accepted', st(), {}, 5, ok(5)],
    ['manual reboot/off_seconds 3600/accepted', st(), {}, 3600, ok(3600)],
    ['manual reboot/no off_seconds/power_off_seconds', st(), { power_off_seconds: 45 }, undefined, ok(45)],
    [
      'manual reboot/auto recovery off/accepted',
      st({ enabled: false }),
      { recovery_enabled: false },
      undefined,
      ok(),
    ],
    [
      'manual reboot/in boot grace past 5 min/accepted (skips the waiting)',
      st({ cycles: [cycleAgo(8 * MIN)] }),
      {},
      undefined,
      ok(),
    ],
    [
      'manual reboot/dry-run explicit/accepted, switches nothing',
      st(),
      { mode: 'dry-run', mode_explicit: true },
      undefined,
      { kind: 'accepted', dryRun: true },
    ],
  ])('%s', (_name, state, config, offSeconds, expected) => {
    const r = manualReboot(state, { config: cfg(config), now: NOW, offSeconds });
    expect(r).toMatchObject(expected);
    if (r.kind === 'refused') expect(r.reason).toMatch(/^reboot refused: .+ — /);
  });

  it('manual reboot/within 5 min/says when to try again', () => {
    const r = manualReboot(st({ cycles: [cycleAgo(2 * MIN)] }), { config: cfg(), now: NOW });
    // The last cycle ended 90 s ago (30 s off): 210 s to go.
    expect(r).toEqual({
      kind: 'refused',
      code: 'too_soon',
      reason:
        'reboot refused: the last power cycle ended 90 s ago, and the router gets at least 5 min to boot — try again in 3 min 30 s',
    });
  });
});

describe('setAutoRecovery (the recovery command)', () => {
  it.each<[string, Partial<RecoveryConfig>, boolean, string, boolean | null]>([
    ['recovery ON/plug/accepted and persisted', { recovery_enabled: false }, true, 'accepted', true],
    ['recovery OFF/plug/accepted and persisted', {}, false, 'accepted', false],
    ['recovery ON/no plug/refused, nothing persisted', { plug_type: 'none' }, true, 'refused', null],
    ['recovery OFF/no plug/accepted', { plug_type: 'none' }, false, 'accepted', false],
  ])('%s', (_name, config, enabled, kind, persisted) => {
    const r = setAutoRecovery(freshRecovery(), cfg(config), enabled);
    expect(r.kind).toBe(kind);
    if (r.kind === 'accepted') expect(r.state.enabled).toBe(persisted);
  });

  it('recovery OFF/cycle running/the cycle still ends with the plug on', () => {
    const running = startCycle(freshRecovery(), NOW, { plug: 'tasmota', offSeconds: 30 });
    const r = setAutoRecovery(running, cfg(), false);
    expect(r.kind === 'accepted' && r.state.current).toEqual(running.current);
    expect(r.kind === 'accepted' && r.message).toContain('will still finish with the plug on');
  });
});

describe('cycle lifecycle and restart', () => {
  it('startCycle/persisted phase off with when and which plug, counted at once', () => {
    const s = startCycle(freshRecovery(), NOW, { plug: 'shelly', offSeconds: 30, reason: 'wan_down 3 min' });
    expect(s.current).toEqual({
      phase: 'off',
      started_at: NOW,
      plug: 'shelly',
      off_seconds: 30,
      manual: false,
      reason: 'wan_down 3 min',
    });
    expect(s.power_cycles_total).toBe(1);
    expect(recoveryStateSchema.parse(JSON.parse(JSON.stringify(s)))).toEqual(s);
  });

  it('finishCycle/boot grace counts from the end', () => {
    const s = finishCycle(
      startCycle(freshRecovery(), NOW, { plug: 'shelly', offSeconds: 30 }),
      NOW + 40 * S,
      true,
    );
    expect(s.current).toBeNull();
    expect(s.cycles).toEqual([
      { at: NOW, finished_at: NOW + 40 * S, ok: true, manual: false, simulated: false },
    ]);
    const d = decideRecovery({
      ...input({ health: 'wan_down', healthFor: H }),
      state: s,
      now: NOW + 10 * MIN + 39 * S,
    });
    expect(summary(d)).toBe('none (boot_grace)');
  });

  it.each<[string, RecoveryState, number, string, number | null]>([
    [
      'restart/cycle in phase off/ensure on',
      startCycle(freshRecovery(), NOW - 10 * MIN, { plug: 'tasmota', offSeconds: 30 }),
      NOW,
      'ensure_on',
      NOW,
    ],
    [
      'restart/cycle in phase off, off time not over/ensure on at its planned end',
      startCycle(freshRecovery(), NOW - 10 * S, { plug: 'tasmota', offSeconds: 30 }),
      NOW,
      'ensure_on',
      NOW + 20 * S,
    ],
    [
      'restart/cycle in phase on/ensure on',
      cycleOnSent(startCycle(freshRecovery(), NOW - MIN, { plug: 'esphome', offSeconds: 30 })),
      NOW,
      'ensure_on',
      NOW,
    ],
    [
      'restart/saved off_seconds 1e9 (damage)/ensure on within 3600 s of its start, not in 31 years',
      startCycle(freshRecovery(), NOW - MIN, { plug: 'tasmota', offSeconds: 1_000_000_000 }),
      NOW,
      'ensure_on',
      NOW - MIN + 3600 * S,
    ],
    [
      'restart/saved off_seconds 1e9, started 2 h ago/ensure on now',
      startCycle(freshRecovery(), NOW - 2 * H, { plug: 'tasmota', offSeconds: 1_000_000_000 }),
      NOW,
      'ensure_on',
      NOW,
    ],
    [
      'restart/saved off_seconds 3600/ensure on at its planned end',
      startCycle(freshRecovery(), NOW - MIN, { plug: 'tasmota', offSeconds: 3600 }),
      NOW,
      'ensure_on',
      NOW - MIN + 3600 * S,
    ],
    ['restart/no cycle/none', freshRecovery(), NOW, 'none', null],
    [
      'restart/cycle finished/none',
      finishCycle(
        startCycle(freshRecovery(), NOW - MIN, { plug: 'tasmota', offSeconds: 30 }),
        NOW - 20 * S,
        true,
      ),
      NOW,
      'none',
      null,
    ],
  ])('%s', (_name, state, now, kind, at) => {
    const persisted = parseRecovery(JSON.parse(JSON.stringify(state))).state; // as read back from the file
    const action = resumeAfterRestart(persisted, now);
    expect(action.kind).toBe(kind);
    if (action.kind === 'ensure_on') {
      expect(action.at).toBe(at);
      expect(action.message).toContain('switching the plug on');
    }
  });
});

describe('restart with a saved off time longer than allowed', () => {
  it('off_seconds 1e9/capped at 3600 s, the cycle kept, and the message says so', () => {
    const saved = startCycle(freshRecovery(), NOW - MIN, { plug: 'tasmota', offSeconds: 1_000_000_000 });
    const { state, problems } = parseRecovery(JSON.parse(JSON.stringify(saved)));
    expect(problems).toEqual([]);
    expect(state.current).toEqual(saved.current); // the cycle is not dropped
    const action = resumeAfterRestart(state, NOW);
    expect(action).toMatchObject({ kind: 'ensure_on', at: NOW + 3540 * S });
    if (action.kind === 'ensure_on') {
      expect(action.message).toContain(
        'switching the plug on in 3540 s, at the end of its planned off time (its saved off time, 1000000000 s, is longer than the longest allowed, 3600 s: capped)',
      );
    }
  });
});

describe('a saved cycle in progress with unreadable fields (another version, damage): kept, so the plug is switched on', () => {
  const good = {
    phase: 'off',
    started_at: NOW - MIN,
    plug: 'http',
    off_seconds: 30,
    manual: false,
    reason: 'WAN down',
  };
  const record = { at: NOW - MIN, finished_at: null, ok: null, manual: false, simulated: false };
  type Want = { current: object; unreadable: string; onAt: number };
  it.each<[string, Record<string, unknown>, unknown[], Want]>([
    [
      'reason not a string/kept with reason empty/on now (30 s off over)',
      { ...good, reason: { text: 'x' } },
      [record],
      { current: { ...good, reason: '' }, unreadable: 'reason', onAt: NOW },
    ],
    [
      'manual not a boolean/kept as automatic',
      { ...good, manual: 'yes' },
      [record],
      { current: { ...good, manual: false }, unreadable: 'manual', onAt: NOW },
    ],
    [
      'phase unknown/phase off',
      { ...good, phase: 'half-way' },
      [record],
      { current: good, unreadable: 'phase', onAt: NOW },
    ],
    [
      'off_seconds 0/the default 30 s',
      { ...good, started_at: NOW - 10 * S, off_seconds: 0 },
      [{ ...record, at: NOW - 10 * S }],
      { current: { ...good, started_at: NOW - 10 * S }, unreadable: 'off_seconds', onAt: NOW + 20 * S },
    ],
    [
      'off_seconds a string/the default 30 s',
      { ...good, started_at: NOW - 10 * S, off_seconds: '30' },
      [{ ...record, at: NOW - 10 * S }],
      { current: { ...good, started_at: NOW - 10 * S }, unreadable: 'off_seconds', onAt: NOW + 20 * S },
    ],
    [
      'plug missing/labelled unknown',
      { ...good, plug: undefined },
      [record],
      { current: { ...good, plug: 'unknown' }, unreadable: 'plug', onAt: NOW },
    ],
    [
      'started_at unreadable/the start of its unfinished record',
      { ...good, started_at: 'a minute ago' },
      [
        { ...record, at: NOW - 2 * H, finished_at: NOW - 2 * H + 30 * S },
        { ...record, at: NOW - 10 * S },
      ],
      { current: { ...good, started_at: NOW - 10 * S }, unreadable: 'started_at', onAt: NOW + 20 * S },
    ],
    [
      'started_at unreadable, no unfinished record/long past: on now',
      { ...good, started_at: null },
      [],
      { current: { ...good, started_at: 0 }, unreadable: 'started_at', onAt: NOW },
    ],
    [
      'not an object/rebuilt from the defaults: on now',
      'off' as never,
      [],
      {
        current: { phase: 'off', started_at: 0, plug: 'unknown', off_seconds: 30, manual: false, reason: '' },
        unreadable: 'phase, started_at, plug, off_seconds',
        onAt: NOW,
      },
    ],
  ])('%s', (_name, current, cycles, want) => {
    const { state, problems } = parseRecovery({ current, cycles, power_cycles_total: 1 });
    expect(state.current).toEqual(want.current);
    expect(problems).toEqual([
      `recovery.current: the power cycle in progress has unreadable field(s) (${want.unreadable}) — kept with safe defaults, so the plug is switched on at start`,
    ]);
    expect(resumeAfterRestart(state, NOW)).toMatchObject({ kind: 'ensure_on', at: want.onAt });
  });

  it.each<[string, unknown]>([
    ['null/no cycle in progress, nothing said', null],
    ['missing/no cycle in progress, nothing said', undefined],
  ])('%s', (_name, current) => {
    const { state, problems } = parseRecovery({ current, power_cycles_total: 'x' });
    expect(state.current).toBeNull();
    expect(problems).toEqual(['recovery.power_cycles_total: unreadable value — using the default']);
  });

  it('reason unreadable/the cycle still ends against its record (budget and grace right)', () => {
    const { state } = parseRecovery({
      current: { ...good, reason: 7 },
      cycles: [record],
      power_cycles_total: 1,
    });
    const done = finishCycle(state, NOW + 5 * S, null);
    expect(done.current).toBeNull();
    expect(done.cycles).toEqual([{ ...record, finished_at: NOW + 5 * S }]);
  });
});

describe('recoveryStatus (the §6 recovery object)', () => {
  const spent = [cycleAgo(5 * H), cycleAgo(4 * H), cycleAgo(3 * H)];
  it.each<[string, Round, object]>([
    [
      'no plug/disabled, no budget',
      { health: 'ready', healthFor: H, config: { plug_type: 'none' } },
      { enabled: true, state: 'disabled', budget_remaining: null },
    ],
    [
      'switch off/disabled',
      { health: 'wan_down', healthFor: H, state: st({ enabled: false }) },
      { enabled: false, state: 'disabled', budget_remaining: 3 },
    ],
    ['ready/idle', { health: 'ready', healthFor: H }, { enabled: true, state: 'idle', budget_remaining: 3 }],
    ['wan_down 1 min/waiting', { health: 'wan_down', healthFor: MIN }, { state: 'waiting' }],
    ['start/grace', { health: 'wan_down', healthFor: MIN, startedAgo: MIN }, { state: 'grace' }],
    [
      'after a cycle/grace',
      {
        health: 'recovering',
        healthFor: 5 * MIN,
        state: st({ cycles: [cycleAgo(5 * MIN)], power_cycles_total: 7 }),
      },
      {
        state: 'grace',
        power_cycles_total: 7,
        last_power_cycle: '2026-03-01T11:55:00.000+00:00',
        budget_remaining: 2,
      },
    ],
    [
      'cycle running/cycling',
      {
        health: 'recovering',
        healthFor: 10 * S,
        state: startCycle(freshRecovery(), NOW - 10 * S, { plug: 'tasmota', offSeconds: 30 }),
      },
      { state: 'cycling', power_cycles_total: 1, budget_remaining: 2 },
    ],
    [
      'budget spent, WAN down/exhausted',
      { health: 'wan_down', healthFor: 2 * H, state: st({ cycles: spent, exhausted_at: NOW - H }) },
      { state: 'exhausted', budget_remaining: 0 },
    ],
    [
      'budget spent, WAN back 10 min/exhausted until the reset',
      { health: 'ready', healthFor: 10 * MIN, state: st({ cycles: spent, exhausted_at: NOW - H }) },
      { state: 'exhausted' },
    ],
  ])('%s', (_name, round, expected) => {
    expect(recoveryStatus(input(round))).toMatchObject(expected);
  });
});

describe('resumeRecovery (times saved in the future: the clock was set back since)', () => {
  const D = 24 * H;
  const LATER = NOW + 300 * D; // saved while the clock ran ~10 months ahead
  const future = (i: number): CycleRecord => ({
    at: LATER + i * MIN,
    finished_at: LATER + i * MIN + 40 * S,
    ok: true,
    manual: false,
    simulated: false,
  });
  const three = { ...freshRecovery(), cycles: [0, 1, 2].map(future), power_cycles_total: 3 };

  it.each<[string, RecoveryState, Partial<RecoveryState>, boolean]>([
    [
      'nothing in the future/unchanged',
      { ...freshRecovery(), cycles: [cycleAgo(H)] },
      { cycles: [cycleAgo(H)] },
      false,
    ],
    ['fresh/unchanged', freshRecovery(), {}, false],
    [
      'cycles/at and finished_at in the future/clamped to now',
      three,
      {
        cycles: [0, 1, 2].map(() => ({
          at: NOW,
          finished_at: NOW,
          ok: true,
          manual: false,
          simulated: false,
        })),
        power_cycles_total: 3,
      },
      true,
    ],
    [
      'cycle/only finished_at in the future/clamped to now',
      { ...freshRecovery(), cycles: [cycleAgo(H, { finished_at: LATER })] },
      { cycles: [cycleAgo(H, { finished_at: NOW })] },
      true,
    ],
    [
      'counters_reset_at/future/clamped',
      { ...freshRecovery(), counters_reset_at: LATER },
      { counters_reset_at: NOW },
      true,
    ],
    ['exhausted_at/future/clamped', { ...freshRecovery(), exhausted_at: LATER }, { exhausted_at: NOW }, true],
    [
      'skip_noted_at/future/clamped',
      { ...freshRecovery(), skip_noted_at: LATER },
      { skip_noted_at: NOW },
      true,
    ],
    [
      'past times/kept as they are',
      { ...freshRecovery(), counters_reset_at: NOW - H, exhausted_at: NOW - MIN, skip_noted_at: NOW },
      { counters_reset_at: NOW - H, exhausted_at: NOW - MIN, skip_noted_at: NOW },
      false,
    ],
    [
      'cycle in progress started in the future/clamped together with its record',
      startCycle(freshRecovery(), LATER, { plug: 'tasmota', offSeconds: 30 }),
      {
        cycles: [{ at: NOW, finished_at: null, ok: null, manual: false, simulated: false }],
        current: {
          phase: 'off',
          started_at: NOW,
          plug: 'tasmota',
          off_seconds: 30,
          manual: false,
          reason: '',
        },
      },
      true,
    ],
  ])('%s', (_name, saved, expected, clamped) => {
    const persisted = parseRecovery(JSON.parse(JSON.stringify(saved))).state; // as read back from the file
    const resumed = resumeRecovery(persisted, NOW);
    expect(resumed.clamped).toBe(clamped);
    expect(resumed.state).toEqual({ ...persisted, ...expected });
  });

  it.each<[string, RecoveryState, number]>([
    ['aheadMs/nothing ahead/0', { ...freshRecovery(), cycles: [cycleAgo(H)] }, 0],
    ['aheadMs/three cycles 300 days ahead/the newest end', three, LATER + 2 * MIN + 40 * S - NOW],
    ['aheadMs/exhausted_at 20 s ahead/20 s', { ...freshRecovery(), exhausted_at: NOW + 20 * S }, 20 * S],
  ])('%s', (_name, saved, ahead) => {
    expect(resumeRecovery(saved, NOW).aheadMs).toBe(ahead);
  });

  it('clock back a day while running, after a cycle/clamped once at a round: boot grace and the 5-min guard run from there', () => {
    // The cycle ended at NOW + 1 day by the clock of then; the clock now says NOW.
    const ended = st({ cycles: [cycleAgo(-D)] });
    const { state, clamped } = resumeRecovery(ended, NOW);
    expect(clamped).toBe(true);
    expect(resumeRecovery(state, NOW + 15 * S).clamped).toBe(false); // said once, not every round
    const at = (t: number) => ({ ...input({ health: 'wan_down', healthFor: H }), state, now: t });
    expect(summary(decideRecovery(at(NOW + 9 * MIN)))).toBe('none (boot_grace)');
    // Grace over at NOW + 10 min; then the doubled wait (6 min, one cycle in the window).
    expect(summary(decideRecovery({ ...at(NOW + 16 * MIN), healthSince: NOW + 10 * MIN }))).toBe('cycle');
    expect(manualReboot(state, { config: cfg(), now: NOW + 4 * MIN }).kind).toBe('refused');
    expect(manualReboot(state, { config: cfg(), now: NOW + H }).kind).toBe('accepted');
  });

  it('three cycles saved in the future/budget frees one window after now, not months later', () => {
    const persisted = parseRecovery(JSON.parse(JSON.stringify(three))).state;
    const before = recoveryStatus({
      ...input({ health: 'ready', healthFor: H }),
      state: persisted,
      now: NOW + 2 * D,
    });
    expect(before.budget_remaining).toBe(0); // the bug: months of no automatic cycle
    const { state } = resumeRecovery(persisted, NOW);
    expect(
      recoveryStatus({ ...input({ health: 'ready', healthFor: H }), state, now: NOW + D - S })
        .budget_remaining,
    ).toBe(0);
    expect(
      recoveryStatus({ ...input({ health: 'ready', healthFor: H }), state, now: NOW + D + S })
        .budget_remaining,
    ).toBe(3);
    const due = decideRecovery({ ...input({ health: 'wan_down', healthFor: H }), state, now: NOW + D + S });
    expect(due.kind).toBe('cycle');
  });

  it('a cycle in progress started in the future/still switched on at once after the resume', () => {
    const saved = startCycle(freshRecovery(), LATER, { plug: 'tasmota', offSeconds: 30 });
    // The service reads the unfinished cycle first (a future start: how long the plug has been off
    // is unknown, so on at once), then clamps; the finished cycle still matches its record.
    const action = resumeAfterRestart(saved, NOW);
    expect(action).toMatchObject({ kind: 'ensure_on', at: NOW });
    const { state } = resumeRecovery(saved, NOW);
    const done = finishCycle(state, NOW + 5 * S, true);
    expect(done.current).toBeNull();
    expect(done.cycles).toEqual([
      { at: NOW, finished_at: NOW + 5 * S, ok: true, manual: false, simulated: false },
    ]);
  });
});

describe('persisted recovery state', () => {
  it('state file of today (no recovery section)/fresh recovery, Auto recovery follows config', () => {
    const today = persistedStateSchema.parse(JSON.parse(JSON.stringify(freshState())));
    const { state, problems } = parseRecovery(today.recovery);
    expect(problems).toEqual([]);
    expect(state).toEqual(freshRecovery());
    expect(state.enabled).toBeNull();
  });

  it('state file/recovery section fits in the state schema and reads back equal', () => {
    const rec = finishCycle(
      startCycle(setAuto(freshRecovery()), NOW, { plug: 'tasmota', offSeconds: 30 }),
      NOW + 31 * S,
      true,
    );
    const file = persistedStateSchema.parse(JSON.parse(JSON.stringify({ ...freshState(), recovery: rec })));
    expect(parseRecovery(file.recovery)).toEqual({ state: rec, problems: [] });
  });

  it('damaged field/the others, above all a cycle in progress, survive', () => {
    const running = startCycle(freshRecovery(), NOW, { plug: 'tasmota', offSeconds: 30 });
    const raw = JSON.parse(JSON.stringify(running));
    raw.power_cycles_total = 'many';
    raw.cycles.push({ at: 'yesterday' });
    const { state, problems } = parseRecovery(raw);
    expect(state.current).toEqual(running.current);
    expect(state.cycles).toEqual(running.cycles);
    expect(state.power_cycles_total).toBe(0);
    expect(problems).toEqual([
      'recovery.cycles: 1 unreadable record(s) dropped',
      'recovery.power_cycles_total: unreadable value — using the default',
    ]);
  });

  it('not an object/fresh, with a problem', () => {
    expect(parseRecovery('on')).toEqual({
      state: freshRecovery(),
      problems: ['recovery: is not an object — started with a fresh recovery history'],
    });
  });
});

function setAuto(s: RecoveryState): RecoveryState {
  const r = setAutoRecovery(s, cfg(), true);
  if (r.kind !== 'accepted') throw new Error('expected accepted');
  return r.state;
}

/**
 * A fake world stepped every probe interval. `wan(t)` says whether the internet path works at t
 * (the router is alive throughout unless `routerDown`); the plug's effect is faked: off for
 * `off_seconds`, then the health machine reports `recovering` for the boot grace, then the world's
 * health again with a fresh `since`.
 */
function simulate(opts: {
  config?: Partial<RecoveryConfig>;
  hours: number;
  wan: (t: number, cycles: number) => HealthState;
  startedAt?: number;
}) {
  const config = cfg(opts.config);
  const step = 15 * S;
  const start = NOW;
  let state = freshRecovery();
  let health: HealthState = 'probing';
  let since = start;
  let recoveringUntil = 0;
  const plugCommands: number[] = [];
  const events: Array<{ at: number; kind: string; message: string }> = [];
  for (let t = start; t < start + opts.hours * H; t += step) {
    if (state.current && t >= state.current.started_at + state.current.off_seconds * S) {
      state = finishCycle(state, t, true);
      recoveringUntil = t + config.boot_grace_seconds * S;
    }
    const h: HealthState =
      state.current || t < recoveringUntil ? 'recovering' : opts.wan(t - start, plugCommands.length);
    if (h !== health) {
      health = h;
      since = t;
    }
    const round = recoveryRound({
      state,
      config,
      health,
      healthSince: since,
      startedAt: opts.startedAt ?? start,
      now: t,
    });
    state = round.state;
    const d = round.decision;
    if (d.kind !== 'none') events.push({ at: t - start, kind: d.kind, message: d.message });
    if (d.kind === 'cycle') {
      state = startCycle(state, t, { plug: d.plug, offSeconds: d.offSeconds, reason: d.message });
      plugCommands.push(t - start);
    }
  }
  const status = recoveryStatus({
    state,
    config,
    health,
    healthSince: since,
    startedAt: start,
    now: start + opts.hours * H,
  });
  return { state, plugCommands, events, status };
}

describe('simulated outages (policy stepped every 15 s with a fake plug)', () => {
  it('12-hour ISP outage, router alive/3 cycles at 3, 19.5 and 42 min, then exhausted once', () => {
    const run = simulate({ hours: 12, wan: (t) => (t < 12 * H ? 'wan_down' : 'ready') });
    expect(run.plugCommands).toEqual([3 * MIN, 19 * MIN + 30 * S, 42 * MIN]);
    expect(run.events.map((e) => `${e.at / S} s ${e.kind}`)).toEqual([
      '180 s cycle',
      '1170 s cycle',
      '2520 s cycle',
      '4590 s exhausted',
    ]);
    expect(run.status).toMatchObject({ state: 'exhausted', power_cycles_total: 3, budget_remaining: 0 });
  });

  it('12-hour ISP outage, then WAN back 30 min/counters reset; next outage is reported exhausted once more', () => {
    const run = simulate({
      hours: 14,
      wan: (t) => (t < 12 * H ? 'wan_down' : t < 13 * H ? 'ready' : 'wan_down'),
    });
    expect(run.plugCommands).toHaveLength(3);
    expect(run.events.filter((e) => e.kind === 'exhausted').map((e) => e.at)).toEqual([
      4590 * S,
      13 * H + 3 * MIN, // the wait is back to 180 s, the 24 h budget is still spent
    ]);
  });

  it('ISP outage longer than the window/still alerts only until the WAN is back', () => {
    const run = simulate({ hours: 30, wan: () => 'wan_down' });
    expect(run.plugCommands).toHaveLength(3);
    expect(run.events.filter((e) => e.kind === 'exhausted')).toHaveLength(1);
  });

  it('hung router/exactly one cycle, then ready', () => {
    const run = simulate({ hours: 12, wan: (_t, cycles) => (cycles === 0 ? 'wan_down' : 'ready') });
    expect(run.plugCommands).toEqual([3 * MIN]);
    expect(run.status).toMatchObject({ state: 'idle', power_cycles_total: 1, budget_remaining: 2 });
    expect(run.state.counters_reset_at).not.toBeNull();
  });

  it('blips shorter than wan_down_after_seconds/no cycle', () => {
    // 150 s down in every 20 min.
    const run = simulate({
      hours: 12,
      wan: (t) => (t % (20 * MIN) < 150 * S ? 'wan_down' : 'ready'),
      startedAt: NOW - H,
    });
    expect(run.events).toEqual([]);
  });

  it.each<[string, HealthState]>([
    ['self_down 12 h/no cycle, no event', 'self_down'],
    ['intercepted 12 h/no cycle, no event', 'intercepted'],
    ['degraded 12 h/no cycle, no event', 'degraded'],
  ])('%s', (_name, health) => {
    const run = simulate({ hours: 12, wan: () => health });
    expect(run.plugCommands).toEqual([]);
    expect(run.events).toEqual([]);
  });

  it('dry-run explicit, 12-hour outage/no plug command; says what would happen at the same times', () => {
    const run = simulate({
      hours: 12,
      config: { mode: 'dry-run', mode_explicit: true },
      wan: () => 'wan_down',
    });
    expect(run.plugCommands).toEqual([]);
    expect(run.events.map((e) => `${e.at / S} s ${e.kind}`)).toEqual([
      '180 s would_cycle',
      '1170 s would_cycle',
      '2520 s would_cycle',
      '4590 s exhausted',
    ]);
    expect(run.state.power_cycles_total).toBe(0);
  });

  it('no Cloudflare token (default dry-run)/the watchdog still cycles', () => {
    const run = simulate({
      hours: 1,
      config: { mode: 'dry-run', mode_explicit: false },
      wan: () => 'wan_down',
    });
    expect(run.plugCommands[0]).toBe(3 * MIN);
  });
});
