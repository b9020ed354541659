import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { HomeAssistantPlug } from '../../src/plugs/homeassistant.js';
import { PlugError } from '../../src/plugs/plug-driver.js';
import { ManualClock } from '../fakes/clock.js';
import { type FakeHomeAssistant, startFakeHomeAssistant } from '../fakes/plugs/home-assistant.js';
import { freePort } from '../helpers/net.js';

const never = new AbortController().signal;
const TIMEOUT_MS = 300;
const http = { timeoutMs: TIMEOUT_MS };
const HA_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.long-lived-ha-token';
const SUPERVISOR_TOKEN = 'supervisor-token-8c1f6e';
const ENTITIES = ['switch.router_plug', 'light.router_lamp', 'input_boolean.router_power'];

async function failure(p: Promise<unknown>): Promise<PlugError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PlugError)) throw new Error(`expected a PlugError, got ${String(err)}`);
  return err;
}

describe('homeassistant plug', () => {
  let fake: FakeHomeAssistant;
  beforeEach(async () => {
    fake = await startFakeHomeAssistant({
      clock: new ManualClock(),
      haToken: HA_TOKEN,
      supervisorToken: SUPERVISOR_TOKEN,
      entities: ENTITIES,
    });
  });
  afterEach(() => fake.close());

  const inAddon = () => ({ env: { SUPERVISOR_TOKEN }, supervisorUrl: fake.url, http });
  const standalone = () => ({ env: {}, haUrl: fake.url, haToken: HA_TOKEN, http });

  it('add-on/through the Supervisor proxy/turn_off then turn_on with the SUPERVISOR_TOKEN', async () => {
    const plug = new HomeAssistantPlug({ entityId: 'switch.router_plug', ...inAddon() });
    expect(plug.timing).toBe('agent_timed');
    expect((await plug.off(never)).confirmed).toBe(true);
    expect(fake.entities.get('switch.router_plug')?.on).toBe(false);
    expect((await plug.on(never)).confirmed).toBe(true);
    expect(fake.entities.get('switch.router_plug')?.on).toBe(true);
    expect(fake.requests.map((r) => [r.method, r.path, r.headers.authorization, r.body])).toEqual([
      [
        'POST',
        '/core/api/services/switch/turn_off',
        `Bearer ${SUPERVISOR_TOKEN}`,
        '{"entity_id":"switch.router_plug"}',
      ],
      [
        'POST',
        '/core/api/services/switch/turn_on',
        `Bearer ${SUPERVISOR_TOKEN}`,
        '{"entity_id":"switch.router_plug"}',
      ],
    ]);
    expect(fake.requests[0]?.headers['content-type']).toBe('application/json');
  });

  it('add-on/SUPERVISOR_URL from the environment/moves the base', async () => {
    const plug = new HomeAssistantPlug({
      entityId: 'switch.router_plug',
      env: { SUPERVISOR_TOKEN, SUPERVISOR_URL: `${fake.url}/` },
      http,
    });
    expect((await plug.off(never)).confirmed).toBe(true);
    expect(fake.requests[0]?.path).toBe('/core/api/services/switch/turn_off');
  });

  it('standalone/ha_url + ha_token/turn_off then turn_on; off then on', async () => {
    const plug = new HomeAssistantPlug({ entityId: 'switch.router_plug', ...standalone() });
    await plug.off(never);
    await plug.on(never);
    expect(fake.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/api/services/switch/turn_off', `Bearer ${HA_TOKEN}`],
      ['/api/services/switch/turn_on', `Bearer ${HA_TOKEN}`],
    ]);
    expect(fake.entities.get('switch.router_plug')?.changes.map((c) => c.on)).toEqual([false, true]);
  });

  it('add-on with ha_url and ha_token set/the explicit Home Assistant wins', async () => {
    const plug = new HomeAssistantPlug({
      entityId: 'switch.router_plug',
      env: { SUPERVISOR_TOKEN },
      supervisorUrl: 'http://127.0.0.1:9',
      haUrl: fake.url,
      haToken: HA_TOKEN,
      http,
    });
    await plug.off(never);
    expect(fake.requests[0]?.path).toBe('/api/services/switch/turn_off');
  });

  it.each([
    ['light.router_lamp', '/api/services/light/turn_off'],
    ['input_boolean.router_power', '/api/services/input_boolean/turn_off'],
  ])('domain from the entity id/%s/%s', async (entityId, path) => {
    await new HomeAssistantPlug({ entityId, ...standalone() }).off(never);
    expect(fake.requests[0]?.path).toBe(path);
    expect(fake.entities.get(entityId)?.on).toBe(false);
  });

  it('wrong ha_token/PLUG_REFUSED naming ha_token, no token in the message', async () => {
    const plug = new HomeAssistantPlug({
      entityId: 'switch.router_plug',
      env: {},
      haUrl: fake.url,
      haToken: 'stale-token-123456',
      http,
    });
    const err = await failure(plug.off(never));
    expect(err.code).toBe('PLUG_REFUSED');
    expect(err.message).toContain('ha_token');
    expect(err.message).not.toContain('stale-token-123456');
    expect(fake.entities.get('switch.router_plug')?.changes).toEqual([]);
  });

  it('add-on token refused/PLUG_REFUSED naming homeassistant_api', async () => {
    const plug = new HomeAssistantPlug({
      entityId: 'switch.router_plug',
      env: { SUPERVISOR_TOKEN: 'not-the-supervisor-token' },
      supervisorUrl: fake.url,
      http,
    });
    const err = await failure(plug.off(never));
    expect(err.code).toBe('PLUG_REFUSED');
    expect(err.message).toContain('homeassistant_api: true');
    expect(err.message).not.toContain('not-the-supervisor-token');
  });

  it('unknown entity/PLUG_BAD_ANSWER naming plug_entity_id', async () => {
    const err = await failure(
      new HomeAssistantPlug({ entityId: 'switch.no_such_plug', ...standalone() }).off(never),
    );
    expect(err.code).toBe('PLUG_BAD_ANSWER');
    expect(err.message).toContain('HTTP 400');
    expect(err.message).toContain('plug_entity_id');
    expect(err.message).not.toContain(HA_TOKEN);
  });

  it('Core down behind the Supervisor/PLUG_UNREACHABLE saying Home Assistant is not running', async () => {
    fake.settings.coreDown = true;
    const err = await failure(
      new HomeAssistantPlug({ entityId: 'switch.router_plug', ...inAddon() }).off(never),
    );
    expect(err.code).toBe('PLUG_UNREACHABLE');
    expect(err.message).toContain('Home Assistant is not running');
  });

  it('hung/PLUG_TIMEOUT within the deadline', async () => {
    fake.hang = true;
    const started = performance.now();
    const err = await failure(
      new HomeAssistantPlug({ entityId: 'switch.router_plug', ...standalone() }).off(never),
    );
    expect(err.code).toBe('PLUG_TIMEOUT');
    expect(err.message).toContain('ha_url');
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
  });

  it('offline (closed port)/PLUG_UNREACHABLE', async () => {
    const port = await freePort();
    const plug = new HomeAssistantPlug({
      entityId: 'switch.router_plug',
      env: {},
      haUrl: `http://127.0.0.1:${port}`,
      haToken: HA_TOKEN,
      http,
    });
    const err = await failure(plug.on(never));
    expect(err.code).toBe('PLUG_UNREACHABLE');
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('neither the add-on nor ha_url/ConfigError naming ha_url', () => {
    expect(() => new HomeAssistantPlug({ entityId: 'switch.router_plug', env: {}, http })).toThrow(
      ConfigError,
    );
    expect(() => new HomeAssistantPlug({ entityId: 'switch.router_plug', env: {}, http })).toThrow(/ha_url/);
  });

  it('not an entity id/ConfigError naming plug_entity_id', () => {
    expect(() => new HomeAssistantPlug({ entityId: 'router plug', ...standalone() })).toThrow(
      /plug_entity_id/,
    );
  });
});
