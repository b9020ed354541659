/** SPEC §2 "Recovery": power-cycling the router through a smart plug. */
import { bool, int, oneOf, text, topic, url } from '../builders.js';
import { entityId, payload } from '../fields.js';
import type { Section } from '../key-spec.js';
import { secret } from '../secrets.js';

const HTTP = ['http', 'https'] as const;

export const RECOVERY = {
  id: 'recovery',
  title: 'Recovery (power-cycling the router through a smart plug)',
  notes: '[docs/plugs.md](plugs.md) shows the keys each plug type needs, with its exact commands.',
  keys: {
    recovery_enabled: {
      schema: bool(),
      default: false,
      label: 'Recovery enabled',
      allowed: 'boolean',
      doc: 'Opt-in; needs a `plug_type`. Can be switched at runtime, and that choice persists.',
    },
    plug_type: {
      schema: oneOf([
        'none',
        'tasmota',
        'shelly',
        'shelly_rpc',
        'esphome',
        'zigbee2mqtt',
        'homeassistant',
        'http',
        'mqtt',
      ]),
      default: 'none',
      label: 'Plug type',
      allowed:
        '`none`, `tasmota`, `shelly`, `shelly_rpc`, `esphome`, `zigbee2mqtt`, `homeassistant`, `http`, `mqtt`',
      doc: 'The smart plug the router is powered through; each type needs its own keys below.',
    },
    plug_topic: {
      schema: topic("give the plug's topic or name, e.g. tasmota_1A2B3C"),
      label: 'Plug topic',
      allowed: 'topic without `+`/`#`',
      doc: 'Tasmota topic, ESPHome node/switch, Zigbee2MQTT friendly name, e.g. `tasmota_1A2B3C`. Required for those types.',
    },
    plug_url: {
      schema: url({
        schemes: HTTP,
        example: 'http://192.168.1.50',
        passwordKey: 'plug_password',
        trimSlash: true,
      }),
      label: 'Plug URL',
      allowed: 'http(s) URL',
      doc: 'Shelly base URL, e.g. `http://192.168.1.50`. Required for `shelly`/`shelly_rpc`.',
    },
    plug_entity_id: {
      schema: entityId(),
      label: 'Plug entity',
      allowed: 'entity id, e.g. `switch.router_plug`',
      doc: 'The Home Assistant switch the router is plugged into. Required for `homeassistant`.',
    },
    plug_off_url: {
      schema: url({ schemes: HTTP, example: 'http://192.168.1.50/off', passwordKey: 'plug_password' }),
      label: 'Plug off URL',
      allowed: 'http(s) URL',
      doc: 'URL that turns the plug off, e.g. `http://192.168.1.50/cm?cmnd=Power%20Off`. Required for `http`.',
    },
    plug_on_url: {
      schema: url({ schemes: HTTP, example: 'http://192.168.1.50/on', passwordKey: 'plug_password' }),
      label: 'Plug on URL',
      allowed: 'http(s) URL',
      doc: 'URL that turns the plug on. Required for `http`.',
    },
    plug_method: {
      schema: oneOf(['GET', 'POST', 'PUT', 'PATCH'], (s) => s.toUpperCase()),
      default: 'GET',
      label: 'Plug HTTP method',
      allowed: '`GET`, `POST`, `PUT`, `PATCH`',
      doc: 'Method for the `http` plug; `GET` is what most plug HTTP APIs (Tasmota `cm?cmnd=`, Shelly, myStrom) expect.',
    },
    plug_command_topic: {
      schema: topic('give the topic the plug listens on, e.g. plugs/router/set'),
      label: 'Plug command topic',
      allowed: 'topic without `+`/`#`',
      doc: 'Topic the `mqtt` plug listens on, e.g. `plugs/router/set`. Required for `mqtt`.',
    },
    plug_payload_off: {
      schema: payload('OFF'),
      default: 'OFF',
      label: 'Plug off payload',
      allowed: 'text',
      doc: 'Payload that turns the `mqtt` plug off.',
    },
    plug_payload_on: {
      schema: payload('ON'),
      default: 'ON',
      label: 'Plug on payload',
      allowed: 'text',
      doc: 'Payload that turns the `mqtt` plug on.',
    },
    plug_state_topic: {
      schema: topic('give the topic the plug reports its state on, e.g. plugs/router/state'),
      label: 'Plug state topic',
      allowed: 'topic without `+`/`#`',
      doc: 'Optional state topic of the `mqtt` plug, e.g. `plugs/router/state`.',
    },
    plug_username: {
      schema: text("give the plug's user name, or remove the key"),
      label: 'Plug user name',
      allowed: 'text',
      doc: 'User name for a plug that asks for one (Shelly, `http`).',
    },
    plug_password: {
      schema: secret('plug_password'),
      label: 'Plug password',
      allowed: 'text (secret)',
      doc: 'Password for a plug that asks for one (Shelly, `http`).',
    },
    ha_url: {
      schema: url({ schemes: HTTP, example: 'http://homeassistant.local:8123', trimSlash: true }),
      label: 'Home Assistant URL',
      allowed: 'http(s) URL',
      doc: 'Home Assistant, outside the add-on, e.g. `http://homeassistant.local:8123`. Required with `homeassistant` outside the add-on.',
    },
    ha_token: {
      schema: secret('ha_token'),
      label: 'Home Assistant token',
      allowed: 'long-lived access token (secret)',
      doc: 'A long-lived access token created in Home Assistant (your profile → Security). Required with `homeassistant` outside the add-on. Placeholders are rejected.',
    },
    power_off_seconds: {
      schema: int(1, 3600),
      default: 30,
      label: 'Power-off time (seconds)',
      allowed: '1..3600',
      doc: 'How long the plug stays off.',
    },
    wan_down_after_seconds: {
      schema: int(10, 86400),
      default: 180,
      label: 'WAN down before a cycle (seconds)',
      allowed: '10..86400',
      doc: 'WAN down (router up) this long before a cycle; also the first wait between cycles.',
    },
    boot_grace_seconds: {
      schema: int(0, 86400),
      default: 600,
      label: 'Boot grace (seconds)',
      allowed: '0..86400',
      doc: 'No judgement for this long after a cycle, while the router boots.',
    },
    max_power_cycles: {
      schema: int(0, 100),
      default: 3,
      label: 'Power cycles per window',
      allowed: '0..100',
      doc: 'Budget of cycles per window; between cycles the wait doubles.',
    },
    power_cycle_window_hours: {
      schema: int(1, 720),
      default: 24,
      label: 'Power-cycle window (hours)',
      allowed: '1..720',
      doc: 'The window `max_power_cycles` counts in.',
    },
    recover_when_router_down: {
      schema: bool(),
      default: false,
      label: 'Recover when the router is down',
      allowed: 'boolean',
      doc: 'Also cycle when the router itself does not answer.',
    },
  },
} satisfies Section;
