/**
 * Messages in: the topic filters the agent subscribed to, the handlers behind each, and how a
 * received PUBLISH becomes an IncomingMessage handed to every handler whose filter matches. A
 * handler that throws is logged and the others still run. Never: publish.
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { readOversizeStub } from './packet-guard.js';
import { topicMatches } from './topics.js';

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

export type MessageHandler = (m: IncomingMessage) => void;

export class Subscriptions {
  readonly #subs = new Map<string, MessageHandler[]>();
  readonly #log: Logger;
  readonly #maxPacket: number;

  /** `maxPacketBytes` is only for the words of the "skipped the payload" line. */
  constructor(log: Logger, maxPacketBytes: number) {
    this.#log = log;
    this.#maxPacket = maxPacketBytes;
  }

  /** Adds `handler` under `filter`; true when the filter is new (it must be subscribed on the broker). */
  add(filter: string, handler: MessageHandler): boolean {
    const handlers = this.#subs.get(filter);
    if (handlers) {
      handlers.push(handler);
      return false;
    }
    this.#subs.set(filter, [handler]);
    return true;
  }

  /** Every filter, in the order they were first added (made again on every connect). */
  get filters(): string[] {
    return [...this.#subs.keys()];
  }

  /** Hands a received PUBLISH to every matching handler. */
  deliver(topic: string, payload: Buffer, packet: IPublishPacket): void {
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

/**
 * Subscribes `client` to `filters` at QoS 1 and logs a refusal (an ACL) by name. `quiet()` is
 * true while the connection stops (a failure then is expected and not logged).
 */
export function subscribeOnBroker(
  client: MqttClient,
  filters: string[],
  protocolVersion: 4 | 5,
  log: Logger,
  quiet: () => boolean,
): void {
  // MQTT 5 "retain as published": a message published with the retain flag keeps it when
  // forwarded, so a retained command (even an empty one that only clears the retained copy)
  // can be told apart from a live one and ignored.
  const rap = protocolVersion === 5;
  const map: Record<string, { qos: 1; rap?: boolean }> = {};
  for (const f of filters) map[f] = rap ? { qos: 1, rap: true } : { qos: 1 };
  client.subscribe(map, (err, granted) => {
    if (err) {
      if (!quiet()) log.warn({ err: err.message }, `Subscribing to ${filters.join(', ')} failed.`);
      return;
    }
    for (const g of granted ?? []) {
      if (g.qos === 128) {
        log.warn(
          { topic: g.topic },
          `The MQTT broker refused the subscription to ${g.topic}; check the broker's access rules (ACL) for this user.`,
        );
      }
    }
  });
}
