/**
 * The MQTT side of the plug drivers: `plugMqttOver` adapts the agent's MqttConnection (whose
 * `subscribe` has no unsubscribe) to the PlugMqtt port, and `TopicWatch` lets a driver wait, with
 * the injected clock, for the first state message that follows a command it sends.
 *
 * A driver subscribes to its state topics when it is built, not when it switches: a state the
 * broker kept retained is replayed at subscribe time, and must not be taken for the answer to a
 * later command. Only messages that arrive after `arm()` count.
 */
import type { Clock } from '../clock.js';
import type { IncomingMessage } from '../mqtt/client.js';
import { PlugError, type PlugMqtt } from './plug-driver.js';

/** What PlugMqtt needs from the agent's MQTT connection (src/mqtt/client.ts MqttConnection). */
export interface MqttConnectionLike {
  /** True while a session is up (publishes go straight out, nothing is queued). */
  readonly connected: boolean;
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain: boolean }): void;
  subscribe(filter: string, handler: (m: IncomingMessage) => void): void;
}

/**
 * PlugMqtt over an MqttConnection. The connection keeps one broker subscription per filter for its
 * life (it re-subscribes after reconnects); unsubscribing only detaches the handler.
 */
export function plugMqttOver(conn: MqttConnectionLike): PlugMqtt {
  const handlers = new Map<string, Set<(topic: string, payload: Buffer) => void>>();
  return {
    publish(topic, payload, options) {
      // The connection would queue it until the broker is back: a plug command must go now or
      // fail, so that the cycle's own retries and its state file decide what happens next.
      if (!conn.connected) {
        throw new PlugError(
          'PLUG_UNREACHABLE',
          `The MQTT broker is not connected, so "${payload.slice(0, 60)}" was not sent to ${topic} (it is never kept to be sent later); check the broker — the agent retries switching the plug on until it works.`,
        );
      }
      conn.publish(topic, payload, { qos: options.qos, retain: false });
    },
    subscribe(filter, handler) {
      let set = handlers.get(filter);
      if (!set) {
        const fresh = new Set<(topic: string, payload: Buffer) => void>();
        set = fresh;
        handlers.set(filter, fresh);
        conn.subscribe(filter, (m) => {
          for (const h of [...fresh]) h(m.topic, m.payload);
        });
      }
      set.add(handler);
      const mine = set;
      return () => {
        mine.delete(handler);
      };
    },
  };
}

/** Reads a message into a result, or undefined when it is not the awaited one. */
export type Matcher<T> = (topic: string, payload: string) => T | undefined;

interface Waiter {
  match: Matcher<unknown>;
  done: boolean;
  value: unknown;
  wake: (() => void) | undefined;
}

export interface Armed<T> {
  /**
   * Resolves with the first matching message that arrived since `arm()`, or undefined when none
   * came within `timeoutMs` (or `signal` aborted).
   */
  settle(timeoutMs: number, signal?: AbortSignal): Promise<T | undefined>;
}

/** Subscribes to exact topics for its whole life and hands matching messages to armed waiters. */
export class TopicWatch {
  readonly #clock: Clock;
  readonly #unsubscribe: Array<() => void>;
  readonly #waiters = new Set<Waiter>();

  constructor(mqtt: PlugMqtt, topics: readonly string[], clock: Clock) {
    this.#clock = clock;
    this.#unsubscribe = topics.map((t) =>
      mqtt.subscribe(t, (topic, payload) => this.#deliver(topic, payload)),
    );
  }

  /** Starts listening for a message `match` accepts; call before publishing the command. */
  arm<T>(match: Matcher<T>): Armed<T> {
    const w: Waiter = { match, done: false, value: undefined, wake: undefined };
    this.#waiters.add(w);
    return {
      settle: async (timeoutMs, signal) => {
        try {
          if (!w.done) {
            const stop = new AbortController();
            const onAbort = () => stop.abort();
            signal?.addEventListener('abort', onAbort, { once: true });
            w.wake = () => stop.abort();
            if (!signal?.aborted) await this.#clock.sleep(timeoutMs, stop.signal);
            signal?.removeEventListener('abort', onAbort);
          }
          return w.done ? (w.value as T) : undefined;
        } finally {
          this.#waiters.delete(w);
        }
      },
    };
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
    for (const w of this.#waiters) w.wake?.();
    this.#waiters.clear();
  }

  #deliver(topic: string, payload: Buffer): void {
    const text = payload.toString('utf8');
    for (const w of this.#waiters) {
      if (w.done) continue;
      let value: unknown;
      try {
        value = w.match(topic, text);
      } catch {
        value = undefined; // a payload a matcher cannot read is not the answer
      }
      if (value === undefined) continue;
      w.done = true;
      w.value = value;
      w.wake?.();
    }
  }
}
