/**
 * Fault suite, MQTT (SPEC §6): the broker down at start, the broker restarting (its retained
 * messages gone), Home Assistant restarting (its birth message), retained junk on our topics
 * (a retained reboot, a broken sync, garbage state, a stale offline, a broken discovery config),
 * junk command payloads and junk on Home Assistant's status topic. DNS never waits for MQTT; the
 * router is never power-cycled by junk; the five invariants hold (test/faults/invariants.ts).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../src/mqtt/broker.js';
import { makeTestPki, type TestPki } from '../fakes/tls-server.js';
import { logSink } from '../helpers/log-sink.js';
import { freePort } from '../helpers/net.js';
import { MqttObserver, until } from '../helpers/world.js';
import { type FaultWorld, faultWatchdogWorld, faultWorld, GOOD_IP, NEW_IP } from './fault-world.js';

const BASE = 'ddns-watchdog';
const DISCOVERY = 'homeassistant/device/ddns_watchdog/config';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function broker(port: number): Promise<EmbeddedBroker> {
  const b = await startEmbeddedBroker({ host: '127.0.0.1', port, logger: logSink().logger });
  cleanups.push(() => b.close());
  return b;
}

async function observer(url: string): Promise<MqttObserver> {
  const o = await MqttObserver.connect(url);
  cleanups.push(() => o.close());
  return o;
}

async function world(o: Parameters<typeof faultWorld>[0]): Promise<FaultWorld> {
  const w = await faultWorld(o);
  cleanups.push(() => w.close());
  return w;
}

const lastRetained = (o: MqttObserver, topic: string) => o.on(topic).at(-1)?.payload;

describe('the broker fails', () => {
  it('mqtt/broker-down-at-start/dns-runs-meanwhile-then-connects-and-publishes', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const w = await world({ mqtt: { kind: 'url', url, source: 'config' }, start: false });
    const started = w.agent.start();
    // DNS does not wait for MQTT: the first cycle writes while the broker is still down.
    await until(() => w.cf.records({ name: 'home.example.com' }).length === 1, 'the first write');
    await until(() => /MQTT/.test(w.sink.text()), 'a line about the missing broker');
    await broker(port);
    const obs = await observer(url);
    await started;
    await until(() => w.agent.mqtt?.connected === true, 'the agent connected', 10_000);
    await obs.waitFor(() => lastRetained(obs, `${BASE}/availability`) === 'online', 'online');
    await obs.waitFor(
      () => obs.on(DISCOVERY).length > 0 && obs.on(`${BASE}/state`).length > 0,
      'discovery and state',
    );
    expect(JSON.parse(lastRetained(obs, `${BASE}/state`)!).public_ip.ipv4).toBe(GOOD_IP);
    await w.check({
      verified: [GOOD_IP],
      said: [
        /Cannot reach the MQTT broker at .*check mqtt_url and that the broker is running/,
        /Connected to the MQTT broker/,
      ],
    });
  });

  it('mqtt/broker-restart/retained-lost/agent-republishes-online-discovery-state-and-takes-commands', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const first = await broker(port);
    const w = await world({ mqtt: { kind: 'url', url, source: 'config' } });
    await until(() => w.agent.mqtt?.connected === true, 'the agent connected');
    await first.close();
    await until(() => w.agent.mqtt?.connected === false, 'the agent noticed');
    // The IP changes while the broker is away: DNS goes on.
    w.setIp(NEW_IP);
    await w.cycle();
    expect(w.cf.records({ name: 'home.example.com' })[0]?.content).toBe(NEW_IP);
    await broker(port); // an in-memory broker: every retained message is gone
    const obs = await observer(url);
    await until(() => w.agent.mqtt?.connected === true, 'the agent reconnected', 10_000);
    await obs.waitFor(() => lastRetained(obs, `${BASE}/availability`) === 'online', 'online again');
    await obs.waitFor(() => obs.on(DISCOVERY).length > 0, 'discovery again');
    await obs.waitFor(
      () => obs.on(`${BASE}/state`).some((s) => JSON.parse(s.payload).public_ip?.ipv4 === NEW_IP),
      'the current state',
    );
    expect(await obs.command('sync', 'PRESS')).toMatchObject({ ok: true });
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: [
        /Lost the connection to the MQTT broker at .*reconnecting in the background/,
        /Connected to the MQTT broker at .* again after/,
        /Updated A home\.example\.com/,
      ],
    });
  });
});

describe('Home Assistant and other clients', () => {
  it('mqtt/home-assistant-restart/birth-message/discovery-then-state-again', async () => {
    const b = await broker(0);
    const w = await world({ mqtt: { kind: 'url', url: b.url, source: 'config' } });
    const obs = await observer(b.url);
    await obs.waitFor(() => obs.on(DISCOVERY).length > 0 && obs.on(`${BASE}/state`).length > 0, 'discovery');
    const discoveries = obs.on(DISCOVERY).length;
    const published = () =>
      w.sink.lines().filter((l) => l.msg === 'Published Home Assistant discovery.').length;
    const saidBefore = published();
    const states = obs.on(`${BASE}/state`).length;
    // Home Assistant goes down (its will) and comes back (its birth message); junk in between is ignored.
    await obs.client.publishAsync('homeassistant/status', 'offline', { qos: 1 });
    await obs.client.publishAsync('homeassistant/status', '{"junk":', { qos: 1 });
    await obs.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await w.clock.advance(5_000); // the short random delay
    await obs.waitFor(() => obs.on(DISCOVERY).length > discoveries, 'discovery again');
    await obs.waitFor(() => obs.on(`${BASE}/state`).length > states, 'state again');
    expect(obs.on(DISCOVERY).length).toBe(discoveries + 1);
    expect(published()).toBe(saidBefore + 1); // said at debug level only
    await w.check({ verified: [GOOD_IP], said: /Published Home Assistant discovery/ });
  });

  it('mqtt/junk-command-payloads/each-answered-ok-false-never-acted-on', async () => {
    const w = await faultWatchdogWorld(pki);
    cleanups.push(() => w.close());
    const junk: Array<[string, string]> = [
      ['sync', '{"records":'],
      ['sync', '{"records":[1,2]}'],
      ['sync', '{"unknown":true}'],
      ['reboot', ''],
      ['reboot', `{"off_seconds":"x${'y'.repeat(5_000)}"}`],
      ['reboot', '{"off_seconds":-5}'],
      ['recovery', 'MAYBE'],
      ['probe', '\u0000\u0001binary'],
    ];
    for (const [name, payload] of junk) {
      const r = await w.obs.command(name, payload);
      expect(r, `${name} ${payload.slice(0, 30)}`).toMatchObject({ command: name, ok: false });
      expect(String(r.message).length).toBeGreaterThan(10);
    }
    expect(w.tasmota.commands).toEqual([]);
    expect(await w.obs.command('sync', 'PRESS')).toMatchObject({ ok: true });
    await w.check({
      verified: [GOOD_IP],
      plug: () => w.tasmota.relay.on,
      said: [
        /Refused the sync command: payload is not valid JSON/,
        /Refused the reboot command: reboot needs PRESS or a JSON object/,
      ],
    });
  });
});

describe('retained junk on our topics', () => {
  it('mqtt/retained-junk/reboot-sync-state-availability-discovery/none-acted-on-all-replaced', async () => {
    const w = await faultWatchdogWorld(pki, { start: false });
    cleanups.push(() => w.close());
    const put = (topic: string, payload: string) =>
      w.obs.client.publishAsync(topic, payload, { qos: 1, retain: true });
    await put(`${BASE}/command/reboot`, 'PRESS');
    await put(`${BASE}/command/sync`, '{"records":');
    await put(`${BASE}/command/recovery`, 'OFF');
    await put(`${BASE}/state`, 'not json at all');
    await put(`${BASE}/availability`, 'offline');
    await put(DISCOVERY, '{"broken":');
    await w.agent.start();
    await until(() => (w.agent.watchdog?.rounds ?? 0) >= 1, 'the first probe round');
    await w.obs.waitFor(
      () => w.obs.on(`${BASE}/command/result`).filter((r) => JSON.parse(r.payload).ok === false).length >= 3,
      'the three retained commands answered',
    );
    // Nothing acted on: no power cycle, Auto recovery still on, no extra cycle asked for.
    expect(w.tasmota.commands).toEqual([]);
    expect(w.agent.status().recovery.enabled).toBe(true);
    // What a late subscriber (Home Assistant after a restart) reads now is ours.
    const late = await observer(w.broker.url);
    await late.waitFor(
      () =>
        late.on(`${BASE}/availability`).at(-1)?.payload === 'online' &&
        late.on(`${BASE}/state`).length > 0 &&
        late.on(DISCOVERY).length > 0,
      'our retained topics',
    );
    expect(() => JSON.parse(late.on(`${BASE}/state`).at(-1)!.payload)).not.toThrow();
    expect(JSON.parse(late.on(DISCOVERY).at(-1)!.payload)).toHaveProperty('components');
    expect(late.on(`${BASE}/command/reboot`)).toEqual([]); // cleared
    await w.check({
      verified: [GOOD_IP],
      plug: () => w.tasmota.relay.on,
      said: /Ignored a retained reboot command .* and cleared it/,
    });
  });
});
