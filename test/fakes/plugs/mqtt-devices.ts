/**
 * Fake MQTT-switched plugs on the test broker, each recording the commands it got:
 * - Zigbee2MQTT (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html): commands
 *   `{"state":"OFF"}` on `zigbee2mqtt/<name>/set`, state JSON on `zigbee2mqtt/<name>`;
 * - ESPHome with the MQTT component (https://esphome.io/components/mqtt.html): `ON`/`OFF` on
 *   `<node>/switch/<id>/command`, state on `<node>/switch/<id>/state` — retained, as ESPHome does
 *   by default;
 * - a generic MQTT switch with configurable topics and payloads.
 */
import type { MqttClient } from 'mqtt';
import type { Clock } from '../../../src/clock.js';
import { connectDevice, endClient, publishAsync, subscribed } from './broker.js';
import { Relay } from './relay.js';

export interface FakeMqttDevice {
  relay: Relay;
  /** Payloads received on the command topic, in order. */
  commands: string[];
  /** When true the device switches but never reports its state. */
  settings: { silent: boolean };
  close(): Promise<void>;
}

async function startDevice(o: {
  url: string;
  clientId: string;
  clock: Clock;
  commandTopic: string;
  stateTopic?: string;
  retainState?: boolean;
  /** Reads a command: true = on, false = off, undefined = ignore. */
  read: (payload: string) => boolean | undefined;
  /** The state message for a relay state. */
  state: (on: boolean) => string;
  /** Reconnect this often (ms) when the broker goes away; default never. */
  reconnectMs?: number;
}): Promise<FakeMqttDevice> {
  const relay = new Relay(o.clock);
  const commands: string[] = [];
  const settings = { silent: false };
  const client: MqttClient = await connectDevice(o.url, o.clientId, o.reconnectMs);
  const report = async () => {
    if (o.stateTopic && !settings.silent) {
      await publishAsync(client, o.stateTopic, o.state(relay.on), { retain: o.retainState ?? false }).catch(
        () => {}, // the test closed the device meanwhile
      );
    }
  };
  client.on('message', (_topic, payload) => {
    const text = payload.toString('utf8');
    commands.push(text);
    const on = o.read(text);
    if (on === undefined) return;
    relay.set(on);
    void report();
  });
  await subscribed(client, o.commandTopic);
  await report(); // the state at start (retained when the device retains)
  return { relay, commands, settings, close: () => endClient(client) };
}

export function startFakeZigbee2Mqtt(o: {
  url: string;
  clock: Clock;
  friendlyName: string;
  reconnectMs?: number;
}) {
  const device = `zigbee2mqtt/${o.friendlyName}`;
  return startDevice({
    url: o.url,
    clientId: `z2m-${o.friendlyName.replace(/\W/g, '_')}`,
    clock: o.clock,
    ...(o.reconnectMs !== undefined ? { reconnectMs: o.reconnectMs } : {}),
    commandTopic: `${device}/set`,
    stateTopic: device,
    read: (p) => {
      const state = (JSON.parse(p) as { state?: string }).state?.toUpperCase();
      return state === 'ON' ? true : state === 'OFF' ? false : undefined;
    },
    state: (on) => JSON.stringify({ state: on ? 'ON' : 'OFF', linkquality: 94, power: on ? 6.2 : 0 }),
  });
}

export function startFakeEsphomeMqtt(o: { url: string; clock: Clock; node: string; switchId: string }) {
  const base = `${o.node}/switch/${o.switchId}`;
  return startDevice({
    url: o.url,
    clientId: `esphome-${o.node.replace(/\W/g, '_')}`,
    clock: o.clock,
    commandTopic: `${base}/command`,
    stateTopic: `${base}/state`,
    retainState: true,
    read: (p) => (p === 'ON' ? true : p === 'OFF' ? false : undefined),
    state: (on) => (on ? 'ON' : 'OFF'),
  });
}

export function startFakeMqttSwitch(o: {
  url: string;
  clock: Clock;
  commandTopic: string;
  stateTopic?: string;
  payloadOff: string;
  payloadOn: string;
}) {
  return startDevice({
    url: o.url,
    clientId: 'generic-mqtt-switch',
    clock: o.clock,
    commandTopic: o.commandTopic,
    ...(o.stateTopic ? { stateTopic: o.stateTopic } : {}),
    read: (p) => (p === o.payloadOn ? true : p === o.payloadOff ? false : undefined),
    state: (on) => (on ? o.payloadOn : o.payloadOff),
  });
}
