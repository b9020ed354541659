/**
 * A generic MQTT switch (agent-timed): `plug_payload_off` / `plug_payload_on` (default `OFF` /
 * `ON`) to `plug_command_topic`, never retained; confirmed when `plug_state_topic` (optional)
 * reports the same payload — as is, or as the `state` field of a JSON object (`{"state":"OFF"}`).
 */
import type { Clock } from '../clock.js';
import { MqttSwitch } from './mqtt-switch.js';
import type { PlugMqtt } from './plug-driver.js';

export interface MqttPlugOptions {
  commandTopic: string;
  payloadOff: string;
  payloadOn: string;
  stateTopic?: string | undefined;
  mqtt: PlugMqtt;
  clock: Clock;
  confirmTimeoutMs: number;
}

const same = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

/** 'off' / 'on' when a state payload equals the configured payload, as is or as JSON `state`. */
export function readConfiguredState(
  payload: string,
  payloadOff: string,
  payloadOn: string,
): 'on' | 'off' | undefined {
  const candidates = [payload];
  if (payload.trimStart().startsWith('{')) {
    try {
      const state = (JSON.parse(payload) as { state?: unknown }).state;
      if (typeof state === 'string') candidates.push(state);
    } catch {
      // not JSON after all: compare as is
    }
  }
  for (const c of candidates) {
    if (same(c, payloadOff)) return 'off';
    if (same(c, payloadOn)) return 'on';
  }
  return undefined;
}

export function mqttPlug(o: MqttPlugOptions): MqttSwitch {
  return new MqttSwitch({
    type: 'mqtt',
    label: `mqtt ${o.commandTopic}`,
    what: `the MQTT plug on ${o.commandTopic}`,
    commandTopic: o.commandTopic,
    payloadOff: o.payloadOff,
    payloadOn: o.payloadOn,
    stateTopic: o.stateTopic,
    readState: (p) => readConfiguredState(p, o.payloadOff, o.payloadOn),
    noAnswerHint:
      'check that the plug is connected to the broker, and plug_state_topic, plug_payload_off and plug_payload_on',
    mqtt: o.mqtt,
    clock: o.clock,
    confirmTimeoutMs: o.confirmTimeoutMs,
  });
}
