/**
 * The agent's only MQTT client: a wrapper over mqtt.js that owns the connection's lifecycle.
 * Nothing else imports `mqtt`. Never: know Home Assistant topics or payloads.
 *
 * What it guarantees:
 * - Will: retained `offline` on `availabilityTopic` at QoS 1; retained `online` published on every
 *   (re)connect; retained `offline` published (PUBACK awaited, 1 s cap) by `stop()`.
 * - Reconnects forever in the background with a backoff (`reconnectPeriodMs`, default 1 s, doubling
 *   to `maxReconnectPeriodMs`, default 60 s; back to the start after a successful connect). Each kind
 *   of failure is logged once per outage, naming the setting to check.
 * - MQTT 5 by default. A broker that refuses protocol 5 (CONNACK "unacceptable/unsupported protocol
 *   version", as aedes and Mosquitto 1.x answer) makes this connection fall back to 3.1.1 for the rest
 *   of its life; the log says so once.
 * - Subscriptions are remembered and re-made on every connect (clean session; no reliance on broker
 *   session state). A message is handed to every handler whose filter matches its topic.
 * - `publish()` never throws. Wildcard topics are refused (logged). While the connection is down,
 *   retained publishes keep only the latest per topic; non-retained ones go to a FIFO bounded by
 *   `maxQueuedEvents` that drops the oldest (counted in `droppedWhileOffline`).
 * - Order after a (re)connect: `online` → re-subscribe → queued retained (latest per topic, in the
 *   order their topics were first queued) → queued non-retained (FIFO order) → `onConnect` listeners.
 *   Retained go first because they are the current picture (state, availability of things), and
 *   listeners run last so that whatever they publish fresh is never overwritten by an older queued
 *   copy.
 * - No packet over `maxPacketBytes` (256 KiB) is ever read whole: MQTT 5's Maximum Packet Size asks
 *   the broker not to send one, and a guard on the byte stream (packet-guard.ts) turns an oversize
 *   PUBLISH into a small message flagged `oversizeBytes` whose payload was skipped unread (any
 *   other oversize packet closes the connection). Messages over `maxOutgoingBytes` or the broker's
 *   own maximum are not sent (logged).
 * - The password is never logged, nor the URL's user info.
 */
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import mqtt, {
  type IClientOptions,
  type IClientPublishOptions,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { redactUrl as redactUrlText } from '../redact.js';
import { GuardedStream, MAX_PACKET_BYTES, type OversizePacket, readOversizeStub } from './packet-guard.js';

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  /** True when the broker delivered a retained message (a replay at subscribe time). */
  retain: boolean;
  /** MQTT 5 request/response: where the sender wants the answer. */
  responseTopic?: string;
  /** MQTT 5 request/response: to echo back with the answer. */
  correlationData?: Buffer;
  /**
   * Set when the message was larger than the packet cap: its payload was never read (`payload` is
   * then empty) and this is how many bytes it had.
   */
  oversizeBytes?: number;
}

export interface PublishOptions {
  /** Default false. */
  retain?: boolean;
  /** Default 1. */
  qos?: 0 | 1;
  /** Not supported: the agent only answers requests, it does not make them. */
  responseTopic?: never;
  /** MQTT 5: sent as the Correlation Data property (ignored on an MQTT 3.1.1 connection). */
  correlationData?: Buffer;
}

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

interface Queued {
  topic: string;
  payload: string | Buffer;
  opts: Required<Pick<PublishOptions, 'retain' | 'qos'>> & Pick<PublishOptions, 'correlationData'>;
}

type Handler = (m: IncomingMessage) => void;

/** Why a connection attempt failed, in words a user can act on. */
interface FailureKind {
  key: string;
  text: string;
}

const DEFAULTS = {
  protocolVersion: 5 as const,
  reconnectPeriodMs: 1000,
  maxReconnectPeriodMs: 60_000,
  connectWaitMs: 5000,
  maxQueuedEvents: 100,
};

/** Time given to the broker to acknowledge the final retained `offline`. */
const STOP_PUBACK_CAP_MS = 1000;
/** Time given to a graceful DISCONNECT before the socket is destroyed. */
const STOP_END_CAP_MS = 1000;
/** A quick retry after switching protocol version: the refusal was not a failure of the broker. */
const FALLBACK_RETRY_MS = 20;

const SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
const TLS_SCHEMES = new Set(['mqtts:', 'wss:']);

/** The URL without user info or query, safe to log (src/redact.ts holds the one URL redactor). */
export function redactUrl(url: string): string {
  return redactUrlText(url).replace(/\/$/, '');
}

/**
 * MQTT topic filter matching: `+` one level, `#` the rest (including the parent level); filters
 * starting with a wildcard do not match topics starting with `$`. `$share/<group>/` is stripped.
 * Pure.
 */
export function topicMatches(filter: string, topic: string): boolean {
  let f = filter;
  if (f.startsWith('$share/')) f = f.split('/').slice(2).join('/');
  if (topic.startsWith('$') && (f.startsWith('+') || f.startsWith('#'))) return false;
  const fl = f.split('/');
  const tl = topic.split('/');
  for (let i = 0; i < fl.length; i++) {
    const level = fl[i];
    if (level === '#') return true;
    if (i >= tl.length) return false;
    if (level !== '+' && level !== tl[i]) return false;
  }
  return fl.length === tl.length;
}

/** Reason codes (3.1.1 return codes and MQTT 5 reason codes) that mean "not this protocol version". */
const PROTOCOL_REFUSED = new Set([1, 132]);
/** MQTT 5 DISCONNECT reason: another connection took this client id. */
const SESSION_TAKEN_OVER = 142;
/** Bad user name or password / not authorized, in 3.1.1 and MQTT 5. */
const AUTH_REFUSED = new Set([4, 5, 134, 135]);

function classify(err: Error & { code?: unknown }, url: string): FailureKind {
  const code = err.code;
  if (typeof code === 'number') {
    if (AUTH_REFUSED.has(code)) {
      return {
        key: 'auth',
        text: `The MQTT broker at ${url} refused the login (${err.message}); check mqtt_username and mqtt_password.`,
      };
    }
    return {
      key: `refused-${code}`,
      text: `The MQTT broker at ${url} refused the connection (${err.message}); check mqtt_url, mqtt_client_id and the broker's log.`,
    };
  }
  const c = typeof code === 'string' ? code : '';
  if (
    /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|ERR_OSSL/i.test(c) ||
    /certificate|ssl|tls/i.test(err.message)
  ) {
    return {
      key: `tls-${c}`,
      text: `The TLS handshake with the MQTT broker at ${url} failed (${err.message}); check mqtt_ca_file and that the host name in mqtt_url matches the broker's certificate.`,
    };
  }
  return {
    key: `net-${c || err.message}`,
    text: `Cannot reach the MQTT broker at ${url} (${c || err.message}); check mqtt_url and that the broker is running. Retrying in the background.`,
  };
}

/** A session shorter than this counts as "dropped at once" (a reconnect storm). */
const STABLE_SESSION_MS = 30_000;
/** After this many short sessions in a row, the duplicate client id hint is logged. */
const SHORT_SESSIONS_HINT = 3;

export class MqttConnection {
  /** When the current session started, and how many sessions in a row lasted < STABLE_SESSION_MS. */
  #connectedAt = 0;
  #shortSessions = 0;
  readonly #o: MqttConnectionOptions;
  readonly #log: Logger;
  readonly #safeUrl: string;
  readonly #maxQueued: number;
  readonly #initialBackoff: number;
  readonly #maxBackoff: number;
  readonly #maxPacket: number;
  /** The broker's own Maximum Packet Size (MQTT 5 CONNACK), for this session. */
  #brokerMaxPacket: number | undefined;
  /** Topics whose oversize publish was already logged as a warning. */
  readonly #oversizeWarned = new Set<string>();

  #client: MqttClient | undefined;
  #protocolVersion: 4 | 5;
  #ready = false;
  #everConnected = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #backoff: number;
  #quickRetry = false;

  /** Failures already logged during the current outage (keys from `classify`). */
  #loggedThisOutage = new Set<string>();
  #outageStartedAt: number | undefined;
  #droppedThisOutage = 0;
  #dropped = 0;

  readonly #retained = new Map<string, Queued>();
  #events: Queued[] = [];
  readonly #subs = new Map<string, Handler[]>();
  readonly #connectListeners = new Set<() => void>();
  #firstConnectWaiter: (() => void) | undefined;

  constructor(o: MqttConnectionOptions) {
    this.#o = o;
    this.#log = o.logger;
    this.#safeUrl = redactUrl(o.url);
    this.#protocolVersion = o.protocolVersion ?? DEFAULTS.protocolVersion;
    this.#maxQueued = Math.max(0, o.maxQueuedEvents ?? DEFAULTS.maxQueuedEvents);
    this.#initialBackoff = Math.max(1, o.reconnectPeriodMs ?? DEFAULTS.reconnectPeriodMs);
    this.#maxBackoff = Math.max(
      this.#initialBackoff,
      o.maxReconnectPeriodMs ?? DEFAULTS.maxReconnectPeriodMs,
    );
    this.#backoff = this.#initialBackoff;
    this.#maxPacket = Math.max(1024, o.maxPacketBytes ?? MAX_PACKET_BYTES);
  }

  /** True while a session is up and the offline queue has been flushed (publishes go straight out). */
  get connected(): boolean {
    return this.#ready;
  }

  /** The protocol in use (or to be tried next): 5, or 4 after a fallback. */
  get protocolVersion(): 4 | 5 {
    return this.#protocolVersion;
  }

  /** Non-retained messages dropped from the offline queue since this connection was created. */
  get droppedWhileOffline(): number {
    return this.#dropped;
  }

  /**
   * Connects. Resolves on the first connect or after `connectWaitMs`, whichever comes first; the
   * connection keeps retrying in the background either way. Rejects only on a configuration error
   * (bad URL scheme, unreadable mqtt_ca_file). Every call returns the same promise.
   */
  start(): Promise<void> {
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    if (this.#stopping) return;
    const options = await this.#clientOptions();
    if (this.#stopping) return;

    const firstConnect = new Promise<void>((resolve) => {
      this.#firstConnectWaiter = resolve;
    });
    const client = mqtt.connect(this.#o.url, { ...options, manualConnect: true });
    // Every (re)connect builds its stream through streamBuilder: put the packet-size guard between
    // the socket and mqtt.js's parser, so an oversize packet is skipped, not buffered.
    const build = client['streamBuilder'] as (c: MqttClient) => Duplex;
    client['streamBuilder'] = (c: MqttClient) =>
      new GuardedStream(build(c), {
        maxPacketBytes: this.#maxPacket,
        mode: 'stub',
        protocolVersion: this.#protocolVersion,
        onOversize: (p) => this.#onOversize(p),
      });
    client.connect();
    this.#client = client;
    this.#wire(client);

    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#o.connectWaitMs ?? DEFAULTS.connectWaitMs);
    });
    const outcome = await Promise.race([firstConnect.then(() => 'connected' as const), waited]);
    clearTimeout(timer);
    this.#firstConnectWaiter = undefined;
    if (outcome === 'timeout' && !this.#ready && !this.#stopping) {
      if (this.#loggedThisOutage.size === 0) {
        this.#log.warn(
          `No connection to the MQTT broker at ${this.#safeUrl} yet; the agent runs on and keeps retrying in the background. Check mqtt_url and that the broker is running.`,
        );
      } else {
        this.#log.info('The agent runs on without MQTT for now; it keeps retrying in the background.');
      }
    }
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): void {
    try {
      if (typeof topic !== 'string' || topic === '' || /[+#]/.test(topic) || topic.includes('\0')) {
        this.#log.warn(
          { topic },
          `Refused to publish to "${topic}": a topic to publish to must be non-empty and contain no + or # wildcards.`,
        );
        return;
      }
      if (this.#stopping) {
        this.#log.debug({ topic }, 'MQTT connection is stopping; message not sent.');
        return;
      }
      if (this.#tooLargeToSend(topic, payload, opts)) return;
      const item: Queued = {
        topic,
        payload,
        opts: { retain: opts.retain ?? false, qos: opts.qos ?? 1, correlationData: opts.correlationData },
      };
      if (this.#ready && this.#client) {
        this.#send(this.#client, item);
        return;
      }
      this.#enqueue(item);
    } catch (err) {
      this.#log.warn(
        { topic, err: errorMessage(err) },
        `Could not publish to ${topic}: ${errorMessage(err)}.`,
      );
    }
  }

  subscribe(filter: string, handler: (m: IncomingMessage) => void): void {
    const handlers = this.#subs.get(filter);
    if (handlers) {
      handlers.push(handler);
      return;
    }
    this.#subs.set(filter, [handler]);
    if (this.#ready && this.#client) this.#subscribeOnBroker(this.#client, [filter]);
  }

  onConnect(listener: () => void): () => void {
    this.#connectListeners.add(listener);
    return () => {
      this.#connectListeners.delete(listener);
    };
  }

  /**
   * Publishes retained `offline` (waiting up to 1 s for its PUBACK) when connected, then closes the
   * connection and stops reconnecting. Idempotent: every call returns the same promise.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    this.#firstConnectWaiter?.();
    const client = this.#client;
    const unsent = this.#retained.size + this.#events.length;
    this.#retained.clear();
    this.#events = [];
    if (unsent > 0) {
      this.#log.debug({ unsent }, `${unsent} queued MQTT message(s) were not sent before stopping.`);
    }
    if (!client) return;
    const wasReady = this.#ready;
    this.#ready = false;
    if (wasReady && client.connected) {
      await withCap(
        new Promise<void>((resolve) => {
          client.publish(this.#o.availabilityTopic, 'offline', { qos: 1, retain: true }, () => resolve());
        }),
        STOP_PUBACK_CAP_MS,
      );
      const ended = await withCap(
        new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
        STOP_END_CAP_MS,
      );
      // end() is already under way, so a second end(true) would be a no-op: cut the socket instead.
      if (ended === 'timeout') client.stream?.destroy();
    } else {
      await withCap(new Promise<void>((resolve) => client.end(true, {}, () => resolve())), STOP_END_CAP_MS);
    }
    client.removeAllListeners();
    client.on('error', () => {}); // late socket errors after end() must not crash the process
    this.#log.info('Disconnected from the MQTT broker.');
  }

  async #clientOptions(): Promise<IClientOptions> {
    const o = this.#o;
    let scheme: string;
    try {
      scheme = new URL(o.url).protocol;
    } catch {
      throw new ConfigError([
        `mqtt_url ("${this.#safeUrl}") is not a valid URL; give e.g. mqtt://192.168.1.10:1883`,
      ]);
    }
    if (!SCHEMES.has(scheme)) {
      throw new ConfigError([
        `mqtt_url ("${this.#safeUrl}") has the scheme ${scheme.replace(/:$/, '')}; use mqtt://, mqtts://, ws:// or wss://`,
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
        this.#log.warn(
          `mqtt_ca_file is set but mqtt_url (${this.#safeUrl}) does not use TLS; the file is not used. Use mqtts:// or wss:// to encrypt.`,
        );
      }
    }
    const options: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: this.#protocolVersion,
      clean: true,
      resubscribe: false,
      keepalive: 60,
      connectTimeout: 10_000,
      reconnectPeriod: this.#initialBackoff,
      reconnectOnConnackError: true,
      queueQoSZero: false,
      will: { topic: o.availabilityTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      // MQTT 5: the broker must not send packets larger than this (it drops such messages for us).
      properties: { maximumPacketSize: this.#maxPacket },
    };
    if (o.username !== undefined && o.username !== '') options.username = o.username;
    if (o.password !== undefined && o.password !== '') options.password = o.password;
    if (ca) {
      options.ca = ca;
      options.rejectUnauthorized = true;
    }
    return options;
  }

  #wire(client: MqttClient): void {
    client.on('connect', (connack) => {
      this.#brokerMaxPacket = connack.properties?.maximumPacketSize;
      // Commands and their results are small packets: send them at once (no Nagle delay).
      const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined;
      stream?.setNoDelay?.(true);
      this.#onConnected(client);
    });
    client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet));
    client.on('error', (err) => this.#onError(client, err));
    client.on('reconnect', () => {
      if (this.#quickRetry) {
        this.#quickRetry = false;
      } else {
        this.#backoff = Math.min(this.#backoff * 2, this.#maxBackoff);
      }
      // mqtt.js re-arms its timer with the current reconnectPeriod after each failed attempt.
      client.options.reconnectPeriod = this.#backoff;
    });
    client.on('close', () => {
      if (this.#stopping) return;
      if (this.#ready) {
        this.#ready = false;
        this.#outageStartedAt = Date.now();
        this.#loggedThisOutage.clear();
        this.#droppedThisOutage = 0;
        // A session that ends within seconds, again and again, is a storm (typically another
        // client with the same id taking the session over): keep backing off instead of
        // reconnecting every second, and say so once.
        const lasted = Date.now() - this.#connectedAt;
        if (lasted < STABLE_SESSION_MS) {
          this.#shortSessions++;
          this.#backoff = Math.min(this.#backoff * 2, this.#maxBackoff);
          client.options.reconnectPeriod = this.#backoff;
        } else {
          this.#shortSessions = 0;
          this.#backoff = this.#initialBackoff;
          client.options.reconnectPeriod = this.#initialBackoff;
        }
        if (this.#shortSessions === SHORT_SESSIONS_HINT) {
          this.#log.warn(
            `The MQTT broker at ${this.#safeUrl} closed the connection within seconds of each of the last ${SHORT_SESSIONS_HINT} connects: another client probably uses the same mqtt_client_id (${this.#o.clientId}); give each instance its own mqtt_client_id or node_id, or check the broker's log. Reconnecting with a growing delay (up to ${Math.round(this.#maxBackoff / 1000)} s).`,
          );
        } else if (this.#shortSessions <= 1) {
          this.#log.warn(
            `Lost the connection to the MQTT broker at ${this.#safeUrl}; reconnecting in the background, state is kept for when it is back.`,
          );
        } else {
          this.#log.debug('Lost the MQTT connection again shortly after connecting.');
        }
      } else if (this.#outageStartedAt === undefined) {
        this.#outageStartedAt = Date.now();
      }
    });
    client.on('disconnect', (packet) => {
      const code = packet.reasonCode ?? 0;
      const hint =
        code === SESSION_TAKEN_OVER
          ? ' Another client connected with the same mqtt_client_id; give each instance its own.'
          : '';
      this.#log.warn(
        { reasonCode: code },
        `The MQTT broker closed the session (reason code ${code}); reconnecting.${hint}`,
      );
    });
  }

  #onError(client: MqttClient, err: Error & { code?: unknown }): void {
    if (this.#stopping) return;
    if (
      this.#protocolVersion === 5 &&
      !client.connected &&
      typeof err.code === 'number' &&
      PROTOCOL_REFUSED.has(err.code)
    ) {
      this.#protocolVersion = 4;
      client.options.protocolVersion = 4;
      this.#quickRetry = true;
      client.options.reconnectPeriod = FALLBACK_RETRY_MS;
      this.#log.info(
        `The MQTT broker at ${this.#safeUrl} does not accept MQTT 5 (${err.message}); using MQTT 3.1.1 instead. Command replies on MQTT 5 response topics are not available.`,
      );
      return;
    }
    const kind = classify(err, this.#safeUrl);
    if (this.#loggedThisOutage.has(kind.key)) {
      this.#log.debug({ err: err.message }, 'MQTT connection attempt failed again.');
      return;
    }
    this.#loggedThisOutage.add(kind.key);
    this.#log.warn({ err: err.message }, kind.text);
  }

  #onConnected(client: MqttClient): void {
    if (this.#stopping || client !== this.#client) return;
    this.#connectedAt = Date.now();
    if (this.#shortSessions === 0) {
      this.#backoff = this.#initialBackoff;
      client.options.reconnectPeriod = this.#initialBackoff;
    }

    // 1. availability
    client.publish(this.#o.availabilityTopic, 'online', { qos: 1, retain: true }, (err) => {
      if (err) this.#log.debug({ err: err.message }, 'Publishing "online" was not acknowledged.');
    });
    // 2. subscriptions, made again on every connect (clean session)
    if (this.#subs.size > 0) this.#subscribeOnBroker(client, [...this.#subs.keys()]);
    // 3. the offline queue: retained (latest per topic) first, then events in order
    const retained = [...this.#retained.values()];
    const events = this.#events;
    this.#retained.clear();
    this.#events = [];
    for (const item of retained) this.#send(client, item);
    for (const item of events) this.#send(client, item);
    this.#ready = true;

    const version = this.#protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
    const queued = retained.length + events.length;
    const sentNote = queued > 0 ? `; sent ${queued} queued message(s)` : '';
    const droppedNote =
      this.#droppedThisOutage > 0
        ? `; ${this.#droppedThisOutage} event(s) were dropped while offline (queue limit ${this.#maxQueued})`
        : '';
    if (!this.#everConnected) {
      this.#log.info(
        `Connected to the MQTT broker at ${this.#safeUrl} (${version})${sentNote}${droppedNote}.`,
      );
    } else {
      const secs =
        this.#outageStartedAt === undefined ? 0 : Math.round((Date.now() - this.#outageStartedAt) / 1000);
      this.#log.info(
        `Connected to the MQTT broker at ${this.#safeUrl} again after ${secs} s (${version})${sentNote}${droppedNote}.`,
      );
    }
    this.#everConnected = true;
    this.#outageStartedAt = undefined;
    this.#loggedThisOutage.clear();
    this.#droppedThisOutage = 0;
    this.#firstConnectWaiter?.();

    // 4. listeners (they publish fresh discovery/state after the queue)
    for (const listener of [...this.#connectListeners]) {
      try {
        const result: unknown = listener();
        if (result instanceof Promise) {
          result.catch((err: unknown) =>
            this.#log.error(
              { err: errorMessage(err) },
              `An MQTT connect handler failed: ${errorMessage(err)}`,
            ),
          );
        }
      } catch (err) {
        this.#log.error({ err: errorMessage(err) }, `An MQTT connect handler failed: ${errorMessage(err)}`);
      }
    }
  }

  #subscribeOnBroker(client: MqttClient, filters: string[]): void {
    // MQTT 5 "retain as published": a message published with the retain flag keeps it when
    // forwarded, so a retained command (even an empty one that only clears the retained copy)
    // can be told apart from a live one and ignored.
    const rap = this.#protocolVersion === 5;
    const map: Record<string, { qos: 1; rap?: boolean }> = {};
    for (const f of filters) map[f] = rap ? { qos: 1, rap: true } : { qos: 1 };
    client.subscribe(map, (err, granted) => {
      if (err) {
        if (!this.#stopping)
          this.#log.warn({ err: err.message }, `Subscribing to ${filters.join(', ')} failed.`);
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos === 128) {
          this.#log.warn(
            { topic: g.topic },
            `The MQTT broker refused the subscription to ${g.topic}; check the broker's access rules (ACL) for this user.`,
          );
        }
      }
    });
  }

  #send(client: MqttClient, item: Queued): void {
    const opts: IClientPublishOptions = { qos: item.opts.qos, retain: item.opts.retain };
    if (item.opts.correlationData && this.#protocolVersion === 5) {
      opts.properties = { correlationData: item.opts.correlationData };
    }
    client.publish(item.topic, item.payload, opts, (err) => {
      if (err && !this.#stopping) {
        this.#log.debug({ topic: item.topic, err: err.message }, `Publishing to ${item.topic} failed.`);
      }
    });
  }

  #enqueue(item: Queued): void {
    if (item.opts.retain) {
      // Latest wins; the topic keeps the place where it was first queued.
      this.#retained.set(item.topic, item);
      return;
    }
    if (this.#maxQueued === 0) {
      this.#countDrop();
      return;
    }
    this.#events.push(item);
    while (this.#events.length > this.#maxQueued) {
      this.#events.shift();
      this.#countDrop();
    }
  }

  #countDrop(): void {
    this.#dropped++;
    this.#droppedThisOutage++;
    if (this.#droppedThisOutage === 1) {
      this.#log.warn(
        `The MQTT offline queue is full (${this.#maxQueued} events); the oldest events are dropped until the broker is back.`,
      );
    }
  }

  /** True (and logged) when a message is larger than what may be sent to this broker. */
  #tooLargeToSend(topic: string, payload: string | Buffer, opts: PublishOptions): boolean {
    const limit = Math.min(this.#o.maxOutgoingBytes ?? Infinity, this.#brokerMaxPacket ?? Infinity);
    if (limit === Infinity) return false;
    // Fixed header (≤ 5) + topic length (2) + packet id (2) + MQTT 5 properties (≤ 4 + correlation).
    const bytes =
      13 + Buffer.byteLength(topic) + Buffer.byteLength(payload) + (opts.correlationData?.length ?? 0);
    if (bytes <= limit) return false;
    const first = !this.#oversizeWarned.has(topic);
    this.#oversizeWarned.add(topic);
    this.#log[first ? 'warn' : 'debug'](
      { topic, bytes, limit },
      `Did not publish a ${bytes}-byte message to ${topic}: the MQTT broker accepts at most ${limit} bytes and would close the connection. With many records the state document grows: use a broker that accepts larger messages (mqtt_url), or fewer records.`,
    );
    return true;
  }

  #onOversize(p: OversizePacket): void {
    if (p.stubbed) return; // a PUBLISH: handed on flagged, its handler answers
    const key = `oversize-${p.kind}`;
    if (this.#loggedThisOutage.has(key)) return;
    this.#loggedThisOutage.add(key);
    this.#log.warn(
      { kind: p.kind, bytes: p.bytes },
      `The MQTT broker at ${this.#safeUrl} sent a ${p.kind} packet of ${p.bytes} bytes, over the agent's ${this.#maxPacket}-byte limit; the connection was closed without reading it and is made again. Check the broker's log.`,
    );
  }

  #onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const message: IncomingMessage = { topic, payload, retain: packet.retain === true };
    const oversize = readOversizeStub(payload);
    if (oversize !== undefined) {
      message.payload = Buffer.alloc(0);
      message.oversizeBytes = oversize;
      this.#log.debug(
        { topic, bytes: oversize },
        `Skipped the payload of a ${oversize}-byte message on ${topic}: over the ${this.#maxPacket}-byte limit.`,
      );
    }
    const props = packet.properties;
    if (props?.responseTopic !== undefined) message.responseTopic = props.responseTopic;
    if (props?.correlationData !== undefined) message.correlationData = Buffer.from(props.correlationData);
    for (const [filter, handlers] of this.#subs) {
      if (!topicMatches(filter, topic)) continue;
      for (const handler of handlers) {
        try {
          handler(message);
        } catch (err) {
          this.#log.error(
            { topic, err: errorMessage(err) },
            `The handler for MQTT topic ${topic} failed: ${errorMessage(err)}`,
          );
        }
      }
    }
  }
}

async function withCap<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([p, cap]);
  } finally {
    clearTimeout(timer);
  }
}
