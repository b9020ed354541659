/**
 * POSTs every event as JSON to `webhook_url`. Deliveries are queued in order, bounded (oldest
 * dropped first), and a failure is logged once per outage (one line when deliveries get through
 * again), never thrown.
 */
import { type Dispatcher, request } from 'undici';
import { OutageTracker } from '../domain/outage.js';
import { errorMessage } from '../errors.js';
import type { AgentEvent } from '../events.js';
import type { Logger } from '../log.js';

const MAX_QUEUE = 100;
/** One outage key for every failure: however a delivery fails, the outage is said once. */
const DELIVERY_FAILED = 'delivery-failed';

export class Webhook {
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #logger: Logger;
  #queue: AgentEvent[] = [];
  #draining: Promise<void> | null = null;
  readonly #now: () => number;
  readonly #outage = new OutageTracker();
  dropped = 0;

  constructor(options: {
    url: string;
    timeoutMs: number;
    dispatcher?: Dispatcher;
    logger: Logger;
    /** The clock's now() (default Date.now); only outage times are taken from it. */
    now?: () => number;
  }) {
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs;
    this.#dispatcher = options.dispatcher;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  send(event: AgentEvent): void {
    this.#queue.push(event);
    if (this.#queue.length > MAX_QUEUE) {
      this.#queue.shift();
      this.dropped++;
    }
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
    });
  }

  /** Resolves when everything queued so far has been tried. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    for (let event = this.#queue.shift(); event; event = this.#queue.shift()) {
      try {
        const res = await request(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(this.#timeoutMs),
          ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
        });
        await res.body.dump();
        if (res.statusCode >= 400) throw new Error(`HTTP ${res.statusCode}`);
        if (this.#outage.ok(this.#now())) {
          this.#logger.info('Webhook deliveries are getting through again.');
        }
      } catch (err) {
        if (this.#outage.fail(DELIVERY_FAILED, this.#now()).kind === 'started') {
          this.#logger.warn(
            { err: errorMessage(err), event: event.type },
            `Could not deliver the ${event.type} event to webhook_url (${errorMessage(err)}); events are not retried. Check the URL and the receiving service.`,
          );
        }
      }
    }
  }
}
