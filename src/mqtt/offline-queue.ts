/**
 * What the MQTT connection keeps while the broker is away, and in which order it goes out when
 * the broker is back. Pure: no I/O, no timers, no logging (the caller counts and says the drops).
 *
 * - Retained messages keep only the latest per topic: they are the current picture. A topic keeps
 *   the place where it was first queued.
 * - Other messages (events) go to a FIFO bounded by `maxEvents`; when it is full the oldest is
 *   dropped. A bound of 0 keeps none.
 * - `take()` hands back the retained ones first, then the events in order.
 */

export interface QueuedPublish {
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly opts: {
    readonly retain: boolean;
    readonly qos: 0 | 1;
    /** MQTT 5 Correlation Data (an answer to a request). */
    readonly correlationData?: Buffer | undefined;
  };
}

export class OfflineQueue {
  readonly #maxEvents: number;
  readonly #retained = new Map<string, QueuedPublish>();
  #events: QueuedPublish[] = [];

  constructor(maxEvents: number) {
    this.#maxEvents = maxEvents;
  }

  /** The bound of the events FIFO. */
  get maxEvents(): number {
    return this.#maxEvents;
  }

  /** Messages waiting. */
  get size(): number {
    return this.#retained.size + this.#events.length;
  }

  /** Queues `item`; returns how many events were dropped to stay within the bound (0 or 1). */
  add(item: QueuedPublish): number {
    if (item.opts.retain) {
      // Latest wins; the topic keeps the place where it was first queued.
      this.#retained.set(item.topic, item);
      return 0;
    }
    if (this.#maxEvents === 0) return 1;
    this.#events.push(item);
    let dropped = 0;
    while (this.#events.length > this.#maxEvents) {
      this.#events.shift();
      dropped++;
    }
    return dropped;
  }

  /** Everything queued, in sending order (retained, then events); the queue is empty afterwards. */
  take(): QueuedPublish[] {
    const out = [...this.#retained.values(), ...this.#events];
    this.#retained.clear();
    this.#events = [];
    return out;
  }

  /** Empties the queue; returns how many messages were discarded. */
  clear(): number {
    return this.take().length;
  }
}
