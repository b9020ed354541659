/**
 * An ESPHome switch (agent-timed). `plug_topic` is `<node>/<switch>`: the node's MQTT topic prefix
 * (its name unless `topic_prefix` is set) and the switch's object id (its name in snake_case).
 *
 * Which API: ESPHome offers three. The native API (encrypted protobuf) needs a Noise handshake and
 * a client library — too much for one on/off. This driver uses:
 * - MQTT (default; the device's `mqtt:` component): `ON` / `OFF` to
 *   `<node>/switch/<switch>/command`, confirmed by `<node>/switch/<switch>/state`. Checked against
 *   the MQTT Client Component (https://esphome.io/components/mqtt.html): default topics are
 *   `<topic_prefix>/<component_type>/<object_id>/command|state` with payloads ON/OFF.
 * - the web server REST API, when `plug_url` is set (the device's `web_server:` component):
 *   `POST <plug_url>/switch/<switch>/turn_off` (or `turn_on`), 200 = done, with optional HTTP Basic
 *   login (`web_server: auth:`; a Digest challenge is answered too). Checked against the Web Server
 *   API (https://esphome.io/web-api/).
 *
 * Neither has a firmware timer: the agent switches on again. docs/plugs.md shows an ESPHome
 * script that does the whole cycle on the device as a safety net.
 */
import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import {
  type Credentials,
  endpoint,
  loginSecrets,
  type PlugHttpDeps,
  type PlugHttpRequest,
  type PlugUrl,
  pickCredentials,
  plugHttpWithAuth,
  plugUrl,
  statusError,
} from './http-call.js';
import { MqttSwitch } from './mqtt-switch.js';
import type { PlugDriver, PlugMqtt, PlugOutcome } from './plug-driver.js';

/** `<node>/<switch>` → node prefix and switch object id (the prefix may itself contain `/`). */
export function splitEsphomeTopic(plugTopic: string): { node: string; object: string } {
  const cut = plugTopic.lastIndexOf('/');
  const node = cut > 0 ? plugTopic.slice(0, cut) : '';
  const object = plugTopic.slice(cut + 1);
  if (node === '' || object === '') {
    throw new ConfigError([
      `plug_topic: "${plugTopic}" is not <node>/<switch> — give the ESPHome node and switch, e.g. router-plug/relay`,
    ]);
  }
  return { node, object };
}

export function esphomeState(payload: string): 'on' | 'off' | undefined {
  const v = payload.trim().toUpperCase();
  return v === 'ON' ? 'on' : v === 'OFF' ? 'off' : undefined;
}

export interface EsphomeMqttOptions {
  /** plug_topic: `<node>/<switch>`. */
  topic: string;
  mqtt: PlugMqtt;
  clock: Clock;
  confirmTimeoutMs: number;
}

export function esphomeMqttPlug(o: EsphomeMqttOptions): MqttSwitch {
  const { node, object } = splitEsphomeTopic(o.topic);
  const base = `${node}/switch/${object}`;
  return new MqttSwitch({
    type: 'esphome',
    label: `esphome ${o.topic}`,
    what: `ESPHome switch ${object} on ${node}`,
    commandTopic: `${base}/command`,
    payloadOff: 'OFF',
    payloadOn: 'ON',
    stateTopic: `${base}/state`,
    readState: esphomeState,
    noAnswerHint:
      'check that the node has the mqtt: component on this broker and that plug_topic is <topic_prefix>/<switch object id>; or set plug_url to use its web server instead',
    mqtt: o.mqtt,
    clock: o.clock,
    confirmTimeoutMs: o.confirmTimeoutMs,
  });
}

export interface EsphomeRestOptions {
  /** plug_url: the node's web server, e.g. http://router-plug.local. */
  url: string;
  /** plug_topic: `<node>/<switch>` or just `<switch>`; only the switch part is used here. */
  topic: string;
  username?: string | undefined;
  password?: string | undefined;
  http: PlugHttpDeps;
}

const HINTS = {
  refused: 'plug_username and plug_password (the web_server auth of the ESPHome node)',
  missing: 'set plug_username and plug_password to the web_server auth of the ESPHome node',
};

export class EsphomeRestPlug implements PlugDriver {
  readonly type = 'esphome' as const;
  readonly timing = 'agent_timed' as const;
  readonly label: string;
  readonly #base: PlugUrl;
  readonly #object: string;
  readonly #credentials: Credentials | undefined;
  readonly #http: PlugHttpDeps;

  constructor(o: EsphomeRestOptions) {
    this.#base = plugUrl(o.url, 'plug_url');
    this.#object = o.topic.slice(o.topic.lastIndexOf('/') + 1);
    if (this.#object === '') {
      throw new ConfigError(['plug_topic: give the ESPHome switch, e.g. router-plug/relay']);
    }
    this.#credentials = pickCredentials(o.username, o.password, this.#base.credentials, 'admin');
    this.#http = o.http;
    this.label = `esphome ${this.#base.shown} ${this.#object}`;
  }

  off(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch('off', signal);
  }

  on(signal: AbortSignal): Promise<PlugOutcome> {
    return this.#switch('on', signal);
  }

  async #switch(want: 'on' | 'off', signal: AbortSignal): Promise<PlugOutcome> {
    const url = endpoint(this.#base.url, `/switch/${encodeURIComponent(this.#object)}/turn_${want}`);
    const req: PlugHttpRequest = {
      method: 'POST',
      url,
      what: `The ESPHome node at ${this.#base.shown}`,
      urlKey: 'plug_url',
    };
    const answer = await plugHttpWithAuth(req, this.#credentials, HINTS, this.#http, signal, {
      preemptiveBasic: true,
    });
    const secrets = loginSecrets(this.#credentials);
    if (answer.status === 404) {
      throw statusError(
        answer,
        req,
        `it has no switch "${this.#object}"; set plug_topic to <node>/<switch object id> as the node's web page lists it`,
        secrets,
      );
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw statusError(answer, req, 'check the node and plug_url', secrets);
    }
    return {
      confirmed: true,
      message: `ESPHome switch ${this.#object} at ${this.#base.shown} switched ${want}.`,
    };
  }
}
