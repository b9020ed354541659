/**
 * Liveness for `GET /healthz`: each loop (the DNS scheduler, the probe loop, …) reports a beat on
 * every turn; a loop is stuck when no beat came for `multiplier` × its interval plus the slack.
 * Whether the WAN is up plays no part: a watchdog that works while the internet is down is healthy.
 */
import type { Clock } from '../clock.js';

export interface LivenessVerdict {
  ok: boolean;
  /** Why not ok: which loop, for how long, and what to do. */
  reason?: string;
}

export interface LoopOptions {
  /** The loop's normal period in ms (a function when it changes at run time). */
  intervalMs: number | (() => number);
  /** Extra time a slow turn may take (timeouts, retries). Default: the tracker's slack. */
  slackMs?: number;
}

interface Loop {
  name: string;
  options: LoopOptions;
  last: number;
}

export class Liveness {
  readonly #clock: Clock;
  readonly #multiplier: number;
  readonly #slackMs: number;
  readonly #loops = new Map<string, Loop>();

  constructor(clock: Clock, options: { multiplier?: number; slackMs?: number } = {}) {
    this.#clock = clock;
    this.#multiplier = options.multiplier ?? 3;
    this.#slackMs = options.slackMs ?? 60_000;
  }

  /** Starts watching a loop; it counts as having beaten now. */
  register(name: string, options: LoopOptions): void {
    this.#loops.set(name, { name, options, last: this.#clock.now() });
  }

  /** Stops watching a loop (it was stopped on purpose). */
  unregister(name: string): void {
    this.#loops.delete(name);
  }

  /** The loop finished a turn (or started one: anything that shows it is not stuck). */
  beat(name: string): void {
    const loop = this.#loops.get(name);
    if (loop) loop.last = this.#clock.now();
  }

  health(): LivenessVerdict {
    const now = this.#clock.now();
    const stuck: string[] = [];
    for (const loop of this.#loops.values()) {
      const interval =
        typeof loop.options.intervalMs === 'function' ? loop.options.intervalMs() : loop.options.intervalMs;
      const limit = this.#multiplier * interval + (loop.options.slackMs ?? this.#slackMs);
      const silent = now - loop.last;
      if (silent > limit) {
        stuck.push(
          `the ${loop.name} loop has not run for ${seconds(silent)} (it runs every ${seconds(interval)}; stuck after ${seconds(limit)})`,
        );
      }
    }
    if (stuck.length === 0) return { ok: true };
    return {
      ok: false,
      reason: `${stuck.join('; ')}. Restart the agent (in the add-on, the Supervisor's watchdog does this when the health check fails); if it happens again, report it with the log.`,
    };
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
