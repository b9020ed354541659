/**
 * OutageLog: a warning that would repeat every cycle during an outage (no verified IP, DoH down)
 * is logged once, repeats go to debug, and one line says when it is over and how long it lasted.
 * Each key is its own outage, tracked by the core's OutageTracker (src/domain/outage.ts).
 */
import type { Clock } from '../clock.js';
import { OutageTracker } from '../domain/outage.js';
import type { Logger } from '../log.js';

export class OutageLog {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #outages = new Map<string, OutageTracker>();

  constructor(deps: { clock: Clock; logger: Logger }) {
    this.#clock = deps.clock;
    this.#logger = deps.logger;
  }

  warnOnce(key: string, message: string, fields: Record<string, unknown> = {}): void {
    let tracker = this.#outages.get(key);
    if (!tracker) {
      tracker = new OutageTracker();
      this.#outages.set(key, tracker);
    }
    if (tracker.fail(key, this.#clock.now()).kind === 'repeated') {
      this.#logger.debug(fields, message);
      return;
    }
    this.#logger.warn(fields, `${message} (Logged once until it recovers.)`);
  }

  recovered(key: string, message: string): void {
    const ended = this.#outages.get(key)?.ok(this.#clock.now());
    if (!ended) return;
    const minutes = Math.round(ended.durationMs / 60_000);
    this.#logger.info(`${message} The problem lasted about ${minutes} min.`);
  }
}
