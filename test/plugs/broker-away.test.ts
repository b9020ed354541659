/**
 * A plug switched over MQTT while the broker is away (SPEC §5: "The router is never left off by a
 * crash, a restart or a lost broker"). A plug command is sent now or not at all: the agent's MQTT
 * connection would otherwise keep it and deliver it when the broker is back — a Backlog or an
 * `off` arriving minutes or hours later, after the cycle was given up, cuts the router's power out
 * of the blue, and an `on` that only sat in a queue let the cycle end "done" with the router off.
 * Real MqttConnection (as src/agent/watchdog.ts wires it), a real aedes broker, fake devices.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freshRecovery, type RecoveryState, startCycle } from '../../src/domain/recovery-state.js';
import { type AgentEvent, EventBus } from '../../src/events.js';
import { MqttConnection } from '../../src/mqtt/client.js';
import { mqttPlug } from '../../src/plugs/mqtt-plug.js';
import { plugMqttOver } from '../../src/plugs/mqtt-port.js';
import { PlugError } from '../../src/plugs/plug-driver.js';
import { TasmotaPlug } from '../../src/plugs/tasmota.js';
import { zigbee2mqttPlug } from '../../src/plugs/zigbee2mqtt.js';
import { carryOutCycle } from '../../src/watchdog/cycle.js';
import { ManualClock } from '../fakes/clock.js';
import { type RecordingBroker, startRecordingBroker } from '../fakes/plugs/broker.js';
import { startFakeZigbee2Mqtt } from '../fakes/plugs/mqtt-devices.js';
import { logSink } from '../helpers/log-sink.js';
import { until } from '../helpers/world.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function agentConnection(url: string, sink = logSink()): Promise<MqttConnection> {
  const conn = new MqttConnection({
    url,
    clientId: 'ddns-watchdog-test',
    availabilityTopic: 'ddns-watchdog/availability',
    protocolVersion: 4,
    reconnectPeriodMs: 50,
    maxReconnectPeriodMs: 50,
    connectWaitMs: 3000,
    logger: sink.logger,
  });
  cleanups.push(() => conn.stop());
  await conn.start();
  expect(conn.connected).toBe(true);
  return conn;
}

/** A broker, the agent connected to it, then the broker gone (the agent has noticed). */
async function brokerGone(): Promise<{ port: number; conn: MqttConnection }> {
  const first = await startRecordingBroker();
  const port = Number(new URL(first.url).port);
  const conn = await agentConnection(first.url);
  await first.close();
  await until(() => !conn.connected, 'the agent noticed the broker is gone');
  return { port, conn };
}

/** The broker back on its port, once the agent has reconnected and its queue is flushed. */
async function brokerBack(port: number, conn: MqttConnection): Promise<RecordingBroker> {
  const broker = await startRecordingBroker(port);
  cleanups.push(() => broker.close());
  await until(() => conn.connected, 'the agent reconnected');
  // Its availability `online` is the first thing it publishes once connected: anything it had kept
  // would have been sent with or before it.
  await until(() => broker.on((t) => t === 'ddns-watchdog/availability').length > 0, 'online');
  return broker;
}

describe('a plug command while the broker is away', () => {
  it('tasmota/cycle/refused at once (PLUG_UNREACHABLE), and the Backlog never reaches the plug later', async () => {
    const { port, conn } = await brokerGone();
    const plug = new TasmotaPlug({
      topic: 'tasmota_router',
      mqtt: plugMqttOver(conn),
      clock: new ManualClock(),
      confirmTimeoutMs: 2000,
    });
    const err = await plug.cycle(30, new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlugError);
    expect(err).toMatchObject({ code: 'PLUG_UNREACHABLE' });
    expect((err as Error).message).toMatch(
      /^The MQTT broker is not connected, so "Power Off; Delay 300; Power On" was not sent to cmnd\/tasmota_router\/Backlog \(it is never kept to be sent later\)/,
    );
    const broker = await brokerBack(port, conn);
    expect(broker.on((t) => t.startsWith('cmnd/'))).toEqual([]);
  });

  it('mqtt/off/refused at once, and never delivered when the broker is back', async () => {
    const { port, conn } = await brokerGone();
    const plug = mqttPlug({
      commandTopic: 'plugs/router/set',
      payloadOff: 'OFF',
      payloadOn: 'ON',
      mqtt: plugMqttOver(conn),
      clock: new ManualClock(),
      confirmTimeoutMs: 2000,
    });
    await expect(plug.off(new AbortController().signal)).rejects.toMatchObject({ code: 'PLUG_UNREACHABLE' });
    const broker = await brokerBack(port, conn);
    expect(broker.on((t) => t.startsWith('plugs/'))).toEqual([]);
  });
});

describe('zigbee2mqtt: the broker is lost during the off time', () => {
  async function offAndBrokerLost() {
    const first = await startRecordingBroker();
    const port = Number(new URL(first.url).port);
    const clock = new ManualClock();
    const device = await startFakeZigbee2Mqtt({
      url: first.url,
      clock,
      friendlyName: 'router_plug',
      reconnectMs: 50,
    });
    cleanups.push(() => device.close());
    const sink = logSink();
    const conn = await agentConnection(first.url, sink);
    const plug = zigbee2mqttPlug({
      friendlyName: 'router_plug',
      mqtt: plugMqttOver(conn),
      clock,
      confirmTimeoutMs: 2000,
    });
    let state: RecoveryState = startCycle(freshRecovery(), clock.now(), {
      plug: 'zigbee2mqtt',
      offSeconds: 30,
    });
    const events: AgentEvent[] = [];
    const bus = new EventBus({ now: () => clock.now() });
    bus.on('test', (e) => {
      events.push(e);
    });
    const stop = new AbortController();
    const run = carryOutCycle(
      {
        plug,
        clock,
        logger: sink.logger,
        events: bus,
        stop: stop.signal,
        commit: async (change) => {
          state = change(state, clock.now());
        },
      },
      state.current!,
    );
    expect((await run.started).ok).toBe(true);
    await until(() => device.relay.on === false, 'the relay off');
    // The broker (the Mosquitto add-on restarting, say) goes away during the off time.
    await first.close();
    await until(() => !conn.connected, 'the agent noticed the broker is gone');
    // The off time ends; `on` cannot be sent and is retried (1 s, 2 s, …).
    await clock.advance(30_000);
    await until(
      () =>
        sink
          .lines()
          .some((l) =>
            /^Could not switch the plug on \(attempt 1\): The MQTT broker is not connected, .* until it works\. Retrying in 1 s/.test(
              String(l.msg),
            ),
          ),
      'the first on attempt refused',
    );
    return { port, conn, clock, device, sink, stop, run, events, state: () => state };
  }

  it('zigbee2mqtt/agent stops before the broker is back/the cycle stays saved so the next start switches the plug on', async () => {
    const w = await offAndBrokerLost();
    expect(w.device.relay.on).toBe(false);
    w.stop.abort();
    await w.run.done;
    expect(w.state().current).not.toBeNull(); // the next start finds it and switches the plug on first
    expect(w.events.filter((e) => e.type === 'power_cycle_finished')).toEqual([]);
    expect(w.sink.lines().map((l) => String(l.msg))).toContainEqual(
      expect.stringMatching(/^The agent stopped before the plug could be switched back on/),
    );
  });

  it('zigbee2mqtt/the broker comes back/the plug is switched on and the cycle ends', async () => {
    const w = await offAndBrokerLost();
    const broker = await brokerBack(w.port, w.conn);
    await until(
      () => broker.subscriptions.some((x) => x.endsWith(' zigbee2mqtt/router_plug/set')),
      'the device back on the broker',
    );
    // One simulated second at a time; an `on` sent in that second is answered (real I/O) before
    // the clock moves on, so its 2 s confirmation wait is not cut short by the test.
    const finished = () => w.events.some((e) => e.type === 'power_cycle_finished');
    for (let i = 0; i < 180 && !finished(); i++) {
      const seen = w.device.commands.length;
      await w.clock.advance(1_000);
      await until(() => w.device.commands.length > seen, 'an on in this second', 30).catch(() => undefined);
      if (w.device.commands.length > seen) await until(finished, 'the cycle confirmed and finished');
    }
    await w.run.done;
    expect(w.device.relay.on).toBe(true);
    expect(w.state().current).toBeNull();
    expect(w.events.find((e) => e.type === 'power_cycle_finished')).toMatchObject({ ok: true });
  });
});

describe('zigbee2mqtt: the plug does not report that it is on', () => {
  async function offThenOnTime(silentOns: number) {
    const broker = await startRecordingBroker();
    cleanups.push(() => broker.close());
    const clock = new ManualClock();
    const device = await startFakeZigbee2Mqtt({ url: broker.url, clock, friendlyName: 'router_plug' });
    cleanups.push(() => device.close());
    const sink = logSink();
    const conn = await agentConnection(broker.url, sink);
    const plug = zigbee2mqttPlug({
      friendlyName: 'router_plug',
      mqtt: plugMqttOver(conn),
      clock,
      confirmTimeoutMs: 2000,
    });
    const state = startCycle(freshRecovery(), clock.now(), { plug: 'zigbee2mqtt', offSeconds: 30 });
    const events: AgentEvent[] = [];
    const bus = new EventBus({ now: () => clock.now() });
    bus.on('test', (e) => {
      events.push(e);
    });
    const run = carryOutCycle(
      {
        plug,
        clock,
        logger: sink.logger,
        events: bus,
        stop: new AbortController().signal,
        commit: async () => {},
      },
      state.current!,
    );
    expect((await run.started).ok).toBe(true);
    await until(() => device.relay.on === false, 'the relay off');
    // The first `silentOns` on commands get no state report (a bridge still reconnecting).
    const ons = () => device.commands.filter((c) => c.includes('"ON"')).length;
    device.settings.silent = silentOns > 0;
    const finished = () => events.some((e) => e.type === 'power_cycle_finished');
    await clock.advance(30_000);
    for (let i = 0; i < 120 && !finished(); i++) {
      const seen = ons();
      if (seen >= silentOns) device.settings.silent = false;
      await clock.advance(500);
      await until(() => ons() > seen || finished(), 'an on in this step', 30).catch(() => undefined);
    }
    await run.done;
    return { device, events, sink, ons };
  }

  it('zigbee2mqtt/first on unanswered/sent again, confirmed, the cycle ends on', async () => {
    const w = await offThenOnTime(1);
    expect(w.ons()).toBe(2);
    expect(w.device.relay.on).toBe(true);
    expect(w.events.find((e) => e.type === 'power_cycle_finished')).toMatchObject({
      ok: true,
      message: expect.stringMatching(/confirmed on zigbee2mqtt\/router_plug/),
    });
    expect(w.sink.lines().filter((l) => /did not report that it is on/.test(String(l.msg)))).toHaveLength(1);
  });

  it('zigbee2mqtt/never answers/on sent 5 times in all, then the cycle ends as not confirmed', async () => {
    const w = await offThenOnTime(Number.POSITIVE_INFINITY);
    expect(w.ons()).toBe(5);
    expect(w.events.find((e) => e.type === 'power_cycle_finished')).toMatchObject({
      message: expect.stringMatching(/not confirmed by the plug/),
    });
  });
});
