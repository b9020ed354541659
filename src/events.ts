/**
 * The typed event bus. Every §6 event type is declared once here with its payload; MQTT, the
 * webhook and the log subscribe to it. A failing listener is logged and never reaches the others.
 */
import type { RecordType } from './domain/dns.js';
import type { Health } from './domain/health.js';
import type { Logger } from './log.js';

export interface EventPayloads {
  ip_changed: { family: 'ipv4' | 'ipv6'; old: string | null; new: string; sources: string[] };
  dns_updated: {
    record: string;
    record_type: RecordType;
    old: string | null;
    new: string;
    action: 'update' | 'create';
  };
  dns_update_failed: { record: string; record_type: RecordType; error: string; retry_at: string | null };
  health_changed: { from: Health; to: Health; reason?: string };
  wan_down: { since: string };
  wan_restored: { down_seconds: number };
  power_cycle_started: { plug: string; off_seconds: number; reason: string };
  power_cycle_finished: { plug: string; ok: boolean; message?: string };
  power_cycle_skipped: { reason: string };
}

export type EventType = keyof EventPayloads;
export type AgentEvent = { [K in EventType]: { type: K; at: string } & EventPayloads[K] }[EventType];

/**
 * Which service emits each event type: the one list of event names, in §6 order. The compiler
 * checks it against EventPayloads (a name missing here or not declared there does not build).
 */
const EVENT_SOURCES = {
  ip_changed: 'dns',
  dns_updated: 'dns',
  dns_update_failed: 'dns',
  health_changed: 'watchdog',
  wan_down: 'watchdog',
  wan_restored: 'watchdog',
  power_cycle_started: 'watchdog',
  power_cycle_finished: 'watchdog',
  power_cycle_skipped: 'watchdog',
} as const satisfies { readonly [K in EventType]: 'dns' | 'watchdog' };

/** Every event type, in §6 order (one Home Assistant device trigger each). */
export const EVENT_TYPES: readonly EventType[] = Object.keys(EVENT_SOURCES) as EventType[];

/** Event types only the router/WAN watchdog emits. */
export const WATCHDOG_EVENT_TYPES: readonly EventType[] = EVENT_TYPES.filter(
  (t) => EVENT_SOURCES[t] === 'watchdog',
);

type Listener = (event: AgentEvent) => void | Promise<void>;

export class EventBus {
  readonly #listeners = new Map<string, Listener[]>();
  readonly #logger: Logger | undefined;
  readonly #now: () => number;

  constructor(options: { logger?: Logger; now: () => number }) {
    this.#logger = options.logger;
    this.#now = options.now;
  }

  emit<K extends EventType>(type: K, payload: EventPayloads[K]): AgentEvent {
    const event = { type, at: new Date(this.#now()).toISOString(), ...payload } as AgentEvent;
    for (const [owner, listeners] of this.#listeners) {
      for (const listener of listeners) {
        try {
          const r = listener(event);
          if (r instanceof Promise) r.catch((err) => this.#fail(owner, type, err));
        } catch (err) {
          this.#fail(owner, type, err);
        }
      }
    }
    return event;
  }

  /** Registers a listener under an owner name; `off(owner)` removes all of that owner's. */
  on(owner: string, listener: Listener): void {
    const list = this.#listeners.get(owner) ?? [];
    list.push(listener);
    this.#listeners.set(owner, list);
  }

  off(owner: string): void {
    this.#listeners.delete(owner);
  }

  #fail(owner: string, type: string, err: unknown): void {
    this.#logger?.error(
      { err, owner, event: type },
      `The ${owner} handler failed on a ${type} event; the other handlers were not affected. This is a bug: please report it with this line.`,
    );
  }
}
