/**
 * The add-on's options and schema (config.yaml) against the agent's own configuration (src/config):
 * every key is there with a type the Supervisor checks the way the agent does, every default shown
 * is the agent's default, and what the Supervisor writes to /data/options.json loads into the same
 * configuration as leaving the option out — whatever else the user sets.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CONFIG_KEYS, DEFAULTS, listConfigKeys, parseConfig, SECRET_KEYS } from '../../src/config/schema.js';
import { ConfigError } from '../../src/errors.js';
import { URL_KEYS } from '../../src/redact.js';
import { ADDON_FIXED_KEYS, readManifest } from './repo.js';
import { checkOptions, type Element, parseElement } from './supervisor-options.js';

const manifest = readManifest();
const schemaKeys = Object.keys(manifest.schema);
const defaults = DEFAULTS as Readonly<Record<string, unknown>>;

/** The element of a key's type (a list's element for lists). */
function element(key: string): { el: Element; list: boolean } {
  const node = manifest.schema[key];
  const text = Array.isArray(node) ? node[0] : node;
  if (typeof text !== 'string') throw new Error(`${key}: nested schema`);
  const el = parseElement(text);
  if (el === undefined) throw new Error(`${key}: '${text}' is not a schema type`);
  return { el, list: Array.isArray(node) };
}

const LOOPBACK_SOURCES = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:9/ip${i}`);

/** Values other keys need for a key's own value to be judged alone (SPEC §2 ties some keys together). */
const CONTEXT: Readonly<Record<string, Record<string, unknown>>> = {
  jitter_seconds: { interval_seconds: 86400 },
  ip_quorum: { ip_sources: LOOPBACK_SOURCES },
  recovery_enabled: { plug_type: 'tasmota', plug_topic: 'tasmota_1A2B3C' },
};

let caFile = '';

/** A value the agent accepts, for each key whose type does not say it (text, URLs, lists). */
function samples(): Record<string, unknown> {
  return {
    cloudflare_api_token: 'cf-test-token-7d1e5a9b3c2f4e6a',
    records: ['home.example.com', '*.lab.example.com'],
    zone: 'example.com',
    ip_sources: ['http://127.0.0.1:9/ip', 'local'],
    ip_sources_v6: ['http://127.0.0.1:9/ip6', 'local:eth0'],
    cloudflare_api_url: 'http://127.0.0.1:9/client/v4',
    doh_url: 'http://127.0.0.1:9/dns-query',
    heartbeat_url: 'http://127.0.0.1:9/ping/abc',
    webhook_url: 'http://127.0.0.1:9/hook',
    mqtt_url: 'mqtt://127.0.0.1:1883',
    mqtt_username: 'ddns',
    mqtt_password: 'mqtt-pass-1',
    mqtt_ca_file: caFile,
    mqtt_client_id: 'ddns-home',
    mqtt_base_topic: 'home/ddns',
    discovery_prefix: 'homeassistant',
    node_id: 'ddns_home',
    device_name: 'Home DDNS',
    embedded_broker_host: '127.0.0.1',
    router_host: '127.0.0.1',
    router_probe: 'tcp:80',
    wan_targets: ['127.0.0.1:443', '[::1]:443'],
    plug_topic: 'tasmota_1A2B3C',
    plug_url: 'http://127.0.0.1:9',
    plug_entity_id: 'switch.router_plug',
    plug_off_url: 'http://127.0.0.1:9/off',
    plug_on_url: 'http://127.0.0.1:9/on',
    plug_command_topic: 'plugs/router/set',
    plug_payload_off: 'off',
    plug_payload_on: 'on',
    plug_state_topic: 'plugs/router/state',
    plug_username: 'admin',
    plug_password: 'plug-pass-1',
    ha_url: 'http://127.0.0.1:8123',
    ha_token: 'ha-test-token-3f9a1c7e5b2d4a6c',
    http_token: 'http-test-token-8e2b4d6f1a3c5e7a',
  };
}

/** The problem lines about `key` when the agent parses `raw` (add-on mode). */
function problemsFor(key: string, raw: Record<string, unknown>): string[] {
  const result = parseConfig({ ...CONTEXT[key], ...raw }, { addon: true, isTTY: false });
  if (result.ok) return [];
  return result.problems.filter((p) => new RegExp(`^${key}(?=[:[. ])`).test(p));
}

/** Every value of `key` the tests treat as a user's choice the agent accepts. */
function acceptedValues(key: string): unknown[] {
  const { el, list } = element(key);
  const sample = samples()[key];
  if (list) return [sample];
  switch (el.kind) {
    case 'int':
    case 'port':
      return [el.min, el.max];
    case 'bool':
      return [true, false];
    case 'list':
      return el.values ?? [];
    default:
      return [sample];
  }
}

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'addon-options-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
});

describe('schema ↔ the agent’s keys', () => {
  it('every config key is in the schema, except the three the add-on fixes itself', () => {
    const missing = CONFIG_KEYS.filter((k) => !schemaKeys.includes(k));
    expect(missing.sort()).toEqual(Object.keys(ADDON_FIXED_KEYS).sort());
  });

  it('no schema or options key is unknown to the agent', () => {
    expect(schemaKeys.filter((k) => !CONFIG_KEYS.includes(k))).toEqual([]);
    expect(Object.keys(manifest.options).filter((k) => !schemaKeys.includes(k))).toEqual([]);
  });

  it('each type is the one src/config declares for the key (`?` dropped when options show a default)', () => {
    // listConfigKeys() gives each key's add-on type in its optional form (`int(1,86400)?`, `[str?]`).
    // A key shown with a real default is required (developers.home-assistant.io: "If any default
    // value is given, the option becomes a required value"); one shown as "" stays optional, so a
    // user may clear it.
    const required = (t: unknown): unknown =>
      Array.isArray(t) ? [required(t[0])] : typeof t === 'string' ? t.replace(/\?$/, '') : t;
    for (const info of listConfigKeys()) {
      if (info.key in ADDON_FIXED_KEYS) {
        expect(manifest.schema).not.toHaveProperty(info.key);
        continue;
      }
      const shown = manifest.options[info.key];
      const expected = shown !== undefined && shown !== '' ? required(info.manifestType) : info.manifestType;
      expect([info.key, manifest.schema[info.key]]).toEqual([info.key, expected]);
      if (shown !== undefined) expect([info.key, shown]).toEqual([info.key, info.default ?? '']);
    }
  });

  it('secrets are password fields, and only secrets are', () => {
    for (const key of schemaKeys) {
      expect([key, element(key).el.kind === 'password']).toEqual([
        key,
        (SECRET_KEYS as readonly string[]).includes(key),
      ]);
    }
  });

  it('URL keys are url or str; list keys (array defaults) are lists; numbers are ranged ints; booleans bool', () => {
    for (const key of URL_KEYS)
      expect([key, element(key).el.kind]).toEqual([key, expect.stringMatching(/^(url|str)$/)]);
    for (const key of schemaKeys) {
      const { el, list } = element(key);
      const d = defaults[key];
      expect([key, list]).toEqual([key, Array.isArray(d)]);
      if (typeof d === 'number') {
        expect([key, el.kind]).toEqual([key, expect.stringMatching(/^(int|port)$/)]);
        expect([key, typeof el.min, typeof el.max]).toEqual([key, 'number', 'number']);
      }
      if (typeof d === 'boolean') expect([key, el.kind]).toEqual([key, 'bool']);
    }
  });

  it.each(schemaKeys.filter((k) => ['int', 'port'].includes(element(k).el.kind)))(
    'range/%s: the agent accepts both ends and refuses one past each',
    (key) => {
      const { el } = element(key);
      expect(problemsFor(key, { [key]: el.min })).toEqual([]);
      expect(problemsFor(key, { [key]: el.max })).toEqual([]);
      expect(problemsFor(key, { [key]: (el.min ?? 0) - 1 })).not.toEqual([]);
      expect(problemsFor(key, { [key]: (el.max ?? 0) + 1 })).not.toEqual([]);
    },
  );

  it.each(schemaKeys.filter((k) => element(k).el.kind === 'list'))(
    'enum/%s: the agent accepts every listed value, refuses others, and allows no value the list lacks',
    (key) => {
      const values = element(key).el.values ?? [];
      for (const v of values) expect([v, problemsFor(key, { [key]: v })]).toEqual([v, []]);
      const refused = problemsFor(key, { [key]: 'not-a-listed-value' });
      expect(refused).toHaveLength(1);
      // The agent's own message names every value it allows: "… — use one of a, b, c" / "… — use a or b".
      const allowed = /— use (?:one of )?(.+)$/.exec(refused[0] ?? '')?.[1] ?? '';
      expect(allowed.split(/, | or /).sort()).toEqual([...values].sort());
    },
  );

  it.each(schemaKeys)(
    'accepts/%s: every value the Supervisor lets through for it, the agent takes',
    (key) => {
      for (const value of acceptedValues(key)) {
        const check = checkOptions(manifest.schema, { ...manifest.options, ...CONTEXT[key], [key]: value });
        expect([value, check.problems]).toEqual([value, []]);
        expect([value, problemsFor(key, { [key]: check.options[key] })]).toEqual([value, []]);
      }
    },
  );
});

describe('options ↔ the agent’s defaults', () => {
  it('the Supervisor accepts the options as they are (nothing missing, nothing dropped or changed)', () => {
    const check = checkOptions(manifest.schema, manifest.options);
    expect(check.problems).toEqual([]);
    expect(check.dropped).toEqual([]);
    expect(check.options).toEqual(manifest.options);
  });

  it('every option shown is the agent’s default, or "" (not set) for an optional key without one', () => {
    for (const [key, value] of Object.entries(manifest.options)) {
      if (key in defaults) expect([key, value]).toEqual([key, defaults[key]]);
      else expect([key, value, element(key).el.optional]).toEqual([key, '', true]);
    }
  });

  async function load(options: Record<string, unknown>): Promise<unknown> {
    const dir = mkdtempSync(join(tmpdir(), 'addon-options-'));
    const path = join(dir, 'options.json');
    writeFileSync(path, JSON.stringify(options));
    try {
      const loaded = await loadConfig({
        env: { SUPERVISOR_TOKEN: 'test-supervisor-token' },
        isTTY: false,
        addonOptionsPath: path,
      });
      return { config: loaded.config };
    } catch (err) {
      if (err instanceof ConfigError) return { problems: err.message };
      throw err;
    }
  }

  it('the options file the Supervisor writes for a fresh install loads as "nothing set"', async () => {
    const fresh = await load(manifest.options);
    expect(fresh).toEqual(await load({}));
    expect(fresh).toHaveProperty('config');
  });

  it('stating the defaults changes nothing, whatever else the user sets', async () => {
    for (const key of schemaKeys) {
      for (const value of acceptedValues(key)) {
        const choice = { ...CONTEXT[key], [key]: value };
        expect([key, value, await load({ ...manifest.options, ...choice })]).toEqual([
          key,
          value,
          await load(choice),
        ]);
      }
    }
  });
});
