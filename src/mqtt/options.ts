/**
 * The MQTT connection's settings: its options and defaults, and how they become mqtt.js client
 * options (the URL scheme checked, mqtt_ca_file read, the will and the packet cap set). A bad
 * setting is a ConfigError naming the key. Never: connect.
 */
import { readFile } from 'node:fs/promises';
import type { IClientOptions } from 'mqtt';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { redactUrl as redactUrlText } from '../redact.js';

export interface MqttConnectionOptions {
  /** mqtt://, mqtts://, ws:// or wss:// */
  url: string;
  username?: string;
  password?: string;
  /** PEM file with the CA certificate(s) to trust for mqtts:// and wss:// (config key mqtt_ca_file). */
  caFile?: string;
  clientId: string;
  /** The will is a retained `offline` here at QoS 1; a retained `online` is published on every connect. */
  availabilityTopic: string;
  /** Default 5; falls back to 4 (3.1.1) when the broker refuses 5. */
  protocolVersion?: 4 | 5;
  /** First reconnect wait; doubles after every failed attempt up to `maxReconnectPeriodMs`. Default 1000. */
  reconnectPeriodMs?: number;
  /** Cap of the reconnect wait. Default 60000. */
  maxReconnectPeriodMs?: number;
  /** How long `start()` waits for the first connect before it resolves anyway. Default 5000. */
  connectWaitMs?: number;
  /** Bound of the non-retained offline queue. Default 100. */
  maxQueuedEvents?: number;
  /**
   * The largest packet read from the broker (default MAX_PACKET_BYTES, 256 KiB); sent as MQTT 5's
   * Maximum Packet Size, and enforced on the byte stream for every protocol version.
   */
  maxPacketBytes?: number;
  /**
   * The largest packet sent to the broker (e.g. the embedded broker's cap); a larger message is not
   * sent, and says so. An MQTT 5 broker's own Maximum Packet Size (from CONNACK) applies as well.
   */
  maxOutgoingBytes?: number;
  logger: Logger;
}

export const DEFAULTS = {
  protocolVersion: 5 as const,
  reconnectPeriodMs: 1000,
  maxReconnectPeriodMs: 60_000,
  connectWaitMs: 5000,
  maxQueuedEvents: 100,
};

const SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
const TLS_SCHEMES = new Set(['mqtts:', 'wss:']);

/** The URL without user info or query, safe to log (src/redact.ts holds the one URL redactor). */
export function redactUrl(url: string): string {
  return redactUrlText(url).replace(/\/$/, '');
}

/** What the connection has already worked out from its options. */
export interface ResolvedSettings {
  /** `redactUrl(url)`. */
  safeUrl: string;
  protocolVersion: 4 | 5;
  /** mqtt.js's first reconnect wait (the connection changes it as it backs off). */
  reconnectPeriodMs: number;
  maxPacketBytes: number;
}

/**
 * The mqtt.js options for `o`. Throws ConfigError for a URL that does not parse, a scheme other
 * than mqtt/mqtts/ws/wss, or an unreadable mqtt_ca_file; warns when a CA file is set for a plain
 * connection.
 */
export async function buildClientOptions(
  o: MqttConnectionOptions,
  s: ResolvedSettings,
  log: Logger,
): Promise<IClientOptions> {
  let scheme: string;
  try {
    scheme = new URL(o.url).protocol;
  } catch {
    throw new ConfigError([
      `mqtt_url ("${s.safeUrl}") is not a valid URL; give e.g. mqtt://192.168.1.10:1883`,
    ]);
  }
  if (!SCHEMES.has(scheme)) {
    throw new ConfigError([
      `mqtt_url ("${s.safeUrl}") has the scheme ${scheme.replace(/:$/, '')}; use mqtt://, mqtts://, ws:// or wss://`,
    ]);
  }
  let ca: Buffer | undefined;
  if (o.caFile) {
    try {
      ca = await readFile(o.caFile);
    } catch (err) {
      const code = (err as { code?: string }).code ?? errorMessage(err);
      throw new ConfigError([
        `mqtt_ca_file ("${o.caFile}") cannot be read (${code}); give the path of a PEM file with the CA certificate`,
      ]);
    }
    if (!TLS_SCHEMES.has(scheme)) {
      log.warn(
        `mqtt_ca_file is set but mqtt_url (${s.safeUrl}) does not use TLS; the file is not used. Use mqtts:// or wss:// to encrypt.`,
      );
    }
  }
  const options: IClientOptions = {
    clientId: o.clientId,
    protocolVersion: s.protocolVersion,
    clean: true,
    resubscribe: false,
    keepalive: 60,
    connectTimeout: 10_000,
    reconnectPeriod: s.reconnectPeriodMs,
    reconnectOnConnackError: true,
    queueQoSZero: false,
    // mqtt-packet's default builds a cache of 65,536 two-byte Buffers at the first packet written:
    // about 24 ms on the way to the first publish and 7 MB of heap for the agent's life
    // (docs/benchmarks.md). A packet id written fresh costs nothing that matters here.
    writeCache: false,
    will: { topic: o.availabilityTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    // MQTT 5: the broker must not send packets larger than this (it drops such messages for us).
    properties: { maximumPacketSize: s.maxPacketBytes },
  };
  if (o.username !== undefined && o.username !== '') options.username = o.username;
  if (o.password !== undefined && o.password !== '') options.password = o.password;
  if (ca) {
    options.ca = ca;
    options.rejectUnauthorized = true;
  }
  return options;
}
