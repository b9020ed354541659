/**
 * Fault suite, the smart plug (SPEC §5): an HTTP plug (agent-timed: off, wait, on) that is slow,
 * hung, offline or refusing — at the off command or when it should switch back on — and a Tasmota
 * that is silent (behind the router) or not on the broker at all. The router is never left off,
 * the outcome is said, and the five invariants hold (test/faults/invariants.ts). Power cycles are
 * started by the Reboot command over MQTT; the clock moves in probe rounds of 15 s.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../fakes/clock.js';
import { FakeHttpPlug } from '../fakes/http-plug.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import { until } from '../helpers/world.js';
import { type FaultWatchdogWorld, faultWatchdogWorld, GOOD_IP, ready } from './fault-world.js';
import { type SlowPlug, startSlowPlug } from './slow-plug.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const finished = (w: FaultWatchdogWorld) => w.events.filter((e) => e.type === 'power_cycle_finished');

/**
 * Moves the clock one probe round at a time until `cond` holds; after each round, waits (real
 * time) until nothing is held at the plug, so a request in flight ends before the clock moves on.
 */
async function drive(
  w: FaultWatchdogWorld,
  cond: () => boolean,
  what: string,
  front?: SlowPlug,
): Promise<void> {
  for (let i = 0; i < 60 && !cond(); i++) {
    await w.rounds(1);
    if (front) await until(() => cond() || front.inFlight === 0, `${what}: the plug request in flight`);
  }
  if (!cond()) throw new Error(`${what} did not happen within 60 probe rounds`);
}

/** Presses Reboot (MQTT) without waiting for its answer, which may wait on the clock. */
async function press(w: FaultWatchdogWorld, front?: SlowPlug): Promise<Record<string, unknown>> {
  const results = () => w.obs.on('ddns-watchdog/command/result');
  const before = results().length;
  await w.obs.client.publishAsync('ddns-watchdog/command/reboot', 'PRESS', { qos: 1 });
  await until(
    () => results().length > before || (front?.seen.length ?? 0) > 0 || w.tasmota.commands.length > 0,
    'the reboot reached the plug',
  );
  await drive(w, () => results().length > before, 'the reboot answer', front);
  return JSON.parse(results()[before]!.payload);
}

/** A running agent with an HTTP plug behind a stand-in that can delay or swallow requests. */
async function httpPlugWorld(
  delayMs = 0,
): Promise<{ w: FaultWatchdogWorld; plug: FakeHttpPlug; front: SlowPlug }> {
  const plug = await FakeHttpPlug.start(new ManualClock());
  const front = await startSlowPlug(plug.url, delayMs);
  front.mode = delayMs > 0 ? 'slow' : 'pass';
  cleanups.push(
    () => plug.close(),
    () => front.close(),
  );
  const w = await faultWatchdogWorld(pki, {
    overrides: {
      plug_type: 'http',
      plug_off_url: `${front.url}/relay?turn=off`,
      plug_on_url: `${front.url}/relay?turn=on`,
      power_off_seconds: 30,
      recovery_enabled: false,
      http_timeout_ms: 500,
    },
  });
  cleanups.push(() => w.close());
  await ready(w);
  return { w, plug, front };
}

describe('an HTTP plug (agent-timed) that fails', () => {
  it('plug/slow/every-answer-late/the-cycle-completes-and-ends-on', async () => {
    const { w, plug, front } = await httpPlugWorld(300);
    expect(await press(w, front)).toMatchObject({ ok: true });
    await drive(w, () => finished(w).length === 1, 'the end of the cycle', front);
    expect(plug.commands()).toEqual(['off', 'on']);
    expect(finished(w)[0]).toMatchObject({ ok: true });
    await w.check({
      verified: [GOOD_IP],
      plug: () => plug.ison,
      said: /"type":"power_cycle_finished".*"ok":true/,
    });
  });

  it.each<[string, (p: FakeHttpPlug, f: SlowPlug) => void, RegExp]>([
    [
      'plug/hung-at-off/timeout-never-switched-off',
      (_p, f) => (f.mode = 'hang'),
      /did not answer within 500 ms/,
    ],
    [
      'plug/offline-at-off/unreachable-never-switched-off',
      (p) => (p.mode = 'offline'),
      /\(plug_off_url\) could not be reached/,
    ],
    ['plug/refuses-off/http-500-never-switched-off', (p) => (p.mode = 'fail'), /500/],
  ])('%s', async (_name, fault, said) => {
    const { w, plug, front } = await httpPlugWorld();
    fault(plug, front);
    expect(await press(w, front)).toMatchObject({ ok: false });
    expect(plug.ison).toBe(true);
    // The plug is back; the agent still switches it on at the end of the off time, to be safe.
    front.mode = 'pass';
    plug.mode = 'ok';
    await drive(w, () => finished(w).length === 1, 'the failed cycle reported', front);
    expect(finished(w)[0]).toMatchObject({ ok: false });
    expect(plug.commands()).toEqual(['on']);
    await w.check({
      verified: [GOOD_IP],
      plug: () => plug.ison,
      said: [said, /"type":"power_cycle_finished".*"ok":false/],
    });
  });

  it.each<[string, (p: FakeHttpPlug, f: SlowPlug) => void, (p: FakeHttpPlug, f: SlowPlug) => void]>([
    [
      'plug/offline-when-it-should-switch-on/retried-until-it-answers',
      (p) => (p.mode = 'offline'),
      (p) => (p.mode = 'ok'),
    ],
    [
      'plug/hung-when-it-should-switch-on/retried-until-it-answers',
      (_p, f) => (f.mode = 'hang'),
      (_p, f) => (f.mode = 'pass'),
    ],
  ])('%s', async (_name, fail, heal) => {
    const { w, plug, front } = await httpPlugWorld();
    expect(await press(w, front)).toMatchObject({ ok: true });
    expect(plug.commands()).toEqual(['off']);
    fail(plug, front);
    // The off time (30 s) ends within three rounds; each `on` then fails in real time (refused at
    // once, or given up after http_timeout_ms) and the next one waits ON_RETRY_FIRST_MS (1 s) of
    // simulated time, then 2 s (a refused one may come in the same clock step). Waiting on what the agent says, not on a count of rounds, keeps
    // the simulated clock from running ahead of a save or a timeout on a loaded machine.
    const onTries = () => front.seen.filter((p) => p.includes('turn=on')).length;
    const gaveUp = (attempt: number) =>
      w.lines().some((l) => String(l.msg).startsWith(`Could not switch the plug on (attempt ${attempt})`));
    await w.rounds(3);
    await until(() => gaveUp(1), 'the first on attempt given up');
    await w.rounds(1);
    await until(() => gaveUp(2), 'the second on attempt given up');
    expect(plug.ison).toBe(false);
    expect(onTries()).toBeGreaterThanOrEqual(2);
    heal(plug, front);
    await drive(w, () => finished(w).length === 1, 'the cycle finished', front);
    await w.check({
      verified: [GOOD_IP],
      plug: () => plug.ison,
      said: [/Could not switch the plug on \(attempt 1\)/, /The plug is on again/],
    });
  });
});

describe('a Tasmota that cannot answer', () => {
  it('plug/tasmota-silent/behind-the-router/unconfirmed-not-an-error-ends-on', async () => {
    const w = await faultWatchdogWorld(pki, { overrides: { recovery_enabled: false } });
    cleanups.push(() => w.close());
    w.tasmota.answer = 'silent';
    await ready(w);
    expect(await press(w)).toMatchObject({ ok: true });
    await drive(w, () => finished(w).length === 1, 'the end of the cycle');
    expect(w.tasmota.relay.offSpansMs()).toEqual([30_000]);
    await w.check({
      verified: [GOOD_IP],
      plug: () => w.tasmota.relay.on,
      said: /no stat\/tasmota_router\/RESULT or POWER came back within 2 s/,
    });
  });

  it('plug/tasmota-offline/not-on-the-broker/unconfirmed-relay-never-off', async () => {
    const w = await faultWatchdogWorld(pki, { overrides: { recovery_enabled: false } });
    cleanups.push(() => w.close());
    await w.tasmota.close();
    await ready(w);
    const results = () => w.obs.on('ddns-watchdog/command/result');
    await w.obs.client.publishAsync('ddns-watchdog/command/reboot', 'PRESS', { qos: 1 });
    await drive(w, () => results().length > 0, 'the reboot answer');
    expect(JSON.parse(results()[0]!.payload)).toMatchObject({ ok: true });
    await drive(w, () => finished(w).length === 1, 'the end of the cycle');
    expect(w.tasmota.relay.changes).toEqual([]);
    await w.check({
      verified: [GOOD_IP],
      plug: () => w.tasmota.relay.on,
      said: /no stat\/tasmota_router\/RESULT or POWER came back within 2 s/,
    });
  });
});
