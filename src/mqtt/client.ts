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
 *
 * This file holds the connection's life (start, connect, lose, stop); its parts have a file each:
 * options.ts (settings → mqtt.js options), reconnect-policy.ts (how long to wait; pure),
 * failures.ts (what a failure means, whether to say it; pure), outbox.ts (messages out) over
 * offline-queue.ts (what waits for the broker; pure), subscriptions.ts (messages in), topics.ts
 * (topic rules; pure), packet-guard.ts (the byte stream's size guard).
 */
import type { Duplex } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import type { BackoffPolicy } from '../domain/backoff.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { ConnectionOutage, classifyFailure, disconnectHint, isProtocolRefusal } from './failures.js';
import { buildClientOptions, DEFAULTS, type MqttConnectionOptions, redactUrl } from './options.js';
import { Outbox, type PublishOptions, type Session } from './outbox.js';
import { GuardedStream, MAX_PACKET_BYTES, type OversizePacket } from './packet-guard.js';
import {
  decideReconnect,
  INITIAL_RECONNECT_STATE,
  type ReconnectEvent,
  type ReconnectState,
  reconnectBackoff,
  SHORT_SESSIONS_HINT,
} from './reconnect-policy.js';
import { type IncomingMessage, Subscriptions, subscribeOnBroker } from './subscriptions.js';

// The names other modules (and tests) have always imported from here.
export type { MqttConnectionOptions } from './options.js';
export { redactUrl } from './options.js';
export type { PublishOptions } from './outbox.js';
export type { IncomingMessage } from './subscriptions.js';
export { topicMatches } from './topics.js';

/** Time given to the broker to acknowledge the final retained `offline`. */
const STOP_PUBACK_CAP_MS = 1000;
/** Time given to a graceful DISCONNECT before the socket is destroyed. */
const STOP_END_CAP_MS = 1000;

export class MqttConnection {
  readonly #o: MqttConnectionOptions;
  readonly #log: Logger;
  readonly #safeUrl: string;
  readonly #backoff: BackoffPolicy;
  readonly #maxPacket: number;

  #client: MqttClient | undefined;
  #protocolVersion: 4 | 5;
  #ready = false;
  #everConnected = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #reconnect: ReconnectState = INITIAL_RECONNECT_STATE;

  /** The current outage of the connection and the failures already said during it. */
  readonly #outage = new ConnectionOutage();
  readonly #outbox: Outbox;
  readonly #subs: Subscriptions;
  readonly #connectListeners = new Set<() => void>();
  #firstConnectWaiter: (() => void) | undefined;

  constructor(o: MqttConnectionOptions) {
    this.#o = o;
    this.#log = o.logger;
    this.#safeUrl = redactUrl(o.url);
    this.#protocolVersion = o.protocolVersion ?? DEFAULTS.protocolVersion;
    this.#outbox = new Outbox({
      log: o.logger,
      maxQueuedEvents: Math.max(0, o.maxQueuedEvents ?? DEFAULTS.maxQueuedEvents),
      maxOutgoingBytes: o.maxOutgoingBytes,
      stopping: () => this.#stopping !== undefined,
    });
    this.#backoff = reconnectBackoff(
      o.reconnectPeriodMs ?? DEFAULTS.reconnectPeriodMs,
      o.maxReconnectPeriodMs ?? DEFAULTS.maxReconnectPeriodMs,
    );
    this.#maxPacket = Math.max(1024, o.maxPacketBytes ?? MAX_PACKET_BYTES);
    this.#subs = new Subscriptions(o.logger, this.#maxPacket);
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
    return this.#outbox.dropped;
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
    const options = await buildClientOptions(
      this.#o,
      {
        safeUrl: this.#safeUrl,
        protocolVersion: this.#protocolVersion,
        reconnectPeriodMs: this.#backoff.baseMs,
        maxPacketBytes: this.#maxPacket,
      },
      this.#log,
    );
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

    const outcome = await withCap(
      firstConnect.then(() => 'connected' as const),
      this.#o.connectWaitMs ?? DEFAULTS.connectWaitMs,
    );
    this.#firstConnectWaiter = undefined;
    if (outcome === 'timeout' && !this.#ready && !this.#stopping) {
      if (!this.#outage.saidAnything) {
        this.#log.warn(
          `No connection to the MQTT broker at ${this.#safeUrl} yet; the agent runs on and keeps retrying in the background. Check mqtt_url and that the broker is running.`,
        );
      } else {
        this.#log.info('The agent runs on without MQTT for now; it keeps retrying in the background.');
      }
    }
  }

  /** Sends at once while connected, else queues; never throws (see outbox.ts for the rules). */
  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): void {
    this.#outbox.publish(this.#session(), topic, payload, opts);
  }

  /** The session publishes go out on, while one is up and its queue was flushed. */
  #session(): Session | undefined {
    if (!this.#ready || !this.#client) return undefined;
    return { client: this.#client, protocolVersion: this.#protocolVersion };
  }

  /** Hands every message matching `filter` to `handler`; the subscription is made on every connect. */
  subscribe(filter: string, handler: (m: IncomingMessage) => void): void {
    if (this.#subs.add(filter, handler) && this.#ready && this.#client) {
      this.#subscribeOnBroker(this.#client, [filter]);
    }
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
    const unsent = this.#outbox.discard();
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

  /** Feeds `event` to the reconnect policy and arms mqtt.js's next wait with its answer. */
  #decide(client: MqttClient, event: ReconnectEvent) {
    const decision = decideReconnect(this.#reconnect, event, this.#backoff);
    this.#reconnect = decision.state;
    // mqtt.js arms its timer with the current reconnectPeriod on every close (see waitMs).
    client.options.reconnectPeriod = decision.waitMs;
    return decision;
  }

  #wire(client: MqttClient): void {
    client.on('connect', (connack) => {
      this.#outbox.brokerMaxPacket = connack.properties?.maximumPacketSize;
      // Commands and their results are small packets: send them at once (no Nagle delay).
      const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined;
      stream?.setNoDelay?.(true);
      this.#onConnected(client);
    });
    client.on('message', (topic, payload, packet) => this.#subs.deliver(topic, payload, packet));
    client.on('error', (err) => this.#onError(client, err));
    client.on('reconnect', () => {
      this.#decide(client, { kind: 'retrying' });
    });
    client.on('close', () => {
      if (this.#stopping || !this.#ready) return;
      this.#ready = false;
      const now = Date.now();
      this.#outage.lost(now);
      // A session that ends within seconds, again and again, is a storm (typically another
      // client with the same id taking the session over): the policy keeps backing off instead
      // of reconnecting every second, and it is said once.
      const { notice } = this.#decide(client, { kind: 'session-lost', at: now });
      if (notice === 'storm') {
        this.#log.warn(
          `The MQTT broker at ${this.#safeUrl} closed the connection within seconds of each of the last ${SHORT_SESSIONS_HINT} connects: another client probably uses the same mqtt_client_id (${this.#o.clientId}); give each instance its own mqtt_client_id or node_id, or check the broker's log. Reconnecting with a growing delay (up to ${Math.round(this.#backoff.capMs / 1000)} s).`,
        );
      } else if (notice === 'lost') {
        this.#log.warn(
          `Lost the connection to the MQTT broker at ${this.#safeUrl}; reconnecting in the background, state is kept for when it is back.`,
        );
      } else {
        this.#log.debug('Lost the MQTT connection again shortly after connecting.');
      }
    });
    client.on('disconnect', (packet) => {
      const code = packet.reasonCode ?? 0;
      this.#log.warn(
        { reasonCode: code },
        `The MQTT broker closed the session (reason code ${code}); reconnecting.${disconnectHint(code)}`,
      );
    });
  }

  #onError(client: MqttClient, err: Error & { code?: unknown }): void {
    if (this.#stopping) return;
    if (this.#protocolVersion === 5 && !client.connected && isProtocolRefusal(err)) {
      this.#protocolVersion = 4;
      client.options.protocolVersion = 4;
      this.#decide(client, { kind: 'protocol-fallback' });
      this.#log.info(
        `The MQTT broker at ${this.#safeUrl} does not accept MQTT 5 (${err.message}); using MQTT 3.1.1 instead. Command replies on MQTT 5 response topics are not available.`,
      );
      return;
    }
    const kind = classifyFailure(err, this.#safeUrl);
    if (this.#outage.fail(kind.key, Date.now()) === 'debug') {
      this.#log.debug({ err: err.message }, 'MQTT connection attempt failed again.');
      return;
    }
    this.#log.warn({ err: err.message }, kind.text);
  }

  #onConnected(client: MqttClient): void {
    if (this.#stopping || client !== this.#client) return;
    const now = Date.now();
    this.#decide(client, { kind: 'connected', at: now });

    // 1. availability
    client.publish(this.#o.availabilityTopic, 'online', { qos: 1, retain: true }, (err) => {
      if (err) this.#log.debug({ err: err.message }, 'Publishing "online" was not acknowledged.');
    });
    // 2. subscriptions, made again on every connect (clean session)
    const filters = this.#subs.filters;
    if (filters.length > 0) this.#subscribeOnBroker(client, filters);
    // 3. the offline queue: retained (latest per topic) first, then events in order
    const flushed = this.#outbox.flush({ client, protocolVersion: this.#protocolVersion }, now);
    this.#ready = true;

    const version = this.#protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1';
    const note = this.#outbox.flushNote(flushed);
    const outage = this.#outage.ok(now);
    if (!this.#everConnected) {
      this.#log.info(`Connected to the MQTT broker at ${this.#safeUrl} (${version})${note}.`);
    } else {
      const secs = Math.round((outage?.durationMs ?? 0) / 1000);
      this.#log.info(
        `Connected to the MQTT broker at ${this.#safeUrl} again after ${secs} s (${version})${note}.`,
      );
    }
    this.#everConnected = true;
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
    subscribeOnBroker(client, filters, this.#protocolVersion, this.#log, () => this.#stopping !== undefined);
  }

  #onOversize(p: OversizePacket): void {
    if (p.stubbed) return; // a PUBLISH: handed on flagged, its handler answers
    if (this.#outage.fail(`oversize-${p.kind}`, Date.now()) === 'debug') return;
    this.#log.warn(
      { kind: p.kind, bytes: p.bytes },
      `The MQTT broker at ${this.#safeUrl} sent a ${p.kind} packet of ${p.bytes} bytes, over the agent's ${this.#maxPacket}-byte limit; the connection was closed without reading it and is made again. Check the broker's log.`,
    );
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
