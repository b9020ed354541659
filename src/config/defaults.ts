/**
 * The resolved configuration's type and the fixed defaults of SPEC §2. Pure: no imports.
 */
export interface RecordConfig {
  /** Lower-case punycode, no trailing dot; may start with `*.`. */
  name: string;
  proxied?: boolean;
  ttl?: number;
  zone?: string;
}

export type PlugType =
  | 'none'
  | 'tasmota'
  | 'shelly'
  | 'shelly_rpc'
  | 'esphome'
  | 'zigbee2mqtt'
  | 'homeassistant'
  | 'http'
  | 'mqtt';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type Config = {
  cloudflare_api_token?: string;
  records: RecordConfig[];
  zone?: string;
  ip_version: 'ipv4' | 'ipv6' | 'both';
  ttl: number;
  /** True when the user set `ttl`: updates then also write it, not only creates. */
  ttl_explicit: boolean;
  proxied?: boolean;
  create_missing_records: boolean;
  mode: 'enforce' | 'dry-run';
  interval_seconds: number;
  jitter_seconds: number;
  min_update_interval_seconds: number;
  ip_sources: string[];
  ip_sources_v6: string[];
  ip_quorum: number;
  /** Derived, not a user key: the quorum applied to ip_sources_v6. */
  ip_quorum_v6: number;
  cloudflare_api_url: string;
  doh_url: string;
  http_timeout_ms: number;
  heartbeat_url?: string;
  webhook_url?: string;
  delete_on_stop: boolean;
  mqtt_url: string;
  mqtt_username?: string;
  mqtt_password?: string;
  mqtt_ca_file?: string;
  mqtt_client_id: string;
  mqtt_base_topic: string;
  discovery_prefix: string;
  discovery: boolean;
  node_id: string;
  device_name: string;
  embedded_broker_host: string;
  embedded_broker_port: number;
  /** undefined = read the default gateway; '' = router probing disabled. */
  router_host?: string;
  router_probe: 'icmp' | `tcp:${number}`;
  wan_targets: string[];
  probe_interval_seconds: number;
  probe_timeout_ms: number;
  recovery_enabled: boolean;
  plug_type: PlugType;
  plug_topic?: string;
  plug_url?: string;
  plug_entity_id?: string;
  plug_off_url?: string;
  plug_on_url?: string;
  plug_method: string;
  plug_command_topic?: string;
  plug_payload_off: string;
  plug_payload_on: string;
  plug_state_topic?: string;
  plug_username?: string;
  plug_password?: string;
  ha_url?: string;
  ha_token?: string;
  power_off_seconds: number;
  wan_down_after_seconds: number;
  boot_grace_seconds: number;
  max_power_cycles: number;
  power_cycle_window_hours: number;
  recover_when_router_down: boolean;
  state_dir: string;
  http_port: number;
  /** Where the HTTP server listens: 127.0.0.1, or 0.0.0.0 in the add-on. */
  http_host: string;
  http_token?: string;
  log_level: LogLevel;
  log_format: 'pretty' | 'json';
};

export const DEFAULT_IP_SOURCES: readonly string[] = [
  'https://cloudflare.com/cdn-cgi/trace',
  'https://api.cloudflare.com/cdn-cgi/trace',
  'https://api.ipify.org',
  'https://icanhazip.com',
  'https://ifconfig.me/ip',
];
export const DEFAULT_IP_SOURCES_V6: readonly string[] = [
  'https://cloudflare.com/cdn-cgi/trace',
  'https://api6.ipify.org',
  'https://ipv6.icanhazip.com',
];
export const DEFAULT_WAN_TARGETS: readonly string[] = ['1.1.1.1:443', '8.8.8.8:443', '9.9.9.9:443'];

/**
 * Fixed defaults. Keys missing here have no default (unset) or a derived one: `mode`,
 * `ip_quorum`, `ip_quorum_v6`, `jitter_seconds` (capped at half the interval), `mqtt_client_id`,
 * `state_dir`, `log_format`, `router_host` (the default gateway, found at run time), `http_host`
 * (0.0.0.0 in the add-on).
 */
export const DEFAULTS = {
  records: [] as RecordConfig[],
  ip_version: 'ipv4',
  ttl: 60,
  create_missing_records: true,
  interval_seconds: 60,
  jitter_seconds: 5,
  min_update_interval_seconds: 60,
  ip_sources: DEFAULT_IP_SOURCES,
  ip_sources_v6: DEFAULT_IP_SOURCES_V6,
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
  wan_targets: DEFAULT_WAN_TARGETS,
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
} as const;
