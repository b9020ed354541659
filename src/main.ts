/**
 * Composition root for `run`: builds the agent, starts it, and turns SIGTERM/SIGINT into a clean
 * stop (offline published, state saved) that exits 0 within 5 s. Never: business rules.
 */
import { Agent } from './agent.js';
import type { Config } from './config/schema.js';
import { errorMessage } from './errors.js';
import type { Logger } from './log.js';

/** The whole stop must fit in 5 s; in-flight requests get this long before they are abandoned. */
const STOP_GRACE_MS = 1500;
const STOP_HARD_LIMIT_MS = 4500;

export async function runAgent(config: Config, logger: Logger): Promise<number> {
  let agent: Agent;
  try {
    agent = await Agent.create({ config, logger });
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, `Could not start: ${errorMessage(err)}`);
    return 2;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn(`Received ${signal} again while stopping; exiting now.`);
        resolve(0);
        return;
      }
      stopping = true;
      logger.info(`Received ${signal}; stopping (saving state, publishing offline).`);
      const hard = setTimeout(() => {
        logger.warn('Stopping took too long; exiting without waiting for the rest.');
        resolve(0);
      }, STOP_HARD_LIMIT_MS);
      hard.unref();
      agent.stop({ graceMs: STOP_GRACE_MS }).then(
        () => {
          clearTimeout(hard);
          logger.info('Stopped cleanly.');
          resolve(0);
        },
        (err) => {
          clearTimeout(hard);
          logger.error({ err: errorMessage(err) }, `Stopped with an error: ${errorMessage(err)}`);
          resolve(0);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    agent.start().catch((err) => {
      logger.fatal({ err: errorMessage(err) }, `Could not start: ${errorMessage(err)}`);
      resolve(2);
    });
  });
}
