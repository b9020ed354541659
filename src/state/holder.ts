/**
 * Holds the agent's live state in memory, persists it through a StateStore and tells
 * subscribers (MQTT state, HTTP /state) when it changed.
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { PersistedState } from './schema.js';
import type { StateStore } from './store.js';

export class StateHolder {
  #state: PersistedState;
  readonly #store: StateStore<PersistedState> | null;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<() => void>();
  #saveFailedLogged = false;

  constructor(initial: PersistedState, store: StateStore<PersistedState> | null, logger?: Logger) {
    this.#state = initial;
    this.#store = store;
    this.#logger = logger;
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

  /** Saves to disk; a failure is logged (once until it works again), never thrown. */
  async persist(): Promise<boolean> {
    if (!this.#store) return true;
    try {
      await this.#store.save(this.#state);
      if (this.#saveFailedLogged) this.#logger?.info('State is being saved again.');
      this.#saveFailedLogged = false;
      return true;
    } catch (err) {
      if (!this.#saveFailedLogged) this.#logger?.error({ err: errorMessage(err) }, errorMessage(err));
      this.#saveFailedLogged = true;
      return false;
    }
  }
}
