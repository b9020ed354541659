/**
 * The demo's configuration: the options a user would write, pointed at the demo world and with
 * compressed timings, read through the real loader (so the demo exercises the same validation as
 * `run`), and the check that keeps the demo on loopback: every endpoint the agent could reach must
 * be the demo world's, and nothing may report elsewhere (no heartbeat, webhook or Home Assistant
 * URL). The environment of the user's shell is never read: the demo's options are all its own.
 */
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

/** Where the demo world and the agent's own listeners are. */
export interface DemoEndpoints {
  cloudflareApiUrl: string;
  dohUrl: string;
  ipSources: readonly string[];
  routerHost: string;
  routerPort: number;
  wanTargets: readonly string[];
  brokerPort: number;
  httpPort: number;
  stateDir: string;
  /** The demo Cloudflare's token (made up at each run; it opens nothing but the demo world). */
  token: string;
}

export const DEMO_ZONE = 'example.com';
export const DEMO_RECORDS = ['home.example.com', 'vpn.example.com'] as const;
export const DEMO_PLUG_TOPIC = 'demo_router_plug';
export const DEMO_BASE_TOPIC = 'ddns-watchdog';
export const DEMO_DISCOVERY_PREFIX = 'homeassistant';

/** The compressed timings: a minute of story instead of an afternoon. All within the allowed ranges. */
export const DEMO_TIMINGS = {
  interval_seconds: 5,
  probe_interval_seconds: 1,
  probe_timeout_ms: 500,
  wan_down_after_seconds: 10,
  power_off_seconds: 3,
  boot_grace_seconds: 5,
} as const;

/** The options, as environment variables (the one form every key has). */
export function demoOptions(e: DemoEndpoints): Record<string, string> {
  return {
    RECORDS: DEMO_RECORDS.join(','),
    ZONE: DEMO_ZONE,
    CLOUDFLARE_API_TOKEN: e.token,
    CLOUDFLARE_API_URL: e.cloudflareApiUrl,
    DOH_URL: e.dohUrl,
    IP_SOURCES: e.ipSources.join(','),
    IP_SOURCES_V6: e.ipSources.join(','),
    IP_VERSION: 'ipv4',
    IP_QUORUM: '2',
    MODE: 'enforce',
    INTERVAL_SECONDS: String(DEMO_TIMINGS.interval_seconds),
    JITTER_SECONDS: '0',
    MIN_UPDATE_INTERVAL_SECONDS: '0',
    HTTP_TIMEOUT_MS: '2000',
    ROUTER_HOST: e.routerHost,
    ROUTER_PROBE: `tcp:${e.routerPort}`,
    WAN_TARGETS: e.wanTargets.join(','),
    PROBE_INTERVAL_SECONDS: String(DEMO_TIMINGS.probe_interval_seconds),
    PROBE_TIMEOUT_MS: String(DEMO_TIMINGS.probe_timeout_ms),
    RECOVERY_ENABLED: 'true',
    PLUG_TYPE: 'tasmota',
    PLUG_TOPIC: DEMO_PLUG_TOPIC,
    POWER_OFF_SECONDS: String(DEMO_TIMINGS.power_off_seconds),
    WAN_DOWN_AFTER_SECONDS: String(DEMO_TIMINGS.wan_down_after_seconds),
    BOOT_GRACE_SECONDS: String(DEMO_TIMINGS.boot_grace_seconds),
    MAX_POWER_CYCLES: '10',
    POWER_CYCLE_WINDOW_HOURS: '1',
    EMBEDDED_BROKER_HOST: '127.0.0.1',
    EMBEDDED_BROKER_PORT: String(e.brokerPort),
    MQTT_BASE_TOPIC: DEMO_BASE_TOPIC,
    DISCOVERY_PREFIX: DEMO_DISCOVERY_PREFIX,
    NODE_ID: 'ddns_watchdog_demo',
    DEVICE_NAME: 'DDNS Watchdog demo',
    STATE_DIR: e.stateDir,
    HTTP_PORT: String(e.httpPort),
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
  };
}

/** The demo's configuration through the real loader; throws ConfigError like `run` would. */
export async function buildDemoConfig(e: DemoEndpoints): Promise<Config> {
  const { config } = await loadConfig({ env: demoOptions(e), isTTY: false });
  return config;
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Why `value` (an http(s) URL) is not on loopback, or null when it is. */
function urlProblem(key: string, value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${key}: is not a URL`;
  }
  return isLoopbackHost(url.hostname) ? null : `${key}: ${url.origin} is not on loopback`;
}

/** Why `target` (`IP:port` or `[IPv6]:port`) is not on loopback, or null. */
function targetProblem(key: string, target: string): string | null {
  const host = /^\[([^\]]+)\]:\d+$/.exec(target)?.[1] ?? /^([^:]+):\d+$/.exec(target)?.[1];
  return host !== undefined && isLoopbackHost(host) ? null : `${key}: ${target} is not on loopback`;
}

/** Keys that send something somewhere when set: the demo sets none of them. */
const MUST_BE_UNSET = [
  'heartbeat_url',
  'webhook_url',
  'ha_url',
  'plug_url',
  'plug_on_url',
  'plug_off_url',
] as const;

/**
 * Every way `config` could make the agent send a packet beyond loopback, one line each; empty
 * when it cannot. The demo refuses to start unless this is empty.
 */
export function nonLoopbackProblems(config: Config): string[] {
  const problems: Array<string | null> = [
    urlProblem('cloudflare_api_url', config.cloudflare_api_url),
    urlProblem('doh_url', config.doh_url),
  ];
  for (const [key, list] of [
    ['ip_sources', config.ip_sources],
    ['ip_sources_v6', config.ip_sources_v6],
  ] as const) {
    for (const source of list) {
      problems.push(
        source.startsWith('local')
          ? `${key}: ${source} reads this host's own addresses, not the demo world's`
          : urlProblem(key, source),
      );
    }
  }
  const router = config.router_host;
  if (router === undefined) problems.push('router_host: auto would probe the real default gateway');
  else if (router !== '' && !isLoopbackHost(router))
    problems.push(`router_host: ${router} is not on loopback`);
  for (const target of config.wan_targets) problems.push(targetProblem('wan_targets', target));
  if (config.mqtt_url.trim() !== '') {
    problems.push(
      `mqtt_url: ${urlOrigin(config.mqtt_url)} is set; the demo's plug lives on the embedded broker`,
    );
  }
  if (!isLoopbackHost(config.embedded_broker_host)) {
    problems.push(`embedded_broker_host: ${config.embedded_broker_host} is not on loopback`);
  }
  if (config.http_port > 0 && !isLoopbackHost(config.http_host)) {
    problems.push(`http_host: ${config.http_host} is not on loopback`);
  }
  if (config.plug_type !== 'tasmota' && config.plug_type !== 'none') {
    problems.push(
      `plug_type: ${config.plug_type} would reach a real device; the demo's plug is the Tasmota on the embedded broker`,
    );
  }
  for (const key of MUST_BE_UNSET) {
    const value = config[key];
    if (value !== undefined && value !== '')
      problems.push(`${key}: is set (${urlOrigin(value)}); the demo reports nowhere`);
  }
  return problems.filter((p): p is string => p !== null);
}

/** Scheme and host only: a URL's path or query may hold a secret. */
function urlOrigin(value: string): string {
  try {
    return new URL(value).origin;
  } catch {
    return 'not a URL';
  }
}
