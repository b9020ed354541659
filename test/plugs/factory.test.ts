import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createPlug, type PlugConfig } from '../../src/plugs/index.js';
import type { PlugMqtt } from '../../src/plugs/plug-driver.js';
import { ManualClock } from '../fakes/clock.js';
import { startFakeHomeAssistant } from '../fakes/plugs/home-assistant.js';

const PASSWORD = 'Pl4g-Secret-Pw';
const HA_TOKEN = 'ha-long-lived-token-0123456789';

/** A PlugMqtt that only records (a stand-in for the broker, not for a driver). */
function recordingMqtt(): PlugMqtt & { subscriptions: string[] } {
  const subscriptions: string[] = [];
  return {
    subscriptions,
    publish: () => {},
    subscribe: (filter) => {
      subscriptions.push(filter);
      return () => {};
    },
  };
}

const base: PlugConfig = {
  plug_type: 'none',
  http_timeout_ms: 500,
  plug_password: PASSWORD,
  ha_token: HA_TOKEN,
};

describe('createPlug', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('none/no driver', () => {
    expect(createPlug(base, { clock: new ManualClock() })).toBeNull();
  });

  it.each([
    [
      'tasmota',
      { plug_topic: 'tasmota_1A2B3C' },
      'self_timed',
      'tasmota tasmota_1A2B3C',
      ['stat/tasmota_1A2B3C/RESULT', 'stat/tasmota_1A2B3C/POWER', 'stat/tasmota_1A2B3C/POWER1'],
    ],
    [
      'shelly',
      { plug_url: `http://admin:${PASSWORD}@192.0.2.50/` },
      'self_timed',
      'shelly http://192.0.2.50',
      [],
    ],
    ['shelly_rpc', { plug_url: 'http://192.0.2.51' }, 'self_timed', 'shelly_rpc http://192.0.2.51', []],
    [
      'esphome',
      { plug_topic: 'router-plug/relay' },
      'agent_timed',
      'esphome router-plug/relay',
      ['router-plug/switch/relay/state'],
    ],
    [
      'esphome',
      { plug_topic: 'router-plug/relay', plug_url: 'http://192.0.2.52' },
      'agent_timed',
      'esphome http://192.0.2.52 relay',
      [],
    ],
    [
      'zigbee2mqtt',
      { plug_topic: 'router_plug' },
      'agent_timed',
      'zigbee2mqtt router_plug',
      ['zigbee2mqtt/router_plug'],
    ],
    [
      'homeassistant',
      { plug_entity_id: 'switch.router_plug', ha_url: 'http://192.0.2.8:8123' },
      'agent_timed',
      'homeassistant switch.router_plug',
      [],
    ],
    [
      'http',
      { plug_off_url: 'http://192.0.2.53/hook/off?key=QueryKey', plug_on_url: 'http://192.0.2.53/on' },
      'agent_timed',
      'http http://192.0.2.53',
      [],
    ],
    [
      'mqtt',
      { plug_command_topic: 'plugs/router/set', plug_state_topic: 'plugs/router/state' },
      'agent_timed',
      'mqtt plugs/router/set',
      ['plugs/router/state'],
    ],
  ] as const)(
    '%s/%j/built with its timing; the label holds no secret',
    (type, keys, timing, label, subscribed) => {
      const mqtt = recordingMqtt();
      const plug = createPlug(
        { ...base, plug_type: type, ...keys },
        { clock: new ManualClock(), mqtt, env: {} },
      );
      expect(plug).toMatchObject({ type, timing, label });
      for (const secret of [PASSWORD, HA_TOKEN, 'QueryKey', 'hook'])
        expect(plug?.label).not.toContain(secret);
      expect(typeof plug?.cycle === 'function').toBe(timing === 'self_timed');
      expect(mqtt.subscriptions).toEqual(subscribed);
      plug?.close?.();
    },
  );

  it.each([
    ['tasmota', 'plug_topic'],
    ['shelly', 'plug_url'],
    ['shelly_rpc', 'plug_url'],
    ['esphome', 'plug_topic'],
    ['zigbee2mqtt', 'plug_topic'],
    ['homeassistant', 'plug_entity_id'],
    ['http', 'plug_off_url'],
    ['mqtt', 'plug_command_topic'],
  ])('%s without %s/ConfigError naming the key', (type, key) => {
    const build = () =>
      createPlug({ ...base, plug_type: type }, { clock: new ManualClock(), mqtt: recordingMqtt() });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(new RegExp(`^${key}: is not set, but plug_type is ${type}`));
  });

  it.each(['tasmota', 'zigbee2mqtt', 'mqtt'])(
    '%s without an MQTT connection/ConfigError saying to set mqtt_url',
    (type) => {
      const keys = { plug_topic: 'x', plug_command_topic: 'x/set' };
      expect(() => createPlug({ ...base, plug_type: type, ...keys }, { clock: new ManualClock() })).toThrow(
        /mqtt_url/,
      );
    },
  );

  it('unknown type/ConfigError listing the types', () => {
    expect(() => createPlug({ ...base, plug_type: 'kasa' }, { clock: new ManualClock() })).toThrow(
      /not a plug type — use tasmota, shelly/,
    );
  });

  it('homeassistant in the add-on/SUPERVISOR_TOKEN from env and the injected Supervisor URL', async () => {
    const clock = new ManualClock();
    const fake = await startFakeHomeAssistant({
      clock,
      haToken: HA_TOKEN,
      supervisorToken: 'sup-token',
      entities: ['switch.router_plug'],
    });
    cleanups.push(() => fake.close());
    const plug = createPlug(
      { ...base, plug_type: 'homeassistant', plug_entity_id: 'switch.router_plug', ha_token: undefined },
      { clock, env: { SUPERVISOR_TOKEN: 'sup-token' }, supervisorUrl: fake.url },
    );
    const never = new AbortController().signal;
    await plug?.off(never);
    await plug?.on(never);
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/core/api/services/switch/turn_off',
      '/core/api/services/switch/turn_on',
    ]);
    expect(fake.entities.get('switch.router_plug')?.changes.map((c) => c.on)).toEqual([false, true]);
  });
});
