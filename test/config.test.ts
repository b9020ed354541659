import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConfig, type LoadedConfig, type LoadOptions, loadConfig } from '../src/config/load.js';
import { CONFIG_KEYS, isPlaceholderSecret, SECRET_KEYS, toHostName } from '../src/config/schema.js';
import { editDistance, suggestKey } from '../src/config/suggest.js';
import { ConfigError } from '../src/errors.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/config/', import.meta.url));
const fixture = (name: string): string => join(FIXTURES, name);

const TOKEN = 'cf-test-token-5b7d9f1e3a2c4e6a8b0d';
const MQTT_PASSWORD = 'mqtt-secret-4f2a9c';
const PLUG_PASSWORD = 'plug-secret-8e1b7d';
const HA_TOKEN = 'ha-secret-3c6e0a9f1b';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ddnsw-config-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Load with no add-on options file on this machine, whatever it is. */
function load(env: Record<string, string> = {}, extra: Partial<LoadOptions> = {}): Promise<LoadedConfig> {
  return loadConfig({ env, isTTY: false, addonOptionsPath: join(tmp, 'no-options.json'), ...extra });
}

/** The problem lines the user would read, failing the test when loading succeeds. */
async function problemsOf(
  env: Record<string, string> = {},
  extra: Partial<LoadOptions> = {},
): Promise<string[]> {
  try {
    await load(env, extra);
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.message).toBe(err.problems.join('\n'));
      return [...err.problems];
    }
    throw err;
  }
  throw new Error('expected the configuration to be rejected');
}

async function writeTemp(name: string, content: string): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, content);
  return path;
}

describe('defaults', () => {
  it('no-file/no-env/runs-in-dry-run-with-every-default', async () => {
    const { config, sources, addon } = await load();
    expect(sources).toEqual(['defaults']);
    expect(addon).toBe(false);
    expect(config).toMatchObject({
      records: [],
      mode: 'dry-run',
      ip_version: 'ipv4',
      ttl: 60,
      ttl_explicit: false,
      create_missing_records: true,
      interval_seconds: 60,
      jitter_seconds: 5,
      min_update_interval_seconds: 60,
      ip_quorum: 2,
      ip_quorum_v6: 2,
      cloudflare_api_url: 'https://api.cloudflare.com/client/v4',
      doh_url: 'https://cloudflare-dns.com/dns-query',
      http_timeout_ms: 5000,
      delete_on_stop: false,
      mqtt_url: '',
      mqtt_client_id: 'ddns-watchdog-ddns_watchdog',
      mqtt_base_topic: 'ddns-watchdog',
      discovery_prefix: 'homeassistant',
      discovery: true,
      node_id: 'ddns_watchdog',
      device_name: 'DDNS Watchdog',
      embedded_broker_host: '127.0.0.1',
      embedded_broker_port: 1883,
      router_probe: 'icmp',
      wan_targets: ['1.1.1.1:443', '8.8.8.8:443', '9.9.9.9:443'],
      probe_interval_seconds: 15,
      probe_timeout_ms: 2000,
      recovery_enabled: false,
      plug_type: 'none',
      plug_method: 'GET',
      plug_payload_off: 'OFF',
      plug_payload_on: 'ON',
      power_off_seconds: 30,
      wan_down_after_seconds: 180,
      boot_grace_seconds: 600,
      max_power_cycles: 3,
      power_cycle_window_hours: 24,
      recover_when_router_down: false,
      state_dir: './data',
      http_port: 0,
      log_level: 'info',
      log_format: 'json',
    });
    expect(config.ip_sources).toHaveLength(5);
    expect(config.ip_sources).not.toContain('https://1.1.1.1/cdn-cgi/trace');
    expect(config.ip_sources_v6).toEqual([
      'https://cloudflare.com/cdn-cgi/trace',
      'https://api6.ipify.org',
      'https://ipv6.icanhazip.com',
    ]);
    expect('router_host' in config).toBe(false);
    expect('cloudflare_api_token' in config).toBe(false);
  });

  it('no-file/tty/logs-pretty', async () => {
    const { config } = await load({}, { isTTY: true });
    expect(config.log_format).toBe('pretty');
  });

  it('env/token/runs-in-enforce', async () => {
    const { config, sources } = await load({ CLOUDFLARE_API_TOKEN: TOKEN });
    expect(config.mode).toBe('enforce');
    expect(config.cloudflare_api_token).toBe(TOKEN);
    expect(sources).toEqual(['defaults', 'env']);
  });

  it('env/token-and-dry-run/stays-dry-run', async () => {
    const { config } = await load({ CLOUDFLARE_API_TOKEN: TOKEN, MODE: 'dry_run' });
    expect(config.mode).toBe('dry-run');
  });

  it('env/enforce-without-token/names-the-token-key', async () => {
    const problems = await problemsOf({ MODE: 'enforce' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^cloudflare_api_token: is not set, but mode is enforce — /);
  });

  it('env/short-interval/caps-the-default-jitter', async () => {
    const { config } = await load({ INTERVAL_SECONDS: '4' });
    expect(config.jitter_seconds).toBe(2);
  });

  it('env/node-id/derives-the-client-id', async () => {
    const { config } = await load({ NODE_ID: 'garage' });
    expect(config.mqtt_client_id).toBe('ddns-watchdog-garage');
  });

  it('env/ttl/marks-it-explicit', async () => {
    const { config } = await load({ TTL: '300' });
    expect(config).toMatchObject({ ttl: 300, ttl_explicit: true });
  });
});

describe('options files', () => {
  it.each([
    ['file/yaml', 'options-valid.yaml'],
    ['file/json', 'options-valid.json'],
  ])('%s/reads-every-kind-of-value', async (_name, file) => {
    const path = fixture(file);
    const { config, sources } = await load({}, { argvConfigPath: path });
    expect(sources).toEqual(['defaults', `file:${path}`]);
    expect(config.records).toEqual([
      { name: 'home.example.com' },
      { name: 'vpn.example.com', proxied: false, ttl: 300 },
      { name: '*.lab.example.com' },
    ]);
    expect(config).toMatchObject({
      mode: 'enforce',
      zone: 'example.com',
      ip_version: 'both',
      ttl: 1,
      ttl_explicit: true,
      interval_seconds: 120,
      discovery: true,
      mqtt_url: 'mqtt://192.168.1.10:1883',
      mqtt_username: 'ddns',
      router_host: '192.168.1.1',
      router_probe: 'tcp:80',
      plug_type: 'tasmota',
      plug_topic: 'tasmota_1A2B3C',
      recovery_enabled: true,
    });
  });

  it('file/config-file-env/is-read-like-the-flag', async () => {
    const path = fixture('options-valid.yaml');
    const { sources } = await load({ CONFIG_FILE: path });
    expect(sources).toEqual(['defaults', `file:${path}`]);
  });

  it('file/flag-and-config-file-env/the-flag-wins', async () => {
    const yaml = fixture('options-valid.yaml');
    const { sources } = await load({ CONFIG_FILE: fixture('options-broken.yaml') }, { argvConfigPath: yaml });
    expect(sources).toEqual(['defaults', `file:${yaml}`]);
  });

  it('file/empty/means-no-options', async () => {
    const { config } = await load({}, { argvConfigPath: fixture('options-empty.yaml') });
    expect(config.mode).toBe('dry-run');
    expect(config.records).toEqual([]);
  });

  it('file/env-overrides/env-wins-over-the-file', async () => {
    const { config, sources } = await load(
      { INTERVAL_SECONDS: '90', RECORDS: 'other.example.com', ROUTER_PROBE: 'icmp' },
      { argvConfigPath: fixture('options-valid.yaml') },
    );
    expect(sources).toEqual(['defaults', `file:${fixture('options-valid.yaml')}`, 'env']);
    expect(config.interval_seconds).toBe(90);
    expect(config.records).toEqual([{ name: 'other.example.com' }]);
    expect(config.router_probe).toBe('icmp');
    expect(config.plug_topic).toBe('tasmota_1A2B3C');
  });

  it('file/empty-env-value/does-not-override-the-file', async () => {
    const { config } = await load(
      { INTERVAL_SECONDS: '', MQTT_URL: '  ' },
      { argvConfigPath: fixture('options-valid.yaml') },
    );
    expect(config.interval_seconds).toBe(120);
    expect(config.mqtt_url).toBe('mqtt://192.168.1.10:1883');
  });

  it('file/missing/names-the-path', async () => {
    const path = join(tmp, 'nope.yaml');
    expect(await problemsOf({}, { argvConfigPath: path })).toEqual([
      `--config: ${path} does not exist — check the path`,
    ]);
    expect(await problemsOf({ CONFIG_FILE: path })).toEqual([
      `CONFIG_FILE: ${path} does not exist — check the path`,
    ]);
  });

  it.each([
    ['file/invalid-yaml', 'options-broken.yaml', /is not valid YAML \(.*at line \d+, column \d+\)/],
    ['file/invalid-json', 'options-broken.json', /is not valid JSON \(.*at line 4, column 1\)/],
  ])('%s/names-the-file-and-the-line', async (_name, file, pattern) => {
    const path = fixture(file);
    const problems = await problemsOf({}, { argvConfigPath: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`${path}: `)).toBe(true);
    expect(problems[0]).toMatch(pattern);
  });

  it('file/invalid-yaml-and-bad-env/reports-both', async () => {
    const problems = await problemsOf({ TTL: '5' }, { argvConfigPath: fixture('options-broken.yaml') });
    expect(problems).toHaveLength(2);
    expect(problems[1]).toMatch(/^ttl \(TTL\): 5 is not allowed/);
  });

  it('file/top-level-list/asks-for-key-value-pairs', async () => {
    const path = fixture('options-list.yaml');
    expect(await problemsOf({}, { argvConfigPath: path })).toEqual([
      `${path}: holds a list at the top level — write one key: value pair per line`,
    ]);
  });

  it('file/typos/each-reported-with-the-closest-key', async () => {
    const problems = await problemsOf({}, { argvConfigPath: fixture('options-typo.yaml') });
    expect(problems).toEqual([
      "unknown key 'cloudfare_api_token' — did you mean 'cloudflare_api_token'?",
      "unknown key 'intervall_seconds' — did you mean 'interval_seconds'?",
      "records[0]: unknown key 'proxy' — did you mean 'proxied'?",
    ]);
    expect(problems.join('\n')).not.toContain('cf-fixture-typo-secret');
  });

  it.each([
    ['unknown-key/upper-case', 'CLOUDFLARE_API_TOKEN', "did you mean 'cloudflare_api_token'?"],
    ['unknown-key/prefix', 'interval', "did you mean 'interval_seconds'?"],
    ['unknown-key/file-suffix', 'cloudflare_api_token_file', 'works only as an environment variable'],
    ['unknown-key/derived-key', 'ip_quorum_v6', "did you mean 'ip_quorum'?"],
    ['unknown-key/far-from-everything', 'colour', 'remove it (docs/configuration.md lists every key)'],
  ])('file/%s', async (_name, key, expected) => {
    const path = await writeTemp(`unknown-${key}.yaml`, `${key}: 5\n`);
    const problems = await problemsOf({}, { argvConfigPath: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`unknown key '${key}'`);
    expect(problems[0]).toContain(expected);
  });

  it('file/unknown-key-without-value/is-still-reported', async () => {
    const path = await writeTemp('unknown-null.yaml', 'recods:\n');
    expect(await problemsOf({}, { argvConfigPath: path })).toEqual([
      "unknown key 'recods' — did you mean 'records'?",
    ]);
  });

  it('file/scalar-strings/coerced-like-the-environment', async () => {
    const path = await writeTemp(
      'strings.yaml',
      'interval_seconds: "30"\ndiscovery: "off"\nrecords: a.example.com, b.example.com\n',
    );
    const { config } = await load({}, { argvConfigPath: path });
    expect(config.interval_seconds).toBe(30);
    expect(config.discovery).toBe(false);
    expect(config.records.map((r) => r.name)).toEqual(['a.example.com', 'b.example.com']);
  });

  it('file/router-host-empty/disables-router-probes', async () => {
    const path = await writeTemp('router-off.yaml', 'router_host: ""\n');
    const { config } = await load({}, { argvConfigPath: path });
    expect(config.router_host).toBe('');
  });
});

describe('add-on', () => {
  const ADDON_ENV = { SUPERVISOR_TOKEN: 'supervisor-token-value' };

  it('addon/options-json/empty-strings-and-nulls-mean-unset', async () => {
    const path = fixture('addon-options.json');
    const { config, sources, addon } = await load(ADDON_ENV, { addonOptionsPath: path });
    expect(addon).toBe(true);
    expect(sources).toEqual(['defaults', `file:${path}`]);
    expect(config.state_dir).toBe('/data');
    expect(config.mode).toBe('dry-run');
    expect(config.mqtt_url).toBe('');
    expect(config.records).toEqual([{ name: 'home.example.com' }]);
    expect(config.http_port).toBe(8080);
    expect(config.log_level).toBe('debug');
    for (const key of [
      'cloudflare_api_token',
      'zone',
      'mqtt_username',
      'mqtt_password',
      'heartbeat_url',
      'ha_url',
      'ha_token',
    ]) {
      expect(key in config, key).toBe(false);
    }
    // '' from Home Assistant means "not set": the default gateway is used, probing stays on.
    expect(config.router_host).toBeUndefined();
  });

  it('addon/no-options-file/runs-on-defaults', async () => {
    const { config, sources } = await load(ADDON_ENV);
    expect(sources).toEqual(['defaults']);
    expect(config.state_dir).toBe('/data');
  });

  it('addon/homeassistant-plug/needs-no-ha-url', async () => {
    const { config } = await load({
      ...ADDON_ENV,
      PLUG_TYPE: 'homeassistant',
      PLUG_ENTITY_ID: 'switch.router',
    });
    expect(config.plug_type).toBe('homeassistant');
  });

  it('standalone/homeassistant-plug/needs-ha-url-and-token', async () => {
    const problems = await problemsOf({ PLUG_TYPE: 'homeassistant', PLUG_ENTITY_ID: 'switch.router' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['ha_url', 'ha_token']);
  });
});

describe('environment', () => {
  it('env/lists/comma-separated-trimmed-empty-items-dropped', async () => {
    const { config } = await load({
      RECORDS: ' a.example.com, ,b.example.com,, ',
      WAN_TARGETS: '1.1.1.1:443 ,[2606:4700:4700::1111]:443',
      IP_SOURCES: 'http://127.0.0.1:8080/ip',
    });
    expect(config.records).toEqual([{ name: 'a.example.com' }, { name: 'b.example.com' }]);
    expect(config.wan_targets).toEqual(['1.1.1.1:443', '[2606:4700:4700::1111]:443']);
    expect(config.ip_sources).toEqual(['http://127.0.0.1:8080/ip']);
    expect(config.ip_quorum).toBe(1);
    expect(config.ip_quorum_v6).toBe(2);
  });

  it.each([
    ['true', true],
    ['FALSE', false],
    ['1', true],
    ['0', false],
    ['Yes', true],
    ['no', false],
    ['ON', true],
    [' off ', false],
  ])('env/boolean/%s', async (value, expected) => {
    const { config } = await load({ DISCOVERY: value, DELETE_ON_STOP: value });
    expect(config.discovery).toBe(expected);
    expect(config.delete_on_stop).toBe(expected);
  });

  it.each([
    ['word', 'abc', "'abc' is not a number"],
    ['unit', '60s', "'60s' is not a number"],
    ['exponent', '1e3', "'1e3' is not written in plain digits — write it as 1000;"],
    ['hex', '0x10', "'0x10' is not written in plain digits — write it as 16;"],
    ['fraction', '2.5', '2.5 is not a whole number'],
    ['out-of-range', '0', '0 is not allowed'],
  ])('env/bad-number/%s/names-key-and-variable', async (_name, value, expected) => {
    const problems = await problemsOf({ INTERVAL_SECONDS: value });
    expect(problems).toEqual([
      `interval_seconds (INTERVAL_SECONDS): ${expected}${expected.endsWith(';') ? '' : ' —'} use a whole number from 1 to 86400`,
    ]);
  });

  it('env/bad-boolean/names-key-and-variable', async () => {
    expect(await problemsOf({ DISCOVERY: 'maybe' })).toEqual([
      "discovery (DISCOVERY): 'maybe' is not true or false — use true or false",
    ]);
  });

  it('env/unrelated-variables/are-ignored', async () => {
    const { sources } = await load({
      PATH: '/usr/bin',
      HOME: '/root',
      CLOUDFARE_API_TOKEN: 'x',
      NODE_ENV: 'production',
    });
    expect(sources).toEqual(['defaults']);
  });

  it.each([
    ['unset', {}, undefined],
    ['empty', { ROUTER_HOST: '' }, ''],
    ['none', { ROUTER_HOST: 'None' }, ''],
    ['ipv4', { ROUTER_HOST: '192.168.1.1' }, '192.168.1.1'],
    ['ipv6-bracketed', { ROUTER_HOST: '[FE80::1]' }, 'fe80::1'],
  ])('env/router-host/%s', async (_name, env, expected) => {
    const { config } = await load(env);
    expect(config.router_host).toBe(expected);
  });
});

describe('secrets from files', () => {
  it('env/token-file/read-and-trimmed', async () => {
    const path = await writeTemp('token', `  ${TOKEN}\n\n`);
    const { config, sources } = await load({ CLOUDFLARE_API_TOKEN_FILE: path });
    expect(config.cloudflare_api_token).toBe(TOKEN);
    expect(config.mode).toBe('enforce');
    expect(sources).toEqual(['defaults', 'env']);
  });

  it.each(SECRET_KEYS.map((key) => [key]))('env/%s_FILE/accepted', async (key) => {
    const path = await writeTemp(`secret-${key}`, 'a-real-looking-secret-value-42\n');
    const env: Record<string, string> = { [`${key.toUpperCase()}_FILE`]: path };
    const { config } = await load(env);
    expect(config[key]).toBe('a-real-looking-secret-value-42');
  });

  it('env/token-file-missing/names-the-variable', async () => {
    const path = join(tmp, 'missing-token');
    expect(await problemsOf({ CLOUDFLARE_API_TOKEN_FILE: path })).toEqual([
      `cloudflare_api_token (CLOUDFLARE_API_TOKEN_FILE): cannot read ${path} (no such file) — check the path, or mount the secret there`,
    ]);
  });

  it('env/token-file-empty/says-so', async () => {
    const path = await writeTemp('empty-token', '\n  \n');
    const problems = await problemsOf({ CLOUDFLARE_API_TOKEN_FILE: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`CLOUDFLARE_API_TOKEN_FILE): ${path} is empty`);
  });

  it('env/token-and-token-file/asks-to-keep-one', async () => {
    const path = await writeTemp('token-both', TOKEN);
    const problems = await problemsOf({ CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_TOKEN_FILE: path });
    expect(problems).toEqual([
      'cloudflare_api_token (CLOUDFLARE_API_TOKEN_FILE): both CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_TOKEN_FILE are set — keep only one of them',
    ]);
  });

  it('env/token-file-placeholder/rejected-naming-the-variable', async () => {
    const path = await writeTemp('placeholder-token', 'changeme\n');
    const problems = await problemsOf({ CLOUDFLARE_API_TOKEN_FILE: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^cloudflare_api_token \(CLOUDFLARE_API_TOKEN_FILE\): looks like a placeholder/,
    );
  });

  it('env/mqtt-ca-file-missing/names-the-key', async () => {
    const path = join(tmp, 'no-ca.pem');
    expect(await problemsOf({ MQTT_CA_FILE: path })).toEqual([
      `mqtt_ca_file (MQTT_CA_FILE): cannot read ${path} (no such file) — give the path of a readable PEM file`,
    ]);
  });
});

describe('record names', () => {
  it.each([
    ['idn/umlaut', 'Bücher.Example.', 'xn--bcher-kva.example'],
    ['idn/city', 'münchen.de', 'xn--mnchen-3ya.de'],
    ['idn/full-width', 'ＨＯＭＥ．example。com', 'home.example.com'],
    ['ascii/upper-case-trailing-dot', 'Home.Example.COM.', 'home.example.com'],
    ['ascii/wildcard', '*.Example.com', '*.example.com'],
    ['ascii/punycode-kept', 'xn--bcher-kva.example', 'xn--bcher-kva.example'],
  ])('records/%s', async (_name, input, expected) => {
    const { config } = await load({ RECORDS: input });
    expect(config.records).toEqual([{ name: expected }]);
  });

  it.each([
    ['empty-label', 'a..example.com', 'empty label'],
    ['leading-hyphen', '-a.example.com', 'hyphen'],
    ['trailing-hyphen', 'a-.example.com', 'hyphen'],
    ['underscore', '_dmarc.example.com', "contains '_'"],
    ['long-label', `${'a'.repeat(64)}.example.com`, 'longer than 63'],
    ['too-long', `${'abcdefghi.'.repeat(26)}com`, 'longer than 253'],
    ['inner-wildcard', 'a.*.example.com', 'first label'],
    ['single-label', 'localhost', 'not a full domain name'],
    ['ip-address', '192.0.2.1', 'looks like an IP address'],
    ['url', 'https://home.example.com', "contains ':'"],
  ])('records/invalid/%s', async (_name, input, reason) => {
    const problems = await problemsOf({ RECORDS: input });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^records\[0\] \(RECORDS\): '.*' is not (a valid host name|a full domain name)/,
    );
    expect(problems[0]).toContain(reason);
    expect(problems[0]).toContain('— use a full host name such as home.example.com');
  });

  it('records/duplicate/after-normalising', async () => {
    expect(await problemsOf({ RECORDS: 'home.example.com,HOME.example.com.' })).toEqual([
      "records[1] (RECORDS): 'home.example.com' is listed twice — keep one entry per name (A and AAAA both follow ip_version)",
    ]);
  });

  it('records/outside-zone/says-which-zone', async () => {
    expect(await problemsOf({ RECORDS: 'home.example.org', ZONE: 'example.com' })).toEqual([
      "records[0] (RECORDS): 'home.example.org' is not inside zone 'example.com' — fix the name, or give this record its own zone",
    ]);
  });

  it('records/object-without-name/points-at-the-name', async () => {
    const path = await writeTemp('record-no-name.yaml', 'records:\n  - proxied: true\n');
    expect(await problemsOf({}, { argvConfigPath: path })).toEqual([
      'records[0].name: is missing — use a full host name such as home.example.com (a leading *. is allowed)',
    ]);
  });

  it('records/per-record-ttl/checked-like-the-top-level', async () => {
    const path = await writeTemp(
      'record-ttl.yaml',
      'records:\n  - name: a.example.com\n    ttl: 30\n  - name: b.example.com\n    zone: example.org\n',
    );
    expect(await problemsOf({}, { argvConfigPath: path })).toEqual([
      'records[0].ttl: 30 is not allowed — use 1 (automatic) or a value from 60 to 86400',
      "records[1]: 'b.example.com' is not inside zone 'example.org' — fix the name, or give this record its own zone",
    ]);
  });
});

describe('validation problems name their key', () => {
  it.each<[string, Record<string, string>, string, string]>([
    [
      'ttl/below-60',
      { TTL: '30' },
      'ttl (TTL)',
      '30 is not allowed — use 1 (automatic) or a value from 60 to 86400',
    ],
    ['ttl/above-86400', { TTL: '86401' }, 'ttl (TTL)', 'is not allowed'],
    [
      'embedded_broker_port/zero',
      { EMBEDDED_BROKER_PORT: '0' },
      'embedded_broker_port',
      'use a port from 1 to 65535',
    ],
    [
      'embedded_broker_port/too-big',
      { EMBEDDED_BROKER_PORT: '65536' },
      'embedded_broker_port',
      '65536 is not allowed',
    ],
    ['http_port/negative', { HTTP_PORT: '-1' }, 'http_port', 'or 0 to turn the HTTP server off'],
    ['interval_seconds/zero', { INTERVAL_SECONDS: '0' }, 'interval_seconds', 'from 1 to 86400'],
    [
      'jitter_seconds/over-half',
      { INTERVAL_SECONDS: '60', JITTER_SECONDS: '31' },
      'jitter_seconds',
      'more than half of interval_seconds (60) — use 0 to 30',
    ],
    [
      'min_update_interval_seconds/too-big',
      { MIN_UPDATE_INTERVAL_SECONDS: '86401' },
      'min_update_interval_seconds',
      'from 0 to 86400',
    ],
    ['http_timeout_ms/too-small', { HTTP_TIMEOUT_MS: '50' }, 'http_timeout_ms', 'from 100 to 60000'],
    [
      'probe_interval_seconds/too-big',
      { PROBE_INTERVAL_SECONDS: '3601' },
      'probe_interval_seconds',
      'from 1 to 3600',
    ],
    ['probe_timeout_ms/too-small', { PROBE_TIMEOUT_MS: '10' }, 'probe_timeout_ms', 'from 50 to 30000'],
    ['power_off_seconds/zero', { POWER_OFF_SECONDS: '0' }, 'power_off_seconds', 'from 1 to 3600'],
    [
      'wan_down_after_seconds/too-small',
      { WAN_DOWN_AFTER_SECONDS: '5' },
      'wan_down_after_seconds',
      'from 10 to 86400',
    ],
    ['max_power_cycles/too-big', { MAX_POWER_CYCLES: '101' }, 'max_power_cycles', 'from 0 to 100'],
    [
      'power_cycle_window_hours/zero',
      { POWER_CYCLE_WINDOW_HOURS: '0' },
      'power_cycle_window_hours',
      'from 1 to 720',
    ],
    [
      'cloudflare_api_url/ftp',
      { CLOUDFLARE_API_URL: 'ftp://api.example.com' },
      'cloudflare_api_url',
      'uses ftp:// — use http:// or https://',
    ],
    ['doh_url/no-scheme', { DOH_URL: 'cloudflare-dns.com/dns-query' }, 'doh_url', 'write it in full'],
    ['webhook_url/mqtt', { WEBHOOK_URL: 'mqtt://hooks.example.com/abc' }, 'webhook_url', 'uses mqtt://'],
    ['plug_url/ws', { PLUG_URL: 'ws://192.168.1.50' }, 'plug_url', 'uses ws://'],
    ['ha_url/no-scheme', { HA_URL: 'homeassistant.local:8123' }, 'ha_url', 'has no scheme'],
    [
      'mqtt_url/http',
      { MQTT_URL: 'http://broker:1883' },
      'mqtt_url',
      'use mqtt://, mqtts://, ws:// or wss://',
    ],
    ['mqtt_url/no-scheme', { MQTT_URL: 'core-mosquitto:1883' }, 'mqtt_url', 'has no scheme'],
    [
      'ip_sources/resolver-trace',
      { IP_SOURCES: 'https://1.1.1.1/cdn-cgi/trace,http://127.0.0.1:8080/ip' },
      'ip_sources[0]',
      'error 1034 instead of your address — use https://cloudflare.com/cdn-cgi/trace',
    ],
    ['ip_sources/ftp', { IP_SOURCES: 'ftp://ip.example.com' }, 'ip_sources[0]', 'uses ftp://'],
    ['ip_sources/bad-interface', { IP_SOURCES: 'local:eth 0,local' }, 'ip_sources', 'local:IFACE'],
    [
      'ip_sources/duplicate',
      { IP_SOURCES: 'http://127.0.0.1:8080/ip,http://127.0.0.1:8080/ip' },
      'ip_sources[1]',
      'listed twice — each source counts once toward ip_quorum',
    ],
    ['ip_sources/empty-list', { IP_SOURCES: ',' }, 'ip_sources', 'is empty, but ip_version is ipv4'],
    [
      'ip_sources_v6/resolver-trace',
      { IP_VERSION: 'ipv6', IP_SOURCES_V6: 'https://[2606:4700:4700::1111]/cdn-cgi/trace' },
      'ip_sources_v6[0]',
      'error 1034',
    ],
    [
      'ip_quorum/more-than-sources',
      { IP_SOURCES: 'http://127.0.0.1:8080/a,http://127.0.0.1:8081/b', IP_QUORUM: '3' },
      'ip_quorum',
      'more than the 2 sources in ip_sources — use at most 2',
    ],
    [
      'ip_quorum/ipv6-only',
      { IP_VERSION: 'ipv6', IP_QUORUM: '4' },
      'ip_quorum',
      'more than the 3 sources in ip_sources_v6',
    ],
    [
      'ip_version/unknown',
      { IP_VERSION: 'ipv5' },
      'ip_version',
      "'ipv5' is not allowed — use one of ipv4, ipv6, both",
    ],
    ['mode/unknown', { MODE: 'yolo' }, 'mode', 'use enforce or dry-run'],
    ['router_probe/udp', { ROUTER_PROBE: 'udp:53' }, 'router_probe', 'use icmp or tcp:PORT'],
    ['router_probe/bad-port', { ROUTER_PROBE: 'tcp:0' }, 'router_probe', 'use icmp or tcp:PORT'],
    ['router_host/host-name', { ROUTER_HOST: 'router.local' }, 'router_host', 'is not an IP address'],
    [
      'wan_targets/host-name',
      { WAN_TARGETS: 'one.one.one.one:443' },
      'wan_targets[0]',
      "'one.one.one.one' is not an IP address",
    ],
    ['wan_targets/no-port', { WAN_TARGETS: '1.1.1.1' }, 'wan_targets[0]', 'is not host:port'],
    [
      'wan_targets/ipv6-unbracketed',
      { WAN_TARGETS: '2606:4700:4700::1111:443' },
      'wan_targets[0]',
      '[2606:4700:4700::1111]:443',
    ],
    [
      'wan_targets/port-out-of-range',
      { WAN_TARGETS: '1.1.1.1:70000' },
      'wan_targets[0]',
      'use a port from 1 to 65535',
    ],
    ['wan_targets/empty-list', { WAN_TARGETS: ',' }, 'wan_targets', 'is empty — give at least one IP:port'],
    ['mqtt_base_topic/wildcard', { MQTT_BASE_TOPIC: 'ddns/+' }, 'mqtt_base_topic', 'contains + or #'],
    ['mqtt_base_topic/hash', { MQTT_BASE_TOPIC: 'ddns/#' }, 'mqtt_base_topic', 'contains + or #'],
    [
      'mqtt_base_topic/leading-slash',
      { MQTT_BASE_TOPIC: '/ddns' },
      'mqtt_base_topic',
      'starts or ends with /',
    ],
    [
      'discovery_prefix/trailing-slash',
      { DISCOVERY_PREFIX: 'homeassistant/' },
      'discovery_prefix',
      'starts or ends with /',
    ],
    ['node_id/slash', { NODE_ID: 'ddns/watchdog' }, 'node_id', 'letters, digits, _ and -'],
    ['node_id/hash', { NODE_ID: 'ddns#1' }, 'node_id', 'letters, digits, _ and -'],
    ['plug_type/unknown', { PLUG_TYPE: 'kasa' }, 'plug_type', "'kasa' is not allowed"],
    [
      'plug_type/tasmota-without-topic',
      { PLUG_TYPE: 'tasmota' },
      'plug_topic',
      'is not set, but plug_type is tasmota',
    ],
    [
      'plug_type/shelly-without-url',
      { PLUG_TYPE: 'shelly' },
      'plug_url',
      'is not set, but plug_type is shelly',
    ],
    [
      'plug_type/http-without-urls',
      { PLUG_TYPE: 'http', PLUG_ON_URL: 'http://plug/on' },
      'plug_off_url',
      'is not set',
    ],
    ['plug_type/mqtt-without-topic', { PLUG_TYPE: 'mqtt' }, 'plug_command_topic', 'is not set'],
    [
      'plug_entity_id/not-an-entity',
      { PLUG_ENTITY_ID: 'Router Plug' },
      'plug_entity_id',
      'is not an entity id',
    ],
    ['plug_method/unknown', { PLUG_METHOD: 'delete' }, 'plug_method', 'use one of GET, POST, PUT, PATCH'],
    ['recovery_enabled/without-plug', { RECOVERY_ENABLED: 'true' }, 'recovery_enabled', 'plug_type is none'],
    [
      'log_level/unknown',
      { LOG_LEVEL: 'verbose' },
      'log_level',
      'use one of trace, debug, info, warn, error, fatal, silent',
    ],
    ['log_format/unknown', { LOG_FORMAT: 'xml' }, 'log_format', 'use pretty or json'],
    ['zone/invalid', { ZONE: 'example..com' }, 'zone', 'is not a valid host name'],
  ])('%s', async (_name, env, keyLabel, phrase) => {
    const problems = await problemsOf(env);
    const line = problems.find((p) => p.startsWith(`${keyLabel}`));
    expect(line, problems.join('\n')).toBeDefined();
    expect(line).toMatch(/^[a-z_0-9]+(\[\d+\])?(\.[a-z_]+)?( \([A-Z_0-9]+\))?: .+ — .+/);
    expect(line).toContain(phrase);
  });

  it('many-problems/all-reported-at-once', async () => {
    const problems = await problemsOf({
      TTL: '30',
      EMBEDDED_BROKER_PORT: '0',
      MQTT_URL: 'http://broker',
      RECORDS: 'bad..name.com',
      NODE_ID: 'a b',
      LOG_LEVEL: 'loud',
    });
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'records[0]',
      'ttl',
      'mqtt_url',
      'node_id',
      'embedded_broker_port',
      'log_level',
    ]);
  });

  it('explicit-quorum/ipv6-list-shorter/capped-for-ipv6', async () => {
    const { config } = await load({
      IP_VERSION: 'both',
      IP_QUORUM: '3',
      IP_SOURCES_V6: 'https://api6.ipify.org,https://ipv6.icanhazip.com',
    });
    expect(config.ip_quorum).toBe(3);
    expect(config.ip_quorum_v6).toBe(2);
  });

  it('default-quorum/one-v6-source/quorum-one', async () => {
    const { config } = await load({ IP_VERSION: 'ipv6', IP_SOURCES_V6: 'local:eth0' });
    expect(config.ip_sources_v6).toEqual(['local:eth0']);
    expect(config.ip_quorum_v6).toBe(1);
  });
});

describe('secrets never leak', () => {
  it.each([
    ['your_token'],
    ['YOUR-TOKEN'],
    ['yourtoken'],
    ['your_cloudflare_api_token'],
    ['changeme'],
    ['CHANGE_ME'],
    ['token'],
    ['x'],
    ['xxxxxxxxxxxxxxxx'],
    ['XXXX'],
    ['<your cloudflare token>'],
    [`\${CF_TOKEN}`],
  ])('placeholder/%s/rejected-without-echo', async (value) => {
    const problems = await problemsOf({ CLOUDFLARE_API_TOKEN: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^cloudflare_api_token \(CLOUDFLARE_API_TOKEN\): looks like (a placeholder|an unexpanded variable)/,
    );
    expect(problems[0]).not.toContain(`'${value}'`);
    if (value.length >= 8) expect(problems[0]!.toLowerCase()).not.toContain(value.toLowerCase());
  });

  it.each([
    ['bearer-prefix', `Bearer ${TOKEN}`, "starts with 'Bearer '"],
    ['inner-space', `${TOKEN.slice(0, 10)} ${TOKEN.slice(10)}`, 'contains spaces'],
    ['global-api-key', 'abcdef0123456789abcdef0123456789abcde', 'Global API Key'],
  ])('token/%s/explained-without-echo', async (_name, value, reason) => {
    const problems = await problemsOf({ CLOUDFLARE_API_TOKEN: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(reason);
    expect(problems[0]).not.toContain(TOKEN.slice(0, 10));
    expect(problems[0]).not.toContain('0123456789');
  });

  it('ha-token/placeholder/rejected', async () => {
    const problems = await problemsOf({ HA_TOKEN: '<long-lived token>' });
    expect(problems[0]).toMatch(/^ha_token \(HA_TOKEN\): looks like a placeholder/);
  });

  it('passwords/not-checked-for-placeholders', async () => {
    const { config } = await load({ MQTT_PASSWORD: 'changeme' });
    expect(config.mqtt_password).toBe('changeme');
  });

  it('problems/with-every-secret-set/never-contain-one', async () => {
    const path = await writeTemp(
      'secrets.yaml',
      [
        `cloudflare_api_token: ${TOKEN}`,
        `mqtt_password: ${MQTT_PASSWORD}`,
        `plug_password: ${PLUG_PASSWORD}`,
        `ha_token: ${HA_TOKEN}`,
        `mqtt_url: http://user:${MQTT_PASSWORD}@broker`,
        `plug_off_url: ftp://plug/cm?user=admin&password=${PLUG_PASSWORD}`,
        `heartbeat_url: ftp://hc-ping.com/${HA_TOKEN}`,
        `cloudflare_api_tokn: ${TOKEN}`,
        'ttl: 5',
        'records: [bad..name.com]',
        'mode: enforce',
      ].join('\n'),
    );
    const problems = await problemsOf({}, { argvConfigPath: path });
    expect(problems.length).toBeGreaterThanOrEqual(6);
    const text = problems.join('\n');
    for (const secret of [TOKEN, MQTT_PASSWORD, PLUG_PASSWORD, HA_TOKEN]) expect(text).not.toContain(secret);
  });

  it('describe-config/secrets-shown-as-set-or-omitted', async () => {
    const { config } = await load({
      CLOUDFLARE_API_TOKEN: TOKEN,
      MQTT_PASSWORD: MQTT_PASSWORD,
      MQTT_URL: `mqtts://ddns:${MQTT_PASSWORD}@broker.example.com:8883`,
      HEARTBEAT_URL: `https://hc-ping.com/${HA_TOKEN}`,
      WEBHOOK_URL: `https://hooks.example.com/services/${PLUG_PASSWORD}`,
      PLUG_TYPE: 'http',
      PLUG_OFF_URL: `http://192.168.1.50/cm?user=admin&password=${PLUG_PASSWORD}&cmnd=Power%20Off`,
      PLUG_ON_URL: 'http://192.168.1.50/cm?cmnd=Power%20On',
    });
    const described = describeConfig(config);
    expect(described.cloudflare_api_token).toBe('[set]');
    expect(described.mqtt_password).toBe('[set]');
    expect('plug_password' in described).toBe(false);
    expect('ha_token' in described).toBe(false);
    expect(described.heartbeat_url).toBe('https://hc-ping.com/…');
    expect(described.webhook_url).toBe('https://hooks.example.com/…');
    // User info and query strings are masked whole (SPEC §7): the value may not even parse.
    expect(described.mqtt_url).toBe('mqtts://***@broker.example.com:8883');
    expect(described.plug_on_url).toBe('http://192.168.1.50/cm?***');
    expect(described.plug_off_url).toBe('http://192.168.1.50/cm?***');
    expect(described.records).toEqual(config.records);
    const text = JSON.stringify(described);
    for (const secret of [TOKEN, MQTT_PASSWORD, PLUG_PASSWORD, HA_TOKEN]) expect(text).not.toContain(secret);
    // The config itself is untouched.
    expect(config.cloudflare_api_token).toBe(TOKEN);
  });
});

describe('pure helpers', () => {
  it.each([
    ['typo/missing-letter', 'cloudfare_api_token', 'cloudflare_api_token'],
    ['typo/transposed', 'recodrs', 'records'],
    ['typo/extra-letter', 'intervall_seconds', 'interval_seconds'],
    ['case/env-style', 'MQTT_BASE_TOPIC', 'mqtt_base_topic'],
    ['case/dashes', 'node-id', 'node_id'],
    ['affix/suffix', 'api_token', 'cloudflare_api_token'],
    ['affix/prefix', 'jitter', 'jitter_seconds'],
    ['none/ambiguous-suffix', 'password', undefined],
    ['none/far', 'colour', undefined],
  ])('suggest/%s', (_name, input, expected) => {
    expect(suggestKey(input, CONFIG_KEYS)).toBe(expected);
  });

  it.each([
    ['', 'abc', 3],
    ['abc', 'abc', 0],
    ['kitten', 'sitting', 3],
    ['ab', 'ba', 1],
  ])('edit-distance/%s→%s', (a, b, expected) => {
    expect(editDistance(a, b)).toBe(expected);
  });

  it.each([
    ['your_token', true],
    ['changeme', true],
    ['xXxX', true],
    ['<token>', true],
    [TOKEN, false],
    ['token-with-x', false],
  ])('placeholder/%s', (value, expected) => {
    expect(isPlaceholderSecret(value)).toBe(expected);
  });

  it('host-name/wildcard-only-where-allowed', () => {
    expect(toHostName('*.example.com', { wildcard: true })).toEqual({ ok: true, name: '*.example.com' });
    expect(toHostName('*.example.com', { wildcard: false }).ok).toBe(false);
  });

  it('config-keys/exclude-derived-values', () => {
    expect(CONFIG_KEYS).not.toContain('ip_quorum_v6');
    expect(CONFIG_KEYS).not.toContain('ttl_explicit');
    expect(CONFIG_KEYS).toContain('cloudflare_api_token');
    for (const key of SECRET_KEYS) expect(CONFIG_KEYS).toContain(key);
  });
});
