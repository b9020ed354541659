/**
 * Tasmota over MQTT (self-timed): one Backlog does the whole cycle, so the plug switches itself back
 * on even when the router it powers carried the command and is now off.
 *
 * Checked against the Tasmota Commands page (https://tasmota.github.io/docs/Commands/):
 * - `Backlog` runs up to 30 `;`-separated commands in order; `Backlog` without a payload clears the
 *   queue, so it is never sent while a cycle runs.
 * - `Delay` takes `2..3600` tenths of a second (at most 6 minutes per Delay); longer offs chain
 *   several Delays in the same Backlog.
 * - `Power` / `Power1` both switch the first relay; the device answers on `stat/<topic>/RESULT`
 *   (`{"POWER":"OFF"}`, or `{"POWER1":"OFF"}` on multi-relay devices) and on `stat/<topic>/POWER`
 *   (or `POWER1`) with the bare state.
 * - `PowerOnState 5` + `PulseTime` make the plug switch itself on after an off (docs/plugs.md).
 *
 * Commands are never retained: a retained Backlog would power-cycle the router again each time the
 * plug reconnects to the broker.
 */
import type { Clock } from '../clock.js';
import { TopicWatch } from './mqtt-port.js';
import type { PlugDriver, PlugMqtt, PlugOutcome } from './plug-driver.js';

/** Tenths of a second one Delay may hold. */
export const MAX_DELAY_TENTHS = 3600;
/** Commands one Backlog may hold (Tasmota's limit); two are the Power commands. */
const MAX_BACKLOG_COMMANDS = 30;

/**
 * The Backlog payload for an off of `offSeconds`:
 * `Power Off; Delay 300; Power On` for 30 s, `Power Off; Delay 3600; Delay 1200; Power On` for 480 s.
 */
export function tasmotaCycleBacklog(offSeconds: number): string {
  const maxSeconds = ((MAX_BACKLOG_COMMANDS - 2) * MAX_DELAY_TENTHS) / 10;
  if (!Number.isFinite(offSeconds) || offSeconds <= 0 || offSeconds > maxSeconds) {
    throw new RangeError(
      `A Tasmota power cycle needs an off time between 0.2 and ${maxSeconds} seconds (got ${offSeconds}); set power_off_seconds within that range.`,
    );
  }
  let tenths = Math.max(2, Math.round(offSeconds * 10));
  const delays: number[] = [];
  while (tenths > 0) {
    let chunk = Math.min(MAX_DELAY_TENTHS, tenths);
    // Never leave a remainder below Delay's minimum of 2.
    if (tenths - chunk === 1) chunk -= 1;
    delays.push(chunk);
    tenths -= chunk;
  }
  return ['Power Off', ...delays.map((d) => `Delay ${d}`), 'Power On'].join('; ');
}

export type TasmotaPower = 'ON' | 'OFF';

/**
 * The first relay's state in a message on stat/<topic>/RESULT (`{"POWER":"OFF"}` or
 * `{"POWER1":"OFF"}`) or stat/<topic>/POWER[1] (`OFF`); undefined for anything else.
 */
export function tasmotaPowerIn(topic: string, payload: string): TasmotaPower | undefined {
  let raw: unknown;
  if (topic.endsWith('/RESULT')) {
    const json = JSON.parse(payload) as unknown;
    if (typeof json !== 'object' || json === null) return undefined;
    const o = json as Record<string, unknown>;
    raw = o.POWER ?? o.POWER1;
  } else if (topic.endsWith('/POWER') || topic.endsWith('/POWER1')) {
    raw = payload;
  }
  if (typeof raw !== 'string') return undefined;
  const v = raw.trim().toUpperCase();
  return v === 'ON' || v === 'OFF' ? v : undefined;
}

export interface TasmotaPlugOptions {
  /** plug_topic: the device's %topic% (e.g. tasmota_1A2B3C). */
  topic: string;
  mqtt: PlugMqtt;
  clock: Clock;
  /** How long to wait for the plug's stat/… answer before calling the command unconfirmed. */
  confirmTimeoutMs: number;
}

export class TasmotaPlug implements PlugDriver {
  readonly type = 'tasmota' as const;
  readonly timing = 'self_timed' as const;
  readonly label: string;
  readonly #o: TasmotaPlugOptions;
  readonly #watch: TopicWatch;

  constructor(o: TasmotaPlugOptions) {
    this.#o = o;
    this.label = `tasmota ${o.topic}`;
    const stat = `stat/${o.topic}`;
    this.#watch = new TopicWatch(o.mqtt, [`${stat}/RESULT`, `${stat}/POWER`, `${stat}/POWER1`], o.clock);
  }

  async cycle(offSeconds: number, signal: AbortSignal): Promise<PlugOutcome> {
    const backlog = tasmotaCycleBacklog(offSeconds);
    const topic = `cmnd/${this.#o.topic}/Backlog`;
    const seen = await this.#send(topic, backlog, 'OFF', signal);
    if (seen) {
      return {
        confirmed: true,
        message: `Tasmota plug ${this.#o.topic} switched off (it answered ${seen}); its own Backlog switches it back on after ${offSeconds} s.`,
      };
    }
    return {
      confirmed: false,
      message: `Sent the power cycle to Tasmota plug ${this.#o.topic} (${topic}) but no stat/${this.#o.topic}/RESULT or POWER came back within ${this.#seconds()} s. The plug may sit behind the router that is down; if it got the command it switches back on by itself after ${offSeconds} s. If the router stays off, check the plug's MQTT connection and plug_topic.`,
    };
  }

  off(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch('OFF', signal);
  }

  on(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch('ON', signal);
  }

  close(): void {
    this.#watch.close();
  }

  async #switch(state: TasmotaPower, signal: AbortSignal): Promise<PlugOutcome> {
    const topic = `cmnd/${this.#o.topic}/Power`;
    const seen = await this.#send(topic, state, state, signal);
    const word = state.toLowerCase();
    return seen
      ? { confirmed: true, message: `Tasmota plug ${this.#o.topic} switched ${word} (it answered ${seen}).` }
      : {
          confirmed: false,
          unanswered: true,
          message: `Sent "${state}" to Tasmota plug ${this.#o.topic} (${topic}) but no stat/${this.#o.topic}/RESULT or POWER came back within ${this.#seconds()} s; check that the plug is connected to the broker and plug_topic.`,
        };
  }

  /** Publishes (never retained) and waits for the relay to report `want`; returns where it was seen. */
  async #send(
    topic: string,
    payload: string,
    want: TasmotaPower,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    // Published first (it throws, and nothing is armed, when the broker is away), then armed in
    // the same tick: no message can be handled in between.
    this.#o.mqtt.publish(topic, payload, { qos: 1, retain: false });
    const armed = this.#watch.arm((t, p) =>
      tasmotaPowerIn(t, p) === want ? `${p.trim().slice(0, 40)} on ${t}` : undefined,
    );
    return armed.settle(this.#o.confirmTimeoutMs, signal);
  }

  #seconds(): string {
    return String(Math.round(this.#o.confirmTimeoutMs / 100) / 10);
  }
}
