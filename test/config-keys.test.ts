/**
 * The configuration tables (src/config/sections/*.ts) are the one definition of every key: the
 * lists elsewhere (SECRET_KEYS and the URL key lists of src/redact.ts) agree with them, every
 * default is a value its own schema accepts, every add-on schema type is what the schema
 * enforces, and IP literals are judged by the core's parser (src/domain/ip.ts).
 */
import { describe, expect, it } from 'vitest';
import { KEY_SPECS, SECTIONS } from '../src/config/keys.js';
import { isManifestType, requiredManifest } from '../src/config/manifest.js';
import {
  CONFIG_KEYS,
  type ConfigKeyInfo,
  DEFAULTS,
  listConfigKeys,
  parseConfig,
} from '../src/config/schema.js';
import { parseIp } from '../src/domain/ip.js';
import { SECRET_KEYS, SECRET_PATH_URL_KEYS, URL_KEYS, URL_LIST_KEYS } from '../src/redact.js';

const KEYS = listConfigKeys();
const byKey = (predicate: (info: ConfigKeyInfo) => boolean): string[] =>
  KEYS.filter(predicate)
    .map((k) => k.key)
    .sort();

/** Other keys a key's own value needs to be judged alone (SPEC §2 ties some keys together). */
const CONTEXT: Readonly<Record<string, Record<string, unknown>>> = {
  jitter_seconds: { interval_seconds: 86400 },
  ip_quorum: { ip_sources: Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:9/ip${i}`) },
  recovery_enabled: { plug_type: 'tasmota', plug_topic: 'tasmota_1A2B3C' },
};

/** Problem lines about `key` when only `value` (and its context) is set. */
function problemsFor(key: string, value: unknown): string[] {
  const result = parseConfig({ ...CONTEXT[key], [key]: value }, { addon: false, isTTY: false });
  return result.ok ? [] : result.problems.filter((p) => new RegExp(`^${key}(?=[:[. ])`).test(p));
}

describe('key tables / one definition', () => {
  it('tables/keys/in-section-order-and-nothing-else', () => {
    expect(KEYS.map((k) => k.key)).toEqual(CONFIG_KEYS);
    expect(SECTIONS.map((s) => s.id)).toEqual(['dns', 'ip', 'mqtt', 'probes', 'recovery', 'service']);
    expect(new Set(KEYS.map((k) => k.section))).toEqual(new Set(SECTIONS.map((s) => s.id)));
  });

  it('tables/secret-keys/agree-with-redact', () => {
    expect(byKey((k) => k.secret)).toEqual([...SECRET_KEYS].sort());
    expect(byKey((k) => k.manifestType === 'password?')).toEqual([...SECRET_KEYS].sort());
  });

  it('tables/url-keys/agree-with-redact', () => {
    expect(byKey((k) => k.manifestType === 'url?')).toEqual([...URL_KEYS].sort());
    for (const key of [...URL_LIST_KEYS, ...SECRET_PATH_URL_KEYS]) expect(CONFIG_KEYS).toContain(key);
  });

  it('tables/defaults/the-same-values-as-before-the-tables', () => {
    expect(DEFAULTS).toEqual({
      records: [],
      ip_version: 'ipv4',
      ttl: 60,
      create_missing_records: true,
      interval_seconds: 60,
      jitter_seconds: 5,
      min_update_interval_seconds: 60,
      ip_sources: [
        'https://cloudflare.com/cdn-cgi/trace',
        'https://api.cloudflare.com/cdn-cgi/trace',
        'https://api.ipify.org',
        'https://icanhazip.com',
        'https://ifconfig.me/ip',
      ],
      ip_sources_v6: [
        'https://cloudflare.com/cdn-cgi/trace',
        'https://api6.ipify.org',
        'https://ipv6.icanhazip.com',
      ],
      cloudflare_api_url: 'https://api.cloudflare.com/client/v4',
      doh_url: 'https://cloudflare-dns.com/dns-query',
      http_timeout_ms: 5000,
      delete_on_stop: false,
      mqtt_url: '',
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
      http_port: 0,
      http_host: '127.0.0.1',
      log_level: 'info',
    });
    expect(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.ip_sources)).toBe(true);
  });

  it('tables/list-config-keys/defaults-are-DEFAULTS-in-manifest-form', () => {
    const withDefault = Object.fromEntries(
      KEYS.filter((k) => k.default !== undefined).map((k) => [k.key, k.default]),
    );
    expect(withDefault).toEqual(DEFAULTS);
    for (const info of KEYS.filter((k) => k.secret)) expect(info.default).toBeUndefined();
  });

  it.each(KEYS.filter((k) => k.default !== undefined).map((k) => [k.key, k.default] as const))(
    'tables/default/%s/accepted-by-its-own-schema-unchanged',
    (key, value) => {
      const parsed = KEY_SPECS[key as keyof typeof KEY_SPECS].schema.safeParse(value);
      expect(parsed.success).toBe(true);
      expect(parsed.data).toEqual(value);
    },
  );

  it.each(KEYS.map((k) => [k.key, k] as const))(
    'tables/%s/documented-with-env-name-and-add-on-type',
    (key, info) => {
      expect(info.envName).toBe(key.toUpperCase());
      expect(info.label.length).toBeGreaterThan(0);
      expect(info.allowed.length).toBeGreaterThan(0);
      expect(info.doc).toMatch(/[.)]$/);
      expect(info.description).not.toMatch(/`|\*\*/);
      expect(info.defaultText.length).toBeGreaterThan(0);
      expect(isManifestType(info.manifestType), String(info.manifestType)).toBe(true);
      expect(JSON.stringify(info.manifestType)).toMatch(/\?"\]?$/);
    },
  );
});

describe('key tables / add-on types are what the schema enforces', () => {
  const ints = KEYS.flatMap((k) => {
    const m = /^int\((\d+),(\d+)\)$/.exec(String(requiredManifest(k.manifestType)));
    return m ? [[k.key, Number(m[1]), Number(m[2])] as const] : [];
  });

  it('tables/int-types/cover-every-number-default', () => {
    const numbers = Object.entries(DEFAULTS)
      .filter(([, v]) => typeof v === 'number')
      .map(([k]) => k);
    for (const key of numbers) {
      expect([key, String(KEYS.find((k) => k.key === key)?.manifestType)]).toEqual([
        key,
        expect.stringMatching(/^(int\(\d+,\d+\)|port)\?$/),
      ]);
    }
  });

  it.each(ints)('tables/int/%s/accepts-%i-and-%i-refuses-one-past-each', (key, min, max) => {
    expect(problemsFor(key, min)).toEqual([]);
    expect(problemsFor(key, max)).toEqual([]);
    expect(problemsFor(key, min - 1)).not.toEqual([]);
    expect(problemsFor(key, max + 1)).not.toEqual([]);
  });

  it.each(
    KEYS.flatMap((k) => {
      const m = /^list\((.+)\)$/.exec(String(requiredManifest(k.manifestType)));
      return m ? [[k.key, m[1]!.split('|')] as const] : [];
    }),
  )('tables/enum/%s/accepts-exactly-its-values', (key, values) => {
    for (const value of values) expect([value, problemsFor(key, value)]).toEqual([value, []]);
    const refused = problemsFor(key, 'not-a-listed-value');
    expect(refused).toHaveLength(1);
    const allowed = /— use (?:one of )?(.+)$/.exec(refused[0] ?? '')?.[1] ?? '';
    expect(allowed.split(/, | or /).sort()).toEqual([...values].sort());
  });

  it('tables/port/embedded-broker-port-is-1-to-65535', () => {
    expect(KEYS.find((k) => k.key === 'embedded_broker_port')?.manifestType).toBe('port?');
    expect(problemsFor('embedded_broker_port', 1)).toEqual([]);
    expect(problemsFor('embedded_broker_port', 65535)).toEqual([]);
    expect(problemsFor('embedded_broker_port', 0)).not.toEqual([]);
  });
});

describe('IP literals / judged by the core parser (src/domain/ip.ts)', () => {
  it.each([
    ['v4/plain', '192.168.1.1'],
    ['v4/leading-zero', '192.168.01.1'],
    ['v4/octet-over-255', '256.1.1.1'],
    ['v4/three-parts', '10.0.1'],
    ['v6/loopback', '::1'],
    ['v6/upper-case', 'FE80::1'],
    ['v6/mapped-v4', '::ffff:192.168.1.1'],
    ['v6/zone-id', 'fe80::1%eth0'],
    ['v6/two-double-colons', '1::2::3'],
    ['v6/nine-groups', '1:2:3:4:5:6:7:8:9'],
    ['v6/double-colon-for-no-group', '1:2:3:4::5:6:7:8'],
    ['v6/v4-tail-with-leading-zero', '::01.2.3.4'],
  ])('ip/router-host/%s/accepted-exactly-when-the-core-parses-it', (_name, text) => {
    const accepted = problemsFor('router_host', text).length === 0;
    expect(accepted).toBe(parseIp(text) !== null);
    const bracketed = text.includes(':') ? `[${text}]:443` : `${text}:443`;
    expect(problemsFor('wan_targets', [bracketed]).length === 0).toBe(parseIp(text) !== null);
  });
});
