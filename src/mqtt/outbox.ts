/**
 * Messages out: each publish is checked (a topic without wildcards, a size the broker accepts),
 * then sent at once while the session is up, or kept in the offline queue (offline-queue.ts)
 * until it is back. Drops from a full queue are warned about once per outage and counted in the
 * reconnect line. `publish()` never throws. Never: subscribe, or decide when to connect.
 */
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { OutageTracker } from '../domain/outage.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { OfflineQueue, type QueuedPublish } from './offline-queue.js';
import { isPublishTopic, publishPacketBytes } from './topics.js';

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

/** The session publishes go out on: the mqtt.js client and the protocol it speaks. */
export interface Session {
  readonly client: MqttClient;
  readonly protocolVersion: 4 | 5;
}

export interface OutboxOptions {
  log: Logger;
  /** Bound of the non-retained offline queue (≥ 0). */
  maxQueuedEvents: number;
  /** The largest packet the agent may send, when it knows one (e.g. the embedded broker's cap). */
  maxOutgoingBytes?: number | undefined;
  /** True once the connection stops: nothing is sent or queued any more, failures are expected. */
  stopping: () => boolean;
}

export class Outbox {
  readonly #log: Logger;
  readonly #queue: OfflineQueue;
  readonly #maxOutgoing: number;
  readonly #stopping: () => boolean;
  /** Events dropped from the full queue: warned once per outage, counted on reconnect. */
  readonly #queueFull = new OutageTracker();
  #dropped = 0;
  /** Topics whose oversize publish was already logged as a warning. */
  readonly #oversizeWarned = new Set<string>();
  /** The broker's own Maximum Packet Size (MQTT 5 CONNACK), for the current session. */
  brokerMaxPacket: number | undefined;

  constructor(o: OutboxOptions) {
    this.#log = o.log;
    this.#queue = new OfflineQueue(o.maxQueuedEvents);
    this.#maxOutgoing = o.maxOutgoingBytes ?? Infinity;
    this.#stopping = o.stopping;
  }

  /** Non-retained messages dropped from the offline queue since the start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Sends on `session`, or queues the message when there is none (the broker is away). */
  publish(
    session: Session | undefined,
    topic: string,
    payload: string | Buffer,
    opts: PublishOptions = {},
  ): void {
    try {
      if (!isPublishTopic(topic)) {
        this.#log.warn(
          { topic },
          `Refused to publish to "${topic}": a topic to publish to must be non-empty and contain no + or # wildcards.`,
        );
        return;
      }
      if (this.#stopping()) {
        this.#log.debug({ topic }, 'MQTT connection is stopping; message not sent.');
        return;
      }
      if (this.#tooLargeToSend(topic, payload, opts)) return;
      const item: QueuedPublish = {
        topic,
        payload,
        opts: { retain: opts.retain ?? false, qos: opts.qos ?? 1, correlationData: opts.correlationData },
      };
      if (session) {
        this.#send(session, item);
        return;
      }
      this.#countDrops(this.#queue.add(item));
    } catch (err) {
      this.#log.warn(
        { topic, err: errorMessage(err) },
        `Could not publish to ${topic}: ${errorMessage(err)}.`,
      );
    }
  }

  /**
   * The broker is back at `now`: sends everything queued (retained first, then events in order)
   * and ends the outage of the queue. Returns what the reconnect line says about it.
   */
  flush(session: Session, now: number): { sent: number; dropped: number } {
    const queued = this.#queue.take();
    for (const item of queued) this.#send(session, item);
    const dropped = this.#queueFull.ok(now)?.failures ?? 0;
    return { sent: queued.length, dropped };
  }

  /** The words for `flush()`'s answer, e.g. `; sent 3 queued message(s)`, or ''. */
  flushNote(result: { sent: number; dropped: number }): string {
    const sent = result.sent > 0 ? `; sent ${result.sent} queued message(s)` : '';
    const dropped =
      result.dropped > 0
        ? `; ${result.dropped} event(s) were dropped while offline (queue limit ${this.#queue.maxEvents})`
        : '';
    return sent + dropped;
  }

  /** Forgets what is queued (a stop); returns how many messages were not sent. */
  discard(): number {
    return this.#queue.clear();
  }

  #send(session: Session, item: QueuedPublish): void {
    const opts: IClientPublishOptions = { qos: item.opts.qos, retain: item.opts.retain };
    if (item.opts.correlationData && session.protocolVersion === 5) {
      opts.properties = { correlationData: item.opts.correlationData };
    }
    session.client.publish(item.topic, item.payload, opts, (err) => {
      if (err && !this.#stopping()) {
        this.#log.debug({ topic: item.topic, err: err.message }, `Publishing to ${item.topic} failed.`);
      }
    });
  }

  /** Counts events the full offline queue dropped; the first of an outage is said. */
  #countDrops(dropped: number): void {
    for (let i = 0; i < dropped; i++) {
      this.#dropped++;
      if (this.#queueFull.fail('queue-full', Date.now()).kind === 'started') {
        this.#log.warn(
          `The MQTT offline queue is full (${this.#queue.maxEvents} events); the oldest events are dropped until the broker is back.`,
        );
      }
    }
  }

  /** True (and logged) when a message is larger than what may be sent to this broker. */
  #tooLargeToSend(topic: string, payload: string | Buffer, opts: PublishOptions): boolean {
    const limit = Math.min(this.#maxOutgoing, this.brokerMaxPacket ?? Infinity);
    if (limit === Infinity) return false;
    const bytes = publishPacketBytes(topic, payload, opts.correlationData);
    if (bytes <= limit) return false;
    const first = !this.#oversizeWarned.has(topic);
    this.#oversizeWarned.add(topic);
    this.#log[first ? 'warn' : 'debug'](
      { topic, bytes, limit },
      `Did not publish a ${bytes}-byte message to ${topic}: the MQTT broker accepts at most ${limit} bytes and would close the connection. With many records the state document grows: use a broker that accepts larger messages (mqtt_url), or fewer records.`,
    );
    return true;
  }
}
