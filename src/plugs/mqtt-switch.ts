/**
 * The agent-timed MQTT switch shared by the `mqtt`, `zigbee2mqtt` and `esphome` (MQTT) drivers:
 * publish the off or on payload to a command topic (never retained) and, when the device reports
 * its state, wait for it to say so. No firmware timer: the agent sends off, waits, sends on — safe
 * only when the plug's control path does not go through the router (docs/plugs.md).
 */
import type { Clock } from '../clock.js';
import { TopicWatch } from './mqtt-port.js';
import type { PlugDriver, PlugMqtt, PlugOutcome, PlugType } from './plug-driver.js';

export interface MqttSwitchOptions {
  type: PlugType;
  /** Shown in logs: the type and the device's name or topic. */
  label: string;
  /** How the device is named in messages, e.g. `Zigbee2MQTT device router_plug`. */
  what: string;
  commandTopic: string;
  payloadOff: string;
  payloadOn: string;
  /** Where the device reports its state; without it a command is sent but never confirmed. */
  stateTopic?: string | undefined;
  /** Reads a state message: 'off' / 'on', or undefined for anything else. */
  readState: (payload: string) => 'on' | 'off' | undefined;
  /** What to check when no state comes back (names config keys). */
  noAnswerHint: string;
  mqtt: PlugMqtt;
  clock: Clock;
  confirmTimeoutMs: number;
}

export class MqttSwitch implements PlugDriver {
  readonly type: PlugType;
  readonly timing = 'agent_timed' as const;
  readonly label: string;
  readonly #o: MqttSwitchOptions;
  readonly #watch: TopicWatch | undefined;

  constructor(o: MqttSwitchOptions) {
    this.#o = o;
    this.type = o.type;
    this.label = o.label;
    this.#watch = o.stateTopic ? new TopicWatch(o.mqtt, [o.stateTopic], o.clock) : undefined;
  }

  off(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch('off', signal);
  }

  on(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch('on', signal);
  }

  close(): void {
    this.#watch?.close();
  }

  async #switch(want: 'on' | 'off', signal: AbortSignal): Promise<PlugOutcome> {
    const { commandTopic, what } = this.#o;
    const payload = want === 'on' ? this.#o.payloadOn : this.#o.payloadOff;
    // Published first (it throws, and nothing is armed, when the broker is away), then armed in
    // the same tick: no message can be handled in between.
    this.#o.mqtt.publish(commandTopic, payload, { qos: 1, retain: false });
    const armed = this.#watch?.arm((_t, p) => (this.#o.readState(p) === want ? true : undefined));
    if (!armed) {
      return {
        confirmed: false,
        message: `Sent ${want} to ${what} (${commandTopic}); not confirmed because no state topic is known — set plug_state_topic to have the agent check.`,
      };
    }
    const seen = await armed.settle(this.#o.confirmTimeoutMs, signal);
    if (seen) {
      return { confirmed: true, message: `${what} switched ${want} (confirmed on ${this.#o.stateTopic}).` };
    }
    const s = Math.round(this.#o.confirmTimeoutMs / 100) / 10;
    return {
      confirmed: false,
      unanswered: true,
      message: `Sent ${want} to ${what} (${commandTopic}) but ${this.#o.stateTopic} did not report ${want} within ${s} s; ${this.#o.noAnswerHint}.`,
    };
  }
}
