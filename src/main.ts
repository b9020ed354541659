/**
 * Composition root for `run`: builds the agent, starts it, and turns SIGTERM/SIGINT into a clean
 * stop (offline published, state saved) that exits 0 within 5 s. Never: business rules.
 *
 * Signals (SPEC §7; the choices are in docs/configuration.md, "Stopping"):
 * - before the agent exists, bin.ts ends the process at once (nothing to stop or save);
 * - the first signal stops the agent: in-flight requests get STOP_GRACE_MS, then state is saved,
 *   `offline` published, the broker closed;
 * - a second signal during that stop, or the stop taking longer than STOP_HARD_LIMIT_MS, stops
 *   waiting for requests but still saves state (for at most FORCED_SAVE_LIMIT_MS) and says
 *   whether it did, then exits 0.
 */
import { Agent } from './agent.js';
import type { Config } from './config/schema.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

/** The whole stop must fit in 5 s; in-flight requests get this long before they are abandoned. */
const STOP_GRACE_MS = 1500;
/** After this long the stop is forced (as by a second signal). */
const STOP_HARD_LIMIT_MS = 4000;
/** The forced stop's state save gets this long; 4 s + 0.5 s + bin.ts's 0.2 s flush < 5 s. */
const FORCED_SAVE_LIMIT_MS = 500;

export type SignalHandler = (signal: NodeJS.Signals) => void;

/** Where SIGTERM and SIGINT go. bin.ts installs the process handlers first thing and routes them. */
export interface ProcessSignals {
  /** Route signals to `handler` from now on; undefined restores "exit at once". */
  handle(handler: SignalHandler | undefined): void;
}

/** Process signals for callers without bin.ts (tests, embedding): handlers installed now. */
export function processSignals(): ProcessSignals {
  let current: SignalHandler | undefined;
  const route = (signal: NodeJS.Signals): void => {
    if (current) current(signal);
    else process.exit(0);
  };
  process.on('SIGTERM', route);
  process.on('SIGINT', route);
  return {
    handle(handler) {
      current = handler;
    },
  };
}

export async function runAgent(
  config: Config,
  logger: Logger,
  signals: ProcessSignals = processSignals(),
): Promise<number> {
  let agent: Agent;
  try {
    agent = await Agent.create({ config, logger });
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, `Could not start: ${errorMessage(err)}`);
    return 2;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    let forced = false;
    let finished = false;
    let hard: NodeJS.Timeout | undefined;
    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      clearTimeout(hard);
      resolve(code);
    };

    /** Stops waiting for the rest of the stop, but saves state first (bounded) and says if it did. */
    const forceStop = async (why: string): Promise<void> => {
      if (forced || finished) return;
      forced = true;
      logger.warn(`${why}: not waiting for in-flight requests any longer; saving state, then exiting.`);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        agent.state.persist({ force: true }).then((ok) => (ok ? 'saved' : 'failed')),
        new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), FORCED_SAVE_LIMIT_MS);
        }),
      ]);
      clearTimeout(timer);
      if (outcome === 'saved') {
        logger.info(
          'State saved; exiting without the rest of the stop (offline was not published: an external broker publishes the will instead).',
        );
      } else {
        logger.error(
          `State was NOT saved (${outcome === 'timeout' ? `the save took longer than ${FORCED_SAVE_LIMIT_MS} ms` : 'the save failed, see above'}); exiting anyway. The last saved state is used at the next start.`,
        );
      }
      finish(0);
    };

    signals.handle((signal) => {
      if (stopping) {
        void forceStop(`Received ${signal} again while stopping`);
        return;
      }
      stopping = true;
      logger.info(`Received ${signal}; stopping (saving state, publishing offline).`);
      hard = setTimeout(() => void forceStop('Stopping took too long'), STOP_HARD_LIMIT_MS);
      hard.unref();
      agent.stop({ graceMs: STOP_GRACE_MS }).then(
        ({ saved }) => {
          if (forced) return;
          if (saved) {
            logger.info('Stopped cleanly.');
            finish(0);
            return;
          }
          logger.error(
            'Stopped, but the final state could not be saved (the reason is logged above); the next start uses the last state that was saved. Fix state_dir (a writable folder with free space) before starting again.',
          );
          finish(2);
        },
        (err) => {
          if (forced) return;
          logger.error({ err: errorMessage(err) }, `Stopped with an error: ${errorMessage(err)}`);
          finish(0);
        },
      );
    });
    agent.start().catch((err) => {
      logger.fatal({ err: errorMessage(err) }, `Could not start: ${errorMessage(err)}`);
      finish(2);
    });
  });
}
