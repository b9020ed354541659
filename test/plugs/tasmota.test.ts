import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlugMqtt } from '../../src/plugs/plug-driver.js';
import { TasmotaPlug, tasmotaCycleBacklog } from '../../src/plugs/tasmota.js';
import { ManualClock } from '../fakes/clock.js';
import { agentMqtt, until } from '../fakes/plugs/agent-side.js';
import {
  connectDevice,
  endClient,
  publishAsync,
  type RecordingBroker,
  startRecordingBroker,
} from '../fakes/plugs/broker.js';
import { type FakeTasmota, startFakeTasmota, type TasmotaAnswer } from '../fakes/plugs/tasmota.js';

const TOPIC = 'tasmota_1A2B3C';
const CONFIRM_MS = 2000;
const never = new AbortController().signal;

describe('tasmotaCycleBacklog', () => {
  it.each([
    ['30 s/one Delay in tenths', 30, 'Power Off; Delay 300; Power On'],
    ['360 s/one full Delay', 360, 'Power Off; Delay 3600; Power On'],
    ['361 s/a second Delay for the rest', 361, 'Power Off; Delay 3600; Delay 10; Power On'],
    ['480 s/3600 + 1200 tenths', 480, 'Power Off; Delay 3600; Delay 1200; Power On'],
    ['3600 s/ten full Delays', 3600, `Power Off; ${Array(10).fill('Delay 3600').join('; ')}; Power On`],
    ['0.5 s/fractions in tenths', 0.5, 'Power Off; Delay 5; Power On'],
    ['360.1 s/no remainder below Delay 2', 360.1, 'Power Off; Delay 3599; Delay 2; Power On'],
  ])('%s', (_name, seconds, backlog) => {
    expect(tasmotaCycleBacklog(seconds)).toBe(backlog);
  });

  it.each([
    ['zero', 0],
    ['negative', -5],
    ['not a number', Number.NaN],
    ['more than 28 Delays fit in one Backlog', 10_081],
  ])('bad off time/%s/refused with the key to fix', (_name, seconds) => {
    expect(() => tasmotaCycleBacklog(seconds)).toThrow(/power_off_seconds/);
  });
});

describe('tasmota plug on the broker', () => {
  let broker: RecordingBroker;
  let clock: ManualClock;
  let agent: { mqtt: PlugMqtt; stop: () => Promise<void> };
  let fake: FakeTasmota;
  let plug: TasmotaPlug;

  async function setUp(answer: TasmotaAnswer = 'POWER'): Promise<void> {
    fake = await startFakeTasmota({ url: broker.url, topic: TOPIC, clock, answer });
    plug = new TasmotaPlug({ topic: TOPIC, mqtt: agent.mqtt, clock, confirmTimeoutMs: CONFIRM_MS });
  }

  beforeEach(async () => {
    broker = await startRecordingBroker();
    clock = new ManualClock();
    agent = await agentMqtt(broker.url);
  });

  afterEach(async () => {
    plug?.close();
    await fake?.close();
    await agent.stop();
    await broker.close();
  });

  /** Lets the fake's Delays run out on the test clock and waits for the relay to report on. */
  async function finishCycle(offSeconds: number): Promise<void> {
    await until(() => clock.pending > 0, "the plug's Delay");
    await clock.advance(offSeconds * 1000);
    await until(() => fake.relay.on, 'the relay back on');
  }

  it('cycle/POWER answer/confirmed, off for exactly 30 s, ends on, one Backlog, never retained', async () => {
    await setUp('POWER');
    const outcome = await plug.cycle(30, never);
    expect(outcome.confirmed).toBe(true);
    expect(outcome.message).toContain('its own Backlog switches it back on after 30 s');
    expect(fake.relay.on).toBe(false);

    await finishCycle(30);
    expect(fake.relay.offSpansMs()).toEqual([30_000]);
    expect(fake.commands.map((c) => [c.command, c.payload])).toEqual([
      ['Backlog', 'Power Off; Delay 300; Power On'],
    ]);
    const sent = broker.on((t) => t.startsWith('cmnd/'));
    expect(sent).toEqual([
      {
        topic: `cmnd/${TOPIC}/Backlog`,
        payload: 'Power Off; Delay 300; Power On',
        qos: 1,
        retain: false,
        clientId: 'ddns-watchdog-test',
      },
    ]);
  });

  it('cycle/POWER1 answer (multi-relay firmware)/confirmed', async () => {
    await setUp('POWER1');
    const outcome = await plug.cycle(30, never);
    expect(outcome).toMatchObject({ confirmed: true });
    expect(outcome.message).toMatch(/"POWER1":"OFF"|OFF on stat\/tasmota_1A2B3C\/POWER1/);
    await finishCycle(30);
    expect(fake.relay.offSpansMs()).toEqual([30_000]);
  });

  it('cycle/off longer than 360 s/several Delays in one Backlog, off for the whole time', async () => {
    await setUp('POWER');
    expect((await plug.cycle(480, never)).confirmed).toBe(true);
    await finishCycle(480);
    expect(fake.commands.map((c) => c.payload)).toEqual(['Power Off; Delay 3600; Delay 1200; Power On']);
    expect(fake.relay.offSpansMs()).toEqual([480_000]);
  });

  it('cycle/plug silent (behind the router)/unconfirmed outcome, not an error; it still ends on', async () => {
    await setUp('silent');
    const pending = plug.cycle(30, never);
    await until(() => fake.commands.length === 1 && clock.pending >= 2, 'the command and both timers');
    await clock.advance(CONFIRM_MS);
    const outcome = await pending;
    expect(outcome.confirmed).toBe(false);
    expect(outcome.message).toContain(`no stat/${TOPIC}/RESULT or POWER came back within 2 s`);
    expect(outcome.message).toContain('switches back on by itself after 30 s');
    expect(fake.relay.on).toBe(false);
    await clock.advance(28_000);
    await until(() => fake.relay.on, 'the relay back on');
    expect(fake.relay.offSpansMs()).toEqual([30_000]);
    expect(fake.commands.filter((c) => c.command === 'Backlog' && c.payload.trim() === '')).toEqual([]);
  });

  it('cycle/an old OFF the broker kept retained/is not taken for the answer', async () => {
    const other = await connectDevice(broker.url, 'someone-else');
    await publishAsync(other, `stat/${TOPIC}/POWER`, 'OFF', { retain: true });
    await endClient(other);
    await setUp('silent');
    let replayed = 0;
    const probe = agent.mqtt.subscribe(`stat/${TOPIC}/POWER`, () => replayed++);
    await until(() => replayed === 1, 'the retained replay');
    probe();

    const pending = plug.cycle(30, never);
    await until(() => fake.commands.length === 1, 'the command');
    await clock.advance(CONFIRM_MS);
    expect((await pending).confirmed).toBe(false);
  });

  it('on/after a cycle that never came back/Power ON, confirmed, never retained', async () => {
    await setUp('POWER');
    fake.relay.set(false);
    const outcome = await plug.on(never);
    expect(outcome).toMatchObject({ confirmed: true });
    expect(fake.relay.on).toBe(true);
    expect(fake.commands.map((c) => [c.command, c.payload])).toEqual([['Power', 'ON']]);
    expect(broker.on((t) => t.startsWith('cmnd/')).every((p) => !p.retain)).toBe(true);
  });

  it('off/then on/each confirmed by RESULT or POWER', async () => {
    await setUp('POWER');
    expect((await plug.off(never)).confirmed).toBe(true);
    expect(fake.relay.on).toBe(false);
    expect((await plug.on(never)).confirmed).toBe(true);
    expect(fake.relay.on).toBe(true);
  });

  it('cycle/agent stopping/resolves at once as unconfirmed', async () => {
    await setUp('silent');
    const stop = new AbortController();
    const pending = plug.cycle(30, stop.signal);
    await until(() => fake.commands.length === 1, 'the command');
    stop.abort();
    expect((await pending).confirmed).toBe(false);
  });
});
