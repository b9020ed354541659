/**
 * A YAML options file as a new user writes it: values typed the way the docs show them, unquoted.
 * What YAML would read as a number reaches a text key exactly as written; what YAML cannot read
 * gets a problem line that says how to write it; the add-on manifest given as the options file is
 * named for what it is.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedConfig, loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ddnsw-config-yaml-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

let files = 0;
async function write(body: string, ext = 'yaml'): Promise<string> {
  files += 1;
  const path = join(tmp, `options-${files}.${ext}`);
  await writeFile(path, body);
  return path;
}

function loadFile(path: string, env: Record<string, string> = {}): Promise<LoadedConfig> {
  return loadConfig({ argvConfigPath: path, env, isTTY: false, addonOptionsPath: join(tmp, 'none.json') });
}

async function configOf(body: string, ext = 'yaml'): Promise<Record<string, unknown>> {
  const { config } = await loadFile(await write(body, ext));
  return config as unknown as Record<string, unknown>;
}

async function problemsOf(path: string): Promise<string[]> {
  try {
    await loadFile(path);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('yaml/number-like text', () => {
  it.each([
    [
      'plug_topic/zigbee2mqtt IEEE address',
      'plug_type: zigbee2mqtt\nplug_topic: 0x00158d0001a2b3c4\n',
      'plug_topic',
      '0x00158d0001a2b3c4',
    ],
    [
      'mqtt_password/leading zero',
      'mqtt_username: ddns\nmqtt_password: 0123456789\n',
      'mqtt_password',
      '0123456789',
    ],
    ['http_token/20 digits', 'http_token: 12345678901234567890\n', 'http_token', '12345678901234567890'],
    [
      'plug_payload_on/1.0',
      'plug_type: mqtt\nplug_command_topic: plugs/router/set\nplug_payload_on: 1.0\n',
      'plug_payload_on',
      '1.0',
    ],
    [
      'plug_payload_off/+0',
      'plug_type: mqtt\nplug_command_topic: plugs/router/set\nplug_payload_off: +0\n',
      'plug_payload_off',
      '+0',
    ],
    ['device_name/1e3', 'device_name: 1e3\n', 'device_name', '1e3'],
    ['mqtt_client_id/octal form', 'mqtt_client_id: 0o17\n', 'mqtt_client_id', '0o17'],
    ['plug_topic/in a flow mapping', '{plug_type: tasmota, plug_topic: 007}\n', 'plug_topic', '007'],
  ])('yaml/%s/kept as written', async (_name, body, key, expected) => {
    expect((await configOf(body))[key]).toBe(expected);
  });

  it('yaml/records/a ttl and a numeric name inside a record still work', async () => {
    const config = await configOf('records:\n  - name: 1.example.com\n    ttl: 300\n');
    expect(config.records).toEqual([{ name: '1.example.com', ttl: 300 }]);
  });

  it.each([
    ['interval_seconds/plain', 'interval_seconds: 30\n', 'interval_seconds', 30],
    ['interval_seconds/with a sign', 'interval_seconds: +30\n', 'interval_seconds', 30],
    ['interval_seconds/as 30.0', 'interval_seconds: 30.0\n', 'interval_seconds', 30],
    ['ttl/plain', 'ttl: 300\n', 'ttl', 300],
    ['embedded_broker_port/plain', 'embedded_broker_port: 1884\n', 'embedded_broker_port', 1884],
    ['discovery/0 is false', 'discovery: 0\n', 'discovery', false],
  ])('yaml/number key/%s/still a number', async (_name, body, key, expected) => {
    expect((await configOf(body))[key]).toBe(expected);
  });

  it.each([
    [
      'hex',
      'interval_seconds: 0x1e\n',
      /^interval_seconds: '0x1e' is not written in plain digits — write it as 30; use a whole number from 1 to 86400$/,
    ],
    [
      'exponent',
      'interval_seconds: 3e1\n',
      /^interval_seconds: '3e1' is not written in plain digits — write it as 30; use a whole number/,
    ],
    [
      'infinity',
      'ttl: .inf\n',
      /^ttl: '\.inf' is not a number — use 1 \(automatic\) or a value from 60 to 86400$/,
    ],
  ])('yaml/number key/%s/refused saying how to write it', async (_name, body, pattern) => {
    const problems = await problemsOf(await write(body));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(pattern);
  });

  it('json/number for a text key/unchanged: JSON numbers are numbers', async () => {
    const config = await configOf(
      '{"plug_type": "mqtt", "plug_command_topic": "p/set", "plug_payload_on": 1, "interval_seconds": 30}',
      'json',
    );
    expect(config.plug_payload_on).toBe('1');
    expect(config.interval_seconds).toBe(30);
  });

  it('env/number-like text/kept as written', async () => {
    const path = await write('plug_type: zigbee2mqtt\n');
    const { config } = await loadFile(path, { PLUG_TOPIC: '0x00158d0001a2b3c4', MQTT_PASSWORD: '0123' });
    expect(config.plug_topic).toBe('0x00158d0001a2b3c4');
    expect(config.mqtt_password).toBe('0123');
  });
});

describe('yaml/syntax errors with a hint', () => {
  it.each([
    [
      'wan_targets/[IPv6]:port in a block list',
      'wan_targets:\n  - 127.0.0.1:443\n  - [2606:4700:4700::1111]:443\n',
      3,
    ],
    ['wan_targets/[IPv6]:port as a flow list', 'wan_targets: [2606:4700:4700::1111]:443\n', 1],
    ['http_host/::', 'http_host: ::\nlog_level: info\n', 1],
  ])('yaml/%s/says to put the value in quotes', async (_name, body, line) => {
    const path = await write(body);
    const problems = await problemsOf(path);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^${path}: is not valid YAML \\(.*at line ${line}, column \\d+\\) — `),
    );
    expect(problems[0]).toContain(
      "put values holding [ ] or :: in quotes, e.g. - '[2606:4700:4700::1111]:443' or http_host: '::'",
    );
  });

  it('yaml/quoted as the hint says/loads', async () => {
    const config = await configOf("wan_targets:\n  - '[2606:4700:4700::1111]:443'\nhttp_host: '::'\n");
    expect(config.wan_targets).toEqual(['[2606:4700:4700::1111]:443']);
    expect(config.http_host).toBe('::');
  });

  it('yaml/error on a line without [ ] or ::/no quoting hint', async () => {
    const path = await write('records:\n  - home.example.com\n interval_seconds: 60\n');
    const problems = await problemsOf(path);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/is not valid YAML \(.*\) — fix the file$/);
  });
});

describe('yaml/values YAML reads as a list or mapping', () => {
  it.each([
    [
      'wan_targets/[IPv6]:port inside a flow list',
      'wan_targets: [[2606:4700:4700::1111]:443]\n',
      'wan_targets[0]: a mapping is not text',
    ],
    ['router_host/[IPv6]', 'router_host: [fe80::1]\n', 'router_host: a list is not text'],
    ['http_host/[::]', 'http_host: [::]\n', 'http_host: a list is not text'],
  ])('yaml/%s/refused saying to quote it', async (_name, body, start) => {
    const problems = await problemsOf(await write(body));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.startsWith(`${start} — `)).toBe(true);
    expect(problems[0]).toContain(
      "in YAML, put a value holding [ ] or :: in quotes, e.g. '[2606:4700:4700::1111]:443'",
    );
  });

  it('mqtt_username/a list/no quoting hint', async () => {
    const problems = await problemsOf(await write('mqtt_username: [a, b]\n'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).not.toContain('in quotes');
  });
});
describe('the add-on manifest given as the options file', () => {
  it('--config config.yaml/one line saying it is the manifest', async () => {
    const manifest = fileURLToPath(new URL('../config.yaml', import.meta.url));
    expect(await problemsOf(manifest)).toEqual([
      `--config: ${manifest} is the add-on manifest (it has slug, options and schema), not an options file — write your options in a file of their own, e.g. options.yaml (docs/configuration.md)`,
    ]);
  });

  it('a file with slug, options and schema/same line', async () => {
    const path = await write('name: x\nslug: x\noptions: {}\nschema: {}\n');
    const problems = await problemsOf(path);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('is the add-on manifest');
  });
});
