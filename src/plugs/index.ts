/**
 * Builds the configured plug driver (`plug_type`) from config-like options. The agent calls
 * `createPlug` once at start; the drivers only talk to their device (src/plugs/plug-driver.ts).
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { EsphomeRestPlug, esphomeMqttPlug } from './esphome.js';
import { HomeAssistantPlug } from './homeassistant.js';
import { HttpPlug } from './http-plug.js';
import { mqttPlug } from './mqtt-plug.js';
import type { PlugDriver, PlugMqtt } from './plug-driver.js';
import { ShellyPlug } from './shelly.js';
import { ShellyRpcPlug } from './shelly-rpc.js';
import { TasmotaPlug } from './tasmota.js';
import { zigbee2mqttPlug } from './zigbee2mqtt.js';

export { plugMqttOver } from './mqtt-port.js';
export type { PlugDriver, PlugMqtt, PlugOutcome, PlugTiming, PlugType } from './plug-driver.js';
export { PlugError } from './plug-driver.js';

/** The plug keys of the configuration (SPEC §2); the validated Config fits this shape. */
export interface PlugConfig {
  plug_type: string;
  plug_topic?: string | undefined;
  plug_url?: string | undefined;
  plug_entity_id?: string | undefined;
  plug_off_url?: string | undefined;
  plug_on_url?: string | undefined;
  plug_method?: string | undefined;
  plug_command_topic?: string | undefined;
  plug_payload_off?: string | undefined;
  plug_payload_on?: string | undefined;
  plug_state_topic?: string | undefined;
  plug_username?: string | undefined;
  plug_password?: string | undefined;
  ha_url?: string | undefined;
  ha_token?: string | undefined;
  /** Deadline of each plug HTTP request, and how long to wait for an MQTT plug's answer. */
  http_timeout_ms: number;
}

export interface PlugDeps {
  clock: Clock;
  /** Required for tasmota, zigbee2mqtt, mqtt and esphome without plug_url. */
  mqtt?: PlugMqtt | undefined;
  dispatcher?: Dispatcher | undefined;
  /** SUPERVISOR_TOKEN / SUPERVISOR_URL. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides the Supervisor's base URL (tests). */
  supervisorUrl?: string | undefined;
}

function need(c: PlugConfig, key: keyof PlugConfig, fix: string): string {
  const v = c[key];
  if (typeof v !== 'string' || v.trim() === '') {
    throw new ConfigError([`${key}: is not set, but plug_type is ${c.plug_type} — ${fix}`]);
  }
  return v;
}

function mqttOf(c: PlugConfig, deps: PlugDeps): PlugMqtt {
  if (!deps.mqtt) {
    throw new ConfigError([
      `plug_type: ${c.plug_type} switches the plug over MQTT, but the agent has no MQTT connection — set mqtt_url (or use a plug type that speaks HTTP)`,
    ]);
  }
  return deps.mqtt;
}

/** The driver for `plug_type`, or null for `none`. Throws ConfigError when a needed key is missing. */
export function createPlug(c: PlugConfig, deps: PlugDeps): PlugDriver | null {
  const http = {
    timeoutMs: c.http_timeout_ms,
    ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
  };
  const wait = { clock: deps.clock, confirmTimeoutMs: c.http_timeout_ms };
  const auth = { username: c.plug_username, password: c.plug_password };
  switch (c.plug_type) {
    case 'none':
    case '':
      return null;
    case 'tasmota':
      return new TasmotaPlug({
        topic: need(c, 'plug_topic', "give the plug's Tasmota topic, e.g. tasmota_1A2B3C"),
        mqtt: mqttOf(c, deps),
        ...wait,
      });
    case 'shelly':
      return new ShellyPlug({
        url: need(c, 'plug_url', "give the plug's address, e.g. http://192.168.1.50"),
        ...auth,
        http,
      });
    case 'shelly_rpc':
      return new ShellyRpcPlug({
        url: need(c, 'plug_url', "give the plug's address, e.g. http://192.168.1.50"),
        ...auth,
        http,
      });
    case 'esphome': {
      const topic = need(c, 'plug_topic', 'give the ESPHome node and switch, e.g. router-plug/relay');
      if (c.plug_url) return new EsphomeRestPlug({ url: c.plug_url, topic, ...auth, http });
      return esphomeMqttPlug({ topic, mqtt: mqttOf(c, deps), ...wait });
    }
    case 'zigbee2mqtt':
      return zigbee2mqttPlug({
        friendlyName: need(c, 'plug_topic', "give the plug's Zigbee2MQTT friendly name, e.g. router_plug"),
        mqtt: mqttOf(c, deps),
        ...wait,
      });
    case 'homeassistant':
      return new HomeAssistantPlug({
        entityId: need(c, 'plug_entity_id', 'give the switch entity, e.g. switch.router_plug'),
        haUrl: c.ha_url,
        haToken: c.ha_token,
        env: deps.env ?? process.env,
        supervisorUrl: deps.supervisorUrl,
        http,
      });
    case 'http':
      return new HttpPlug({
        offUrl: need(c, 'plug_off_url', 'give the URL that turns the plug off'),
        onUrl: need(c, 'plug_on_url', 'give the URL that turns the plug on'),
        method: c.plug_method || 'GET',
        ...auth,
        http,
      });
    case 'mqtt':
      return mqttPlug({
        commandTopic: need(
          c,
          'plug_command_topic',
          'give the topic the plug listens on, e.g. plugs/router/set',
        ),
        payloadOff: c.plug_payload_off || 'OFF',
        payloadOn: c.plug_payload_on || 'ON',
        stateTopic: c.plug_state_topic || undefined,
        mqtt: mqttOf(c, deps),
        ...wait,
      });
    default:
      throw new ConfigError([
        `plug_type: "${c.plug_type}" is not a plug type — use tasmota, shelly, shelly_rpc, esphome, zigbee2mqtt, homeassistant, http, mqtt or none`,
      ]);
  }
}
