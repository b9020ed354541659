/**
 * Agent-timed plugs (esphome, zigbee2mqtt, http, mqtt): the agent sends off, waits, sends on. Each
 * test runs that cycle against a fake device and checks the relay, the exact commands, and that no
 * command was retained on the broker.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EsphomeRestPlug, esphomeMqttPlug } from '../../src/plugs/esphome.js';
import { HttpPlug } from '../../src/plugs/http-plug.js';
import { mqttPlug } from '../../src/plugs/mqtt-plug.js';
import { type PlugDriver, PlugError, type PlugMqtt } from '../../src/plugs/plug-driver.js';
import { zigbee2mqttPlug } from '../../src/plugs/zigbee2mqtt.js';
import { ManualClock } from '../fakes/clock.js';
import { AGENT_CLIENT_ID, agentMqtt, until } from '../fakes/plugs/agent-side.js';
import { type RecordingBroker, startRecordingBroker } from '../fakes/plugs/broker.js';
import { startFakeEsphomeWeb, startFakeHttpPlug } from '../fakes/plugs/http-devices.js';
import { sendJson, startHttpFake } from '../fakes/plugs/http-server.js';
import {
  type FakeMqttDevice,
  startFakeEsphomeMqtt,
  startFakeMqttSwitch,
  startFakeZigbee2Mqtt,
} from '../fakes/plugs/mqtt-devices.js';
import type { Relay } from '../fakes/plugs/relay.js';
import { freePort } from '../helpers/net.js';

const never = new AbortController().signal;
const TIMEOUT_MS = 300;
const CONFIRM_MS = 2000;
const OFF_SECONDS = 30;
const http = { timeoutMs: TIMEOUT_MS };
const PASSWORD = 'Plug-Pa55word!';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function failure(p: Promise<unknown>): Promise<PlugError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PlugError)) throw new Error(`expected a PlugError, got ${String(err)}`);
  return err;
}

/** The agent's half of a cycle: off, wait OFF_SECONDS on the clock, on; both confirmed. */
async function agentCycle(plug: PlugDriver, clock: ManualClock, relay: Relay): Promise<void> {
  expect(plug.timing).toBe('agent_timed');
  expect(plug.cycle).toBeUndefined();
  const off = await plug.off(never);
  expect(off).toMatchObject({ confirmed: true });
  expect(relay.on).toBe(false);
  await clock.advance(OFF_SECONDS * 1000);
  const on = await plug.on(never);
  expect(on).toMatchObject({ confirmed: true });
  expect(relay.on).toBe(true);
  expect(relay.offSpansMs()).toEqual([OFF_SECONDS * 1000]);
}

describe('MQTT plugs', () => {
  let broker: RecordingBroker;
  let clock: ManualClock;
  let agent: { mqtt: PlugMqtt; stop: () => Promise<void> };

  beforeEach(async () => {
    broker = await startRecordingBroker();
    clock = new ManualClock();
    agent = await agentMqtt(broker.url);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await agent.stop();
    await broker.close();
  });

  const wait = () => ({ mqtt: agent.mqtt, clock, confirmTimeoutMs: CONFIRM_MS });
  const device = (d: FakeMqttDevice) => {
    cleanups.push(() => d.close());
    return d;
  };
  const agentCommands = () =>
    broker.published
      .filter((p) => p.clientId === AGENT_CLIENT_ID && !p.topic.startsWith('ddns-watchdog/'))
      .map((p) => [p.topic, p.payload, p.retain]);

  it('zigbee2mqtt/off, wait, on/{"state":…} on zigbee2mqtt/<name>/set, confirmed by the state JSON, never retained', async () => {
    const d = device(await startFakeZigbee2Mqtt({ url: broker.url, clock, friendlyName: 'router_plug' }));
    const plug = zigbee2mqttPlug({ friendlyName: 'router_plug', ...wait() });
    cleanups.push(() => plug.close());
    await agentCycle(plug, clock, d.relay);
    expect(agentCommands()).toEqual([
      ['zigbee2mqtt/router_plug/set', '{"state":"OFF"}', false],
      ['zigbee2mqtt/router_plug/set', '{"state":"ON"}', false],
    ]);
  });

  it('zigbee2mqtt/friendly name with a slash/used as is', async () => {
    const d = device(
      await startFakeZigbee2Mqtt({ url: broker.url, clock, friendlyName: 'garage/router_plug' }),
    );
    const plug = zigbee2mqttPlug({ friendlyName: 'garage/router_plug', ...wait() });
    cleanups.push(() => plug.close());
    await agentCycle(plug, clock, d.relay);
    expect(d.commands).toEqual(['{"state":"OFF"}', '{"state":"ON"}']);
  });

  it('esphome over MQTT/off, wait, on/OFF and ON on <node>/switch/<id>/command, confirmed by the retained state topic', async () => {
    const d = device(
      await startFakeEsphomeMqtt({ url: broker.url, clock, node: 'router-plug', switchId: 'relay' }),
    );
    const plug = esphomeMqttPlug({ topic: 'router-plug/relay', ...wait() });
    cleanups.push(() => plug.close());
    await agentCycle(plug, clock, d.relay);
    expect(agentCommands()).toEqual([
      ['router-plug/switch/relay/command', 'OFF', false],
      ['router-plug/switch/relay/command', 'ON', false],
    ]);
  });

  it('mqtt/custom payloads and a state topic/off, wait, on, confirmed, never retained', async () => {
    const topics = { commandTopic: 'plugs/router/set', stateTopic: 'plugs/router/state' };
    const d = device(
      await startFakeMqttSwitch({ url: broker.url, clock, ...topics, payloadOff: '0', payloadOn: '1' }),
    );
    const plug = mqttPlug({ ...topics, payloadOff: '0', payloadOn: '1', ...wait() });
    cleanups.push(() => plug.close());
    await agentCycle(plug, clock, d.relay);
    expect(agentCommands()).toEqual([
      ['plugs/router/set', '0', false],
      ['plugs/router/set', '1', false],
    ]);
  });

  it('mqtt/no plug_state_topic/sent but not confirmed, and the message says how to confirm', async () => {
    const d = device(
      await startFakeMqttSwitch({
        url: broker.url,
        clock,
        commandTopic: 'plugs/router/set',
        payloadOff: 'OFF',
        payloadOn: 'ON',
      }),
    );
    const plug = mqttPlug({
      commandTopic: 'plugs/router/set',
      payloadOff: 'OFF',
      payloadOn: 'ON',
      ...wait(),
    });
    const outcome = await plug.off(never);
    expect(outcome.confirmed).toBe(false);
    expect(outcome.message).toContain('plug_state_topic');
    await until(() => !d.relay.on, 'the relay off');
  });

  it('mqtt/device never reports/unconfirmed after the wait, not an error', async () => {
    const topics = { commandTopic: 'plugs/router/set', stateTopic: 'plugs/router/state' };
    const d = device(
      await startFakeMqttSwitch({ url: broker.url, clock, ...topics, payloadOff: 'OFF', payloadOn: 'ON' }),
    );
    d.settings.silent = true;
    const plug = mqttPlug({ ...topics, payloadOff: 'OFF', payloadOn: 'ON', ...wait() });
    cleanups.push(() => plug.close());
    const pending = plug.off(never);
    await until(() => d.commands.length === 1 && clock.pending === 1, 'the command and the wait');
    await clock.advance(CONFIRM_MS);
    const outcome = await pending;
    expect(outcome.confirmed).toBe(false);
    expect(outcome.message).toContain('plugs/router/state did not report off within 2 s');
  });
});

describe('HTTP plugs', () => {
  it('http/POST with Basic login/off URL, wait, on URL; 2xx confirms', async () => {
    const clock = new ManualClock();
    const fake = await startFakeHttpPlug({ clock, method: 'POST', username: 'relay', password: PASSWORD });
    cleanups.push(() => fake.close());
    const plug = new HttpPlug({
      offUrl: `${fake.url}/off?channel=1`,
      onUrl: `${fake.url}/on?channel=1`,
      method: 'post',
      username: 'relay',
      password: PASSWORD,
      http,
    });
    expect(plug.label).toBe(`http ${fake.url}`);
    await agentCycle(plug, clock, fake.relay);
    expect(fake.requests.map((r) => [r.method, r.target, r.headers.authorization])).toEqual([
      ['POST', '/off?channel=1', `Basic ${Buffer.from(`relay:${PASSWORD}`).toString('base64')}`],
      ['POST', '/on?channel=1', `Basic ${Buffer.from(`relay:${PASSWORD}`).toString('base64')}`],
    ]);
  });

  it('http/wrong password/PLUG_REFUSED naming plug_password, no secret', async () => {
    const clock = new ManualClock();
    const fake = await startFakeHttpPlug({ clock, username: 'relay', password: PASSWORD });
    cleanups.push(() => fake.close());
    const plug = new HttpPlug({
      offUrl: `${fake.url}/off`,
      onUrl: `${fake.url}/on`,
      method: 'GET',
      username: 'relay',
      password: 'guessed-Wrong',
      http,
    });
    const err = await failure(plug.off(never));
    expect(err.code).toBe('PLUG_REFUSED');
    expect(err.message).toContain('plug_password');
    expect(err.message).not.toContain('guessed-Wrong');
    expect(fake.relay.changes).toEqual([]);
  });

  it('http/an error page echoing the request headers/the Basic login is cut out, in every encoding', async () => {
    // Some firmware answers a bad request with a debug page that repeats what it was sent.
    const fake = await startHttpFake((req, res) =>
      sendJson(
        res,
        400,
        `Bad request. authorization: ${String(req.headers.authorization)} pw=${encodeURIComponent('hunter2 Secret/1')}`,
        { 'content-type': 'text/plain' },
      ),
    );
    cleanups.push(() => fake.close());
    const plug = new HttpPlug({
      offUrl: `${fake.url}/off`,
      onUrl: `${fake.url}/on`,
      method: 'GET',
      username: 'admin',
      password: 'hunter2 Secret/1',
      http,
    });
    const err = await failure(plug.off(never));
    expect(String(fake.requests[0]?.headers.authorization)).toMatch(/^Basic /); // it was sent
    expect(err.message).toContain('HTTP 400');
    expect(err.message).not.toContain(Buffer.from('admin:hunter2 Secret/1').toString('base64'));
    expect(err.message).not.toContain(encodeURIComponent('hunter2 Secret/1'));
    expect(err.message).not.toContain('hunter2');
    expect(err.message).toContain('[Redacted]');
  });

  it('http/a URL the plug does not know/PLUG_BAD_ANSWER naming the key; no query key or path token shown', async () => {
    const clock = new ManualClock();
    const fake = await startFakeHttpPlug({ clock });
    cleanups.push(() => fake.close());
    const plug = new HttpPlug({
      offUrl: `${fake.url}/hooks/k7Yq2pSecretPathToken?apikey=QueryKey99`,
      onUrl: `${fake.url}/on`,
      method: 'GET',
      http,
    });
    const err = await failure(plug.off(never));
    expect(err.code).toBe('PLUG_BAD_ANSWER');
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('plug_off_url');
    expect(err.message).not.toContain('QueryKey99');
    expect(err.message).not.toContain('k7Yq2pSecretPathToken');
  });

  it('esphome web server/plug_url set/POST /switch/<id>/turn_off, wait, turn_on with Basic login', async () => {
    const clock = new ManualClock();
    const fake = await startFakeEsphomeWeb({
      clock,
      switchId: 'relay',
      username: 'admin',
      password: PASSWORD,
    });
    cleanups.push(() => fake.close());
    const plug = new EsphomeRestPlug({
      url: fake.url,
      topic: 'router-plug/relay',
      username: 'admin',
      password: PASSWORD,
      http,
    });
    await agentCycle(plug, clock, fake.relay);
    expect(fake.requests.map((r) => [r.method, r.target])).toEqual([
      ['POST', '/switch/relay/turn_off'],
      ['POST', '/switch/relay/turn_on'],
    ]);
  });

  it('esphome web server/unknown switch/PLUG_BAD_ANSWER naming plug_topic', async () => {
    const clock = new ManualClock();
    const fake = await startFakeEsphomeWeb({ clock, switchId: 'relay' });
    cleanups.push(() => fake.close());
    const err = await failure(
      new EsphomeRestPlug({ url: fake.url, topic: 'router-plug/socket', http }).off(never),
    );
    expect(err.code).toBe('PLUG_BAD_ANSWER');
    expect(err.message).toContain('plug_topic');
  });

  const httpDrivers = [
    [
      'http',
      (url: string) => new HttpPlug({ offUrl: `${url}/off`, onUrl: `${url}/on`, method: 'GET', http }),
    ],
    ['esphome web server', (url: string) => new EsphomeRestPlug({ url, topic: 'router-plug/relay', http })],
  ] as const;

  it.each(httpDrivers)('%s/offline (closed port)/PLUG_UNREACHABLE', async (_name, make) => {
    const port = await freePort();
    const err = await failure(make(`http://127.0.0.1:${port}`).off(never));
    expect(err.code).toBe('PLUG_UNREACHABLE');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it.each(httpDrivers)('%s/hung/PLUG_TIMEOUT within the deadline', async (_name, make) => {
    const hung = await startHttpFake(() => {});
    hung.hang = true;
    cleanups.push(() => hung.close());
    const started = performance.now();
    const err = await failure(make(hung.url).on(never));
    expect(err.code).toBe('PLUG_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
  });
});
