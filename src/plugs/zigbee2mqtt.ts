/**
 * A Zigbee plug through Zigbee2MQTT (agent-timed): `{"state":"OFF"}` / `{"state":"ON"}` to
 * `zigbee2mqtt/<plug_topic>/set`, never retained; confirmed by the device's state message on
 * `zigbee2mqtt/<plug_topic>` (a JSON object with `"state"`).
 *
 * Checked against "MQTT Topics and Messages"
 * (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html): the base topic is
 * `zigbee2mqtt` unless changed in Zigbee2MQTT's configuration.yaml; FRIENDLY_NAME is the
 * friendly_name (it may contain `/`) or the IEEE address; devices publish their state as JSON on
 * `zigbee2mqtt/FRIENDLY_NAME` and take commands on `zigbee2mqtt/FRIENDLY_NAME/set`.
 *
 * Zigbee does not depend on the router, so this path stays up while the router is off — as long
 * as the broker and the agent do not sit behind the router either.
 */
import type { Clock } from '../clock.js';
import { MqttSwitch } from './mqtt-switch.js';
import type { PlugMqtt } from './plug-driver.js';

export const ZIGBEE2MQTT_BASE_TOPIC = 'zigbee2mqtt';

export interface Zigbee2MqttPlugOptions {
  /** plug_topic: the friendly name. */
  friendlyName: string;
  /** Zigbee2MQTT's base_topic. Default `zigbee2mqtt`. */
  baseTopic?: string;
  mqtt: PlugMqtt;
  clock: Clock;
  confirmTimeoutMs: number;
}

/** 'on' / 'off' from a Zigbee2MQTT device state (`{"state":"OFF","linkquality":94}`). */
export function zigbeeState(payload: string): 'on' | 'off' | undefined {
  const json = JSON.parse(payload) as unknown;
  if (typeof json !== 'object' || json === null) return undefined;
  const state = (json as { state?: unknown }).state;
  if (typeof state !== 'string') return undefined;
  const v = state.toUpperCase();
  return v === 'ON' ? 'on' : v === 'OFF' ? 'off' : undefined;
}

export function zigbee2mqttPlug(o: Zigbee2MqttPlugOptions): MqttSwitch {
  const device = `${o.baseTopic ?? ZIGBEE2MQTT_BASE_TOPIC}/${o.friendlyName}`;
  return new MqttSwitch({
    type: 'zigbee2mqtt',
    label: `zigbee2mqtt ${o.friendlyName}`,
    what: `Zigbee2MQTT device ${o.friendlyName}`,
    commandTopic: `${device}/set`,
    payloadOff: JSON.stringify({ state: 'OFF' }),
    payloadOn: JSON.stringify({ state: 'ON' }),
    stateTopic: device,
    readState: zigbeeState,
    noAnswerHint:
      "check that Zigbee2MQTT is running on this broker and that plug_topic is the device's friendly name",
    mqtt: o.mqtt,
    clock: o.clock,
    confirmTimeoutMs: o.confirmTimeoutMs,
  });
}
