import { describe, expect, it } from 'vitest';
import {
  enterRecovering,
  type Health,
  type HealthEvent,
  type HealthMachine,
  type HealthTransition,
  initialHealth,
  maxRoundGapMs,
  probeSummary,
  readySince,
  stepHealth,
} from '../../src/domain/health.js';
import type { ProbeFailure, ProbeResult, ProbeRound } from '../../src/domain/probe-result.js';
import { MAX_WINDOW_ROUNDS } from '../../src/domain/probe-window.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const ROUND_MS = 15_000;
const ROUTER = '192.168.1.1';
const WAN = ['1.1.1.1:443', '8.8.8.8:443', '9.9.9.9:443'];

function good(target: string, latencyMs = 30, kind: ProbeResult['kind'] = 'tls'): ProbeResult {
  return { target, kind, ok: true, latencyMs, failure: null, code: null };
}

function bad(
  target: string,
  failure: ProbeFailure,
  code: string | null = null,
  kind: ProbeResult['kind'] = 'tls',
): ProbeResult {
  const latencyMs = failure === 'timeout' ? null : failure === 'unreachable' ? 1 : 40;
  return { target, kind, ok: false, latencyMs, failure, code };
}

const routerUp = [good(ROUTER, 0.4, 'icmp')];
const routerSilent = [bad(ROUTER, 'timeout', 'EXIT_1', 'icmp')];

/** What a round looks like, by name; every scenario is a list of these. */
const ROUNDS = {
  good: () => ({ router: routerUp, wan: WAN.map((t) => good(t)) }),
  slow: () => ({ router: routerUp, wan: WAN.map((t) => good(t, 600)) }),
  slowish: () => ({ router: routerUp, wan: WAN.map((t) => good(t, 450)) }),
  oneFails: () => ({ router: routerUp, wan: [good(WAN[0]!), bad(WAN[1]!, 'timeout'), good(WAN[2]!)] }),
  oneCert: () => ({
    router: routerUp,
    wan: [bad(WAN[0]!, 'tls_error', 'CERT_HAS_EXPIRED'), good(WAN[1]!), good(WAN[2]!)],
  }),
  wanFail: () => ({ router: routerUp, wan: WAN.map((t) => bad(t, 'timeout')) }),
  wanUnreachable: () => ({ router: routerUp, wan: WAN.map((t) => bad(t, 'unreachable', 'ENETUNREACH')) }),
  allFail: () => ({ router: routerSilent, wan: WAN.map((t) => bad(t, 'timeout')) }),
  routerRefuses: () => ({
    router: [bad(ROUTER, 'refused', 'ECONNREFUSED', 'tcp')],
    wan: WAN.map((t) => bad(t, 'timeout')),
  }),
  routerSilentWanGood: () => ({ router: routerSilent, wan: WAN.map((t) => good(t)) }),
  noRoute: () => ({
    router: [bad(ROUTER, 'unreachable', 'ENETUNREACH', 'icmp')],
    wan: WAN.map((t) => bad(t, 'unreachable', 'ENETUNREACH')),
  }),
  cert: () => ({
    router: routerUp,
    wan: WAN.map((t) => bad(t, 'tls_error', 'ERR_TLS_CERT_ALTNAME_INVALID')),
  }),
  noRouterGood: () => ({ router: null, wan: WAN.map((t) => good(t)) }),
  noRouterWanFail: () => ({ router: null, wan: WAN.map((t) => bad(t, 'timeout')) }),
} satisfies Record<string, () => Omit<ProbeRound, 'at'>>;
type RoundName = keyof typeof ROUNDS;

interface Run {
  health: HealthMachine;
  transitions: HealthTransition[];
  events: HealthEvent[];
  at: number;
}

/** Feeds rounds ROUND_MS apart, after `from`'s last round. */
function feed(from: Run, names: readonly RoundName[], recovering = false): Run {
  let { health, at } = from;
  const transitions = [...from.transitions];
  const events = [...from.events];
  for (const name of names) {
    at += ROUND_MS;
    const step = stepHealth(health, { at, ...ROUNDS[name]() }, { recovering });
    expect(step.transitions.length).toBeLessThanOrEqual(1);
    health = step.health;
    transitions.push(...step.transitions);
    events.push(...step.events);
  }
  return { health, transitions, events, at };
}

function start(): Run {
  return { health: initialHealth(T0), transitions: [], events: [], at: T0 - ROUND_MS };
}

/** A machine in `state`, reached the way the agent would reach it; transitions so far dropped. */
function inState(state: Health): Run {
  const setups: Record<Health, RoundName[]> = {
    probing: [],
    ready: ['good', 'good'],
    degraded: ['good', 'good', 'slow', 'slow', 'slow', 'slow', 'slow'],
    wan_down: ['good', 'good', 'wanFail', 'wanFail'],
    router_down: ['good', 'good', 'allFail', 'allFail'],
    self_down: ['good', 'good', 'noRoute', 'noRoute'],
    intercepted: ['good', 'good', 'cert', 'cert'],
    recovering: ['good', 'good'],
  };
  let run = feed(start(), setups[state]);
  if (state === 'recovering') run = feed(run, ['wanFail'], true);
  expect(run.health.state).toBe(state);
  return { ...run, transitions: [], events: [] };
}

describe('health state machine', () => {
  it.each<[string, Health, RoundName[], Health]>([
    ['probing/two good rounds/ready', 'probing', ['good', 'good'], 'ready'],
    ['probing/one good round/stays probing', 'probing', ['good'], 'probing'],
    ['probing/two rounds all wan fail/wan_down', 'probing', ['wanFail', 'wanFail'], 'wan_down'],
    ['probing/one bad then one good round/degraded', 'probing', ['wanFail', 'good'], 'degraded'],
    ['ready/one bad round/stays ready', 'ready', ['wanFail'], 'ready'],
    ['ready/one round with every probe failing/stays ready', 'ready', ['allFail'], 'ready'],
    ['ready/two rounds all wan fail/wan_down', 'ready', ['wanFail', 'wanFail'], 'wan_down'],
    [
      'ready/two rounds all wan unreachable with the router answering/wan_down',
      'ready',
      ['wanUnreachable', 'wanUnreachable'],
      'wan_down',
    ],
    ['ready/two rounds router silent too/router_down', 'ready', ['allFail', 'allFail'], 'router_down'],
    ['ready/wan fail then router silent too/router_down', 'ready', ['wanFail', 'allFail'], 'router_down'],
    [
      'ready/router refuses and all wan fail/wan_down',
      'ready',
      ['routerRefuses', 'routerRefuses'],
      'wan_down',
    ],
    [
      'ready/router silent but wan answers/stays ready',
      'ready',
      ['routerSilentWanGood', 'routerSilentWanGood'],
      'ready',
    ],
    [
      'ready/no router probe and all wan fail/wan_down',
      'ready',
      ['noRouterWanFail', 'noRouterWanFail'],
      'wan_down',
    ],
    ['ready/cert errors/intercepted', 'ready', ['cert', 'cert'], 'intercepted'],
    ['ready/one cert error among answering targets/degraded', 'ready', ['oneCert', 'oneCert'], 'degraded'],
    ['ready/one of three targets fails twice/degraded', 'ready', ['oneFails', 'oneFails'], 'degraded'],
    ['ready/one of three targets fails once/stays ready', 'ready', ['oneFails', 'good'], 'ready'],
    [
      'ready/latency 600 ms over the minute/degraded',
      'ready',
      ['slow', 'slow', 'slow', 'slow', 'slow'],
      'degraded',
    ],
    ['ready/latency 600 ms for half a minute/stays ready', 'ready', ['slow', 'slow'], 'ready'],
    [
      'ready/latency 450 ms over the minute/stays ready',
      'ready',
      ['slowish', 'slowish', 'slowish', 'slowish'],
      'ready',
    ],
    ['ready/one 600 ms round in the minute/stays ready', 'ready', ['good', 'good', 'slow', 'good'], 'ready'],
    ['ready/one lost round then good rounds/degraded', 'ready', ['wanFail', 'good'], 'degraded'],
    [
      'ready/one lost round then a minute of good rounds/ready',
      'ready',
      ['wanFail', 'good', 'good', 'good', 'good', 'good', 'good'],
      'ready',
    ],
    [
      'ready/flapping lost and good rounds/degraded',
      'ready',
      ['wanFail', 'good', 'wanFail', 'good', 'wanFail', 'good'],
      'degraded',
    ],
    ['degraded/two good rounds/ready', 'degraded', ['good', 'good'], 'ready'],
    ['degraded/two rounds all wan fail/wan_down', 'degraded', ['wanFail', 'wanFail'], 'wan_down'],
    ['wan_down/one good round/stays wan_down', 'wan_down', ['good'], 'wan_down'],
    ['wan_down/good then bad round/stays wan_down', 'wan_down', ['good', 'wanFail', 'good'], 'wan_down'],
    ['wan_down/good round then router silent/stays wan_down', 'wan_down', ['good', 'allFail'], 'wan_down'],
    ['wan_down/two good rounds/ready', 'wan_down', ['good', 'good'], 'ready'],
    ['wan_down/two partly failing rounds/degraded', 'wan_down', ['oneFails', 'oneFails'], 'degraded'],
    ['wan_down/router silent once/stays wan_down', 'wan_down', ['allFail', 'wanFail'], 'wan_down'],
    ['wan_down/router silent twice/router_down', 'wan_down', ['allFail', 'allFail'], 'router_down'],
    ['router_down/one good round/stays router_down', 'router_down', ['good'], 'router_down'],
    ['router_down/two good rounds/ready', 'router_down', ['good', 'good'], 'ready'],
    ['router_down/router back but not the wan/wan_down', 'router_down', ['wanFail', 'wanFail'], 'wan_down'],
    ['self_down/one good round/stays self_down', 'self_down', ['good'], 'self_down'],
    ['self_down/two good rounds/ready', 'self_down', ['good', 'good'], 'ready'],
    ['intercepted/two good rounds/ready', 'intercepted', ['good', 'good'], 'ready'],
    ['intercepted/one good round/stays intercepted', 'intercepted', ['good'], 'intercepted'],
  ])('%s', (_name, from, rounds, expected) => {
    expect(feed(inState(from), rounds).health.state).toBe(expected);
  });

  it.each<[string, Health]>(
    (['probing', 'ready', 'degraded', 'wan_down', 'router_down', 'intercepted'] as const).map((from) => [
      `${from}/fast ENETUNREACH everywhere/self_down`,
      from,
    ]),
  )('any: %s', (_name, from) => {
    const once = feed(inState(from), ['noRoute']);
    expect(once.health.state).toBe(from);
    expect(feed(once, ['noRoute']).health.state).toBe('self_down');
  });

  it.each<[string, Health, RoundName[], RoundName[], boolean, Health]>([
    ['ready/recovering flag/recovering at once', 'ready', [], ['good'], true, 'recovering'],
    ['wan_down/recovering flag/recovering at once', 'wan_down', [], ['wanFail'], true, 'recovering'],
    [
      'recovering/good rounds while the flag is on/stays recovering',
      'recovering',
      [],
      ['good', 'good', 'good'],
      true,
      'recovering',
    ],
    [
      'recovering/flag off on a second good round/ready at once',
      'recovering',
      ['good'],
      ['good'],
      false,
      'ready',
    ],
    [
      'recovering/flag off on a second bad round/wan_down at once',
      'recovering',
      ['wanFail'],
      ['wanFail'],
      false,
      'wan_down',
    ],
    [
      'recovering/flag off on one bad and one good round/stays recovering',
      'recovering',
      ['wanFail'],
      ['good'],
      false,
      'recovering',
    ],
    [
      'recovering/flag off then two good rounds/ready',
      'recovering',
      ['wanFail'],
      ['good', 'good'],
      false,
      'ready',
    ],
  ])('%s', (_name, from, inGrace, after, recovering, expected) => {
    const run = feed(feed(inState(from), inGrace, true), after, recovering);
    expect(run.health.state).toBe(expected);
  });
});

describe('transitions and events', () => {
  it('ready/two rounds all wan fail/one transition and one wan_down event at the confirming round', () => {
    const run = feed(inState('ready'), ['wanFail', 'wanFail']);
    expect(run.transitions).toEqual([
      {
        from: 'ready',
        to: 'wan_down',
        at: run.at,
        reason:
          'the router answers but all 3 WAN targets failed (1.1.1.1:443 timeout, 8.8.8.8:443 timeout, 9.9.9.9:443 timeout)',
        message: expect.stringMatching(
          /^Health changed from ready to wan_down: the router answers .*Auto recovery on .*wan_down_after_seconds\.$/,
        ),
      },
    ]);
    expect(run.events).toEqual([
      { type: 'wan_down', payload: { since: new Date(run.at).toISOString().replace('Z', '+00:00') } },
    ]);
    expect(run.health.since).toBe(run.at);
  });

  it('probing/two good rounds/one transition and no wan event', () => {
    const run = feed(start(), ['good', 'good']);
    expect(run.transitions.map((t) => [t.from, t.to])).toEqual([['probing', 'ready']]);
    expect(run.transitions[0]!.message).toContain('nothing to do');
    expect(run.events).toEqual([]);
  });

  it('wan_down/router_down/recovering/ready: one wan_down, one wan_restored counting the whole outage', () => {
    const down = feed(inState('ready'), ['wanFail', 'wanFail']);
    const downAt = down.at;
    let run = feed(down, ['allFail', 'allFail']);
    expect(run.health.state).toBe('router_down');
    const cycle = enterRecovering(run.health, run.at + 1000);
    run = { ...run, health: cycle.health, transitions: [...run.transitions, ...cycle.transitions] };
    run = feed(run, ['allFail', 'good', 'good'], true);
    run = feed(run, ['good']);
    expect(run.health.state).toBe('ready');
    expect(run.transitions.map((t) => t.to)).toEqual(['wan_down', 'router_down', 'recovering', 'ready']);
    expect(run.events).toEqual([
      { type: 'wan_down', payload: { since: expect.any(String) } },
      { type: 'wan_restored', payload: { down_seconds: (run.at - downAt) / 1000 } },
    ]);
  });

  it('ready/manual reboot then back/no wan_down nor wan_restored', () => {
    const ready = inState('ready');
    const cycle = enterRecovering(ready.health, ready.at + 5000);
    expect(cycle.transitions).toHaveLength(1);
    expect(cycle.transitions[0]!.message).toContain('No judgement until the boot grace ends');
    expect(enterRecovering(cycle.health, ready.at + 6000).transitions).toEqual([]);
    const run = feed({ ...ready, health: cycle.health }, ['wanFail', 'good', 'good'], true);
    const after = feed(run, ['good']);
    expect(after.health.state).toBe('ready');
    expect(after.events).toEqual([]);
  });

  it('wan_down/self_down/ready: the outage opened by wan_down ends with wan_restored', () => {
    const run = feed(inState('wan_down'), ['noRoute', 'noRoute', 'good', 'good']);
    expect(run.transitions.map((t) => t.to)).toEqual(['self_down', 'ready']);
    expect(run.events.map((e) => e.type)).toEqual(['wan_restored']);
  });

  it('ready/self_down/ready: no wan events (this host, not the WAN)', () => {
    const run = feed(inState('ready'), ['noRoute', 'noRoute', 'good', 'good']);
    expect(run.transitions.map((t) => t.to)).toEqual(['self_down', 'ready']);
    expect(run.events).toEqual([]);
    expect(run.transitions[0]!.message).toContain('never power-cycled');
  });

  it('wan_down/flaps of the router probe/since stays at the start of wan_down', () => {
    const down = feed(inState('ready'), ['wanFail', 'wanFail']);
    const run = feed({ ...down, transitions: [], events: [] }, [
      'allFail',
      'wanFail',
      'good',
      'wanFail',
      'allFail',
      'wanFail',
    ]);
    expect(run.health.state).toBe('wan_down');
    expect(run.health.since).toBe(down.at);
    expect(run.transitions).toEqual([]);
  });

  it('ready/rounds far apart/evidence dropped and since restarts', () => {
    const ready = feed(inState('ready'), ['wanFail']);
    const gap = maxRoundGapMs(15) + 1;
    const later = stepHealth(
      ready.health,
      { at: ready.at + gap, ...ROUNDS.wanFail() },
      { recovering: false },
    );
    expect(later.health.state).toBe('ready');
    expect(later.transitions).toEqual([]);
    expect(later.health.since).toBe(ready.at + gap);
  });

  it('wan_down/clock steps back/since is never in the future and one round does not decide', () => {
    const down = feed(inState('wan_down'), ['wanFail']);
    const back = down.at - 3_600_000;
    const step = stepHealth(down.health, { at: back, ...ROUNDS.good() }, { recovering: false });
    expect(step.health.state).toBe('wan_down');
    expect(step.health.since).toBe(back);
    const next = stepHealth(step.health, { at: back + ROUND_MS, ...ROUNDS.good() }, { recovering: false });
    expect(next.health.state).toBe('ready');
    expect(next.events).toEqual([{ type: 'wan_restored', payload: { down_seconds: 15 } }]);
  });

  it('intercepted/reason names the targets with foreign certificates', () => {
    const run = feed(inState('ready'), ['cert', 'cert']);
    expect(run.transitions[0]!.reason).toBe(
      'no WAN target answered normally and 1.1.1.1:443, 8.8.8.8:443, 9.9.9.9:443 answered the TLS handshake with a certificate that is not theirs',
    );
    expect(run.transitions[0]!.message).toContain('captive portal');
    expect(run.events).toEqual([]);
  });

  it('ready/no router probe/the reason says the router is not probed', () => {
    const run = feed(inState('ready'), ['noRouterWanFail', 'noRouterWanFail']);
    expect(run.transitions[0]!.reason).toContain('the router is not probed (router_host is empty)');
  });

  it('degraded/latency/the reason gives the mean over the minute', () => {
    const run = feed(inState('ready'), ['slow', 'slow', 'slow', 'slow', 'slow']);
    expect(run.transitions.map((t) => [t.from, t.to, t.reason])).toEqual([
      ['ready', 'degraded', 'WAN handshakes took 600 ms on average over the last minute'],
    ]);
    expect(run.events).toEqual([]);
  });
});

describe('probe summary', () => {
  it('before any round/all null', () => {
    expect(probeSummary(initialHealth(T0))).toEqual({
      router: { ok: null, latency_ms: null, failure: null },
      wan: { ok: null, latency_ms: null, failure: null },
    });
  });

  it.each<[string, Omit<ProbeRound, 'at'>, ReturnType<typeof probeSummary>]>([
    [
      'good/medians',
      {
        router: [good(ROUTER, 0.44, 'icmp'), good(`${ROUTER}:80`, 1.2, 'tcp')],
        wan: [good(WAN[0]!, 20), good(WAN[1]!, 35.04), good(WAN[2]!, 90)],
      },
      {
        router: { ok: true, latency_ms: 0.8, failure: null },
        wan: { ok: true, latency_ms: 35, failure: null },
      },
    ],
    [
      'router refuses/alive, first wan failure shown',
      {
        router: [bad(`${ROUTER}:80`, 'refused', 'ECONNREFUSED', 'tcp')],
        wan: [good(WAN[0]!, 20), bad(WAN[1]!, 'timeout'), good(WAN[2]!, 40)],
      },
      {
        router: { ok: true, latency_ms: 40, failure: null },
        wan: { ok: true, latency_ms: 30, failure: 'timeout' },
      },
    ],
    [
      'all fail/no latency',
      ROUNDS.allFail(),
      {
        router: { ok: false, latency_ms: null, failure: 'timeout' },
        wan: { ok: false, latency_ms: null, failure: 'timeout' },
      },
    ],
    [
      'no router probe/router null',
      ROUNDS.noRouterGood(),
      {
        router: { ok: null, latency_ms: null, failure: null },
        wan: { ok: true, latency_ms: 30, failure: null },
      },
    ],
  ])('%s', (_name, round, expected) => {
    const step = stepHealth(initialHealth(T0), { at: T0, ...round }, { recovering: false });
    expect(probeSummary(step.health)).toEqual(expected);
  });

  it('ready_since/only while ready', () => {
    const ready = inState('ready');
    expect(readySince(ready.health)).toBe(ready.health.since);
    expect(readySince(feed(ready, ['wanFail', 'wanFail']).health)).toBeNull();
  });
});

describe('bounded state', () => {
  it('a day of 1-second rounds/the window holds one minute and the machine stays small', () => {
    let health = initialHealth(T0);
    for (let i = 0; i < 86_400; i += 1) {
      const name: RoundName = i % 7 === 0 ? 'oneFails' : 'good';
      health = stepHealth(health, { at: T0 + i * 1000, ...ROUNDS[name]() }, { recovering: false }).health;
    }
    expect(health.window.length).toBe(60);
    expect(health.window.length).toBeLessThanOrEqual(MAX_WINDOW_ROUNDS);
    expect(health.recent.length).toBe(2);
    expect(JSON.stringify(health).length).toBeLessThan(10_000);
  });
});
