/**
 * What Home Assistant sees across a restart with other settings (found by a hostile review):
 * - another node_id, discovery_prefix or mqtt_base_topic: the old retained device config (a ghost
 *   second device with every entity) and the old retained state/availability are cleared, and the
 *   log says so truthfully;
 * - the state documents published while the watchdog is still starting keep the saved Auto
 *   recovery choice and power-cycle count (not "off, disabled, 0": a switch flipping at every
 *   start, a total_increasing counter "reset");
 * - ip_version narrowed: the old family's address is no longer shown as public.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../src/agent.js';
import type { Config } from '../src/config/schema.js';
import { startEmbeddedBroker } from '../src/mqtt/broker.js';
import { opensslAvailable } from './fakes/mosquitto.js';
import { makeTestPki, type TestPki } from './fakes/tls-server.js';
import { logSink } from './helpers/log-sink.js';
import { MqttObserver, makeWatchdogWorld, makeWorld, until, type World } from './helpers/world.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/**
 * What a client connecting now finds retained on `topic` (Home Assistant restarting): subscribes,
 * then publishes a marker on the same topic; retained messages come before the marker.
 */
async function retainedOn(url: string, topic: string): Promise<string | null> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  try {
    const seen: Array<{ payload: string; retain: boolean }> = [];
    client.on('message', (_t, payload, packet) =>
      seen.push({ payload: payload.toString(), retain: packet.retain }),
    );
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, 'marker', { qos: 1, retain: false });
    await until(() => seen.some((m) => m.payload === 'marker' && !m.retain), 'the marker');
    const retained = seen.filter((m) => m.retain);
    return retained.length === 0 ? null : retained[retained.length - 1]!.payload;
  } finally {
    await client.endAsync(true);
  }
}

async function restartWith(w: World, url: string, overrides: Partial<Config>): Promise<Config> {
  await w.agent.stop({ graceMs: 0 });
  const config = { ...w.config, ...overrides } as Config;
  w.agent = await Agent.create({
    config,
    logger: w.sink.logger,
    clock: w.clock,
    random: () => 0.5,
    mqtt: { kind: 'url', url, source: 'config' },
    triggerGapMs: 0,
  });
  cleanups.push(() => w.agent.stop({ graceMs: 0 }));
  w.sink.clear();
  await w.agent.start();
  return config;
}

/** An agent on its own embedded broker, started, its first state seen by an observer. */
async function runningOnBroker() {
  const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
  cleanups.push(() => broker.close());
  const w = await makeWorld({ mqtt: { kind: 'url', url: broker.url, source: 'config' } });
  cleanups.push(() => w.close());
  const obs = await MqttObserver.connect(broker.url);
  cleanups.push(() => obs.close());
  await w.agent.start();
  await until(() => obs.on('ddns-watchdog/state').length > 0, 'the first state');
  return { broker, w, obs };
}

describe('a restart with another node_id, discovery_prefix or mqtt_base_topic', () => {
  it.each<[string, Partial<Config>, string[]]>([
    ['node_id', { node_id: 'renamed_node' }, ['homeassistant/device/ddns_watchdog/config']],
    ['discovery_prefix', { discovery_prefix: 'ha2' }, ['homeassistant/device/ddns_watchdog/config']],
    [
      'mqtt_base_topic',
      { mqtt_base_topic: 'home/ddns' },
      ['ddns-watchdog/state', 'ddns-watchdog/availability'],
    ],
  ])(
    '%s changed/the old retained topics are cleared, the new ones published',
    async (_key, overrides, oldTopics) => {
      const { broker, w, obs } = await runningOnBroker();
      for (const t of oldTopics) expect(await retainedOn(broker.url, t), t).not.toBeNull();

      const config = await restartWith(w, broker.url, overrides);
      const discovery = `${config.discovery_prefix}/device/${config.node_id}/config`;
      await until(() => obs.on(discovery).some((m) => m.payload !== ''), 'the new discovery');
      await until(() => obs.on(`${config.mqtt_base_topic}/state`).length > 0, 'the new state');
      for (const t of oldTopics) expect(await retainedOn(broker.url, t), t).toBeNull();
      expect(await retainedOn(broker.url, discovery)).toMatch(/"components"/);
      // No claim that entities were removed from a device Home Assistant never linked them to.
      const msgs = w.sink.lines().map((l) => String(l.msg));
      expect(msgs.filter((m) => /^Removed \d+ Home Assistant entit/.test(m))).toEqual([]);
      expect(
        msgs.some((m) => /^(Removed the Home Assistant device config at|Cleared the retained state)/.test(m)),
      ).toBe(true);
    },
  );

  it('nothing changed/nothing is cleared', async () => {
    const { broker, w, obs } = await runningOnBroker();
    await restartWith(w, broker.url, {});
    await until(() => obs.on('ddns-watchdog/state').length > 1, 'the state again');
    expect(obs.seen.filter((m) => m.payload === '' && m.topic.startsWith('homeassistant/'))).toEqual([]);
    expect(await retainedOn(broker.url, 'homeassistant/device/ddns_watchdog/config')).toMatch(/"components"/);
  });
});

describe('ip_version narrowed between runs', () => {
  it('both then ipv4/the saved IPv6 is no longer shown as the public IPv6', async () => {
    const w = await makeWorld({ ip: '81.2.69.160', overrides: { ip_version: 'both' } });
    cleanups.push(() => w.close());
    // What a run with ip_version both left in the state file (the loopback world has no IPv6 source).
    w.agent.state.state.public_ip.ipv6 = '2a02:8010:6a41:2c00::17';
    expect(await w.agent.state.persist({ force: true })).toBe(true);
    await w.agent.stop({ graceMs: 0 });
    w.agent = await Agent.create({
      config: { ...w.config, ip_version: 'ipv4' },
      logger: w.sink.logger,
      clock: w.clock,
      random: () => 0.5,
      mqtt: false,
      triggerGapMs: 0,
    });
    await w.agent.start();
    await until(() => w.agent.status().public_ip.ipv4 !== null, 'IPv4 detected');
    expect(w.agent.status().public_ip).toMatchObject({ ipv4: '81.2.69.160', ipv6: null });
  });
});

let pki: TestPki;
beforeAll(async () => {
  if (opensslAvailable()) pki = await makeTestPki();
});

describe.skipIf(!opensslAvailable())('the state while the watchdog starts', () => {
  it('restart, the Supervisor slow to give the router address/every state keeps Auto recovery on and the power-cycle count', async () => {
    const w = await makeWatchdogWorld(pki);
    cleanups.push(() => w.close());
    await w.roundsUntil(() => w.agent.watchdog?.health === 'ready', 'ready', 4);
    expect(await w.obs.command('reboot', 'PRESS')).toMatchObject({ ok: true });
    await w.roundsUntil(
      () =>
        w.obs.on('ddns-watchdog/state').some((s) => JSON.parse(s.payload).recovery.power_cycles_total === 1),
      'one power cycle counted',
      8,
    );
    await w.agent.stop({ graceMs: 0 });
    // router_host unset in the add-on: the agent asks the Supervisor, which does not answer (2 s).
    const slow = createServer(() => undefined);
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => slow.close(() => r())));
    cleanups.push(async () => void slow.closeAllConnections());
    const before = w.obs.on('ddns-watchdog/state').length;
    w.agent = await Agent.create({
      config: { ...w.config, router_host: undefined },
      logger: w.sink.logger,
      clock: w.clock,
      random: () => 0.5,
      mqtt: { kind: 'url', url: w.broker.url, source: 'config' },
      triggerGapMs: 0,
      env: {
        SUPERVISOR_TOKEN: 'supervisor-token-test',
        SUPERVISOR_URL: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
      },
      probes: { ca: pki.ca },
      pageAssets: null,
    });
    cleanups.push(() => w.agent.stop({ graceMs: 0 }));
    const starting = w.agent.start();
    // A state goes out on connect, before the watchdog exists.
    await until(() => w.obs.on('ddns-watchdog/state').length > before, 'a state before the watchdog runs');
    expect(w.agent.watchdog).toBeNull();
    await starting;
    await until(() => w.agent.watchdog !== null, 'the watchdog started');
    await w.rounds(1);
    const docs = w.obs
      .on('ddns-watchdog/state')
      .slice(before)
      .map((s) => JSON.parse(s.payload).recovery);
    expect(docs.length).toBeGreaterThan(1);
    for (const r of docs) expect(r).toMatchObject({ enabled: true, power_cycles_total: 1 });
    expect(docs[0].state).not.toBe('disabled');
  });
});
