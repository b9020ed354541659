/**
 * Configuration that used to pass validation and then failed at run time, leaked a secret, or hung
 * the loader (issue 6, points 7 and 12): each case is now one problem line naming the key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConfig, type LoadedConfig, type LoadOptions, loadConfig } from '../src/config/load.js';
import { SECRET_KEYS } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';

const PASSWORD = 'Pw-7f3e9a1c';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ddnsw-config-hard-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function load(env: Record<string, string> = {}, extra: Partial<LoadOptions> = {}): Promise<LoadedConfig> {
  return loadConfig({ env, isTTY: false, addonOptionsPath: join(tmp, 'no-options.json'), ...extra });
}

async function problemsOf(
  env: Record<string, string> = {},
  extra: Partial<LoadOptions> = {},
): Promise<string[]> {
  try {
    await load(env, extra);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected the configuration to be rejected');
}

async function writeTemp(name: string, content: string | Buffer): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, content);
  return path;
}

async function yamlProblems(name: string, yaml: string): Promise<string[]> {
  return problemsOf({}, { argvConfigPath: await writeTemp(name, yaml) });
}

/** Every problem line: `<key>[…] (<VAR>)?: <fault> — <fix>`. */
const LINE = /^[a-z_0-9]+(\[\d+\])?(\.[a-z_]+)?( \([A-Z_0-9]+\))?: .+ — .+/;

describe('a password in a URL that does not parse is never shown', () => {
  it.each([
    ['hash', `mqtt://ddns:${PASSWORD}#x@127.0.0.1:1883`],
    ['slash', `mqtt://ddns:${PASSWORD}/x@127.0.0.1:1883`],
    ['question-mark', `mqtt://ddns:${PASSWORD}?x@127.0.0.1:1883`],
    ['bad-port', `mqtt://ddns:${PASSWORD}@127.0.0.1:99999`],
    ['no-scheme', `ddns:${PASSWORD}@127.0.0.1:1883`],
  ])('mqtt_url/%s', async (_name, url) => {
    const problems = await problemsOf({ MQTT_URL: url });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^mqtt_url \(MQTT_URL\): /);
    expect(problems[0]).toMatch(LINE);
    expect(problems[0]).not.toContain(PASSWORD);
    expect(problems[0]).not.toContain(PASSWORD.slice(0, 5));
  });

  it('mqtt_url/bad-port/says-which-part-is-wrong', async () => {
    const problems = await problemsOf({ MQTT_URL: `mqtt://ddns:${PASSWORD}@127.0.0.1:99999` });
    expect(problems[0]).toContain('port 99999');
    expect(problems[0]).toContain('1 to 65535');
  });

  it('mqtt_url/hash/explains-percent-encoding', async () => {
    const problems = await problemsOf({ MQTT_URL: `mqtt://ddns:${PASSWORD}#x@127.0.0.1:1883` });
    expect(problems[0]).toContain('%23');
    expect(problems[0]).toContain('mqtt_password');
  });

  it.each([
    ['plug_url', { PLUG_URL: `http://admin:${PASSWORD}#x@127.0.0.1` }],
    ['ha_url', { HA_URL: `http://u:${PASSWORD}/x@127.0.0.1:8123` }],
    ['heartbeat_url', { HEARTBEAT_URL: `https://u:${PASSWORD}#@127.0.0.1/ping` }],
    ['ip_sources', { IP_SOURCES: `http://u:${PASSWORD}?@127.0.0.1/ip` }],
  ])('%s/unparseable/never-shown', async (key, env) => {
    const problems = await problemsOf(env);
    const line = problems.find((p) => p.startsWith(key));
    expect(line, problems.join('\n')).toBeDefined();
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });

  it('ip_sources/resolver-trace-with-a-key/never-shown', async () => {
    const problems = await problemsOf({ IP_SOURCES: `https://1.1.1.1/cdn-cgi/trace?key=${PASSWORD}` });
    expect(problems[0]).toContain('error 1034');
    expect(problems[0]).not.toContain(PASSWORD);
  });

  it('ip_sources/duplicate-with-a-key/never-shown', async () => {
    const url = `http://127.0.0.1:8080/ip?key=${PASSWORD}`;
    const problems = await problemsOf({ IP_SOURCES: `${url},${url}` });
    expect(problems[0]).toContain('listed twice');
    expect(problems[0]).not.toContain(PASSWORD);
  });
});

describe('a % in a URL password that is not an escape is a config error', () => {
  it.each([
    ['not-hex', `mqtt://ddns:ab%zz${PASSWORD}@127.0.0.1:1883`],
    ['cut-short', `mqtt://ddns:${PASSWORD}%4@127.0.0.1:1883`],
    ['not-utf8', `mqtt://ddns:${PASSWORD}%FF@127.0.0.1:1883`],
  ])('mqtt_url/%s', async (_name, url) => {
    const problems = await problemsOf({ MQTT_URL: url });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^mqtt_url \(MQTT_URL\): /);
    expect(problems[0]).toContain('%25');
    expect(problems[0]).not.toContain(PASSWORD);
  });

  it('mqtt_url/colon-in-password/would-be-misread', async () => {
    const problems = await problemsOf({ MQTT_URL: `mqtt://ddns:a%3A${PASSWORD}@127.0.0.1:1883` });
    expect(problems[0]).toMatch(/^mqtt_url \(MQTT_URL\): .*mqtt_password/);
    expect(problems[0]).not.toContain(PASSWORD);
  });

  it('mqtt_url/valid-escapes/accepted', async () => {
    const url = `mqtt://ddns:p%23ss%2F%3F%40%25${PASSWORD}@127.0.0.1:1883`;
    const { config } = await load({ MQTT_URL: url });
    expect(config.mqtt_url).toBe(url);
    expect(describeConfig(config).mqtt_url).toBe('mqtt://***@127.0.0.1:1883');
  });
});

describe('the printed configuration hides every credential', () => {
  it('describe-config/query-strings-and-user-info-masked', async () => {
    const { config } = await load({
      IP_SOURCES: `http://127.0.0.1:8080/ip?key=${PASSWORD},http://127.0.0.1:8081/ip`,
      DOH_URL: `http://127.0.0.1:9/dns-query?token=${PASSWORD}`,
      HA_URL: `http://u:${PASSWORD}@127.0.0.1:8123`,
      HTTP_TOKEN: `http-${PASSWORD}-token`,
    });
    const described = describeConfig(config);
    expect(described.ip_sources).toEqual(['http://127.0.0.1:8080/ip?***', 'http://127.0.0.1:8081/ip']);
    expect(described.doh_url).toBe('http://127.0.0.1:9/dns-query?***');
    expect(described.ha_url).toBe('http://***@127.0.0.1:8123');
    expect(described.http_token).toBe('[set]');
    expect(JSON.stringify(described)).not.toContain(PASSWORD);
  });
});

describe('an @ in a query or fragment (issue 6 review, point 3)', () => {
  it.each([
    [
      'ip_sources',
      'IP_SOURCES',
      `http://127.0.0.1/ip?email=me@example.com&key=${PASSWORD}`,
      'http://127.0.0.1/ip?***',
    ],
    [
      'doh_url',
      'DOH_URL',
      `https://127.0.0.1/dns-query?from=me@example.com&t=${PASSWORD}`,
      'https://127.0.0.1/dns-query?***',
    ],
    [
      'heartbeat_url',
      'HEARTBEAT_URL',
      `https://127.0.0.1/ping/${PASSWORD}?email=me@example.com&k=1`,
      'https://127.0.0.1/…',
    ],
    // Readable two ways (the @ might end a password holding ?): accepted as the URL parser reads
    // it, and shown without anything after the scheme.
    ['webhook_url', 'WEBHOOK_URL', `https://127.0.0.1/hook/${PASSWORD}?from=me@example.com`, 'https://***/…'],
  ])('%s/valid-url/accepted-and-shown-without-the-key', async (key, env, url, shown) => {
    const { config } = await load({ [env]: url });
    const value = (config as unknown as Record<string, unknown>)[key];
    expect(Array.isArray(value) ? value[0] : value).toBe(url);
    const described = describeConfig(config) as unknown as Record<string, unknown>;
    const printed = described[key];
    expect(Array.isArray(printed) ? printed[0] : printed).toBe(shown);
    expect(JSON.stringify(described)).not.toContain(PASSWORD);
  });

  it.each([
    ['mqtt_url/digit-password-with-hash', { MQTT_URL: `mqtt://ddns:1234#${PASSWORD}@127.0.0.1:1883` }],
    ['ip_sources/fragment-with-an-at', { IP_SOURCES: `https://127.0.0.1/ip#${PASSWORD}@frag` }],
  ])('%s/hash-before-an-at/refused-without-the-secret', async (_name, env) => {
    const problems = await problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(LINE);
    expect(problems[0]).toContain('%23');
    expect(problems[0]).not.toContain(PASSWORD);
    expect(problems[0]).not.toContain('1234');
  });

  it('mqtt_url/at-in-the-path/still-refused', async () => {
    const problems = await problemsOf({ MQTT_URL: `mqtt://ddns:12/${PASSWORD}@127.0.0.1:1883` });
    expect(problems[0]).toContain('has an @ after its host');
    expect(problems[0]).not.toContain(PASSWORD);
  });
});

describe('a value that is not a URL is not shown (issue 6 review, point 4)', () => {
  it.each([
    ['comma', `http://usr:${PASSWORD}A,${PASSWORD}B@127.0.0.1/ip`],
    ['space', `http://usr:${PASSWORD}A ${PASSWORD}B@127.0.0.1/ip`],
    ['two-commas', `http://usr:${PASSWORD}A,${PASSWORD}B,C@127.0.0.1/ip`],
  ])('ip_sources/password-split-by-the-list-parser/%s/only-index-and-fault', async (_name, value) => {
    const problems = await problemsOf({ IP_SOURCES: value });
    expect(problems.length).toBeGreaterThan(0);
    for (const line of problems) {
      expect(line).toMatch(/^ip_sources\[\d\] \(IP_SOURCES\): /);
      expect(line).toMatch(LINE);
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain('usr');
    }
    expect(problems.join('\n')).toContain('%2C');
  });

  it.each([
    ['heartbeat_url', { HEARTBEAT_URL: `12345${PASSWORD}` }],
    ['webhook_url', { WEBHOOK_URL: `${PASSWORD}.example.com/hook` }],
    ['mqtt_url', { MQTT_URL: `ddns:${PASSWORD}` }],
    ['ip_sources', { IP_SOURCES: `127.0.0.1/ip/${PASSWORD}` }],
  ])('%s/no-scheme/the-whole-value-masked', async (key, env) => {
    const problems = await problemsOf(env);
    const line = problems.find((p) => p.startsWith(key));
    expect(line, problems.join('\n')).toBeDefined();
    expect(line).toMatch(LINE);
    expect(line).toContain('no scheme');
    expect(problems.join('\n')).not.toContain(PASSWORD);
    expect(problems.join('\n')).not.toContain('12345');
  });

  it('mqtt_url/scheme-but-no-host/password-not-shown', async () => {
    const problems = await problemsOf({ MQTT_URL: `mqtt://ddns:${PASSWORD}` });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(LINE);
    expect(problems[0]).not.toContain(PASSWORD);
  });
});

describe('MQTT topics and client ids MQTT cannot carry', () => {
  it.each([
    ['mqtt_base_topic/too-long', { MQTT_BASE_TOPIC: 'a'.repeat(70_000) }, 'mqtt_base_topic', '65,535'],
    ['mqtt_base_topic/too-many-bytes', { MQTT_BASE_TOPIC: 'é'.repeat(33_000) }, 'mqtt_base_topic', 'bytes'],
    ['discovery_prefix/too-long', { DISCOVERY_PREFIX: 'h'.repeat(65_500) }, 'discovery_prefix', '65,535'],
    ['discovery_prefix/dollar', { DISCOVERY_PREFIX: '$SYS' }, 'discovery_prefix', 'starts with $'],
    [
      'plug_command_topic/too-long',
      { PLUG_TYPE: 'mqtt', PLUG_COMMAND_TOPIC: 'p'.repeat(66_000) },
      'plug_command_topic',
      '65,535',
    ],
    ['mqtt_client_id/too-long', { MQTT_CLIENT_ID: 'c'.repeat(70_000) }, 'mqtt_client_id', '23 characters'],
    ['mqtt_username/too-long', { MQTT_USERNAME: 'u'.repeat(70_000) }, 'mqtt_username', '65,535'],
    ['node_id/too-long', { NODE_ID: 'n'.repeat(200) }, 'node_id', '64 characters'],
  ])('%s', async (_name, env, key, phrase) => {
    const problems = await problemsOf(env);
    const line = problems.find((p) => p.startsWith(key));
    expect(line, problems.join('\n')).toBeDefined();
    expect(line).toMatch(LINE);
    expect(line).toContain(phrase);
    expect(line!.length).toBeLessThan(400);
  });

  it('mqtt_password/too-long/refused-without-echo', async () => {
    const problems = await problemsOf({ MQTT_PASSWORD: `${PASSWORD}${'x'.repeat(70_000)}` });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^mqtt_password \(MQTT_PASSWORD\): .*65,535/);
    expect(problems[0]).not.toContain(PASSWORD);
  });

  it.each([
    ['mqtt_base_topic/nul', 'mqtt_base_topic: "ddns\\0watchdog"\n', 'mqtt_base_topic', 'NUL'],
    ['discovery_prefix/control', 'discovery_prefix: "home\\x07assistant"\n', 'discovery_prefix', 'control'],
    ['plug_topic/nul', 'plug_type: tasmota\nplug_topic: "tasmota\\0_1"\n', 'plug_topic', 'NUL'],
    ['plug_state_topic/hash', 'plug_state_topic: "plugs/#"\n', 'plug_state_topic', '+ or #'],
    ['mqtt_client_id/nul', 'mqtt_client_id: "ddns\\0home"\n', 'mqtt_client_id', 'NUL'],
    [
      'mqtt_base_topic/unpaired-surrogate',
      '{"mqtt_base_topic": "ddns\\ud800"}\n',
      'mqtt_base_topic',
      'UTF-8',
    ],
  ])('file/%s', async (name, yaml, key, phrase) => {
    const problems = await yamlProblems(`${name.replace('/', '-')}.yaml`, yaml);
    const line = problems.find((p) => p.startsWith(key));
    expect(line, problems.join('\n')).toBeDefined();
    expect(line).toMatch(LINE);
    expect(line).toContain(phrase);
    expect(line).not.toContain('\0');
  });

  it('mqtt_client_id/longer-than-23/accepted', async () => {
    const { config } = await load({ MQTT_CLIENT_ID: 'ddns-watchdog-garage-raspberry-pi' });
    expect(config.mqtt_client_id).toBe('ddns-watchdog-garage-raspberry-pi');
  });

  it('mqtt_client_id/plus-and-hash/accepted', async () => {
    const { config } = await load({ MQTT_CLIENT_ID: 'ddns+1#a' });
    expect(config.mqtt_client_id).toBe('ddns+1#a');
  });
});

describe('mqtt_ca_file is a readable PEM path', () => {
  it('file/json-number/refused-by-type', async () => {
    const problems = await yamlProblems('ca-number.json', '{"mqtt_ca_file": 123}\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^mqtt_ca_file: 123 is a number, not a path — /);
  });

  it('file/yaml-number/read-as-the-path-written', async () => {
    const problems = await yamlProblems('ca-number.yaml', 'mqtt_ca_file: 0123\n');
    expect(problems).toEqual([
      'mqtt_ca_file: cannot read 0123 (no such file) — give the path of a readable PEM file',
    ]);
  });

  it('file/list/refused-by-type', async () => {
    const problems = await yamlProblems('ca-list.yaml', 'mqtt_ca_file: [a, b]\n');
    expect(problems[0]).toMatch(/^mqtt_ca_file: a list is not a path — /);
  });

  it('env/directory/refused', async () => {
    const problems = await problemsOf({ MQTT_CA_FILE: tmp });
    expect(problems).toEqual([
      `mqtt_ca_file (MQTT_CA_FILE): ${tmp} is a directory, not a file — give the path of a readable PEM file`,
    ]);
  });

  it('env/not-pem/refused', async () => {
    const path = await writeTemp('ca.der', Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82]));
    const problems = await problemsOf({ MQTT_CA_FILE: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^mqtt_ca_file \(MQTT_CA_FILE\): .* holds no PEM certificate .* — /);
  });

  it('env/pem/accepted', async () => {
    const path = await writeTemp(
      'ca.pem',
      '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n',
    );
    const { config } = await load({ MQTT_CA_FILE: path });
    expect(config.mqtt_ca_file).toBe(path);
  });
});

describe('record names are normalised before they are judged', () => {
  it.each([
    ['full-width-digit', '５'],
    ['full-width-ip', '１.２.３.４'],
    ['full-width-ip-with-full-stops', '１９２。１６８．１．１'],
    ['numeric-labels', '1.2.3.4'],
    ['hex-ip', '0x7f.1'],
  ])('records/%s/is-not-a-host-name', async (_name, input) => {
    const problems = await problemsOf({ RECORDS: input });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^records\[0\] \(RECORDS\): .* looks like an IP address, not a name — /);
  });

  it.each([
    ['full-width-letters', 'ｈｏｍｅ.example.com', 'home.example.com'],
    ['full-width-digits-in-a-label', 'ｈｏｍｅ１.example.com', 'home1.example.com'],
    ['ligature', 'ﬁle.example.com', 'file.example.com'],
  ])('records/%s/accepted', async (_name, input, expected) => {
    const { config } = await load({ RECORDS: input });
    expect(config.records).toEqual([{ name: expected }]);
  });

  it('zone/full-width-ip/refused', async () => {
    const problems = await problemsOf({ ZONE: '１.２.３.４' });
    expect(problems[0]).toMatch(/^zone \(ZONE\): .*looks like an IP address/);
  });
});

describe('options and secret files are read only when they are small regular files', () => {
  const fifo = (name: string): string => {
    const path = join(tmp, name);
    execFileSync('mkfifo', [path]);
    return path;
  };

  it('options/fifo/refused-without-hanging', { timeout: 5000 }, async () => {
    const path = fifo('options.fifo');
    expect(await problemsOf({}, { argvConfigPath: path })).toEqual([
      `--config: ${path} is a named pipe (FIFO), not a regular file — give the path of a YAML or JSON file`,
    ]);
  });

  it('options/character-device/refused-without-reading', { timeout: 5000 }, async () => {
    expect(await problemsOf({ CONFIG_FILE: '/dev/zero' })).toEqual([
      'CONFIG_FILE: /dev/zero is a character device, not a regular file — give the path of a YAML or JSON file',
    ]);
  });

  it('options/directory/refused', async () => {
    const problems = await problemsOf({}, { argvConfigPath: tmp });
    expect(problems).toEqual([
      `--config: ${tmp} is a directory, not a regular file — give the path of a YAML or JSON file`,
    ]);
  });

  it('options/larger-than-1-MiB/refused', async () => {
    const path = await writeTemp('huge.yaml', `${'# padding\n'.repeat(110_000)}interval_seconds: 60\n`);
    const problems = await problemsOf({}, { argvConfigPath: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^--config: ${path} is larger than 1 MiB .* — `));
  });

  it('secret-file/fifo/refused-without-hanging', { timeout: 5000 }, async () => {
    const path = fifo('token.fifo');
    expect(await problemsOf({ CLOUDFLARE_API_TOKEN_FILE: path })).toEqual([
      `cloudflare_api_token (CLOUDFLARE_API_TOKEN_FILE): ${path} is a named pipe (FIFO), not a regular file — give the path of a file that holds only the secret`,
    ]);
  });

  it('secret-file/character-device/refused-without-reading', { timeout: 5000 }, async () => {
    const problems = await problemsOf({ MQTT_PASSWORD_FILE: '/dev/urandom' });
    expect(problems).toEqual([
      'mqtt_password (MQTT_PASSWORD_FILE): /dev/urandom is a character device, not a regular file — give the path of a file that holds only the secret',
    ]);
  });

  it('secret-file/larger-than-64-KiB/refused', async () => {
    const path = await writeTemp('big-token', 'a'.repeat(70_000));
    const problems = await problemsOf({ HA_TOKEN_FILE: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ha_token \(HA_TOKEN_FILE\): .* is larger than 64 KiB .* — /);
  });
});

describe('service keys of SPEC §2', () => {
  it('defaults/http-host-loopback/no-token', async () => {
    const { config } = await load();
    expect(config.http_host).toBe('127.0.0.1');
    expect(config.http_port).toBe(0);
    expect('http_token' in config).toBe(false);
    expect('router_host' in config).toBe(false);
  });

  it('addon/http-host-all-interfaces', async () => {
    const { config } = await load({ SUPERVISOR_TOKEN: 'supervisor-token-value' });
    expect(config.http_host).toBe('0.0.0.0');
  });

  it.each([
    ['ipv4-any', '0.0.0.0', '0.0.0.0'],
    ['ipv6-any', '[::]', '::'],
    ['host-name', 'Localhost', 'localhost'],
  ])('env/http-host/%s', async (_name, value, expected) => {
    const { config } = await load({ HTTP_HOST: value });
    expect(config.http_host).toBe(expected);
  });

  it('env/http-host/bad/names-the-key', async () => {
    const problems = await problemsOf({ HTTP_HOST: 'not a host!' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^http_host \(HTTP_HOST\): .* — /);
  });

  it('env/http-token/is-a-secret', async () => {
    expect(SECRET_KEYS).toContain('http_token');
    const { config } = await load({ HTTP_TOKEN: `status-${PASSWORD}` });
    expect(config.http_token).toBe(`status-${PASSWORD}`);
    expect(describeConfig(config).http_token).toBe('[set]');
  });

  it.each([
    ['placeholder', 'changeme', 'placeholder'],
    ['bearer', `Bearer ${PASSWORD}`, "starts with 'Bearer '"],
  ])('env/http-token/%s/refused-without-echo', async (_name, value, phrase) => {
    const problems = await problemsOf({ HTTP_TOKEN: value, TTL: '5' });
    const line = problems.find((p) => p.startsWith('http_token'));
    expect(line).toContain(phrase);
    expect(problems.join('\n')).not.toContain(PASSWORD);
  });

  it('env/router-host/auto-means-the-default-gateway', async () => {
    const { config } = await load({ ROUTER_HOST: 'auto' });
    expect(config.router_host).toBeUndefined();
  });
});
