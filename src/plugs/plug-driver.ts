/**
 * The PlugDriver port: one small interface every smart-plug type implements, one file per type
 * beside this one. Drivers only talk to their device; when to cycle is decided by the pure
 * recovery policy (src/domain/recovery-policy.ts) and carried out by the watchdog service.
 *
 * Two kinds of plug (SPEC §5):
 * - `self_timed`: one command that the plug completes by itself (Tasmota Backlog with Delay, Shelly
 *   Gen1 `timer`, Shelly Gen2 `toggle_after`). The plug usually powers the router we reach it
 *   through, so the agent cannot count on sending the "on" half itself.
 * - `agent_timed`: the agent sends off, waits, sends on (ESPHome, zigbee2mqtt, Home Assistant, HTTP,
 *   MQTT). Only safe when the plug's control path does not depend on the router.
 */

export type PlugType =
  | 'tasmota'
  | 'shelly'
  | 'shelly_rpc'
  | 'esphome'
  | 'zigbee2mqtt'
  | 'homeassistant'
  | 'http'
  | 'mqtt';

export type PlugTiming = 'self_timed' | 'agent_timed';

/** What a plug command achieved. */
export interface PlugOutcome {
  /** The device acknowledged the command (a RESULT/POWER message, an HTTP 2xx with the expected body). */
  readonly confirmed: boolean;
  /** What happened, for the event and the log (no secrets, no URLs with credentials). */
  readonly message: string;
  /**
   * The driver waited for the device's state report and none came: the command may not have
   * reached it. An unanswered `on` is sent again a few times (src/watchdog/cycle.ts).
   */
  readonly unanswered?: boolean;
}

export interface PlugDriver {
  readonly type: PlugType;
  readonly timing: PlugTiming;
  /** How the plug is named in logs and events: never a password or a URL's user info or query. */
  readonly label: string;
  /**
   * `self_timed` only: switch off now and have the plug itself switch back on after `offSeconds`.
   * Resolves once the command was sent (and confirmed, when the device confirms in time).
   */
  cycle?(offSeconds: number, signal: AbortSignal): Promise<PlugOutcome>;
  /** Switch the plug off (agent_timed cycles). */
  off(signal: AbortSignal): Promise<PlugOutcome>;
  /** Switch the plug on: the second half of an agent_timed cycle, and the first act after a restart mid-cycle. */
  on(signal: AbortSignal): Promise<PlugOutcome>;
  /** Releases subscriptions and sockets. */
  close?(): void;
}

/** The MQTT side a driver needs: publish (never retained) and subscribe with an unsubscribe. */
export interface PlugMqtt {
  /**
   * Sends now, or throws a PlugError (PLUG_UNREACHABLE) when the broker is not connected: a plug
   * command is never queued for later — an `off` delivered when the broker is back, after the
   * cycle was given up, would cut the router's power for no reason (or leave it off).
   */
  publish(topic: string, payload: string, options: { qos: 0 | 1; retain: false }): void;
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void): () => void;
}

/** A plug command that failed: one of the agent's errors (src/errors.ts), re-exported for the drivers. */
export { PlugError } from '../errors.js';
