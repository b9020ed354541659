/**
 * Holds the agent's live state in memory, persists it through a StateStore and tells
 * subscribers (MQTT state, HTTP /state) when it changed.
 */
import { OutageTracker } from '../domain/outage.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { PersistedState } from './schema.js';
import type { StateStore } from './store.js';
import { clampFutureTimes, clampMessage } from './times.js';

/** Per-cycle timestamps alone are written at most this often. */
export const SAVE_AT_LEAST_EVERY_MS = 15 * 60_000;
/** One outage key for every failure: however a save fails, the outage is said once. */
const SAVE_FAILED = 'save-failed';

export class StateHolder {
  #state: PersistedState;
  readonly #store: StateStore<PersistedState> | null;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<() => void>();
  /** Saves that fail: said once per outage, and once when saving works again. */
  readonly #saveOutage = new OutageTracker();
  readonly #now: () => number;
  /** What was last written, without the fields that change every cycle. */
  #lastSaved: string | null = null;
  #lastSavedAt = 0;

  /**
   * Adopts `initial` (as loaded). Times in it that lie in the future of `now()` (a clock set back
   * since the save) are clamped to now, in place, with one warning; see clampFutureTimes.
   */
  constructor(
    initial: PersistedState,
    store: StateStore<PersistedState> | null,
    logger?: Logger,
    now: () => number = Date.now,
  ) {
    this.#state = initial;
    this.#store = store;
    this.#logger = logger;
    this.#now = now;
    const at = now();
    const clamped = clampFutureTimes(initial, at);
    if (clamped) {
      logger?.warn(
        { clamped: clamped.count, fields: clamped.fields.slice(0, 10) },
        clampMessage(clamped, at),
      );
    }
  }

  get state(): PersistedState {
    return this.#state;
  }

  /** Tells subscribers the state changed (after in-place edits). */
  changed(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (err) {
        this.#logger?.error({ err }, 'A state subscriber failed; the others were not affected.');
      }
    }
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Saves to disk; a failure is logged (once until it works again), never thrown. To spare SD
   * cards, a save whose only differences are the per-cycle timestamps (`public_ip.checked_at`,
   * `dns.last_sync`) is skipped unless the last write is older than SAVE_AT_LEAST_EVERY_MS;
   * `force` (a clean stop) always writes.
   */
  async persist(options: { force?: boolean } = {}): Promise<boolean> {
    if (!this.#store) return true;
    const meaningful = JSON.stringify({
      ...this.#state,
      public_ip: { ...this.#state.public_ip, checked_at: null },
      dns: { ...this.#state.dns, last_sync: null },
    });
    const now = this.#now();
    if (
      !options.force &&
      meaningful === this.#lastSaved &&
      now - this.#lastSavedAt < SAVE_AT_LEAST_EVERY_MS
    ) {
      return true;
    }
    try {
      await this.#store.save(this.#state);
      this.#lastSaved = meaningful;
      this.#lastSavedAt = now;
      if (this.#saveOutage.ok(now)) this.#logger?.info('State is being saved again.');
      return true;
    } catch (err) {
      if (this.#saveOutage.fail(SAVE_FAILED, now).kind === 'started') {
        this.#logger?.error({ err: errorMessage(err) }, errorMessage(err));
      }
      return false;
    }
  }
}
